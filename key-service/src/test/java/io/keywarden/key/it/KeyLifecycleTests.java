package io.keywarden.key.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
class KeyLifecycleTests {

  @jakarta.inject.Inject com.fasterxml.jackson.databind.ObjectMapper mapper;

  @jakarta.inject.Inject io.keywarden.key.usekey.UseKeyRenderer renderer;

  @org.eclipse.microprofile.config.inject.ConfigProperty(name = "kw.usage.base-url")
  String baseUrl;

  static Response create(String user, String body) {
    return Stack.as(user).body(body).post("/api/keys");
  }

  static String uniqueName(String base) {
    return base + " " + UUID.randomUUID().toString().substring(0, 8);
  }

  @Test
  void theCreateAnswersConfigurationsAreByteForByteWhatJacksonWritesForTheRenderedOnes()
      throws Exception {
    for (String base :
        List.of(
            "laptop", "prod (eu) 'x' \\\"y\\\" \\\\ $HOME `id`", "ünï ✓ 😀 ‘q’ “d” a+b&c=d%20")) {
      String name = uniqueName(base);
      Response r =
          create(
              "alice", "{\"name\":" + mapper.writeValueAsString(name) + ",\"group\":\"default\"}");
      r.then().statusCode(201).body("name", equalTo(name));
      String secret = r.path("secret");
      List<String> models =
          Stack.as("alice").get("/api/groups").path("find { it.name == 'default' }.models.id");
      assertThat(models).contains("gpt-5.5");
      Map<String, Object> configs = new java.util.LinkedHashMap<>();
      for (io.keywarden.key.usekey.UseKeyClient c : io.keywarden.key.usekey.UseKeyClient.values()) {
        configs.put(
            c.wire(),
            renderer.render(
                new io.keywarden.key.usekey.UseKeyRequest(
                    c,
                    io.keywarden.key.usekey.TargetOs.LINUX,
                    null,
                    baseUrl,
                    secret,
                    name,
                    models,
                    null)));
      }
      String expected =
          new String(mapper.writeValueAsBytes(configs), java.nio.charset.StandardCharsets.UTF_8);
      String body = new String(r.asByteArray(), java.nio.charset.StandardCharsets.UTF_8);
      assertThat(body).contains("\"useConfigs\":" + expected + "}");
      // revoked: alice's live keys stay under the cap for the other test classes
      Stack.as("alice").delete("/api/keys/" + r.path("id")).then().statusCode(200);
    }
  }

  @Test
  void createReturnsTheSecretOnceStoresOnlyItsHashAndPublishesCreatedThroughTheOutbox()
      throws Exception {
    String name = uniqueName("codex laptop");
    Response r = create("alice", "{\"name\":\"" + name + "\",\"group\":\"default\"}");
    r.then()
        .statusCode(201)
        .header("Location", matchesPattern(".*/api/keys/[0-9a-f-]{36}"))
        .body("name", equalTo(name))
        .body("group", equalTo("default"))
        .body("status", equalTo("active"))
        .body("createdAt", notNullValue())
        .body("secret", matchesPattern("sk-kw-[0-9A-Za-z]{39}"))
        .body("mask", containsString("…"))
        .body("$", not(hasKey("keyHash")))
        .body("useConfigs.codex.files[0].path", equalTo("~/.codex/config.toml"));
    String id = r.path("id");
    String secret = r.path("secret");
    assertThat(KeyFormat.hasValidChecksum(secret, "sk-kw-")).isTrue();
    assertThat(r.header("Location")).endsWith("/api/keys/" + id);

    // the secret is never shown again
    Stack.as("alice")
        .get("/api/keys/" + id)
        .then()
        .statusCode(200)
        .body("$", not(hasKey("secret")))
        .body("$", not(hasKey("keyHash")));

    List<CloudEvent<?>> events = Stack.keyEvents(id, 1);
    assertThat(events)
        .first()
        .satisfies(
            e -> {
              assertThat(e.type()).isEqualTo("keywarden.key.created");
              assertThat(e.subject()).isEqualTo(id);
              KeySnapshot k = (KeySnapshot) e.data();
              assertThat(k.keyHash()).isEqualTo(KeyFormat.sha256Hex(secret));
              assertThat(k.status()).isEqualTo(KeyStatus.ACTIVE);
              assertThat(k.account()).isEqualTo(Stack.account("alice"));
              assertThat(k.version()).isEqualTo(1);
            });
    // the plaintext reaches neither Kafka nor the log
    assertThat(Stack.allValues("keywarden.key-events")).noneMatch(v -> v.contains(secret));
    Path log = Path.of("target/test-logs/key-service.log");
    if (Files.exists(log)) {
      assertThat(Files.readString(log)).doesNotContain(secret);
    }
  }

