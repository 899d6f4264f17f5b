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
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
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
    long count = 0;
    try (Connection c = DriverManager.getConnection(url, "postgres", "")) {
      while (count < n) {
        Thread.sleep(500);
        try (ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "select count(*) from audit_keys where account = '" + account + "'")) {
          rs.next();
          count = rs.getLong(1);
        }
      }
    }
    long consumed = System.nanoTime();
    double consumeSeconds = (consumed - sendStart) / 1e9;
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
        "BENCH sweep 1 over %d keys (their NEVER_USED findings were opened by the consumer) ms=%d result=%s%n",
        n, sweepMs, result);
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
    System.out.printf(
        "BENCH sweep 2 (nothing changes) ms=%d result=%s%n",
        (System.nanoTime() - again) / 1_000_000, result2);
  }
}
