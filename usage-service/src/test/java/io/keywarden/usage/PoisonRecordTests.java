package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.usage.projection.KeyProjection;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * E6 for usage-service's consumers (key-events, a whole poll at a time, and groups): poison records
 * - bad JSON, an unknown type, specversion 99, a 2 MB value, a key event without a key id, a
 * tombstone - each followed on the same partition by a good event. The good event is applied to the
 * projection, health stays UP, and the log names the poison by position only: a secret inside it (a
 * canary key) never reaches the log.
 *
 * <p>Why {@code failure-strategy=ignore} and no dead-letter topic here: usage-service keeps no
 * state from these topics but its in-memory projection, which every instance rebuilds from the
 * start of the topics on each start (no consumer group offsets are committed). A record it cannot
 * read is one key-service (the only producer) could not have written; skipping it loses nothing a
 * dead-letter copy would save (the record stays on the topic, where audit-service dead-letters it
 * with its origin for people to look at), while a consumer that stopped on it would freeze every
 * key's revocation on that partition. What must hold is that a poison record never takes good
 * records down with it: the feed catches every failure per record, so the rest of its poll is
 * applied.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
class PoisonRecordTests {
  @Inject KeyProjection projection;

  @ConfigProperty(name = "kafka.bootstrap.servers")
  String bootstrap;

  @ConfigProperty(name = "kw.oidc.url")
  String issuer;

  private KafkaProducer<String, String> producer() {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all");
    p.put("compression.type", "gzip"); // 2 MB of one letter is a few KB on the broker
    p.put("max.request.size", String.valueOf(4 * 1024 * 1024));
    p.put("linger.ms", "50"); // the poison and the good event go out together: one poll
    return new KafkaProducer<>(p);
  }

  private static KeySnapshot snapshot(String id, String account, String group, String secret) {
    Instant now = Instant.now();
    return new KeySnapshot(
        id,
        account,
        "poison test",
        group,
        KeyStatus.ACTIVE,
        KeyFormat.sha256Hex(secret),
        KeyFormat.mask(secret),
        false,
        null,
        null,
        List.of(),
        0,
        QuotaReset.NONE,
        RateLimit.NONE,
        null,
        now,
        now,
        null,
        1);
  }

  /** The poison records, each carrying the canary secret somewhere. */
  private static List<String> poison(String canary, String validKeyEventJson) {
    List<String> out = new ArrayList<>();
    out.add("{\"specversion\":\"1.0\",\"key\":\"" + canary); // bad JSON (cut off)
    out.add(canary); // not JSON at all
    out.add("sk_kw_" + canary.replace('-', '_')); // a bare token Jackson quotes in its error
    out.add(
        validKeyEventJson.replace(
            "\"type\":\"keywarden.key.created\"", "\"type\":\"" + canary + "\""));
    out.add(
        validKeyEventJson.replace(
            "\"type\":\"keywarden.key.created\"", "\"type\":\"keywarden.key.exploded\""));
    out.add(validKeyEventJson.replace("\"specversion\":\"1.0\"", "\"specversion\":\"99\""));
    out.add(
        validKeyEventJson.replace("\"specversion\":\"1.0\"", "\"specversion\":\"" + canary + "\""));
    out.add(
        "{\"specversion\":\"1.0\",\"canary\":\""
            + canary
            + "\",\"pad\":\""
            + "x".repeat(2 * 1024 * 1024)
            + "\"}"); // 2 MB
    // a key event without a key id (decodes: every field is optional in the contract)
    out.add(
        "{\"specversion\":\"1.0\",\"id\":\""
            + UUID.randomUUID()
            + "\",\"type\":\"keywarden.key.created\",\"source\":\"/x\",\"data\":{\"name\":\""
            + canary
            + "\"}}");
    out.add(null); // a tombstone
    return out;
  }

  @Test
  void poisonRecordsAreSkippedTheGoodEventAfterThemIsAppliedAndHealthStaysUp() throws Exception {
    Fixtures fx = new Fixtures(bootstrap, issuer, projection);
    String group = fx.group(true);
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    String canary = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String keyId = UUID.randomUUID().toString();
    String goodJson =
        EventCodec.encode(
            CloudEvent.of(
                KeyEventType.CREATED.type(),
                "/test",
                keyId,
                Instant.now(),
                snapshot(keyId, account, group, secret)));
    assertThat(goodJson).contains("\"type\":\"keywarden.key.created\"", "\"specversion\":\"1.0\"");
    String groupName = "poison-" + UUID.randomUUID().toString().substring(0, 8);
    String goodGroup =
        EventCodec.encode(
            CloudEvent.of(
                GroupSnapshot.TYPE,
                "/test",
                groupName,
                Instant.now(),
                new GroupSnapshot(
                    groupName, "", true, false, List.of(), Instant.now(), Instant.now(), 1)));

    try (KafkaProducer<String, String> p = producer()) {
      // all on the good event's partition (same record key), in order, then the good one
      for (String value : poison(canary, goodJson)) {
        p.send(new ProducerRecord<>(Topics.KEY_EVENTS, keyId, value));
      }
      p.send(new ProducerRecord<>(Topics.KEY_EVENTS, keyId, goodJson));
      for (String value :
          poison(canary, goodGroup.replace(GroupSnapshot.TYPE, "keywarden.key.created"))) {
        p.send(new ProducerRecord<>(Topics.GROUPS, groupName, value));
      }
      // a group event without data fields the projection needs (no name)
      p.send(
          new ProducerRecord<>(
              Topics.GROUPS,
              groupName,
              goodGroup.replace("\"name\":\"" + groupName + "\"", "\"name\":null")));
      p.send(new ProducerRecord<>(Topics.GROUPS, groupName, goodGroup)).get(30, TimeUnit.SECONDS);
      p.flush();
    }

    // the good events after the poison are applied
    Awaitility.await("the key after the poison is in the projection")
        .atMost(Duration.ofSeconds(30))
        .until(() -> projection.byId(keyId).isPresent());
    Awaitility.await("the group after the poison is in the projection")
        .atMost(Duration.ofSeconds(30))
        .until(() -> projection.group(groupName).isPresent());
    given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
        .contentType(ContentType.JSON)
        .body(Map.of("key", secret))
        .post("/api/authorize")
        .then()
        .statusCode(200)
        .body("code", equalTo("VALID"));
    // the consumers still run: a later event is applied too
    var later = fx.key(group, account);
    given().get("/q/health").then().statusCode(200).body("status", equalTo("UP"));

    // the log names the skipped records, never what they held
    Path log = Path.of("target/usage-service-test.log");
    Awaitility.await("the skips are logged")
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> Files.readString(log).contains("skipped a malformed record at " + Topics.GROUPS));
    StringBuilder all = new StringBuilder();
    try (var files = Files.list(log.getParent())) {
      for (Path f :
          files
              .filter(f -> f.getFileName().toString().startsWith("usage-service-test.log"))
              .toList()) {
        all.append(new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    String text = all.toString();
    long skips = text.lines().filter(l -> l.contains("skipped a malformed record")).count();
    System.out.printf(
        "E6 usage-service: %d poison records per topic skipped (log lines %d), the good events"
            + " after them applied, health UP, canary in the log: %s%n",
        poison(canary, goodJson).size(), skips, text.contains(canary));
    assertThat(text).as("the canary secret in the log").doesNotContain(canary);
    assertThat(text).doesNotContain(canary.substring(6, 30));
    assertThat(projection.byId(later.id())).isPresent();
  }
}
