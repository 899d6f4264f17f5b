package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.usage.projection.KeyProjection;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * E8 for usage-service: its PostgreSQL connections are killed ({@code pg_terminate_backend} in a
 * loop, as when the server restarts or a connection is cut) while gateways record usage (single
 * records and batches) and authorize with holds on every path: the JAX-RS resource (bearer token),
 * the Vert.x route (shared secret) and forward-auth; and users read their account. Every answer is
 * the normal one or a clean 503 (problem+json on /api/authorize and /api/accounts, OpenAI's error
 * shape on /api/usage and forward-auth), never another 5xx and never a stack trace. Afterwards the
 * ledger is exact: every record answered 200 has exactly one charge row, the 503'd ones retried
 * with their request ids are charged once, the balance is the sum of the ledger, the key's spend
 * the sum of its charges, and what is reserved is the sum of the open holds.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
class DatabaseOutageTests {
  private static final String SECRET = "test-gateway-secret";

  @Inject KeyProjection projection;

  @ConfigProperty(name = "kafka.bootstrap.servers")
  String bootstrap;

  @ConfigProperty(name = "kw.oidc.url")
  String issuer;

  private static Connection db(String app) throws Exception {
    return DriverManager.getConnection(
        KeywardenStackResource.stack().jdbcUrl("usageservice") + "&ApplicationName=" + app);
  }

