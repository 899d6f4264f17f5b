package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.usage.ledger.Holds;
import io.keywarden.usage.projection.KeyProjection;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The authorize cases, run once per way a gateway authenticates: {@link AuthorizeTests} (OIDC
 * token, the REST resource) and {@link AuthorizeSharedSecretTests} (static secret, the Vert.x
 * route).
 */
abstract class AuthorizeCases {
  @Inject KeyProjection projection;
  @Inject Holds holds;
  @Inject TestClock clock;

  @ConfigProperty(name = "kafka.bootstrap.servers")
  String bootstrap;

  @ConfigProperty(name = "kw.oidc.url")
  String issuer;

  Fixtures fx;

  @BeforeEach
  void setUp() {
    fx = new Fixtures(bootstrap, issuer, projection);
    clock.reset();
  }

  @org.junit.jupiter.api.AfterEach
  void resetClock() {
    clock.reset();
  }

  /** A request as the gateway. */
  protected abstract RequestSpecification gateway();

  private Response authorize(Map<String, Object> body) {
    return gateway().contentType(ContentType.JSON).body(body).post("/api/authorize");
  }

  private String code(Fixtures.TestKey k, Map<String, Object> extra) {
    var body =
        new java.util.HashMap<String, Object>(
            Map.of("key", k.secret, "clientIp", "10.0.0.1", "model", "gpt-4o-mini"));
    body.putAll(extra);
    Response r = authorize(body);
    r.then().statusCode(200);
    assertThat(r.asString()).doesNotContain(k.secret);
    return r.jsonPath().getString("code");
  }

  @Test
  void validKeyIsAllowedWithItsIdentityAndWhatRemains() {
    String account = Fixtures.account();
    fx.credit(account, "2.50");
    var k =
        fx.key(
            fx.group(true),
            account,
            s -> {
              s.quotaMicros = 1_000_000;
              s.rateLimit = new RateLimit(10, null, null);
            });
    authorize(
            Map.of(
                "key",
                k.secret,
                "clientIp",
                "10.0.0.1",
                "model",
                "gpt-4o-mini",
                "requestId",
                "r-" + UUID.randomUUID()))
        .then()
        .statusCode(200)
        .body("allowed", equalTo(true))
        .body("code", equalTo("VALID"))
        .body("keyId", equalTo(k.id()))
        .body("account", equalTo(account))
        .body("group", equalTo(k.snapshot.group()))
        .body("remaining.quotaUsd", equalTo("1.00"))
        .body("remaining.balanceUsd", equalTo("2.50"))
        .body("remaining.requestsThisMinute", equalTo(9))
        .body("retryAfterSeconds", nullValue());
    // the hash works as well as the key
    authorize(Map.of("keyHash", KeyFormat.sha256Hex(k.secret), "clientIp", "10.0.0.1"))
        .then()
        .body("code", equalTo("VALID"));
  }

  @Test
  void everyOutcomeHasItsOwnCode() {
    String account = Fixtures.account();
    fx.credit(account, "5.00");
    String group = fx.group(true);
    assertThat(code(fx.key(group, account, s -> s.status = KeyStatus.DISABLED), Map.of()))
        .isEqualTo("DISABLED");
    assertThat(
            code(
                fx.key(group, account, s -> s.expiresAt = Instant.now().minusSeconds(1)), Map.of()))
        .isEqualTo("EXPIRED");
    assertThat(code(fx.key(group, account, s -> s.status = KeyStatus.REVOKED), Map.of()))
        .isEqualTo("REVOKED");
    assertThat(code(fx.key(group, account, s -> s.status = KeyStatus.LEAKED), Map.of()))
        .isEqualTo("LEAKED");
    assertThat(
            code(fx.key(group, account, s -> s.allowedIps = List.of("192.168.1.0/24")), Map.of()))
        .isEqualTo("IP_NOT_ALLOWED");
    assertThat(code(fx.key(group, account), Map.of("model", "claude-opus")))
        .isEqualTo("MODEL_NOT_ALLOWED");
    assertThat(code(fx.key(fx.group(false), account), Map.of())).isEqualTo("GROUP_DISABLED");
    assertThat(
            code(
                fx.key(group, account, s -> s.quotaMicros = 100_000),
                Map.of("estimatedCostUsd", "0.20")))
        .isEqualTo("KEY_QUOTA_EXCEEDED");
    assertThat(code(fx.key(group, Fixtures.account()), Map.of())).isEqualTo("BALANCE_EXHAUSTED");
    var limited = fx.key(group, account, s -> s.rateLimit = new RateLimit(2, null, null));
    clock.startOfAMinute(); // the three calls share one fixed per-minute window
    assertThat(code(limited, Map.of())).isEqualTo("VALID");
    assertThat(code(limited, Map.of())).isEqualTo("VALID");
    Response r = authorize(Map.of("key", limited.secret));
    assertThat(r.jsonPath().getString("code")).isEqualTo("RATE_LIMITED");
    assertThat(r.jsonPath().getInt("retryAfterSeconds")).isBetween(1, 60);
    assertThat(r.header("Retry-After")).isNotNull();
    String unknown = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    assertThat(authorize(Map.of("key", unknown)).jsonPath().getString("code"))
        .isEqualTo("INVALID_KEY");
    assertThat(code(fx.key(group, account), Map.of())).isEqualTo("VALID");
  }

