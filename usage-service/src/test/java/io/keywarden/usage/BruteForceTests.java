package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.usage.authz.InvalidKeyGuard;
import io.keywarden.usage.projection.KeyProjection;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RELIABILITY S2, brute force: 1,000 wrong keys from one address. After the limit (100 invalid keys
 * per address and minute, the default) every key check from that address is refused with 429 until
 * its minute ends, good keys included, on every path a key is presented: authorize, forward-auth
 * and {@code /v1/models}. Each test runs in a minute of its own (the test clock, frozen), so the
 * blocks it makes end with it.
 */
@QuarkusTest
@QuarkusTestResource(value = KeywardenStackResource.class)
class BruteForceTests {
  private static final int LIMIT = 100;

  @Inject KeyProjection projection;
  @Inject InvalidKeyGuard guard;
  @Inject TestClock clock;

  @io.quarkus.test.common.http.TestHTTPResource("/api/authorize")
  java.net.URI authorizeUrl;

  @ConfigProperty(name = "kafka.bootstrap.servers")
  String bootstrap;

  @ConfigProperty(name = "kw.oidc.url")
  String issuer;

  Fixtures fx;

  /**
   * The minute a test runs in: frozen, so a slow machine cannot carry it into the next one, and a
   * day ahead, so the addresses it blocks (127.0.0.1 among them) are never blocked in a minute the
   * other test classes run in with the real clock.
   */
  private java.time.Instant minute;

  @BeforeEach
  void setUp() {
    fx = new Fixtures(bootstrap, issuer, projection);
    minute =
        java.time.Instant.now()
            .truncatedTo(java.time.temporal.ChronoUnit.MINUTES)
            .plus(java.time.Duration.ofDays(1))
            .plusMillis(100);
    clock.freeze(minute);
  }

  @AfterEach
  void resetClock() {
    clock.reset();
  }

  private static Response authorize(String key, String clientIp) {
    return given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
        .contentType(ContentType.JSON)
        .body(Map.of("key", key, "clientIp", clientIp))
        .post("/api/authorize");
  }