  private static long longQuery(Connection c, String sql, String arg) throws Exception {
    try (PreparedStatement st = c.prepareStatement(sql)) {
      st.setString(1, arg);
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** A 503 as it must look: JSON of the expected kind, no exception name, no stack trace. */
  private static String badUnavailable(Response r, boolean problem) {
    String body = r.asString();
    String type = r.contentType() == null ? "" : r.contentType();
    boolean shape =
        problem
            ? type.startsWith("application/problem+json") && body.contains("\"status\":503")
            : type.startsWith("application/json") && body.contains("\"type\":\"server_error\"");
    if (!shape
        || body.contains("Exception")
        || body.contains("\tat ")
        || body.contains("Connection")
        || r.header("Retry-After") == null) {
      return "503 " + type + " " + body;
    }
    return null;
  }

  @Test
  void killedConnectionsGiveClean503sNever500AndTheLedgerStaysExact() throws Exception {
    Fixtures fx = new Fixtures(bootstrap, issuer, projection);
    String account = Fixtures.account();
    fx.credit(account, "1000.00");
    var key = fx.key(fx.group(true), account, s -> s.quotaMicros = 900_000_000L);
    String token = fx.gatewayToken();
    String userToken = fx.token("alice");

    Set<String> usageIds = ConcurrentHashMap.newKeySet(); // every usage request id sent
    Set<String> answeredOk = ConcurrentHashMap.newKeySet(); // answered 200 accepted
    Set<String> toRetry = ConcurrentHashMap.newKeySet(); // answered 503
    Set<String> heldIds = ConcurrentHashMap.newKeySet(); // authorize holds answered VALID
    List<String> failures = Collections.synchronizedList(new ArrayList<>());
    Map<String, AtomicInteger> unavailable = new ConcurrentHashMap<>();
    AtomicInteger answered = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    int threads = 5;
    int perThread = 60;
    ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
    CountDownLatch go = new CountDownLatch(1);
    try {
      Future<Integer> kills =
          pool.submit(
              () -> {
                int n = 0;
                try (Connection c = db("e8-killer");
                    PreparedStatement kill =
                        c.prepareStatement(
                            "select count(pg_terminate_backend(pid)) from pg_stat_activity"
                                + " where datname = 'usageservice' and pid <> pg_backend_pid()"
                                + " and backend_type = 'client backend'"
                                + " and application_name not like 'e8-%'");
                    PreparedStatement pause = c.prepareStatement("select pg_sleep(0.005)")) {
                  go.await();
                  while (!stop.get()) {
                    try (ResultSet rs = kill.executeQuery()) {
                      rs.next();
                      n += rs.getInt(1);
                    }
                    pause.execute();
                  }
                }
                return n;
              });
      List<Future<?>> callers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        callers.add(
            pool.submit(
                () -> {
                  go.await();
                  for (int i = 0; i < perThread; i++) {
                    int kind = (thread + i) % 6;
                    String path;
                    Response r;
                    switch (kind) {
                      case 0 -> {
                        String id = "e8u-" + UUID.randomUUID();
                        usageIds.add(id);
                        path = "usage";
                        r = usage(token, record(id, key.id()));
                        checkUsage(r, List.of(id), answeredOk, toRetry, failures);
                      }
                      case 1 -> {
                        List<String> ids = List.of(uid(), uid(), uid());
                        usageIds.addAll(ids);
                        path = "usage batch";
                        r = usage(token, ids.stream().map(id -> record(id, key.id())).toList());
                        checkUsage(r, ids, answeredOk, toRetry, failures);
                      }
                      case 2 -> {
                        String id = "e8h-" + UUID.randomUUID();
                        path = "authorize route";
                        r =
                            given()
                                .header("X-Keywarden-Gateway-Secret", SECRET)
                                .contentType(ContentType.JSON)
                                .body(hold(key.secret, id))
                                .post("/api/authorize");
                        checkAuthorize(r, id, heldIds, failures);
                      }
                      case 3 -> {
                        String id = "e8h-" + UUID.randomUUID();
                        path = "authorize resource";
                        r =
                            given()
                                .auth()
                                .oauth2(token)
                                .contentType(ContentType.JSON)
                                .body(hold(key.secret, id))
                                .post("/api/authorize");
                        checkAuthorize(r, id, heldIds, failures);
                      }
                      case 4 -> {
                        path = "accounts/me";
                        r = given().auth().oauth2(userToken).get("/api/accounts/me");
                        if (r.statusCode() == 503) {
                          String bad = badUnavailable(r, true);
                          if (bad != null) {
                            failures.add("accounts/me " + bad);
                          }
                        } else if (r.statusCode() != 200) {
                          failures.add("accounts/me " + r.statusCode() + " " + r.asString());
                        }
                      }
                      default -> {
                        String id = "e8h-" + UUID.randomUUID();
                        path = "forward-auth";
                        r =
                            given()
                                .header("X-Keywarden-Gateway-Secret", SECRET)
                                .header("Authorization", "Bearer " + key.secret)
                                .header("X-Keywarden-Request-Id", id)
                                .header("X-Keywarden-Estimated-Cost-Usd", "0.02")
                                .get("/api/forward-auth");
                        if (r.statusCode() == 200) {
                          heldIds.add(id);
                        } else if (r.statusCode() != 503) {
                          failures.add("forward-auth " + r.statusCode() + " " + r.asString());
                        } else if (badUnavailable(r, false) != null) {
                          failures.add("forward-auth " + badUnavailable(r, false));
                        }
                      }
                    }
                    answered.incrementAndGet();
                    if (r.statusCode() == 503) {
                      unavailable.computeIfAbsent(path, x -> new AtomicInteger()).incrementAndGet();
                    }
                  }
                  return null;
                }));
      }
      go.countDown();
      for (Future<?> f : callers) {
        f.get();
      }
      stop.set(true);
      int killed = kills.get();
      System.out.printf(
          "E8 usage-service: %d answers while %d connections were killed; 503 by path %s;"
              + " other 5xx and bad answers %d%n",
          answered.get(), killed, unavailable, failures.size());
      assertThat(killed).as("connections killed").isPositive();
    } finally {
      stop.set(true);
      pool.shutdownNow();
    }

    assertThat(failures).as("answers other than the normal ones or a clean 503").isEmpty();
    assertThat(answered.get()).isEqualTo(threads * perThread);
    assertThat(unavailable.values().stream().mapToInt(AtomicInteger::get).sum())
        .as("the kills hit requests in flight")
        .isPositive();

    // back at once: ready on the first ask (the pools replace the connections the server closed)
    given().get("/q/health/ready").then().statusCode(200);

    // the 503'd records again with their request ids (what a gateway does): each charged once
    Awaitility.await("503'd usage records retried")
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              for (String id : List.copyOf(toRetry)) {
                Response r = usage(token, record(id, key.id()));
                if (r.statusCode() == 200) {
                  toRetry.remove(id);
                }
              }
              return toRetry.isEmpty();
            });