  @Test
  void revokeIsFinalFreesTheNameAndPublishesRevoked() {
    String name = uniqueName("cursor");
    String id =
        create("alice", "{\"name\":\"" + name + "\",\"group\":\"default\"}")
            .then()
            .statusCode(201)
            .extract()
            .path("id");
    create("alice", "{\"name\":\"" + name.toUpperCase() + "\",\"group\":\"default\"}")
        .then()
        .statusCode(409)
        .body("field", equalTo("name"));
    Stack.as("alice")
        .delete("/api/keys/" + id)
        .then()
        .statusCode(200)
        .body("status", equalTo("revoked"));
    Stack.as("alice")
        .post("/api/keys/" + id + "/enable")
        .then()
        .statusCode(409)
        .body("field", equalTo("status"));
    Stack.as("alice").post("/api/keys/" + id + "/disable").then().statusCode(409);
    Stack.as("alice").body("{\"name\":\"x\"}").patch("/api/keys/" + id).then().statusCode(409);
    create("alice", "{\"name\":\"" + name + "\",\"group\":\"default\"}").then().statusCode(201);
    List<CloudEvent<?>> events = Stack.keyEvents(id, 2);
    assertThat(events)
        .extracting(CloudEvent::type)
        .containsExactly("keywarden.key.created", "keywarden.key.revoked");
    assertThat(((KeySnapshot) events.get(1).data()).version()).isEqualTo(2);
  }

  @Test
  void anotherAccountsKeyIsA404OnEveryVerbExactlyAsAnUnknownId() {
    String id =
        create("alice", "{\"name\":\"" + uniqueName("private") + "\",\"group\":\"default\"}")
            .then()
            .statusCode(201)
            .extract()
            .path("id");
    for (String target : List.of(id, UUID.randomUUID().toString())) {
      Stack.as("bob").get("/api/keys/" + target).then().statusCode(404);
      Stack.as("bob")
          .body("{\"name\":\"stolen\"}")
          .patch("/api/keys/" + target)
          .then()
          .statusCode(404);
      Stack.as("bob").delete("/api/keys/" + target).then().statusCode(404);
      Stack.as("bob").post("/api/keys/" + target + "/disable").then().statusCode(404);
      Stack.as("bob").post("/api/keys/" + target + "/enable").then().statusCode(404);
      Stack.as("bob").post("/api/keys/" + target + "/rotate").then().statusCode(404);
      Stack.as("bob").post("/api/keys/" + target + "/leaked").then().statusCode(404);
      Stack.as("bob").get("/api/keys/" + target + "/use?client=codex").then().statusCode(404);
    }
    assertThat(
            Stack.as("bob")
                .get("/api/keys?size=100")
                .then()
                .statusCode(200)
                .extract()
                .<List<String>>path("items.id"))
        .doesNotContain(id);
    Stack.as("alice")
        .get("/api/keys/" + id)
        .then()
        .statusCode(200)
        .body("status", equalTo("active"));
  }

  @Test
  void aQueryParameterThatCannotBeStoredIsA400NamingIt() {
    // %00 decodes to the NUL character, which PostgreSQL's text cannot hold (was a 503)
    for (String param : List.of("q", "group", "status")) {
      Stack.as("alice")
          .urlEncodingEnabled(false)
          .get("/api/keys?" + param + "=a%00b")
          .then()
          .statusCode(400)
          .contentType("application/problem+json")
          .body("field", equalTo(param))
          .body("detail", containsString("NUL character"));
    }
    Stack.as("alice").get("/api/keys?q=ab").then().statusCode(200);
  }

