package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import io.keywarden.usage.projection.KeyProjection;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(value = KeywardenStackResource.class)
class SpendTests {
  @Inject KeyProjection projection;
  @Inject TestClock clock;
  @Inject Pool pool;

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

  /** One usage record of gpt-4o-mini with its cost given. */
  private static Map<String, Object> record(String requestId, String keyId, String costUsd) {
    return Map.of(
        "requestId", requestId, "keyId", keyId, "model", "gpt-4o-mini", "costUsd", costUsd);
  }

  private Response usage(String requestId, String keyId, String costUsd) {
    return postUsage(record(requestId, keyId, costUsd));
  }

  /** POST /api/usage as the gateway (one record or a batch). */
  private Response postUsage(Object body) {
    return given()
        .auth()
        .oauth2(fx.gatewayToken())
        .contentType(ContentType.JSON)
        .body(body)
        .post("/api/usage");
  }

  /** Fires the calls from n threads released together by a latch; returns the status codes. */
  private List<Integer> concurrently(int n, java.util.function.IntFunction<Response> call)
      throws Exception {
    return responsesOf(n, call).stream().map(Response::statusCode).toList();
  }

  /** Fires the calls from n threads released together by a latch; returns the responses. */
  private List<Response> responsesOf(int n, java.util.function.IntFunction<Response> call)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Response>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int idx = i;
      fs.add(
          pool.submit(
              () -> {
                start.await();
                Response r = call.apply(idx);
                r.asString(); // read the body on this thread
                return r;
              }));
    }
    start.countDown();
    List<Response> out = new ArrayList<>();
    for (Future<Response> f : fs) {
      out.add(f.get());
    }
    pool.shutdown();
    return out;
  }

  private long[] budget(String keyId) {
    Row r =
        pool.preparedQuery(
                "select spent_micros, reserved_micros from key_budgets where key_id = $1")
            .execute(Tuple.of(keyId))
            .await()
            .indefinitely()
            .iterator()
            .next();
    return new long[] {r.getLong(0), r.getLong(1)};
  }

  /** The first column of the first row of a query with one argument, as a long. */
  private long longQuery(String query, Object arg) {
    return pool.preparedQuery(query)
        .execute(Tuple.of(arg))
        .await()
        .indefinitely()
        .iterator()
        .next()
        .getLong(0);
  }

  private long ledgerSum(String account) {
    return longQuery(
        "select coalesce(sum(amount_micros), 0) from ledger where account = $1", account);
  }

  private long balance(String account) {
    return longQuery("select balance_micros from accounts where account = $1", account);
  }

  private long charges(String where, Object arg) {
    return longQuery("select count(*) from ledger where kind = 'charge' and " + where, arg);
  }

  @Test
  void m1TwoHundredConcurrentCentsAgainstADollarKeyAcceptExactlyOneHundred() throws Exception {
    String account = Fixtures.account();
    fx.credit(account, "5.00");
    var k = fx.key(fx.group(true), account, s -> s.quotaMicros = 1_000_000);
    fx.gatewayToken();
    List<Integer> codes = concurrently(200, i -> usage("m1-" + UUID.randomUUID(), k.id(), "0.01"));
    assertThat(codes.stream().filter(c -> c == 200).count()).isEqualTo(100);
    assertThat(codes.stream().filter(c -> c == 429).count()).isEqualTo(100);
    long[] b = budget(k.id());
    assertThat(b[0]).as("spent, overspend 0").isEqualTo(1_000_000);
    assertThat(balance(account)).isEqualTo(4_000_000).isEqualTo(ledgerSum(account));
    assertThat(charges("key_id = $1", k.id())).isEqualTo(100);
    Response denied = usage("m1-" + UUID.randomUUID(), k.id(), "0.01");
    denied
        .then()
        .statusCode(429)
        .body("error.code", equalTo("insufficient_quota"))
        .body("code", equalTo("KEY_QUOTA_EXCEEDED"));
  }

  @Test
  void m2TheSameRequestIdFiftyTimesChargesOnceAndAnswersTheSame() throws Exception {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    String requestId = "m2-" + UUID.randomUUID();
    Set<String> bodies = java.util.concurrent.ConcurrentHashMap.newKeySet();
    List<Integer> codes =
        concurrently(
            50,
            i -> {
              Response r = usage(requestId, k.id(), "0.25");
              bodies.add(r.asString());
              return r;
            });
    assertThat(codes).containsOnly(200);
    assertThat(bodies).hasSize(1);
    assertThat(charges("request_id = $1", requestId)).isEqualTo(1);
    assertThat(balance(account)).isEqualTo(750_000).isEqualTo(ledgerSum(account));
    // a later replay too
    usage(requestId, k.id(), "0.25").then().statusCode(200).header("X-Keywarden-Replay", "true");
    assertThat(balance(account)).isEqualTo(750_000);
  }

  @Test
  void m3TwoKeysOfOneAccountNeverOverdrawTheBalance() throws Exception {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    String group = fx.group(true);
    var a = fx.key(group, account);
    var b = fx.key(group, account);
    List<Integer> codes =
        concurrently(
            200, i -> usage("m3-" + UUID.randomUUID(), i % 2 == 0 ? a.id() : b.id(), "0.01"));
    assertThat(codes.stream().filter(c -> c == 200).count()).isEqualTo(100);
    assertThat(balance(account)).isZero().isEqualTo(ledgerSum(account));
    Response r = usage("m3-" + UUID.randomUUID(), a.id(), "0.01");
    r.then().statusCode(429).body("code", equalTo("BALANCE_EXHAUSTED"));
  }

  /** usage() with a token fetched once (the storm measures the ledger, not Keycloak). */
  private static Response usageAs(String token, String requestId, String keyId, String costUsd) {
    return given()
        .auth()
        .oauth2(token)
        .contentType(ContentType.JSON)
        .body(record(requestId, keyId, costUsd))
        .post("/api/usage");
  }

  /** Sum of the charge rows of an account (negative: what was taken from the balance). */
  private long chargedSum(String account) {
    return longQuery(
        "select coalesce(sum(amount_micros), 0) from ledger where kind = 'charge' and account = $1",
        account);
  }

  /**
   * Checks every answer of a storm of $0.01 records against the quota of $0.60 per key: an accepted
   * one stayed within quota and balance; a refused one is a 429 insufficient_quota whose code is
   * the limit that actually bound when it was decided (the key quota is checked first).
   */
  private static void eachAnswerMatchesTheLimitThatBound(List<Response> answers) {
    for (Response r : answers) {
      assertThat(r.statusCode()).as(r.asString()).isIn(200, 429);
      var j = r.jsonPath();
      long keySpent = cents(j.getString("keySpentUsd"));
      long balance = cents(j.getString("balanceUsd"));
      assertThat(keySpent).as("key spend after %s", r.asString()).isBetween(0L, 60L);
      assertThat(balance).as("balance after %s", r.asString()).isGreaterThanOrEqualTo(0);
      if (r.statusCode() == 200) {
        assertThat(j.getString("code")).isEqualTo("VALID");
        assertThat(j.getString("chargedUsd")).isEqualTo("0.01");
        continue;
      }
      assertThat(j.getString("error.code")).isEqualTo("insufficient_quota");
      assertThat(j.getString("error.type")).isEqualTo("insufficient_quota");
      assertThat(j.getString("chargedUsd")).isEqualTo("0.00");
      switch (j.getString("code")) {
        case "KEY_QUOTA_EXCEEDED" ->
            assertThat(keySpent).as("quota refusal of %s", r.asString()).isEqualTo(60);
        case "BALANCE_EXHAUSTED" -> {
          assertThat(balance).as("balance refusal of %s", r.asString()).isZero();
          assertThat(keySpent).as("balance refusal of %s", r.asString()).isLessThan(60);
        }
        default -> throw new AssertionError("unexpected refusal " + r.asString());
      }
    }
  }

  /** "0.60" -> 60 (exact: fails on a fraction of a cent). */
  private static long cents(String usd) {
    return new java.math.BigDecimal(usd).movePointRight(2).longValueExact();
  }

  private static long count(List<Response> answers, String keyId, int status) {
    return answers.stream()
        .filter(r -> r.statusCode() == status && keyId.equals(r.jsonPath().getString("keyId")))
        .count();
  }

  @Test
  void m3TwoKeysWithQuotasOfOneAccountCrossNeitherTheKeyQuotasNorTheBalance() throws Exception {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    String group = fx.group(true);
    var a = fx.key(group, account, s -> s.quotaMicros = 600_000);
    var b = fx.key(group, account, s -> s.quotaMicros = 600_000);
    String token = fx.gatewayToken();

    // 1. 100 x $0.01 on each key at once: the quotas allow 2 x 60, the balance 100; it binds first
    List<Response> first =
        responsesOf(
            200,
            i -> usageAs(token, "m3q-" + UUID.randomUUID(), (i % 2 == 0 ? a : b).id(), "0.01"));
    eachAnswerMatchesTheLimitThatBound(first);
    assertThat(first.stream().filter(r -> r.statusCode() == 200).count()).isEqualTo(100);
    assertThat(first.stream().filter(r -> r.statusCode() == 429).count()).isEqualTo(100);
    long acceptedA = count(first, a.id(), 200);
    long acceptedB = count(first, b.id(), 200);
    assertThat(acceptedA + acceptedB).isEqualTo(100);
    // neither key over its quota, so each took at least the 40 the other one left
    assertThat(acceptedA).isBetween(40L, 60L);
    assertThat(acceptedB).isBetween(40L, 60L);
    assertThat(budget(a.id())[0]).as("key a spent").isEqualTo(acceptedA * 10_000);
    assertThat(budget(b.id())[0]).as("key b spent").isEqualTo(acceptedB * 10_000);
    assertThat(charges("key_id = $1", a.id())).isEqualTo(acceptedA);
    assertThat(charges("key_id = $1", b.id())).isEqualTo(acceptedB);
    assertThat(chargedSum(account)).isEqualTo(-1_000_000);
    assertThat(balance(account)).isZero().isEqualTo(ledgerSum(account));

    // 2. a top-up: now the key quotas bind, 60 - spent on each key, 20 in all, balance to spare
    fx.credit(account, "1.00");
    List<Response> second =
        responsesOf(
            100,
            i -> usageAs(token, "m3q-" + UUID.randomUUID(), (i % 2 == 0 ? a : b).id(), "0.01"));
    eachAnswerMatchesTheLimitThatBound(second);
    assertThat(count(second, a.id(), 200)).isEqualTo(60 - acceptedA);
    assertThat(count(second, b.id(), 200)).isEqualTo(60 - acceptedB);
    assertThat(second.stream().filter(r -> r.statusCode() == 429))
        .hasSize(80)
        .allSatisfy(
            r -> assertThat(r.jsonPath().getString("code")).isEqualTo("KEY_QUOTA_EXCEEDED"));
    assertThat(budget(a.id())[0]).isEqualTo(600_000);
    assertThat(budget(b.id())[0]).isEqualTo(600_000);
    assertThat(charges("account = $1", account)).isEqualTo(120);
    assertThat(chargedSum(account)).isEqualTo(-1_200_000);
    assertThat(balance(account)).isEqualTo(800_000).isEqualTo(ledgerSum(account));
  }

  @Test
  void s5ABatchOverTheThousandRecordCapIs400NamingTheBodyAndChargesNothing() {
    String account = Fixtures.account();
    fx.credit(account, "10.00");
    var k = fx.key(fx.group(true), account);
    List<Map<String, Object>> batch = new ArrayList<>();
    for (int i = 0; i < 1001; i++) {
      batch.add(record("cap-" + UUID.randomUUID(), k.id(), "0.001"));
    }
    Response over = postUsage(batch);
    over.then()
        .statusCode(400)
        .contentType("application/problem+json")
        .body("field", equalTo("body"));
    assertThat(longQuery("select count(*) from ledger where key_id = $1", k.id())).isZero();
    assertThat(balance(account)).isEqualTo(10_000_000);
    // the cap itself is a batch: all 1,000 charged, each once
    Response atCap = postUsage(batch.subList(0, 1000));
    atCap.then().statusCode(200);
    assertThat(atCap.jsonPath().getList("results.accepted", Boolean.class))
        .hasSize(1000)
        .containsOnly(true);
    assertThat(charges("key_id = $1", k.id())).isEqualTo(1000);
    assertThat(balance(account)).isEqualTo(9_000_000).isEqualTo(ledgerSum(account));
  }

  @ConfigProperty(name = "quarkus.http.limits.max-body-size")
  io.quarkus.runtime.configuration.MemorySize maxBody;

  /**
   * A batch of two $0.01 records for the key, padded with JSON white space to exactly {@code size}
   * bytes: valid JSON that would be charged if it were read.
   */
  private static String paddedBatch(String keyId, long size) {
    String head = "[";
    String tail =
        "{\"requestId\":\"pad-"
            + UUID.randomUUID()
            + "\",\"keyId\":\""
            + keyId
            + "\",\"costUsd\":\"0.01\"},{\"requestId\":\"pad-"
            + UUID.randomUUID()
            + "\",\"keyId\":\""
            + keyId
            + "\",\"costUsd\":\"0.01\"}]";
    String body = head + " ".repeat((int) (size - head.length() - tail.length())) + tail;
    assertThat(body.getBytes(StandardCharsets.UTF_8)).hasSize((int) size);
    return body;
  }

  @TestHTTPResource("/api/usage")
  URI usageUri;

  /** POST /api/usage with the JDK client (HTTP/1.1), which can send Expect: 100-continue. */
  private HttpResponse<String> rawPost(
      String token, HttpRequest.BodyPublisher body, boolean expectContinue) throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    HttpRequest req =
        HttpRequest.newBuilder(usageUri)
            .timeout(Duration.ofSeconds(60))
            .expectContinue(expectContinue)
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(body)
            .build();
    return client.send(req, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void s5ABodyOverTheLimitIs413NeverA5xxAndChargesNothing() throws Exception {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    long limit = maxBody.asLongValue();
    assertThat(limit).isEqualTo(4L * 1024 * 1024);
    String token = fx.gatewayToken();
    // with Content-Length: refused before a byte of the body is read. The client asks first
    // (Expect: 100-continue) and so sees the 413 instead of a broken pipe while it sends 4 MiB
    byte[] over = paddedBatch(k.id(), limit + 1).getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> withLength =
        rawPost(token, HttpRequest.BodyPublishers.ofByteArray(over), true);
    assertThat(withLength.statusCode()).as(withLength.body()).isEqualTo(413);
    // chunked (no Content-Length): the limit is counted while reading
    HttpResponse<String> chunked =
        rawPost(
            token,
            HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(over)),
            false);
    assertThat(chunked.statusCode()).as(chunked.body()).isEqualTo(413);
    assertThat(longQuery("select count(*) from ledger where key_id = $1", k.id())).isZero();
    assertThat(balance(account)).isEqualTo(1_000_000);
    // a body of exactly the limit is read and charged
    Response atLimit =
        given()
            .auth()
            .oauth2(token)
            .contentType(ContentType.JSON)
            .body(paddedBatch(k.id(), limit))
            .post("/api/usage");
    atLimit.then().statusCode(200);
    assertThat(atLimit.jsonPath().getList("results.accepted", Boolean.class))
        .containsExactly(true, true);
    assertThat(balance(account)).isEqualTo(980_000).isEqualTo(ledgerSum(account));
  }

  @Test
  void m5ANewUtcDayStartsFromZeroAndAKeyGainingAPeriodIsNotSpentAtOnce() {
    String account = Fixtures.account();
    fx.credit(account, "10.00");
    String group = fx.group(true);
    var daily =
        fx.key(
            group,
            account,
            s -> {
              s.quotaMicros = 50_000;
              s.quotaReset = QuotaReset.DAILY;
            });
    var none = fx.key(group, account, s -> s.quotaMicros = 50_000);
    // a Monday in the future (UTC), so the test does not depend on today's date
    Instant monday =
        java.time.LocalDate.now(java.time.ZoneOffset.UTC)
            .with(java.time.temporal.TemporalAdjusters.next(java.time.DayOfWeek.MONDAY))
            .atStartOfDay(java.time.ZoneOffset.UTC)
            .toInstant();
    Instant beforeMidnight = monday.plus(Duration.ofDays(1)).minusSeconds(2);
    try {
      clock.setNow(beforeMidnight);
      usage("m5-" + UUID.randomUUID(), daily.id(), "0.05").then().statusCode(200);
      usage("m5-" + UUID.randomUUID(), daily.id(), "0.01").then().statusCode(429);
      usage("m5-" + UUID.randomUUID(), none.id(), "0.05").then().statusCode(200);
      usage("m5-" + UUID.randomUUID(), none.id(), "0.01").then().statusCode(429);
      clock.setNow(monday.plus(Duration.ofDays(1)).plusSeconds(1));
      usage("m5-" + UUID.randomUUID(), daily.id(), "0.05")
          .then()
          .statusCode(200)
          .body("keySpentUsd", equalTo("0.05"));
      usage("m5-" + UUID.randomUUID(), daily.id(), "0.01").then().statusCode(429);
      // the spent key without a period gains a weekly one: it starts from zero, not over at once
      fx.update(none, KeyEventType.UPDATED, s -> s.quotaReset = QuotaReset.WEEKLY);
      usage("m5-" + UUID.randomUUID(), none.id(), "0.02")
          .then()
          .statusCode(200)
          .body("keySpentUsd", equalTo("0.02"));
      // the week began on that Monday: still the same period on Sunday at 23:00
      clock.setNow(monday.plus(Duration.ofDays(6)).plus(Duration.ofHours(23)));
      usage("m5-" + UUID.randomUUID(), none.id(), "0.04").then().statusCode(429);
      clock.setNow(monday.plus(Duration.ofDays(7)).plusSeconds(1));
      usage("m5-" + UUID.randomUUID(), none.id(), "0.04")
          .then()
          .statusCode(200)
          .body("keySpentUsd", equalTo("0.04"));
    } finally {
      clock.reset();
    }
  }

  @Test
  void theRecordsOfOneBatchAreChargedInTheirOrder() {
    // two writers wait on the queue: a batch handed out record by record could be split between
    // them, and its later records commit first and take the quota of the earlier ones
    String account = Fixtures.account();
    fx.credit(account, "10.00");
    var group = fx.group(true);
    for (int round = 0; round < 15; round++) {
      var k = fx.key(group, account, s -> s.quotaMicros = 30_000);
      List<Map<String, Object>> batch = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        batch.add(record("o-" + UUID.randomUUID(), k.id(), "0.01"));
      }
      Response r = postUsage(batch);
      r.then().statusCode(200);
      List<Boolean> accepted = r.jsonPath().getList("results.accepted");
      assertThat(accepted).as("round %d", round).containsExactly(true, true, true, false, false);
    }
  }

  @Test
  void aBatchAnswersEachRecordAndReplaysChargeNothing() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account, s -> s.quotaMicros = 30_000);
    List<Map<String, Object>> batch = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String id = "b-" + UUID.randomUUID();
      ids.add(id);
      batch.add(
          Map.of(
              "requestId",
              id,
              "keyId",
              k.id(),
              "model",
              "gpt-4o-mini",
              "inputTokens",
              1000,
              "outputTokens",
              500,
              "costUsd",
              "0.01"));
    }
    Response r = postUsage(batch);
    r.then().statusCode(200);
    List<Boolean> accepted = r.jsonPath().getList("results.accepted");
    assertThat(accepted).containsExactly(true, true, true, false, false);
    Response again = postUsage(batch);
    assertThat(again.jsonPath().getList("results.replay", Boolean.class)).containsOnly(true);
    assertThat(again.jsonPath().getList("results.accepted")).isEqualTo(accepted);
    assertThat(balance(account)).isEqualTo(970_000);
    // cost from the group's prices when costUsd is absent: 1M in at $0.15 + 1M out at $0.60
    var k2 = fx.key(k.snapshot.group(), account);
    given()
        .auth()
        .oauth2(fx.gatewayToken())
        .contentType(ContentType.JSON)
        .body(
            Map.of(
                "requestId",
                "p-" + UUID.randomUUID(),
                "keyId",
                k2.id(),
                "model",
                "gpt-4o-mini",
                "inputTokens",
                1_000_000,
                "outputTokens",
                1_000_000))
        .post("/api/usage")
        .then()
        .statusCode(200)
        .body("chargedUsd", equalTo("0.75"));
    // bad input names the field, also inside a batch
    given()
        .auth()
        .oauth2(fx.gatewayToken())
        .contentType(ContentType.JSON)
        .body(
            List.of(
                Map.of("requestId", "x", "keyId", k.id()),
                Map.of("requestId", "y", "keyId", k.id(), "inputTokens", -1)))
        .post("/api/usage")
        .then()
        .statusCode(400)
        .body("field", equalTo("[1].inputTokens"));
    assertThat(ids).hasSize(5);
  }

  @Test
  void aBatchMixingReplaysAndNewRecordsChargesOnlyTheNewOnes() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    List<Map<String, Object>> all = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      all.add(
          Map.of(
              "requestId",
              "mix-" + UUID.randomUUID(),
              "keyId",
              k.id(),
              "model",
              "gpt-4o-mini",
              "inputTokens",
              10,
              "outputTokens",
              5,
              "costUsd",
              "0.01"));
    }
    Response first = postUsage(all.subList(0, 3));
    first.then().statusCode(200);
    assertThat(balance(account)).isEqualTo(970_000);
    // the ledger already holds three of these five: they fail the insert, the batch is decided
    // again without them, and they get their stored answers
    Response mixed = postUsage(all);
    mixed.then().statusCode(200);
    assertThat(mixed.jsonPath().getList("results.replay", Boolean.class))
        .containsExactly(true, true, true, false, false);
    assertThat(mixed.jsonPath().getList("results.accepted", Boolean.class)).containsOnly(true);
    assertThat(mixed.jsonPath().getList("results.keySpentUsd", String.class).subList(0, 3))
        .isEqualTo(first.jsonPath().getList("results.keySpentUsd", String.class));
    assertThat(mixed.jsonPath().getList("results.keySpentUsd", String.class).subList(3, 5))
        .containsExactly("0.04", "0.05");
    assertThat(balance(account)).isEqualTo(950_000);
  }

  @Test
  void aRequestSplitAcrossTheWritersKeepsEachAccountsOrderAndItsAnswersInPlace() {
    // two accounts that fall to different writers (account hash modulo kw.usage.writers = 2)
    String a = Fixtures.account();
    String b = Fixtures.account();
    while (Math.floorMod(a.hashCode(), 2) == Math.floorMod(b.hashCode(), 2)) {
      b = Fixtures.account();
    }
    fx.credit(a, "1.00");
    fx.credit(b, "1.00");
    String group = fx.group(true);
    var ka = fx.key(group, a, s -> s.quotaMicros = 20_000);
    var kb = fx.key(group, b, s -> s.quotaMicros = 10_000);
    List<Map<String, Object>> batch = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      for (var k : List.of(ka, kb)) {
        batch.add(record("split-" + UUID.randomUUID(), k.id(), "0.01"));
      }
    }
    Response r = postUsage(batch);
    r.then().statusCode(200);
    // in request order: a, b, a, b, a, b; a's quota takes two, b's one, each in arrival order
    assertThat(r.jsonPath().getList("results.keyId", String.class))
        .containsExactly(ka.id(), kb.id(), ka.id(), kb.id(), ka.id(), kb.id());
    assertThat(r.jsonPath().getList("results.accepted", Boolean.class))
        .containsExactly(true, true, true, false, false, false);
    assertThat(r.jsonPath().getList("results.keySpentUsd", String.class))
        .containsExactly("0.01", "0.01", "0.02", "0.01", "0.02", "0.01");
    assertThat(balance(a)).isEqualTo(980_000);
    assertThat(balance(b)).isEqualTo(990_000);
  }

  private void sql(String statement) {
    pool.query(statement).execute().await().indefinitely();
  }

  @Test
  void aGuardThatRefusesRollsBackTheWholeBatchItsPipelinedCommitIncluded() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    String id = "guard-" + UUID.randomUUID();
    // the fault: PostgreSQL skips every change of this key's spend, so the key's guarded update
    // returns a row fewer than it was sent; kw_require raises, and the COMMIT that went out in the
    // same round trip runs as a ROLLBACK: no ledger row, no spend, no balance change, no ack
    sql(
        "create or replace function kw_test_skip_spend() returns trigger language plpgsql as $$"
            + " begin if new.key_id = '"
            + k.id()
            + "' and new.spent_micros <> old.spent_micros then return null; end if;"
            + " return new; end $$");
    sql(
        "create trigger kw_test_skip_spend before update on key_budgets"
            + " for each row execute function kw_test_skip_spend()");
    try {
      usage(id, k.id(), "0.10").then().statusCode(503).body("error.code", equalTo("unavailable"));
      long rows = longQuery("select count(*) from ledger where request_id = $1", id);
      assertThat(rows).isZero();
      assertThat(balance(account)).isEqualTo(1_000_000);
      // the key's budget row was first written by this transaction: rolled back with it
      long budgets = longQuery("select count(*) from key_budgets where key_id = $1", k.id());
      assertThat(budgets).isZero();
    } finally {
      sql("drop trigger if exists kw_test_skip_spend on key_budgets");
      sql("drop function if exists kw_test_skip_spend()");
    }
    // once the fault is gone, the same request id is charged, once
    usage(id, k.id(), "0.10").then().statusCode(200).body("keySpentUsd", equalTo("0.10"));
    usage(id, k.id(), "0.10").then().statusCode(200).header("X-Keywarden-Replay", "true");
    assertThat(balance(account)).isEqualTo(900_000);
  }

  @Test
  void aBatchWritesEachKeyAndAccountRowOnce() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    String group = fx.group(true);
    var k1 = fx.key(group, account, s -> s.quotaMicros = 500_000);
    var k2 = fx.key(group, account);
    // first charges: the rows exist from here on
    usage("once-" + UUID.randomUUID(), k1.id(), "0.01").then().statusCode(200);
    usage("once-" + UUID.randomUUID(), k2.id(), "0.01").then().statusCode(200);
    // every row write of these keys and this account, counted by PostgreSQL itself
    sql(
        "create table if not exists kw_test_row_writes (tbl text not null, id text not null,"
            + " spent bigint)");
    sql(
        "create or replace function kw_test_count_writes() returns trigger language plpgsql as $$"
            + " begin if tg_table_name = 'key_budgets' then"
            + " insert into kw_test_row_writes values (tg_table_name, new.key_id,"
            + " new.spent_micros);"
            + " else insert into kw_test_row_writes values (tg_table_name, new.account, null);"
            + " end if; return new; end $$");
    sql(
        "create trigger kw_test_count_key_writes after update on key_budgets"
            + " for each row execute function kw_test_count_writes()");
    sql(
        "create trigger kw_test_count_account_writes after update on accounts"
            + " for each row execute function kw_test_count_writes()");
    try {
      List<Map<String, Object>> batch = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        batch.add(record("once-" + UUID.randomUUID(), k1.id(), "0.01"));
        batch.add(record("once-" + UUID.randomUUID(), k2.id(), "0.02"));
      }
      postUsage(batch).then().statusCode(200);
      Map<String, Long> writes = new java.util.HashMap<>();
      pool.preparedQuery(
              "select id, count(*) from kw_test_row_writes where id in ($1, $2, $3) group by id")
          .execute(Tuple.of(k1.id(), k2.id(), account))
          .await()
          .indefinitely()
          .forEach(r -> writes.put(r.getString(0), r.getLong(1)));
      // one guarded update per key and per account: the rows are locked with FOR UPDATE, not
      // written, before the decision
      assertThat(writes).containsEntry(k1.id(), 1L).containsEntry(k2.id(), 1L);
      assertThat(writes).containsEntry(account, 1L);
      long spent = longQuery("select spent from kw_test_row_writes where id = $1", k1.id());
      assertThat(spent).isEqualTo(40_000);
      assertThat(balance(account)).isEqualTo(1_000_000 - 20_000 - 90_000);
    } finally {
      sql("drop trigger if exists kw_test_count_key_writes on key_budgets");
      sql("drop trigger if exists kw_test_count_account_writes on accounts");
      sql("drop function if exists kw_test_count_writes()");
      sql("drop table if exists kw_test_row_writes");
    }
  }

  @Test
  void creditsAreIdempotentByReferenceAndTheBalanceIsTheLedgerSum() {
    String account = Fixtures.account();
    String admin = fx.token("carol");
    for (int i = 0; i < 3; i++) {
      given()
          .auth()
          .oauth2(admin)
          .contentType(ContentType.JSON)
          .body(Map.of("amountUsd", "10.00", "reference", "welcome"))
          .post("/api/admin/accounts/" + account + "/credits")
          .then()
          .statusCode(i == 0 ? 201 : 200)
          .body("balanceUsd", equalTo("10.00"));
    }
    assertThat(balance(account)).isEqualTo(10_000_000).isEqualTo(ledgerSum(account));
    given()
        .auth()
        .oauth2(fx.token("alice"))
        .contentType(ContentType.JSON)
        .body(Map.of("amountUsd", "10.00", "reference", "x"))
        .post("/api/admin/accounts/" + account + "/credits")
        .then()
        .statusCode(403);
    given()
        .auth()
        .oauth2(admin)
        .contentType(ContentType.JSON)
        .body(Map.of("amountUsd", "ten", "reference", "x"))
        .post("/api/admin/accounts/" + account + "/credits")
        .then()
        .statusCode(400)
        .body("field", equalTo("amountUsd"));
    // %00 in the path: the NUL character, which PostgreSQL's text cannot hold (was a 503)
    given()
        .urlEncodingEnabled(false)
        .auth()
        .oauth2(admin)
        .contentType(ContentType.JSON)
        .body(Map.of("amountUsd", "10.00", "reference", "nul"))
        .post("/api/admin/accounts/" + account + "%00/credits")
        .then()
        .statusCode(400)
        .body("field", equalTo("account"))
        .body("detail", org.hamcrest.Matchers.containsString("NUL character"));
    assertThat(balance(account)).isEqualTo(10_000_000).isEqualTo(ledgerSum(account));
  }

  @Test
  void anAccountSeesItsBalanceSpendAndUsageGroupedByKeyModelAndDay() {
    String bob = fx.token("bob");
    String account = Tokens.subject(bob);
    fx.credit(account, "3.00");
    String group = fx.group(true);
    var k = fx.key(group, account);
    usage("me-" + UUID.randomUUID(), k.id(), "0.20").then().statusCode(200);
    usage("me-" + UUID.randomUUID(), k.id(), "0.30").then().statusCode(200);
    Response me = given().auth().oauth2(bob).get("/api/accounts/me");
    me.then().statusCode(200).body("account", equalTo(account));
    assertThat(new java.math.BigDecimal(me.jsonPath().getString("spentTodayUsd")))
        .isGreaterThanOrEqualTo(new java.math.BigDecimal("0.50"));
    Response byKey =
        given().auth().oauth2(bob).queryParam("groupBy", "key").get("/api/accounts/me/usage");
    byKey.then().statusCode(200);
    List<Map<String, Object>> rows = byKey.jsonPath().getList("data");
    assertThat(rows)
        .anySatisfy(
            row -> {
              assertThat(row.get("key")).isEqualTo(k.id());
              assertThat(row.get("requests")).isEqualTo(2);
              assertThat(row.get("spendUsd")).isEqualTo("0.50");
            });
    given()
        .auth()
        .oauth2(bob)
        .queryParam("groupBy", "model")
        .get("/api/accounts/me/usage")
        .then()
        .statusCode(200);
    given()
        .auth()
        .oauth2(bob)
        .queryParam("groupBy", "day")
        .get("/api/accounts/me/usage")
        .then()
        .statusCode(200);
    given()
        .auth()
        .oauth2(bob)
        .queryParam("groupBy", "week")
        .get("/api/accounts/me/usage")
        .then()
        .statusCode(400)
        .body("field", equalTo("groupBy"));
    given()
        .auth()
        .oauth2(bob)
        .queryParam("from", "yesterday")
        .get("/api/accounts/me/usage")
        .then()
        .statusCode(400)
        .body("field", equalTo("from"));
    // alice sees none of bob's usage
    Response alice =
        given()
            .auth()
            .oauth2(fx.token("alice"))
            .queryParam("groupBy", "key")
            .get("/api/accounts/me/usage");
    assertThat(alice.asString()).doesNotContain(k.id());
    given().get("/api/accounts/me").then().statusCode(401);
    given().auth().oauth2(fx.gatewayToken()).get("/api/accounts/me").then().statusCode(403);
  }

  @Test
  void usageEventsCarryRollupsDenialsAndQuotaThresholds() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account, s -> s.quotaMicros = 100_000);
    given()
        .auth()
        .oauth2(fx.gatewayToken())
        .contentType(ContentType.JSON)
        .body(Map.of("key", k.secret, "clientIp", "10.1.1.1", "userAgent", "curl/8"))
        .post("/api/authorize")
        .then()
        .body("code", equalTo("VALID"));
    usage("ev-" + UUID.randomUUID(), k.id(), "0.085").then().statusCode(200);
    usage("ev-" + UUID.randomUUID(), k.id(), "0.015").then().statusCode(200);
    usage("ev-" + UUID.randomUUID(), k.id(), "0.01").then().statusCode(429);
    fx.update(
        k, KeyEventType.LEAKED, s -> s.status = io.keywarden.contracts.events.KeyStatus.LEAKED);
    given()
        .auth()
        .oauth2(fx.gatewayToken())
        .contentType(ContentType.JSON)
        .body(Map.of("key", k.secret, "clientIp", "10.9.9.9"))
        .post("/api/authorize")
        .then()
        .body("code", equalTo("LEAKED"));
    var records =
        fx.records(
            io.keywarden.contracts.Topics.USAGE_EVENTS, k.id(), java.time.Duration.ofSeconds(6));
    List<String> types = new ArrayList<>();
    Set<Integer> percents = new HashSet<>();
    long spend = 0;
    long requests = 0;
    boolean leakedDenied = false;
    int quotaDenied = 0;
    for (var rec : records) {
      assertThat(rec.value()).doesNotContain(k.secret);
      var e = io.keywarden.contracts.events.EventCodec.decode(rec.value());
      types.add(e.type());
      if (e.data() instanceof io.keywarden.contracts.events.QuotaThreshold t) {
        percents.add(t.percent());
      }
      if (e.data() instanceof io.keywarden.contracts.events.UsageRecorded u) {
        spend += u.spendMicros();
        requests += u.requests();
      }
      if (e.data() instanceof io.keywarden.contracts.events.UsageDenied d
          && d.code().equals("LEAKED")) {
        leakedDenied = true;
      }
      if (e.data() instanceof io.keywarden.contracts.events.UsageDenied d
          && d.code().equals("KEY_QUOTA_EXCEEDED")) {
        quotaDenied++;
      }
    }
    // the refused usage record (third one) is a denial audit sees
    assertThat(quotaDenied).isEqualTo(1);
    assertThat(percents).containsExactlyInAnyOrder(80, 95, 100);
    assertThat(types.stream().filter(t -> t.startsWith("keywarden.usage.quota")).count())
        .isEqualTo(3);
    assertThat(leakedDenied).isTrue();
    assertThat(spend).isEqualTo(100_000);
    assertThat(requests).isEqualTo(1);
  }

  @Test
  void accountBalanceThresholdsAreSentOncePerCreditLevelAndARefusedRecordIsADenial() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account);
    usage("ab-" + UUID.randomUUID(), k.id(), "0.79").then().statusCode(200); // 79 %
    usage("ab-" + UUID.randomUUID(), k.id(), "0.01").then().statusCode(200); // 80 %
    usage("ab-" + UUID.randomUUID(), k.id(), "0.01").then().statusCode(200); // 81 %: no repeat
    usage("ab-" + UUID.randomUUID(), k.id(), "0.14").then().statusCode(200); // 95 %
    usage("ab-" + UUID.randomUUID(), k.id(), "0.05").then().statusCode(200); // 100 %
    usage("ab-" + UUID.randomUUID(), k.id(), "0.01")
        .then()
        .statusCode(429)
        .body("code", equalTo("BALANCE_EXHAUSTED"));
    // a top-up starts a new period: 1.00 of 2.00 spent, then 80 % again
    fx.credit(account, "1.00");
    usage("ab-" + UUID.randomUUID(), k.id(), "0.60").then().statusCode(200);
    var records =
        fx.records(
            io.keywarden.contracts.Topics.USAGE_EVENTS, k.id(), java.time.Duration.ofSeconds(5));
    List<String> accountMarks = new ArrayList<>();
    int keyMarks = 0;
    List<String> denied = new ArrayList<>();
    for (var rec : records) {
      var e = io.keywarden.contracts.events.EventCodec.decode(rec.value());
      if (e.data() instanceof io.keywarden.contracts.events.QuotaThreshold t) {
        if (t.scope().equals("account")) {
          assertThat(t.account()).isEqualTo(account);
          assertThat(t.keyId()).isEqualTo(k.id());
          assertThat(e.type())
              .isEqualTo(
                  t.percent() == 100
                      ? io.keywarden.contracts.events.QuotaThreshold.EXHAUSTED
                      : io.keywarden.contracts.events.QuotaThreshold.TYPE);
          assertThat(t.spentMicros() * 100).isGreaterThanOrEqualTo(t.percent() * t.limitMicros());
          accountMarks.add(t.period() + ":" + t.percent());
        } else {
          keyMarks++;
        }
      }
      if (e.data() instanceof io.keywarden.contracts.events.UsageDenied d) {
        denied.add(d.code());
      }
    }
    assertThat(accountMarks)
        .containsExactlyInAnyOrder(
            "credit-1000000:80", "credit-1000000:95", "credit-1000000:100", "credit-2000000:80");
    assertThat(keyMarks).isZero(); // the key has no quota
    assertThat(denied).containsExactly("BALANCE_EXHAUSTED");
  }
}