    try (Connection c = db("e8-check")) {
      long charges =
          longQuery(
              c, "select count(*) from ledger where kind = 'charge' and key_id = ?", key.id());
      long distinctIds =
          longQuery(
              c,
              "select count(distinct request_id) from ledger where kind = 'charge' and key_id = ?",
              key.id());
      long chargedSum =
          longQuery(
              c,
              "select coalesce(-sum(amount_micros), 0) from ledger where kind = 'charge'"
                  + " and key_id = ?",
              key.id());
      long ledgerSum =
          longQuery(
              c, "select coalesce(sum(amount_micros), 0) from ledger where account = ?", account);
      long balance = longQuery(c, "select balance_micros from accounts where account = ?", account);
      long spent = longQuery(c, "select spent_micros from key_budgets where key_id = ?", key.id());
      long keyReserved =
          longQuery(c, "select reserved_micros from key_budgets where key_id = ?", key.id());
      long accountReserved =
          longQuery(c, "select reserved_micros from accounts where account = ?", account);
      long holdSum =
          longQuery(
              c, "select coalesce(sum(amount_micros), 0) from holds where key_id = ?", key.id());
      long holdsOk =
          longQuery(
              c,
              "select count(*) from holds where key_id = ? and request_id = any(string_to_array('"
                  + String.join(",", heldIds)
                  + "', ','))",
              key.id());
      System.out.printf(
          "E8 ledger: %d usage records sent, %d charge rows (%d answered 200 during the kills),"
              + " balance %d = ledger %d, spent %d = charges %d, reserved %d/%d = holds %d%n",
          usageIds.size(),
          charges,
          answeredOk.size(),
          balance,
          ledgerSum,
          spent,
          chargedSum,
          keyReserved,
          accountReserved,
          holdSum);
      assertThat(charges).as("one charge row per request id, none lost").isEqualTo(usageIds.size());
      assertThat(distinctIds).isEqualTo(charges);
      assertThat(chargedSum).isEqualTo(usageIds.size() * 10_000L);
      assertThat(balance).as("balance = sum of the ledger").isEqualTo(ledgerSum);
      assertThat(ledgerSum).isEqualTo(1_000_000_000L - chargedSum);
      assertThat(spent).as("the key's spend = its charges").isEqualTo(chargedSum);
      assertThat(keyReserved).as("key reserved = its open holds").isEqualTo(holdSum);
      assertThat(accountReserved).as("account reserved = its open holds").isEqualTo(holdSum);
      assertThat(holdsOk).as("every hold answered VALID is in the table").isEqualTo(heldIds.size());
    }
    for (String id : answeredOk) {
      usage(token, record(id, key.id()))
          .then()
          .statusCode(200)
          .header("X-Keywarden-Replay", "true");
    }
  }

  private static String uid() {
    return "e8u-" + UUID.randomUUID();
  }

  private static Map<String, Object> record(String id, String keyId) {
    return Map.of("requestId", id, "keyId", keyId, "model", "gpt-4o-mini", "costUsd", "0.01");
  }

  private static Map<String, Object> hold(String secret, String id) {
    return Map.of("key", secret, "requestId", id, "estimatedCostUsd", "0.02");
  }

  private static Response usage(String token, Object body) {
    Response r =
        given().auth().oauth2(token).contentType(ContentType.JSON).body(body).post("/api/usage");
    r.asString();
    return r;
  }

  private static void checkUsage(
      Response r, List<String> ids, Set<String> ok, Set<String> retry, List<String> failures) {
    if (r.statusCode() == 200) {
      List<Boolean> accepted =
          ids.size() == 1
              ? List.of(r.jsonPath().getBoolean("accepted"))
              : r.jsonPath().getList("results.accepted", Boolean.class);
      if (accepted.contains(false) || accepted.size() != ids.size()) {
        failures.add("usage 200 not accepted: " + r.asString());
      }
      ok.addAll(ids);
    } else if (r.statusCode() == 503) {
      String bad = badUnavailable(r, false);
      if (bad != null) {
        failures.add("usage " + bad);
      }
      retry.addAll(ids);
    } else {
      failures.add("usage " + r.statusCode() + " " + r.asString());
    }
  }

  private static void checkAuthorize(
      Response r, String id, Set<String> held, List<String> failures) {
    if (r.statusCode() == 200) {
      if (!"VALID".equals(r.jsonPath().getString("code"))) {
        failures.add("authorize 200 " + r.asString());
      } else {
        held.add(id);
      }
    } else if (r.statusCode() == 503) {
      String bad = badUnavailable(r, true);
      if (bad != null) {
        failures.add("authorize " + bad);
      }
    } else {
      failures.add("authorize " + r.statusCode() + " " + r.asString());
    }
  }
}