  @Test
  void badInputGets400NamingTheFieldAndWritesNothing() {
    String name = uniqueName("bad");
    Map<String, String> cases =
        Map.ofEntries(
            Map.entry("{\"group\":\"default\"}", "name"),
            Map.entry("{\"name\":\"   \",\"group\":\"default\"}", "name"),
            Map.entry("{\"name\":\"" + "n".repeat(65) + "\",\"group\":\"default\"}", "name"),
            Map.entry("{\"name\":\"a\\u0007b\",\"group\":\"default\"}", "name"),
            // lone UTF-16 surrogates: no UTF-8 form, PostgreSQL refused the row (was a 503)
            Map.entry("{\"name\":\"a\\udbe5b\",\"group\":\"default\"}", "name"),
            Map.entry("{\"name\":\"" + name + "\",\"group\":\"def\\udc57\"}", "group"),
            // the NUL character: PostgreSQL's text cannot hold it (was a 503)
            Map.entry("{\"name\":\"" + name + "\",\"group\":\"def\\u0000\"}", "group"),
            Map.entry(
                "{\"name\":\""
                    + name
                    + "\",\"group\":\"default\",\"allowedIps\":[\"10.0.0.1\",\"\\ud83d\"]}",
                "allowedIps[1]"),
            Map.entry("{\"name\":\"" + name + "\",\"group\":\"nope\"}", "group"),
            Map.entry(
                "{\"name\":\"" + name + "\",\"group\":\"default\",\"secret\":\"x\"}", "secret"),
            Map.entry(
                "{\"name\":\""
                    + name
                    + "\",\"group\":\"default\",\"customKey\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
                "customKey"),
            Map.entry(
                "{\"name\":\"" + name + "\",\"group\":\"default\",\"customKey\":\"short\"}",
                "customKey"),
            Map.entry(
                "{\"name\":\""
                    + name
                    + "\",\"group\":\"default\",\"customKey\":\"my-example-key-Zq8Lw3Rt6Yp1Nv5Kj9Hg2\"}",
                "customKey"),
            Map.entry(
                "{\"name\":\""
                    + name
                    + "\",\"group\":\"default\",\"allowedIps\":[\"10.0.0.0/8\",\"example.com\"]}",
                "allowedIps"),
            Map.entry(
                "{\"name\":\"" + name + "\",\"group\":\"default\",\"quotaUsd\":\"-1\"}",
                "quotaUsd"),
            Map.entry(
                "{\"name\":\"" + name + "\",\"group\":\"default\",\"quotaUsd\":\"1.0000001\"}",
                "quotaUsd"),
            Map.entry(
                "{\"name\":\"" + name + "\",\"group\":\"default\",\"quotaReset\":\"hourly\"}",
                "quotaReset"),
            Map.entry(
                "{\"name\":\""
                    + name
                    + "\",\"group\":\"default\",\"rateLimit\":{\"requestsPerMinute\":0}}",
                "rateLimit.requestsPerMinute"),
            Map.entry(
                "{\"name\":\""
                    + name
                    + "\",\"group\":\"default\",\"expiresAt\":\"2020-01-01T00:00:00Z\"}",
                "expiresAt"),
            Map.entry(
                "{\"name\":\"" + name + "\",\"group\":\"default\",\"expiresIn\":\"soon\"}",
                "expiresIn"),
            Map.entry(
                "{\"name\":\""
                    + name
                    + "\",\"group\":\"default\",\"expiresAt\":\"+999999999-12-31T23:59:59Z\"}",
                "expiresAt"),
            Map.entry(
                "{\"name\":\"" + name + "\",\"group\":\"default\",\"expiresIn\":\"P3000000D\"}",
                "expiresIn"),
            Map.entry(
                "{\"name\":\""
                    + name
                    + "\",\"group\":\"default\",\"expiresAt\":\"2030-01-01T00:00:00Z\",\"expiresIn\":\"P1D\"}",
                "expiresIn"));
    for (var c : cases.entrySet()) {
      create("alice", c.getKey())
          .then()
          .statusCode(400)
          .contentType("application/problem+json")
          .body("field", equalTo(c.getValue()))
          .body("detail", containsString(c.getValue()))
          .body("detail", not(containsString("Exception")));
    }
    create("alice", "not json").then().statusCode(400).contentType("application/problem+json");
    // a surrogate as raw bytes (ED A0 80: CESU-8, not UTF-8)
    byte[] head = ("{\"name\":\"" + name).getBytes(StandardCharsets.UTF_8);
    byte[] tail = "\",\"group\":\"default\"}".getBytes(StandardCharsets.UTF_8);
    byte[] raw = Arrays.copyOf(head, head.length + 3 + tail.length);
    raw[head.length] = (byte) 0xED;
    raw[head.length + 1] = (byte) 0xA0;
    raw[head.length + 2] = (byte) 0x80;
    System.arraycopy(tail, 0, raw, head.length + 3, tail.length);
    Stack.as("alice")
        .body(raw)
        .post("/api/keys")
        .then()
        .statusCode(400)
        .contentType("application/problem+json")
        .body("detail", not(containsString("Exception")));
    assertThat(
            Stack.as("alice")
                .get("/api/keys?q=" + name.substring(4) + "&size=100")
                .then()
                .extract()
                .<Integer>path("total"))
        .isZero();
  }

