package io.keywarden.audit.findings;

import io.keywarden.audit.alerts.DigestPlanner;
import io.keywarden.audit.config.AuditConfig;
import io.keywarden.audit.domain.AuditKey;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.panache.common.Sort;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * Evaluates the time-based rules (never used, unused, stale, expiring, old, quiet leaks) over every
 * key, page by page, each page in its own transaction; then queues the daily digests that are due.
 */
@ApplicationScoped
public class FindingSweep {
  private static final Logger LOG = Logger.getLogger(FindingSweep.class);
  private final FindingEngine engine;
  private final DigestPlanner digests;
  private final int pageSize;
  private final AtomicBoolean running = new AtomicBoolean();

  FindingSweep(FindingEngine engine, DigestPlanner digests, AuditConfig config) {
    this.engine = engine;
    this.digests = digests;
    this.pageSize = config.sweepPageSize();
  }

  /** What one sweep did. */
  public record Result(int keys, long millis, boolean skipped) {}

  @Scheduled(
      every = "${kw.audit.sweep-every}",
      delayed = "30s",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  Uni<Void> scheduled() {
    return run()
        .invoke(r -> LOG.infof("sweep evaluated %d keys in %d ms", r.keys(), r.millis()))
        .replaceWithVoid();
  }

  /** Runs one sweep now; a sweep already running makes this one a no-op. */
  public Uni<Result> run() {
    if (!running.compareAndSet(false, true)) {
      return Uni.createFrom().item(new Result(0, 0, true));
    }
    long start = System.nanoTime();
    return page("", 0)
        .call(() -> digests.queueDue())
        .map(n -> new Result(n, (System.nanoTime() - start) / 1_000_000, false))
        .eventually(() -> running.set(false));
  }

  static final String REPEATABLE_READ = "set transaction isolation level repeatable read";

  private Uni<Integer> page(String after, int done) {
    return Panache.withTransaction(
            () ->
                // one snapshot for the page's keys and their findings. Under read committed each
                // statement saw the database anew: an event that made a key leaked and opened its
                // finding could commit between the two reads, and the sweep, holding the key as it
                // was, resolved the finding the event had just opened (the next denial opened a
                // second one; system-tests E3 caught it)
                Panache.getSession()
                    .chain(s -> s.createNativeQuery(REPEATABLE_READ).executeUpdate())
                    .chain(
                        () ->
                            AuditKey.<AuditKey>find("keyId > ?1", Sort.by("keyId"), after)
                                .page(0, pageSize)
                                .list())
                    .call(keys -> engine.evaluate(keys)))
        // an event may open the same finding meanwhile (unique index), or change one this page
        // changes too (serialization failure under repeatable read): evaluate the page again
        .onFailure()
        .retry()
        .withBackOff(Duration.ofMillis(100))
        .atMost(3)
        .chain(
            (List<AuditKey> keys) ->
                keys.size() < pageSize
                    ? Uni.createFrom().item(done + keys.size())
                    : page(keys.get(keys.size() - 1).keyId, done + keys.size()));
  }
}
