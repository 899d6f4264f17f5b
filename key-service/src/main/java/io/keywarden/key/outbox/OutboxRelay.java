package io.keywarden.key.outbox;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
 *
 * <p>Fast path (the create path): a row written already claimed by its writer ({@code
 * claimed_until} a few seconds ahead) is handed over here right after its commit with its payload,
 * sent at once without reading it back, and marked published in batches after the acks. The polling
 * relay leaves such a row alone until its claim lapses, so it only publishes it when the writer did
 * not (crash, Kafka down): at least once, never lost. It leaves the later rows of that key alone as
 * well, so a key's events still reach Kafka in commit order.
 */
@ApplicationScoped
public class OutboxRelay {
  private static final Logger LOG = Logger.getLogger(OutboxRelay.class);
  private static final int BATCH = 500;
  private static final byte[] CONTENT_TYPE =
      "application/cloudevents+json; charset=UTF-8".getBytes(StandardCharsets.UTF_8);

  /**
   * The pass's claim: unpublished rows whose writer's claim lapsed (or that never had one), in seq
   * order. A later change of a key waits while an earlier row of the same key is still its writer's
   * (a create whose fast-path send failed): published first, it would reach consumers before the
   * created event (E3).
   */
  public static final String POLL =
      "select seq, event_id, topic, record_key, payload from outbox o"
          + " where published_at is null"
          + " and (claimed_until is null or claimed_until < $2)"
          + " and not exists (select 1 from outbox e where e.record_key = o.record_key"
          + " and e.published_at is null and e.claimed_until >= $2 and e.seq < o.seq)"
          + " order by seq limit $1 for update skip locked";

  /**
   * Plain index scans only, for this transaction. Every published row leaves a dead entry in
   * outbox_unpublished_ix until a vacuum removes it (the fast path inserts then marks ~4,000 rows/s
   * under load). A plain index scan marks the entries it finds dead (LP_DEAD) and later scans skip
   * them; a bitmap scan marks none, so a connection whose cached plan was a bitmap scan visited
   * every dead row version again on each pass, more as the table grew, until autovacuum came.
   * Measured on PostgreSQL 17 with 250,000 dead entries: bitmap 122 ms per pass, every pass; plain
   * 95 ms once, then 1.3 ms. (The key-create bench's slow runs were mostly kw_create_key's name
   * check: migration V4.) Sequential scans are off as well: with bitmap scans alone turned off,
   * OutboxTests once saw both passes touch ~2,540 buffers, the whole table's pages (a sequential
   * scan, which reads the whole table on every pass).
   */
  public static final String PLAIN_INDEX_SCANS =
      "set local enable_bitmapscan = off; set local enable_seqscan = off";

  private final Pool pool;

  @Inject
  @Channel("outbox")
  @OnOverflow(value = OnOverflow.Strategy.BUFFER, bufferSize = 8192)
  MutinyEmitter<String> emitter;

  private final Clock clock;
  private final Vertx vertx;
  private final AtomicBoolean running = new AtomicBoolean();
  private final ConcurrentLinkedQueue<Handoff> handoffs = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final ConcurrentLinkedQueue<Long> acked = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean marking = new AtomicBoolean();
  private final AtomicLong fastPublished = new AtomicLong();

  private record Handoff(long seq, Outbox.Pending event) {}

  private final AtomicBoolean again = new AtomicBoolean();
  private volatile boolean stopped;

  /**
   * Test-only fault hook (reliability row E3, system-tests OutboxCrashTests): when the property
   * {@code kw.outbox.test.halt-after-send} is {@code true}, the process halts (no shutdown hooks,
   * like {@code kill -9}) right after Kafka acknowledged a send and before the rows are marked
   * published. Read only when set; never set outside that test.
   */
  private final boolean haltAfterSend =
      org.eclipse.microprofile.config.ConfigProvider.getConfig()
          .getOptionalValue("kw.outbox.test.halt-after-send", Boolean.class)
          .orElse(false);

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

