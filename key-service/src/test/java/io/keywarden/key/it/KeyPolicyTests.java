package io.keywarden.key.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Operator caps and defaults (/api/admin/policy) and how create applies them. */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class KeyPolicyTests {

  @AfterEach
  void restore() {
    // other classes share this database: leave the policy as a fresh database has it
    Kw.clearPolicy();
  }

  static Response createKey(String user) {
    return Kw.createNamed(user, "policy");
  }

  @Test
  void theLiveKeyCapRefusesTheNextCreateWith409NamingItAndRevokingFreesASlot() {
    String account = Stack.account("bob");
    long live = Kw.liveKeys(account);
    long cap = live + 2;
    Kw.policy("{\"maxLiveKeysPerAccount\":" + cap + "}");
    Kw.admin("GET", "/api/admin/policy", null)
        .then()
        .statusCode(200)
        .body("maxLiveKeysPerAccount", equalTo((int) cap));
    String first = createKey("bob").then().statusCode(201).extract().path("id");
    createKey("bob").then().statusCode(201);
    createKey("bob")
        .then()
        .statusCode(409)
        .contentType("application/problem+json")
        .body("field", equalTo("maxLiveKeysPerAccount"))
        .body("detail", containsString(String.valueOf(cap)));
    assertThat(Kw.liveKeys(account)).isEqualTo(cap);
    // a disabled key still counts; a revoked one does not
    Stack.as("bob").post("/api/keys/" + first + "/disable").then().statusCode(200);
    createKey("bob").then().statusCode(409);
    Stack.as("bob").delete("/api/keys/" + first).then().statusCode(200);
    String last = createKey("bob").then().statusCode(201).extract().path("id");
    assertThat(Kw.liveKeys(account)).isEqualTo(cap);
    // a key past its expiry no longer counts (nothing writes when a key expires)
    createKey("bob").then().statusCode(409);
    Kw.sql(
        "update api_keys set expires_at = now() - interval '1 minute' where id = '" + last + "'");
    createKey("bob").then().statusCode(201);
    createKey("bob").then().statusCode(409);
    // the per-account counter the create path reads agrees with the rows
    assertThat(
            Kw.longQuery(
                "select active_or_disabled from account_key_counts where account = '"
                    + account
                    + "'"))
        .isEqualTo(
            Kw.longQuery(
                "select count(*) from api_keys where status in ('active','disabled') and account"
                    + " = '"
                    + account
                    + "'"));
  }

  @Test
  void twentyConcurrentCreatesNeverExceedTheCap() throws Exception {
    String account = Stack.account("alice");
    long live = Kw.liveKeys(account);
    int free = 5;
    Kw.policy("{\"maxLiveKeysPerAccount\":" + (live + free) + "}");
    Stack.as("alice"); // warm the token cache before the latch opens
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(20);
    List<Future<Integer>> results = new ArrayList<>();
    try {
      for (int i = 0; i < 20; i++) {
        results.add(
            pool.submit(
                () -> {
                  var spec = Stack.as("alice");
                  go.await();
                  return spec.body(
                          "{\"name\":\"" + Kw.uniqueName("race") + "\",\"group\":\"default\"}")
                      .post("/api/keys")
                      .statusCode();
                }));
      }
      go.countDown();
      List<Integer> codes = new ArrayList<>();
      for (Future<Integer> f : results) {
        codes.add(f.get());
      }
      assertThat(codes).containsOnly(201, 409);
      assertThat(codes.stream().filter(c -> c == 201).count()).isEqualTo(free);
    } finally {
      pool.shutdownNow();
    }
    assertThat(Kw.liveKeys(account)).isEqualTo(live + free);
  }

  /** Changes the stored policy row directly, as another key-service instance would. */
  static void policyBehindTheServiceBack(String set) {
    try (var c = Kw.db();
        var st = c.createStatement()) {
      st.executeUpdate("update key_policy set " + set + " where id = 1");
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aPolicyChangedElsewhereIsInForceForTheVeryNextCreate() {
    Kw.clearPolicy();
    createKey("alice").then().statusCode(201).body("quotaUsd", equalTo("0.00"));
    // another instance lowers the caps: this instance's copy of the policy is now stale
    policyBehindTheServiceBack("max_quota_micros = 3000000");
    try {
      createKey("alice").then().statusCode(201).body("quotaUsd", equalTo("3.00"));
      Kw.create(
              "alice",
              "{\"name\":\"" + Kw.uniqueName("q") + "\",\"group\":\"default\",\"quotaUsd\":\"4\"}")
          .then()
          .statusCode(400)
          .body("field", equalTo("quotaUsd"))
          .body("detail", containsString("3.00"));
      String account = Stack.account("alice");
      policyBehindTheServiceBack("max_live_keys_per_account = " + Kw.liveKeys(account));
      createKey("alice").then().statusCode(409).body("field", equalTo("maxLiveKeysPerAccount"));
      // and raised again: a refusal computed from a stale copy is re-checked, not reported
      policyBehindTheServiceBack("max_live_keys_per_account = null, max_quota_micros = 9000000");
      Kw.create(
              "alice",
              "{\"name\":\"" + Kw.uniqueName("q") + "\",\"group\":\"default\",\"quotaUsd\":\"4\"}")
          .then()
          .statusCode(201)
          .body("quotaUsd", equalTo("4.00"));
    } finally {
      Kw.clearPolicy();
    }
  }

  @Test
  void theQuotaCapRefusesALargerQuotaNamingQuotaUsdAndTheCap() {
    Kw.policy("{\"maxQuotaUsd\":\"5.00\"}");
    Kw.admin("GET", "/api/admin/policy", null).then().body("maxQuotaUsd", equalTo("5.00"));
    Kw.create(
            "alice",
            "{\"name\":\"" + Kw.uniqueName("q") + "\",\"group\":\"default\",\"quotaUsd\":\"5.01\"}")
        .then()
        .statusCode(400)
        .contentType("application/problem+json")
        .body("field", equalTo("quotaUsd"))
        .body("detail", allOf(containsString("maxQuotaUsd"), containsString("5.00")));
    String id =
        Kw.create(
                "alice",
                "{\"name\":\""
                    + Kw.uniqueName("q")
                    + "\",\"group\":\"default\",\"quotaUsd\":\"5\"}")
            .then()
            .statusCode(201)
            .body("quotaUsd", equalTo("5.00"))
            .extract()
            .path("id");
    // PATCH is held to the same cap
    Stack.as("alice")
        .body("{\"quotaUsd\":\"7\"}")
        .patch("/api/keys/" + id)
        .then()
        .statusCode(400)
        .body("field", equalTo("quotaUsd"));
  }

  @Test
  void theLifetimeCapRefusesLongerExpiriesAndIsAppliedWhenNoneIsGiven() {
    Kw.policy("{\"maxLifetime\":\"P30D\"}");
    Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("life")
                + "\",\"group\":\"default\",\"expiresIn\":\"P31D\"}")
        .then()
        .statusCode(400)
        .body("field", equalTo("expiresIn"))
        .body("detail", containsString("maxLifetime"));
    Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("life")
                + "\",\"group\":\"default\",\"expiresAt\":\""
                + Instant.now().plus(Duration.ofDays(40))
                + "\"}")
        .then()
        .statusCode(400)
        .body("field", equalTo("expiresAt"))
        .body("detail", containsString("maxLifetime"));
    String at =
        Kw.create(
                "alice",
                "{\"name\":\""
                    + Kw.uniqueName("life")
                    + "\",\"group\":\"default\",\"expiresIn\":\"P7D\"}")
            .then()
            .statusCode(201)
            .extract()
            .path("expiresAt");
    assertThat(Instant.parse(at))
        .isCloseTo(Instant.now().plus(Duration.ofDays(7)), within(1, ChronoUnit.MINUTES));
    String capped = createKey("alice").then().statusCode(201).extract().path("expiresAt");
    assertThat(Instant.parse(capped))
        .isCloseTo(Instant.now().plus(Duration.ofDays(30)), within(1, ChronoUnit.MINUTES));
  }

  @Test
  void theDefaultLifetimeIsAppliedWhenTheRequestGivesNone() {
    Kw.policy("{\"defaultLifetime\":\"P7D\"}");
    String at = createKey("alice").then().statusCode(201).extract().path("expiresAt");
    assertThat(Instant.parse(at))
        .isCloseTo(Instant.now().plus(Duration.ofDays(7)), within(1, ChronoUnit.MINUTES));
    // an explicit expiry wins over the default
    String later =
        Kw.create(
                "alice",
                "{\"name\":\""
                    + Kw.uniqueName("life")
                    + "\",\"group\":\"default\",\"expiresIn\":\"P90D\"}")
            .then()
            .statusCode(201)
            .extract()
            .path("expiresAt");
    assertThat(Instant.parse(later))
        .isCloseTo(Instant.now().plus(Duration.ofDays(90)), within(1, ChronoUnit.MINUTES));
    Kw.clearPolicy();
    createKey("alice").then().statusCode(201).body("expiresAt", org.hamcrest.Matchers.nullValue());
  }

  @Test
  void usersAndTheGatewayCannotReadOrChangeThePolicy() {
    Stack.as("alice").get("/api/admin/policy").then().statusCode(403);
    Stack.as("bob")
        .body("{\"maxLiveKeysPerAccount\":100000}")
        .put("/api/admin/policy")
        .then()
        .statusCode(403);
    io.restassured.RestAssured.given()
        .auth()
        .oauth2(Kw.gatewayToken())
        .get("/api/admin/policy")
        .then()
        .statusCode(403);
    Kw.admin("GET", "/api/admin/policy", null)
        .then()
        .statusCode(200)
        .body("maxLiveKeysPerAccount", equalTo(100));
  }

  @Test
  void badPolicyInputIs400NamingTheFieldAndChangesNothing() {
    String before = Kw.admin("GET", "/api/admin/policy", null).asString();
    Map<String, String> cases =
        Map.ofEntries(
            Map.entry("{\"maxLiveKeysPerAccount\":0}", "maxLiveKeysPerAccount"),
            Map.entry("{\"maxLiveKeysPerAccount\":1.5}", "maxLiveKeysPerAccount"),
            Map.entry("{\"maxLiveKeysPerAccount\":\"3\"}", "maxLiveKeysPerAccount"),
            Map.entry("{\"maxLiveKeysPerAccount\":99999999999}", "maxLiveKeysPerAccount"),
            Map.entry("{\"maxQuotaUsd\":\"lots\"}", "maxQuotaUsd"),
            Map.entry("{\"maxQuotaUsd\":\"-1\"}", "maxQuotaUsd"),
            Map.entry("{\"maxQuotaUsd\":\"0\"}", "maxQuotaUsd"),
            Map.entry("{\"maxLifetime\":\"forever\"}", "maxLifetime"),
            Map.entry("{\"maxLifetime\":\"-P1D\"}", "maxLifetime"),
            Map.entry("{\"defaultLifetime\":\"PT0S\"}", "defaultLifetime"),
            Map.entry("{\"maxLifetime\":\"P1D\",\"defaultLifetime\":\"P2D\"}", "defaultLifetime"),
            Map.entry("{\"maxLiveKeys\":3}", "maxLiveKeys"));
    for (var c : cases.entrySet()) {
      Kw.admin("PUT", "/api/admin/policy", c.getKey())
          .then()
          .statusCode(400)
          .contentType("application/problem+json")
          .body("field", equalTo(c.getValue()));
    }
    Kw.admin("PUT", "/api/admin/policy", "[1]").then().statusCode(400);
    Kw.admin("PUT", "/api/admin/policy", "nope").then().statusCode(400);
    assertThat(Kw.admin("GET", "/api/admin/policy", null).asString()).isEqualTo(before);
  }
}
