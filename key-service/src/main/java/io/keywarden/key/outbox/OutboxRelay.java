package io.keywarden.key.outbox;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import io.vertx.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;
import org.jboss.logging.Logger;

/**
 * Publishes outbox rows to Kafka in commit order and marks them published only after Kafka
 * acknowledged them (acks=all, idempotent producer). Rows are claimed with {@code FOR UPDATE SKIP
 * LOCKED}, so several key-service instances can relay side by side. A crash between the send and
 * the mark re-sends the rows: consumers de-duplicate by event id and version.
 */
@ApplicationScoped
public class OutboxRelay {
  private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
  private static final int BATCH = 500;

  private final Pool pool;

  @Inject
  @Channel("outbox")
  @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 8192)
  MutinyEmitter<String> emitter;

  private final Clock clock;
  private final Vertx vertx;
  private final AtomicBoolean running = new AtomicBoolean();
  private final AtomicBoolean again = new AtomicBoolean();
  private volatile boolean stopped;

  OutboxRelay(Pool pool, Clock clock, Vertx vertx) {
    this.pool = pool;
    this.clock = clock;
    this.vertx = vertx;
  }

  /** Asks for a relay pass now (after a commit), on a fresh Vert.x context. */
  public void wake() {
    if (stopped) {
      return;
    }
    if (!running.compareAndSet(false, true)) {
      again.set(true);
      return;
    }
    VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext()).runOnContext(v -> loop());
  }

  @Scheduled(
      every = "${kw.outbox.poll-interval:1s}",
      delayed = "2s",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void poll() {
    wake();
  }

  void onStop(@Observes ShutdownEvent ev) {
    stopped = true;
  }

  private void loop() {
    again.set(false);
    relayOnce()
        .subscribe()
        .with(
            n -> {
              running.set(false);
              if ((n == BATCH || again.get()) && !stopped) {
                wake();
              }
            },
            e -> {
              running.set(false);
              LOG.warnf("outbox relay pass failed, will retry: %s", e.getMessage());
            });
  }

  /** One pass: claims up to BATCH unpublished rows, sends them, marks them. Returns the count. */
  public Uni<Integer> relayOnce() {
    return pool.withTransaction(
        conn ->
            conn.preparedQuery(
                    "select seq, event_id, topic, record_key, payload from outbox"
                        + " where published_at is null order by seq limit $1 for update skip locked")
                .execute(Tuple.of(BATCH))
                .onItem()
                .transformToUni(
                    rows -> {
                      List<Row> claimed = new ArrayList<>();
                      rows.forEach(claimed::add);
                      if (claimed.isEmpty()) {
                        return Uni.createFrom().item(0);
                      }
                      return sendAll(claimed).chain(() -> markPublished(conn, claimed));
                    }));
  }

  private Uni<Void> sendAll(List<Row> rows) {
    // sent in seq order on one producer: per-key order holds on each partition
    List<Uni<Void>> acks = new ArrayList<>(rows.size());
    for (Row r : rows) {
      RecordHeaders headers = new RecordHeaders();
      headers.add(
          "content-type",
          "application/cloudevents+json; charset=UTF-8".getBytes(StandardCharsets.UTF_8));
      headers.add("ce_id", r.getUUID("event_id").toString().getBytes(StandardCharsets.UTF_8));
      Message<String> m =
          Message.of(r.getString("payload"))
              .addMetadata(
                  OutgoingKafkaRecordMetadata.<String>builder()
                      .withTopic(r.getString("topic"))
                      .withKey(r.getString("record_key"))
                      .withHeaders(headers)
                      .build());
      acks.add(emitter.sendMessage(m));
    }
    return Uni.join().all(acks).andFailFast().replaceWithVoid();
  }

  private Uni<Integer> markPublished(SqlConnection conn, List<Row> rows) {
    Long[] seqs = rows.stream().map(r -> r.getLong("seq")).toArray(Long[]::new);
    return conn.preparedQuery("update outbox set published_at = $1 where seq = any($2)")
        .execute(Tuple.of(OffsetDateTime.now(clock.withZone(ZoneOffset.UTC)), seqs))
        .replaceWith(rows.size());
  }
}
