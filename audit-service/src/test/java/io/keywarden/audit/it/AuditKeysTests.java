package io.keywarden.audit.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/** The foundation slice: key events through the real Kafka into GET /api/audit/keys. */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
class AuditKeysTests {

  static String issuer() {
    return ConfigProvider.getConfig().getValue("kw.oidc.url", String.class);
  }

  static String token(String user) {
    return Tokens.password(issuer(), user);
  }

  static Map<String, Object> listed(String keyId) {
    List<Map<String, Object>> keys =
        given()
            .auth()
            .oauth2(token("carol"))
            .get("/api/audit/keys")
            .then()
            .statusCode(200)
            .extract()
            .jsonPath()
            .getList("$");
    return keys.stream().filter(k -> keyId.equals(k.get("id"))).findFirst().orElse(null);
  }

  @Test
  void createdThenRevokedKeyIsListedAsRevokedWithItsAccountNameAndCreation() {
    KeySnapshot k = Events.key("acct-listing", "ci-bot", KeyStatus.ACTIVE, TestClock.now(), 1);
    Events.sendKey(KeyEventType.CREATED, k);
    Events.sendKey(KeyEventType.REVOKED, Events.with(k, KeyStatus.REVOKED, "ci-bot", 2));

    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              Map<String, Object> row = listed(k.keyId());
              assertThat(row).isNotNull();
              assertThat(row.get("status")).isEqualTo("revoked");
            });
    Map<String, Object> row = listed(k.keyId());
    assertThat(row)
        .containsEntry("account", "acct-listing")
        .containsEntry("name", "ci-bot")
        .containsEntry("group", "default")
        .containsKey("createdAt");
    assertThat(row.toString()).doesNotContain("0".repeat(64)).doesNotContain("sk-kw-");
  }

  @Test
  void anOlderVersionArrivingAfterANewerOneIsIgnored() {
    KeySnapshot k = Events.key("acct-versions", "v1", KeyStatus.ACTIVE, TestClock.now(), 1);
    Events.sendKey(KeyEventType.CREATED, k);
    Events.sendKey(KeyEventType.UPDATED, Events.with(k, KeyStatus.ACTIVE, "v5", 5));
    Events.sendKey(KeyEventType.UPDATED, Events.with(k, KeyStatus.DISABLED, "v3", 3));
    KeySnapshot marker =
        Events.key("acct-versions", "marker", KeyStatus.ACTIVE, TestClock.now(), 1);
    // same partition as k: the marker key is k's id, so it is applied after the stale event
    Events.send(
        Topics.KEY_EVENTS,
        k.keyId(),
        io.keywarden.contracts.events.CloudEvent.of(
            KeyEventType.CREATED.type(), "/key-service", marker.keyId(), TestClock.now(), marker));

    await().atMost(Duration.ofSeconds(30)).until(() -> listed(marker.keyId()) != null);
    Map<String, Object> row = listed(k.keyId());
    assertThat(row).containsEntry("name", "v5").containsEntry("status", "active");
    assertThat(((Number) row.get("version")).longValue()).isEqualTo(5);
  }

  @Test
  void poisonRecordsGoToTheDeadLetterTopicAndLaterEventsStillApply() {
    String poisonKey = "poison-" + System.nanoTime();
    Events.sendRaw(Topics.KEY_EVENTS, poisonKey, "{not json");
    Events.sendRaw(
        Topics.KEY_EVENTS,
        poisonKey,
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"type\":\"keywarden.key.exploded\",\"source\":\"/x\",\"data\":{}}");
    KeySnapshot after = Events.key("acct-poison", "after", KeyStatus.ACTIVE, TestClock.now(), 1);
    // same record key, so the same partition: it can only apply if the stream went on
    Events.send(
        Topics.KEY_EVENTS,
        poisonKey,
        io.keywarden.contracts.events.CloudEvent.of(
            KeyEventType.CREATED.type(), "/key-service", after.keyId(), TestClock.now(), after));

    await().atMost(Duration.ofSeconds(30)).until(() -> listed(after.keyId()) != null);
    var dead =
        Events.readAll("keywarden.key-events.audit-service.dlt", Duration.ofSeconds(5)).stream()
            .filter(r -> poisonKey.equals(r.key()))
            .toList();
    assertThat(dead).hasSize(2);
    assertThat(new String(dead.get(0).headers().lastHeader("dead-letter-reason").value()))
        .isNotBlank();
  }

  /** E6: a CloudEvent of spec version 99 and a 2 MB value, each dead-lettered with its origin. */
  @Test
  void version99AndA2MbValueGoToTheDeadLetterTopicWithTheirOriginAndHealthStaysUp()
      throws Exception {
    String poisonKey = "poison-big-" + System.nanoTime();
    KeySnapshot v99 = Events.key("acct-poison", "v99", KeyStatus.ACTIVE, TestClock.now(), 1);
    String v99Json =
        io.keywarden.contracts.events.EventCodec.encode(
                io.keywarden.contracts.events.CloudEvent.of(
                    KeyEventType.CREATED.type(), "/key-service", v99.keyId(), TestClock.now(), v99))
            .replace("\"specversion\":\"1.0\"", "\"specversion\":\"99\"");
    assertThat(v99Json).contains("\"specversion\":\"99\"");
    String big = "{\"specversion\":\"1.0\",\"pad\":\"" + "x".repeat(2 * 1024 * 1024);
    KeySnapshot after =
        Events.key("acct-poison", "after-big", KeyStatus.ACTIVE, TestClock.now(), 1);
    Map<String, Long> offsets = new java.util.HashMap<>();
    int partition;
    java.util.Properties p = new java.util.Properties();
    p.put("bootstrap.servers", Events.bootstrap());
    p.put("key.serializer", org.apache.kafka.common.serialization.StringSerializer.class.getName());
    p.put(
        "value.serializer", org.apache.kafka.common.serialization.StringSerializer.class.getName());
    p.put("compression.type", "gzip"); // 2 MB of one letter is a few KB on the broker
    p.put("max.request.size", String.valueOf(4 * 1024 * 1024));
    try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, String>(p)) {
      var m1 =
          producer
              .send(
                  new org.apache.kafka.clients.producer.ProducerRecord<>(
                      Topics.KEY_EVENTS, poisonKey, v99Json))
              .get(10, java.util.concurrent.TimeUnit.SECONDS);
      var m2 =
          producer
              .send(
                  new org.apache.kafka.clients.producer.ProducerRecord<>(
                      Topics.KEY_EVENTS, poisonKey, big))
              .get(10, java.util.concurrent.TimeUnit.SECONDS);
      offsets.put("v99", m1.offset());
      offsets.put("big", m2.offset());
      partition = m1.partition();
    }
    // same record key, so the same partition: it can only apply if the stream went on
    Events.send(
        Topics.KEY_EVENTS,
        poisonKey,
        io.keywarden.contracts.events.CloudEvent.of(
            KeyEventType.CREATED.type(), "/key-service", after.keyId(), TestClock.now(), after));

    await().atMost(Duration.ofSeconds(60)).until(() -> listed(after.keyId()) != null);
    assertThat(listed(v99.keyId())).as("the version-99 event must not be applied").isNull();
    var dead =
        Events.readAll("keywarden.key-events.audit-service.dlt", Duration.ofSeconds(5)).stream()
            .filter(r -> poisonKey.equals(r.key()))
            .toList();
    assertThat(dead).hasSize(2);
    assertThat(dead.get(0).value()).isEqualTo(v99Json);
    assertThat(dead.get(1).value()).isEqualTo(big);
    String[] names = {"v99", "big"};
    for (int i = 0; i < 2; i++) {
      var h = dead.get(i).headers();
      assertThat(header(h, "dead-letter-reason")).as(names[i]).isNotBlank();
      assertThat(header(h, "dead-letter-topic")).as(names[i]).isEqualTo(Topics.KEY_EVENTS);
      assertThat(header(h, "dead-letter-partition")).as(names[i]).isEqualTo("" + partition);
      assertThat(header(h, "dead-letter-offset"))
          .as(names[i])
          .isEqualTo("" + offsets.get(names[i]));
    }
    given().get("/q/health").then().statusCode(200).body("status", equalTo("UP"));
  }

  static String header(org.apache.kafka.common.header.Headers headers, String name) {
    var h = headers.lastHeader(name);
    return h == null ? null : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void aUserGets403AndNoTokenGets401OnTheKeyList() {
    given().auth().oauth2(token("alice")).get("/api/audit/keys").then().statusCode(403);
    given().get("/api/audit/keys").then().statusCode(401);
  }

  static JsonPath json(String user, String path) {
    return given().auth().oauth2(token(user)).get(path).then().extract().jsonPath();
  }
}