  @Test
  void allSettingsAreStoredNormalisedAndShownWithoutTheSecret() {
    String name = uniqueName("full");
    Instant expires = Instant.now().plusSeconds(86_400 * 10);
    String body =
        "{\"name\":\"  "
            + name
            + "  \",\"group\":\"default\",\"allowedIps\":[\"10.1.2.3/8\",\"10.0.0.0/8\",\"2001:DB8::1\"],"
            + "\"quotaUsd\":\"12.5\",\"quotaReset\":\"monthly\",\"rateLimit\":{\"requestsPerMinute\":60,\"concurrentRequests\":2},"
            + "\"expiresAt\":\""
            + expires
            + "\"}";
    Response r = create("alice", body);
    r.then()
        .statusCode(201)
        .body("name", equalTo(name))
        .body("allowedIps", equalTo(List.of("10.0.0.0/8", "2001:db8::1")))
        .body("quotaUsd", equalTo("12.50"))
        .body("quotaReset", equalTo("monthly"))
        .body("quotaRemainingUsd", equalTo("12.50"))
        .body("spentUsd", equalTo("0.00"))
        .body("rateLimit.requestsPerMinute", equalTo(60))
        .body("rateLimit.concurrentRequests", equalTo(2))
        .body("lastUsedAt", nullValue())
        .body("useLinks.cursor", endsWith("/use?client=cursor"));
  }

  @Test
  void patchChangesOnlyAllowedFieldsAndRefusesTheRestByName() {
    String id =
        create("alice", "{\"name\":\"" + uniqueName("patch") + "\",\"group\":\"default\"}")
            .then()
            .statusCode(201)
            .extract()
            .path("id");
    for (String field :
        List.of("secret", "keyHash", "status", "spentUsd", "account", "id", "custom")) {
      Stack.as("alice")
          .body("{\"" + field + "\":\"x\"}")
          .patch("/api/keys/" + id)
          .then()
          .statusCode(400)
          .body("field", equalTo(field));
    }
    for (String field : List.of("name", "group")) {
      Stack.as("alice")
          .body("{\"" + field + "\":\"x\\udbe5\"}")
          .patch("/api/keys/" + id)
          .then()
          .statusCode(400)
          .body("field", equalTo(field))
          .body("detail", containsString("unpaired UTF-16 surrogate"));
    }
    Stack.as("alice")
        .body("{\"group\":\"x\\u0000\"}")
        .patch("/api/keys/" + id)
        .then()
        .statusCode(400)
        .body("field", equalTo("group"))
        .body("detail", containsString("NUL character"));
    Stack.as("alice")
        .body("{\"allowedIps\":[\"\\udbe5\"]}")
        .patch("/api/keys/" + id)
        .then()
        .statusCode(400)
        .body("field", equalTo("allowedIps"));
    String newName = uniqueName("renamed");
    Stack.as("alice")
        .body("{\"name\":\"" + newName + "\",\"quotaUsd\":\"3\",\"allowedIps\":[\"192.168.0.1\"]}")
        .patch("/api/keys/" + id)
        .then()
        .statusCode(200)
        .body("name", equalTo(newName))
        .body("quotaUsd", equalTo("3.00"))
        .body("allowedIps[0]", equalTo("192.168.0.1"));
    List<CloudEvent<?>> events = Stack.keyEvents(id, 2);
    assertThat(events.get(1).type()).isEqualTo("keywarden.key.updated");
    assertThat(((KeySnapshot) events.get(1).data()).quotaMicros()).isEqualTo(3_000_000L);
  }

