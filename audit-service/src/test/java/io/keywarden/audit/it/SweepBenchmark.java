package io.keywarden.audit.it;

import static io.restassured.RestAssured.given;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Figures for the note (run by bench/audit-sweep.sh): consumer events/s for N key events through
 * the real Kafka, then the time of one sweep over all keys. Not part of the normal test run.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
@EnabledIfSystemProperty(named = "kw.bench", matches = "true")
class SweepBenchmark {

  @Test
  void consumerThroughputAndSweepTime() throws Exception {
    int n = Integer.getInteger("kw.bench.keys", 100_000);
    String account = "bench-" + System.nanoTime();
    Properties p = new Properties();
    p.put("bootstrap.servers", Events.bootstrap());
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("linger.ms", "20");
    p.put("batch.size", "262144");
    Instant created = TestClock.now().minus(Duration.ofDays(10));
    Map<TopicPartition, Long> from = endOffsets();
    long sendStart = System.nanoTime();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int i = 0; i < n; i++) {
        KeySnapshot k = Events.key(account, "bench-" + i, KeyStatus.ACTIVE, created, 1);
        producer.send(
            new ProducerRecord<>(
                Topics.KEY_EVENTS,
                k.keyId(),
                EventCodec.encode(
                    CloudEvent.of(KeyEventType.CREATED.type(), "/bench", k.keyId(), created, k))));
      }
    }
    long sent = System.nanoTime();
    String url =
        "jdbc:postgresql://localhost:"
            + ConfigProvider.getConfig().getValue("kw.db.port", String.class)
            + "/auditservice";
    try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofMinutes(30))
          .pollInterval(Duration.ofMillis(500))
          .until(() -> keysOf(c, account) >= n);
    }
    long consumed = System.nanoTime();
    double consumeSeconds = (consumed - sendStart) / 1e9;
    double rawPerSecond = rawConsumerBaseline(from, n);
    String token =
        io.keywarden.stack.testing.Tokens.password(
            ConfigProvider.getConfig().getValue("kw.oidc.url", String.class), "carol");
    long sweepStart = System.nanoTime();
    String result =
        given()
            .auth()
            .oauth2(token)
            .post("/api/audit/sweep")
            .then()
            .statusCode(200)
            .extract()
            .asString();
    long sweepMs = (System.nanoTime() - sweepStart) / 1_000_000;
    System.out.printf(
        "BENCH keys=%d produce_s=%.1f consume_s=%.1f consumer_events_per_s=%.0f"
            + " (each event also opens a finding and queues its Kafka alert)%n",
        n, (sent - sendStart) / 1e9, consumeSeconds, n / consumeSeconds);
    System.out.printf(
        "BENCH baseline: raw KafkaConsumer poll + EventCodec.decode of the same %d records"
            + " events_per_s=%.0f; consumer = %.4f x baseline (1/%.0f)%n",
        n, rawPerSecond, (n / consumeSeconds) / rawPerSecond, rawPerSecond / (n / consumeSeconds));
    long jdbcMs = jdbcSweepBaseline(account);
    System.out.printf(
        "BENCH baseline: plain JDBC scan of the same %d keys with their open findings (pages of"
            + " 1,000) plus a batched update of those findings ms=%d%n",
        n, jdbcMs);
    System.out.printf(
        "BENCH sweep 1 over %d keys (their NEVER_USED findings were opened by the consumer) ms=%d"
            + " = %.1f x baseline result=%s%n",
        n, sweepMs, (double) sweepMs / jdbcMs, result);
    long again = System.nanoTime();
    String result2 =
        given()
            .auth()
            .oauth2(token)
            .post("/api/audit/sweep")
            .then()
            .statusCode(200)
            .extract()
            .asString();
    long sweep2Ms = (System.nanoTime() - again) / 1_000_000;
    System.out.printf(
        "BENCH sweep 2 (nothing changes) ms=%d = %.1f x baseline result=%s%n",
        sweep2Ms, (double) sweep2Ms / jdbcMs, result2);
  }

  private static Properties consumerProps() {
    Properties p = new Properties();
    p.put("bootstrap.servers", Events.bootstrap());
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    p.put("enable.auto.commit", "false");
    return p;
  }

  private static Map<TopicPartition, Long> endOffsets() {
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps())) {
      List<TopicPartition> parts =
          c.partitionsFor(Topics.KEY_EVENTS).stream()
              .map(i -> new TopicPartition(i.topic(), i.partition()))
              .toList();
      return new HashMap<>(c.endOffsets(parts));
    }
  }

  /** events/s of a bare KafkaConsumer reading and decoding the same records: the ceiling. */
  private static double rawConsumerBaseline(Map<TopicPartition, Long> from, int n) {
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps())) {
      c.assign(from.keySet());
      from.forEach(c::seek);
      long start = System.nanoTime();
      int read = 0;
      while (read < n) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          if (EventCodec.decode(r.value()).data() instanceof KeySnapshot) {
            read++;
          }
        }
      }
      return read / ((System.nanoTime() - start) / 1e9);
    }
  }

  /**
   * What a sweep cannot beat: read the same keys and their open findings page by page over plain
   * JDBC and write every finding once (one batched UPDATE per page).
   */
  private static long jdbcSweepBaseline(String account) throws Exception {
    try (Connection c = DriverManager.getConnection(jdbcUrl(), "postgres", "")) {
      long start = System.nanoTime();
      String after = "";
      int rows;
      do {
        rows = 0;
        List<java.util.UUID> ids = new ArrayList<>();
        try (PreparedStatement ps =
            c.prepareStatement(
                "select k.key_id, k.account, k.name, k.status, k.created_at, k.last_used_at,"
                    + " k.expires_at, k.rotated_at, k.quota_micros, k.spent_micros, f.id, f.type,"
                    + " f.period, f.detail from audit_keys k left join findings f on f.key_id ="
                    + " k.key_id and f.status <> 'resolved' where k.account = ? and k.key_id > ?"
                    + " order by k.key_id limit 1000")) {
          ps.setString(1, account);
          ps.setString(2, after);
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              rows++;
              after = rs.getString(1);
              for (int i = 2; i <= 14; i++) {
                rs.getObject(i);
              }
              if (rs.getObject(11) != null) {
                ids.add((java.util.UUID) rs.getObject(11));
              }
            }
          }
        }
        c.setAutoCommit(false);
        try (PreparedStatement up =
            c.prepareStatement("update findings set updated_at = updated_at where id = ?")) {
          for (java.util.UUID id : ids) {
            up.setObject(1, id);
            up.addBatch();
          }
          up.executeBatch();
        }
        c.commit();
        c.setAutoCommit(true);
      } while (rows == 1000);
      return (System.nanoTime() - start) / 1_000_000;
    }
  }

  private static String jdbcUrl() {
    return "jdbc:postgresql://localhost:"
        + ConfigProvider.getConfig().getValue("kw.db.port", String.class)
        + "/auditservice";
  }

  private static long keysOf(Connection c, String account) throws java.sql.SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("select count(*) from audit_keys where account = ?")) {
      ps.setString(1, account);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }
}
