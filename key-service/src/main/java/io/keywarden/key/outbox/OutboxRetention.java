package io.keywarden.key.outbox;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Deletes outbox rows published longer ago than {@code kw.outbox.retention} (default 7 days), in
 * batches, so the table holds recent history and whatever is still to be sent, not every change
 * ever made. Unpublished rows are never deleted. Several instances may run it side by side.
 */
@ApplicationScoped
public class OutboxRetention {
  private static final Logger LOG = Logger.getLogger(OutboxRetention.class);
  private static final int BATCH = 5_000;

  private final Pool pool;
  private final Clock clock;
  private final Duration retention;

  OutboxRetention(
      Pool pool,
      Clock clock,
      @ConfigProperty(name = "kw.outbox.retention", defaultValue = "P7D") Duration retention) {
    this.pool = pool;
    this.clock = clock;
    this.retention = retention;
  }

  @Scheduled(
      every = "${kw.outbox.retention-check:10m}",
      delayed = "1m",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  Uni<Void> scheduled() {
    return purge()
        .invoke(
            n -> {
              if (n > 0) {
                LOG.debugf("outbox retention: %d published rows deleted", n);
              }
            })
        .onFailure()
        .invoke(e -> LOG.warnf("outbox retention pass failed, will retry: %s", e.getMessage()))
        .onFailure()
        .recoverWithNull()
        .replaceWithVoid();
  }

  /** Deletes every row published before now - retention; returns how many. */
  public Uni<Long> purge() {
    return purgeBatch(0L);
  }

  private Uni<Long> purgeBatch(long sofar) {
    return pool.preparedQuery(
            "delete from outbox where seq in (select seq from outbox where published_at < $1"
                + " order by seq limit $2 for update skip locked)")
        .execute(Tuple.of(clock.instant().minus(retention).atOffset(ZoneOffset.UTC), BATCH))
        .chain(
            rows -> {
              long total = sofar + rows.rowCount();
              return rows.rowCount() == BATCH ? purgeBatch(total) : Uni.createFrom().item(total);
            });
  }
}