  // one keep-alive connection and Jackson for the loops: RestAssured's JSON paths cost ~50 ms each
  private static final java.net.http.HttpClient HTTP =
      java.net.http.HttpClient.newBuilder()
          .version(java.net.http.HttpClient.Version.HTTP_1_1)
          .build();
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  private java.net.http.HttpResponse<String> fast(String key, String clientIp) throws Exception {
    return HTTP.send(
        java.net.http.HttpRequest.newBuilder(authorizeUrl)
            .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
            .header("Content-Type", "application/json")
            .POST(
                java.net.http.HttpRequest.BodyPublishers.ofString(
                    JSON.writeValueAsString(Map.of("key", key, "clientIp", clientIp))))
            .build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  private String fastCode(String key, String clientIp) throws Exception {
    return JSON.readTree(fast(key, clientIp).body()).path("code").asText();
  }

  private static String wrongKey() {
    return KeyFormat.generate(KeyFormat.DEFAULT_PREFIX); // a good checksum, but no such key
  }

  @Test
  void aThousandWrongKeysFromOneAddressGet429AfterTheLimitAndTheAddressLearnsNothingMore()
      throws Exception {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var good = fx.key(fx.group(true), account);
    String attacker = "198.51.100.7";
    long lookupsBefore = projection.lookups();
    long refusedBefore = guard.refused();
    int invalid = 0;
    int limited = 0;
    for (int i = 0; i < 1_000; i++) {
      java.net.http.HttpResponse<String> r = fast(wrongKey(), attacker);
      assertThat(r.statusCode()).isEqualTo(200);
      var body = JSON.readTree(r.body());
      String code = body.path("code").asText();
      if (code.equals("INVALID_KEY")) {
        invalid++;
        assertThat(limited).as("no wrong key is answered once the address is blocked").isZero();
      } else {
        assertThat(code).isEqualTo("RATE_LIMITED");
        assertThat(body.path("allowed").asBoolean(true)).isFalse();
        assertThat(body.path("retryAfterSeconds").asInt()).isBetween(1, 60);
        assertThat(r.headers().firstValue("Retry-After")).isPresent();
        limited++;
      }
    }
    assertThat(invalid).isEqualTo(LIMIT);
    assertThat(limited).isEqualTo(1_000 - LIMIT);
    // the refused ones never reached the key lookup
    assertThat(projection.lookups() - lookupsBefore).isEqualTo(LIMIT);
    assertThat(guard.refused() - refusedBefore).isEqualTo(1_000 - LIMIT);

    // a good key from the blocked address is refused too: the answer tells a guesser nothing
    Response fromAttacker = authorize(good.secret, attacker);
    assertThat(fromAttacker.jsonPath().getString("code")).isEqualTo("RATE_LIMITED");
    assertThat(fromAttacker.asString()).doesNotContain(good.secret).doesNotContain(good.id());
    // other addresses are not affected
    assertThat(authorize(good.secret, "198.51.100.8").jsonPath().getString("code"))
        .isEqualTo("VALID");
    // the next minute the address starts again
    clock.freeze(minute.plusSeconds(60));
    assertThat(authorize(good.secret, attacker).jsonPath().getString("code")).isEqualTo("VALID");
  }

  @Test
  void badChecksumsCountTooAndAreStillRejectedBeforeAnyLookup() throws Exception {
    String good = wrongKey();
    String badCrc = good.substring(0, good.length() - 2) + (good.endsWith("AA") ? "BB" : "AA");
    long lookupsBefore = projection.lookups();
    for (int i = 0; i < LIMIT; i++) {
      assertThat(fastCode(badCrc, "198.51.100.9")).isEqualTo("INVALID_KEY");
    }
    assertThat(authorize(badCrc, "198.51.100.9").jsonPath().getString("code"))
        .isEqualTo("RATE_LIMITED");
    assertThat(projection.lookups()).isEqualTo(lookupsBefore);
  }

  @Test
  void aRevokedKeyBeingTriedIsNotCountedAsAGuess() throws Exception {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    fx.update(k, KeyEventType.REVOKED, s -> s.status = KeyStatus.REVOKED);
    for (int i = 0; i < LIMIT + 50; i++) {
      assertThat(fastCode(k.secret, "198.51.100.10")).isEqualTo("REVOKED");
    }
  }

  @Test
  void forwardAuthCountsAnIpv6ClientByItsSlash64AndAnswers429WithRetryAfter() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var good = fx.key(fx.group(true), account);
    for (int i = 0; i < LIMIT; i++) {
      forwardAuth(wrongKey(), "2001:db8:7:1::" + Integer.toHexString(i + 1)).then().statusCode(401);
    }
    Response blocked = forwardAuth(good.secret, "2001:db8:7:1::ffff");
    blocked.then().statusCode(429);
    assertThat(Integer.parseInt(blocked.header("Retry-After"))).isBetween(1, 60);
    assertThat(blocked.jsonPath().getString("error.code")).isEqualTo("rate_limit_exceeded");
    assertThat(blocked.asString()).doesNotContain(good.secret);
    forwardAuth(good.secret, "2001:db8:7:2::1").then().statusCode(200);
  }

  private static Response forwardAuth(String key, String clientIp) {
    return given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
        .header("Authorization", "Bearer " + key)
        .header("X-Real-IP", clientIp)
        .get("/api/forward-auth");
  }

  @Test
  void theModelsEndpointBlocksItsCallerAfterTheLimitWithOpenAisRateLimitError() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var good = fx.key(fx.group(true), account);
    for (int i = 0; i < LIMIT; i++) {
      given()
          .header("Authorization", "Bearer " + wrongKey())
          .get("/v1/models")
          .then()
          .statusCode(401);
    }
    Response blocked = given().header("x-api-key", good.secret).get("/v1/models");
    blocked.then().statusCode(429);
    assertThat(Integer.parseInt(blocked.header("Retry-After"))).isBetween(1, 60);
    assertThat(blocked.jsonPath().getString("error.code")).isEqualTo("rate_limit_exceeded");
    assertThat(blocked.jsonPath().getString("error.type")).isEqualTo("rate_limit_error");
    assertThat(blocked.asString()).doesNotContain(good.secret);
    clock.freeze(minute.plusSeconds(60));
    given().header("x-api-key", good.secret).get("/v1/models").then().statusCode(200);
  }
}