  @Test
  void expiryIsExactAtTheBoundary() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    Instant t = Instant.now().plusSeconds(3600);
    var k = fx.key(fx.group(true), account, s -> s.expiresAt = t);
    // a stopped clock: the decision is made at exactly these instants, however long the call takes
    clock.freeze(t.minusMillis(1));
    try {
      assertThat(code(k, Map.of())).isEqualTo("VALID");
      clock.freeze(t);
      assertThat(code(k, Map.of())).isEqualTo("EXPIRED");
      clock.freeze(t.plusMillis(1));
      assertThat(code(k, Map.of())).isEqualTo("EXPIRED");
    } finally {
      clock.reset();
    }
  }

  /** GET /v1/models with the secret as the API key: the OpenAI edge's answer to it. */
  private Response models(String secret) {
    return given().header("Authorization", "Bearer " + secret).get("/v1/models");
  }

  @Test
  void m7ARotatedKeysOldSecretWorksUntilItsOverlapEndsAndTheNewOneThroughout() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var old = fx.key(fx.group(true), account);
    assertThat(code(old, Map.of())).isEqualTo("VALID");
    Instant t = Instant.now().plusSeconds(3600);
    var rotated = fx.rotate(old, t);
    assertThat(rotated.secret).isNotEqualTo(old.secret);
    String oldHash = KeyFormat.sha256Hex(old.secret);
    try {
      clock.freeze(t.minusMillis(1));
      assertThat(code(old, Map.of())).isEqualTo("VALID");
      assertThat(code(rotated, Map.of())).isEqualTo("VALID");
      // both secrets are the one key
      authorize(Map.of("key", old.secret))
          .then()
          .body("code", equalTo("VALID"))
          .body("keyId", equalTo(rotated.id()))
          .body("account", equalTo(account));
      authorize(Map.of("keyHash", oldHash)).then().body("code", equalTo("VALID"));
      models(old.secret).then().statusCode(200);

      // the overlap ends at T: from then on the old secret is an unknown key (401
      // invalid_api_key at the OpenAI edge), the new one is not touched
      clock.freeze(t);
      assertThat(code(old, Map.of())).isEqualTo("INVALID_KEY");
      assertThat(code(rotated, Map.of())).isEqualTo("VALID");
      clock.freeze(t.plusMillis(1));
      assertThat(code(old, Map.of())).isEqualTo("INVALID_KEY");
      assertThat(code(rotated, Map.of())).isEqualTo("VALID");
      authorize(Map.of("keyHash", oldHash))
          .then()
          .body("allowed", equalTo(false))
          .body("code", equalTo("INVALID_KEY"))
          .body("keyId", nullValue());
      models(old.secret)
          .then()
          .statusCode(401)
          .body("error.code", equalTo("invalid_api_key"))
          .body("error.type", equalTo("invalid_request_error"));
      models(rotated.secret).then().statusCode(200);
    } finally {
      clock.reset();
    }
  }

  @Test
  void revokeIsDeniedAsSoonAsTheEventArrives() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    assertThat(code(k, Map.of())).isEqualTo("VALID");
    fx.update(k, KeyEventType.REVOKED, s -> s.status = KeyStatus.REVOKED);
    assertThat(code(k, Map.of())).isEqualTo("REVOKED");
  }

  @Test
  void badChecksumIsRejectedBeforeAnyLookup() {
    String good = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    char last = good.charAt(good.length() - 1);
    String bad = good.substring(0, good.length() - 1) + (last == 'A' ? 'B' : 'A');
    long before = projection.lookups();
    for (int i = 0; i < 20; i++) {
      Response r = authorize(Map.of("key", bad));
      assertThat(r.jsonPath().getString("code")).isEqualTo("INVALID_KEY");
      assertThat(r.asString()).doesNotContain(bad);
    }
    assertThat(projection.lookups()).isEqualTo(before);
  }

  @Test
  void badInputGets400NamingTheField() {
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    record Case(Object body, String field) {}
    for (Case c :
        List.of(
            new Case(Map.of("key", secret, "spent", 0), "spent"),
            new Case(Map.of("key", secret, "keyHash", "ab"), "key"),
            new Case(Map.of("clientIp", "10.0.0.1"), "key"),
            new Case(Map.of("keyHash", "XYZ"), "keyHash"),
            new Case(Map.of("key", secret, "clientIp", "not-an-ip"), "clientIp"),
            new Case(Map.of("key", secret, "clientIp", "300.1.1.1"), "clientIp"),
            new Case(Map.of("key", secret, "estimatedCostUsd", "-1"), "estimatedCostUsd"),
            new Case(Map.of("key", secret, "estimatedCostUsd", "0.0000001"), "estimatedCostUsd"),
            new Case(Map.of("key", secret, "requestId", "a b"), "requestId"),
            new Case(Map.of("key", 42), "key"),
            new Case(List.of(1, 2), "body"))) {
      Response r = authorize(c.body instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of());
      if (c.body instanceof List<?>) {
        r = gateway().contentType(ContentType.JSON).body("[1,2]").post("/api/authorize");
      }
      r.then()
          .statusCode(400)
          .contentType("application/problem+json")
          .body("field", equalTo(c.field));
      assertThat(r.asString()).doesNotContain(secret);
    }
    gateway()
        .contentType(ContentType.JSON)
        .body("{not json")
        .post("/api/authorize")
        .then()
        .statusCode(400)
        .body("field", equalTo("body"));
  }

  @Test
  void onlyTheGatewayRoleMayAuthorizeOrRecordUsage() {
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    for (String path : List.of("/api/authorize", "/api/usage")) {
      given()
          .auth()
          .oauth2(fx.token("alice"))
          .contentType(ContentType.JSON)
          .body(Map.of("key", secret))
          .post(path)
          .then()
          .statusCode(403);
      given()
          .auth()
          .oauth2(fx.token("carol"))
          .contentType(ContentType.JSON)
          .body(Map.of("key", secret))
          .post(path)
          .then()
          .statusCode(403);
      given()
          .contentType(ContentType.JSON)
          .body(Map.of("key", secret))
          .post(path)
          .then()
          .statusCode(401);
      given()
          .header("X-Keywarden-Gateway-Secret", "wrong")
          .contentType(ContentType.JSON)
          .body(Map.of("key", secret))
          .post(path)
          .then()
          .statusCode(401);
    }
  }

  @Test
  void aHoldReservesTheEstimateUntilTheUsageRecordSettlesIt() {
    String account = Fixtures.account();
    fx.credit(account, "10.00");
    var k = fx.key(fx.group(true), account, s -> s.quotaMicros = 1_000_000);
    String r1 = "hold-" + UUID.randomUUID();
    assertThat(code(k, Map.of("requestId", r1, "estimatedCostUsd", "0.60"))).isEqualTo("VALID");
    // 0.60 reserved: another 0.60 does not fit in $1.00
    assertThat(
            code(k, Map.of("requestId", "hold-" + UUID.randomUUID(), "estimatedCostUsd", "0.60")))
        .isEqualTo("KEY_QUOTA_EXCEEDED");
    gateway()
        .contentType(ContentType.JSON)
        .body(Map.of("requestId", r1, "keyId", k.id(), "model", "gpt-4o-mini", "costUsd", "0.10"))
        .post("/api/usage")
        .then()
        .statusCode(200)
        .body("keySpentUsd", equalTo("0.10"));
    // settled: 0.10 spent, nothing reserved, so 0.60 fits again
    assertThat(
            code(k, Map.of("requestId", "hold-" + UUID.randomUUID(), "estimatedCostUsd", "0.60")))
        .isEqualTo("VALID");
    // and an unsettled hold expires after the TTL
    assertThat(holds.expire(Instant.now().plus(Duration.ofMinutes(11)))).isGreaterThanOrEqualTo(1);
    assertThat(
            code(k, Map.of("requestId", "hold-" + UUID.randomUUID(), "estimatedCostUsd", "0.85")))
        .isEqualTo("VALID");
  }

  @Test
  void concurrencyAndTokensPerMinuteAreHeldFromAuthorizeToTheUsageRecord() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account, s -> s.rateLimit = new RateLimit(null, 5000, 1));
    // at the start of a minute, so the whole test runs in one tokens-per-minute window
    clock.startOfAMinute();
    String r1 = "c-" + UUID.randomUUID();
    assertThat(code(k, Map.of("requestId", r1))).isEqualTo("VALID");
    assertThat(code(k, Map.of("requestId", "c-" + UUID.randomUUID()))).isEqualTo("RATE_LIMITED");
    gateway()
        .contentType(ContentType.JSON)
        .body(
            Map.of(
                "requestId",
                r1,
                "keyId",
                k.id(),
                "model",
                "gpt-4o-mini",
                "inputTokens",
                4000,
                "outputTokens",
                1000,
                "costUsd",
                "0.01"))
        .post("/api/usage")
        .then()
        .statusCode(200);
    // the slot is free again, but the 5,000 tokens of this minute are used up
    String next = code(k, Map.of("requestId", "c-" + UUID.randomUUID()));
    assertThat(next).isEqualTo("RATE_LIMITED");
  }

  @Test
  void aCanaryKeyNeverReachesTheLogOrAnErrorBody() throws Exception {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    String canary = k.secret;
    String badCrc = canary.substring(0, canary.length() - 2) + "00";
    List<Response> responses = new java.util.ArrayList<>();
    responses.add(authorize(Map.of("key", canary, "clientIp", "10.0.0.1")));
    responses.add(authorize(Map.of("key", badCrc)));
    responses.add(authorize(Map.of("key", canary, "unknownField", canary)));
    responses.add(authorize(Map.of("key", canary, "clientIp", canary)));
    responses.add(given().header("Authorization", "Bearer " + canary).get("/v1/models"));
    responses.add(given().header("Authorization", "Bearer " + badCrc).get("/v1/models"));
    responses.add(
        given()
            .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
            .header("Authorization", "Bearer " + badCrc)
            .get("/api/forward-auth"));
    fx.update(k, KeyEventType.REVOKED, s -> s.status = KeyStatus.REVOKED);
    responses.add(authorize(Map.of("key", canary)));
    responses.add(given().header("x-api-key", canary).get("/v1/models"));
    for (Response r : responses) {
      assertThat(r.asString()).doesNotContain(canary).doesNotContain(badCrc);
      assertThat(r.headers().toString()).doesNotContain(canary);
    }
    java.nio.file.Path log = java.nio.file.Path.of("target/usage-service-test.log");
    assertThat(log).exists();
    String text = java.nio.file.Files.readString(log);
    assertThat(text).doesNotContain(canary).doesNotContain(badCrc);
  }

  @Test
  void aGatewayMayAlsoUseTheStaticSharedSecretInsteadOfAToken() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
        .contentType(ContentType.JSON)
        .body(Map.of("key", k.secret))
        .post("/api/authorize")
        .then()
        .statusCode(200)
        .body("code", equalTo("VALID"));
    given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
        .contentType(ContentType.JSON)
        .body(Map.of("requestId", "s-" + UUID.randomUUID(), "keyId", k.id(), "costUsd", "0.01"))
        .post("/api/usage")
        .then()
        .statusCode(200);
    // the secret gives the gateway role only
    given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
        .get("/api/accounts/me")
        .then()
        .statusCode(403);
    given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
        .contentType(ContentType.JSON)
        .body(Map.of("amountUsd", "1.00", "reference", "x"))
        .post("/api/admin/accounts/" + Fixtures.account() + "/credits")
        .then()
        .statusCode(403);
  }
}