  @Test
  void rotateGivesANewSecretKeepsTheIdAndAnnouncesTheOverlapEnd() {
    Response c =
        create("alice", "{\"name\":\"" + uniqueName("rotate") + "\",\"group\":\"default\"}");
    String id = c.path("id");
    String old = c.path("secret");
    Response r =
        Stack.as("alice").body("{\"overlap\":\"PT1H\"}").post("/api/keys/" + id + "/rotate");
    r.then()
        .statusCode(200)
        .body("id", equalTo(id))
        .body("secret", not(equalTo(old)))
        .body("previousSecretExpiresAt", notNullValue());
    Stack.as("alice")
        .body("{\"overlap\":\"P31D\"}")
        .post("/api/keys/" + id + "/rotate")
        .then()
        .statusCode(400)
        .body("field", equalTo("overlap"));
    List<CloudEvent<?>> events = Stack.keyEvents(id, 2);
    KeySnapshot s = (KeySnapshot) events.get(1).data();
    assertThat(events.get(1).type()).isEqualTo("keywarden.key.rotated");
    assertThat(s.previousKeyHash()).isEqualTo(KeyFormat.sha256Hex(old));
    assertThat(s.keyHash()).isEqualTo(KeyFormat.sha256Hex(r.path("secret")));
    assertThat(s.previousKeyExpiresAt()).isAfter(Instant.now().plusSeconds(3500));
  }

  @Test
  void leakedIsFinalAndDisableEnableFollowTheRules() {
    String id =
        create("alice", "{\"name\":\"" + uniqueName("leak") + "\",\"group\":\"default\"}")
            .then()
            .statusCode(201)
            .extract()
            .path("id");
    Stack.as("alice")
        .post("/api/keys/" + id + "/disable")
        .then()
        .statusCode(200)
        .body("status", equalTo("disabled"));
    Stack.as("alice")
        .post("/api/keys/" + id + "/enable")
        .then()
        .statusCode(200)
        .body("status", equalTo("active"));
    Stack.as("alice")
        .post("/api/keys/" + id + "/leaked")
        .then()
        .statusCode(200)
        .body("status", equalTo("leaked"));
    Stack.as("alice").post("/api/keys/" + id + "/enable").then().statusCode(409);
    Stack.as("alice")
        .body("{\"status\":\"active\"}")
        .patch("/api/keys/" + id)
        .then()
        .statusCode(400)
        .body("field", equalTo("status"));
    assertThat(Stack.keyEvents(id, 4))
        .extracting(CloudEvent::type)
        .containsExactly(
            "keywarden.key.created",
            "keywarden.key.disabled",
            "keywarden.key.enabled",
            "keywarden.key.leaked");
  }