  /**
   * Sends a committed, writer-claimed outbox row now (fast path). Sends keep hand-over order on the
   * one producer; the row is marked published after Kafka acknowledged it.
   */
  public void publishCommitted(long seq, Outbox.Pending event) {
    if (stopped) {
      return; // the polling relay publishes it once the claim lapses
    }
    handoffs.add(new Handoff(seq, event));
    if (draining.compareAndSet(false, true)) {
      VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext())
          .runOnContext(v -> drain());
    }
  }

  /** Rows published by the fast path since start (tests and diagnostics). */
  public long fastPublished() {
    return fastPublished.get();
  }

  private void drain() {
    while (true) {
      Handoff h;
      while ((h = handoffs.poll()) != null) {
        long seq = h.seq();
        try {
          emitter
              .sendMessage(
                  message(
                      h.event().payload(),
                      h.event().topic(),
                      h.event().recordKey(),
                      h.event().eventId().toString()))
              .subscribe()
              .with(
                  ok -> {
                    haltIfArmed(1);
                    acked.add(seq);
                    fastPublished.incrementAndGet();
                    flushMarks();
                  },
                  e -> notSent(seq, e));
        } catch (RuntimeException e) {
          notSent(seq, e); // e.g. the channel is closing: never leave the drain flag set
        }
      }
      draining.set(false);
      if (handoffs.isEmpty() || !draining.compareAndSet(false, true)) {
        return;
      }
    }
  }

  private static void notSent(long seq, Throwable e) {
    LOG.warnf(
        "outbox row %d not sent on the fast path (the relay re-sends it once its claim lapses): %s",
        seq, e.getMessage());
  }

  /** Marks acknowledged fast-path rows published, one UPDATE per batch of acks. */
  private void flushMarks() {
    if (acked.isEmpty() || !marking.compareAndSet(false, true)) {
      return;
    }
    List<Long> seqs = new ArrayList<>();
    Long s;
    while ((s = acked.poll()) != null) {
      seqs.add(s);
    }
    if (seqs.isEmpty()) {
      marking.set(false);
      return;
    }
    pool.preparedQuery(
            "update outbox set published_at = $1 where seq = any($2) and published_at is null")
        .execute(
            Tuple.of(OffsetDateTime.now(clock.withZone(ZoneOffset.UTC)), seqs.toArray(Long[]::new)))
        .subscribe()
        .with(
            ok -> {
              marking.set(false);
              flushMarks();
            },
            e -> {
              marking.set(false);
              LOG.warnf(
                  "marking %d outbox rows published failed (the relay re-sends them): %s",
                  seqs.size(), e.getMessage());
            });
  }

  @Scheduled(
      every = "${kw.outbox.poll-interval:1s}",
      delayed = "2s",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void poll() {
    flushMarks(); // acks left over from a failed mark
    wake();
  }

  @Inject KafkaClientService kafkaClients;

  void onStop(@Observes ShutdownEvent ev) {
    stopped = true;
    logProducerCounts();
  }

  /**
   * How the relay's sends reached the broker (the bench prints this line): produce requests,
   * records and records per request since start. The broker's CPU goes mostly per request, not per
   * record.
   */
  private void logProducerCounts() {
    try {
      var producer = kafkaClients == null ? null : kafkaClients.getProducer("outbox");
      if (producer == null) {
        return;
      }
      double requests = 0;
      double records = 0;
      for (var e : producer.unwrap().metrics().entrySet()) {
        if (!e.getKey().group().equals("producer-metrics")) {
          continue;
        }
        switch (e.getKey().name()) {
          case "request-total" -> requests = ((Number) e.getValue().metricValue()).doubleValue();
          case "record-send-total" -> records = ((Number) e.getValue().metricValue()).doubleValue();
          default -> {}
        }
      }
      LOG.infof(
          "outbox producer: %.0f produce requests, %.0f records (%.1f per request)",
          requests, records, requests == 0 ? 0.0 : records / requests);
    } catch (RuntimeException e) {
      LOG.debugf("outbox producer counts unavailable: %s", e.getMessage());
    }
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
        conn -> conn.query(PLAIN_INDEX_SCANS).execute().chain(() -> poll(conn)));
  }

  private Uni<Integer> poll(SqlConnection conn) {
    return conn.preparedQuery(POLL)
        .execute(Tuple.of(BATCH, OffsetDateTime.now(clock.withZone(ZoneOffset.UTC))))
        .onItem()
        .transformToUni(
            rows -> {
              List<Row> claimed = new ArrayList<>();
              rows.forEach(claimed::add);
              if (claimed.isEmpty()) {
                return Uni.createFrom().item(0);
              }
              return sendAll(claimed)
                  .invoke(() -> haltIfArmed(claimed.size()))
                  .chain(() -> markPublished(conn, claimed));
            });
  }

  /** The E3 fault hook (see {@link #haltAfterSend}): sent and acknowledged, not yet marked. */
  private void haltIfArmed(int sent) {
    if (haltAfterSend) {
      LOG.warnf(
          "test fault hook kw.outbox.test.halt-after-send: halting after %d acknowledged sends,"
              + " before marking them published",
          sent);
      Runtime.getRuntime().halt(99);
    }
  }

  private Uni<Void> sendAll(List<Row> rows) {
    // sent in seq order on one producer: per-key order holds on each partition
    List<Uni<Void>> acks = new ArrayList<>(rows.size());
    for (Row r : rows) {
      acks.add(
          emitter.sendMessage(
              message(
                  r.getString("payload"),
                  r.getString("topic"),
                  r.getString("record_key"),
                  r.getUUID("event_id").toString())));
    }
    return Uni.join().all(acks).andFailFast().replaceWithVoid();
  }

  private static Message<String> message(
      String payload, String topic, String recordKey, String eventId) {
    RecordHeaders headers = new RecordHeaders();
    headers.add("content-type", CONTENT_TYPE);
    headers.add("ce_id", eventId.getBytes(StandardCharsets.UTF_8));
    return Message.of(payload)
        .addMetadata(
            OutgoingKafkaRecordMetadata.<String>builder()
                .withTopic(topic)
                .withKey(recordKey)
                .withHeaders(headers)
                .build());
  }

  private Uni<Integer> markPublished(SqlConnection conn, List<Row> rows) {
    Long[] seqs = rows.stream().map(r -> r.getLong("seq")).toArray(Long[]::new);
    return conn.preparedQuery("update outbox set published_at = $1 where seq = any($2)")
        .execute(Tuple.of(OffsetDateTime.now(clock.withZone(ZoneOffset.UTC)), seqs))
        .replaceWith(rows.size());
  }
}