  @Test
  void useKeyRendersAPlaceholderByGetAndTheRealKeyOnlyWhenTheSecretMatches() {
    Response c = create("alice", "{\"name\":\"" + uniqueName("use") + "\",\"group\":\"default\"}");
    String id = c.path("id");
    String secret = c.path("secret");
    Stack.as("alice")
        .get("/api/keys/" + id + "/use?client=claude-code&os=windows")
        .then()
        .statusCode(200)
        .body("files[0].path", containsString(".claude"))
        .body("files[0].content", containsString("<YOUR_KEYWARDEN_KEY>"));
    Stack.as("alice")
        .body("{\"secret\":\"" + secret + "\"}")
        .post("/api/keys/" + id + "/use?client=cc-switch")
        .then()
        .statusCode(200)
        .body("importLink", containsString(secret));
    Stack.as("alice")
        .body("{\"secret\":\"sk-kw-wrong\"}")
        .post("/api/keys/" + id + "/use?client=codex")
        .then()
        .statusCode(400)
        .body("field", equalTo("secret"));
    Stack.as("alice")
        .get("/api/keys/" + id + "/use?client=vscode")
        .then()
        .statusCode(400)
        .body("field", equalTo("client"));
    Stack.as("alice")
        .get("/api/keys/" + id + "/use?client=codex&os=amiga")
        .then()
        .statusCode(400)
        .body("field", equalTo("os"));
    Stack.as("alice")
        .get("/api/keys/" + id + "/use?client=codex&model=gpt-0")
        .then()
        .statusCode(400)
        .body("field", equalTo("model"));
  }

  @Test
  void rolesAreEnforcedAndAnonymousCallsAre401() {
    given().get("/api/keys").then().statusCode(401);
    Stack.as("alice").get("/api/admin/keys").then().statusCode(403);
    Stack.as("carol").get("/api/admin/keys?size=5").then().statusCode(200);
    Stack.as("alice").get("/api/groups").then().statusCode(200).body("[0].name", notNullValue());
    Stack.as("alice")
        .get("/api/keys?size=1000")
        .then()
        .statusCode(400)
        .body("field", equalTo("size"));
  }

  @Test
  void theGroupCatalogueIsPublishedOnTheGroupsTopicAtStart() {
    List<String> values =
        Stack.records(
                "keywarden.groups",
                rs -> rs.stream().anyMatch(r -> "default".equals(r.key())),
                java.time.Duration.ofSeconds(15))
            .stream()
            .filter(r -> "default".equals(r.key()))
            .map(org.apache.kafka.clients.consumer.ConsumerRecord::value)
            .toList();
    assertThat(values).isNotEmpty();
    io.keywarden.contracts.events.GroupSnapshot g =
        (io.keywarden.contracts.events.GroupSnapshot)
            io.keywarden.contracts.events.EventCodec.decode(values.get(0)).data();
    assertThat(g.enabled()).isTrue();
    assertThat(g.models())
        .extracting(io.keywarden.contracts.events.ModelPrice::id)
        .contains("gpt-5.5");
  }

  @Test
  void lastUsedAtAndSpendComeFromUsageRollUpsAndOlderRollUpsChangeNothing() throws Exception {
    String id =
        create(
                "alice",
                "{\"name\":\""
                    + uniqueName("used")
                    + "\",\"group\":\"default\",\"quotaUsd\":\"5\"}")
            .then()
            .statusCode(201)
            .extract()
            .path("id");
    Instant t = Instant.parse("2026-11-23T10:01:00Z");
    Stack.publishUsage(id, t.minusSeconds(60), t, 2_500_000L, "203.0.113.7");
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(15))
        .untilAsserted(
            () ->
                Stack.as("alice")
                    .get("/api/keys/" + id)
                    .then()
                    .statusCode(200)
                    .body("spentUsd", equalTo("2.50"))
                    .body("quotaRemainingUsd", equalTo("2.50"))
                    .body("lastUsedAt", equalTo("2026-11-23T10:00:59Z")));
    // a late, older window must not move spend or last use backwards
    Stack.publishUsage(id, t.minusSeconds(180), t.minusSeconds(120), 1_000_000L, "198.51.100.1");
    Stack.publishUsage(id, t, t.plusSeconds(60), 3_000_000L, "203.0.113.8");
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(15))
        .untilAsserted(
            () ->
                Stack.as("alice")
                    .get("/api/keys/" + id)
                    .then()
                    .body("spentUsd", equalTo("3.00"))
                    .body("lastUsedAt", equalTo("2026-11-23T10:01:59Z")));
    Stack.as("alice")
        .get("/api/keys?sort=-lastUsed&size=1")
        .then()
        .statusCode(200)
        .body("items[0].id", equalTo(id));
  }
}
