package io.keywarden.key.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * E8: key-service's PostgreSQL connections are killed ({@code pg_terminate_backend}, as when the
 * server restarts or a connection is cut) again and again while keys are created, listed, read and
 * revoked. Every answer is the normal one or a 503 problem+json, never another 5xx and never a
 * stack trace; no key exists without its outbox row; and the service is back at once afterwards.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class DatabaseOutageTests {

  /** The kills, on a connection of their own (not one of key-service's). */
  private static Connection killer() throws Exception {
    return DriverManager.getConnection(
        KeywardenStackResource.stack().jdbcUrl("keyservice") + "&ApplicationName=e8-killer");
  }

  @Test
  void killedDatabaseConnectionsGive503ProblemsNeverOther5xxAndNoKeyWithoutItsEvent()
      throws Exception {
    Kw.policy("{\"maxLiveKeysPerAccount\":100000}");
    Kw.createNamed("alice", "e8 warm").then().statusCode(201);

    List<String> created = Collections.synchronizedList(new ArrayList<>());
    List<String> failures = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger unavailable = new AtomicInteger();
    AtomicInteger answered = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    int perThread = 60;
    ExecutorService pool = Executors.newFixedThreadPool(5);
    try {
      Future<Integer> kills =
          pool.submit(
              () -> {
                int n = 0;
                try (Connection c = killer();
                    PreparedStatement kill =
                        c.prepareStatement(
                            "select count(pg_terminate_backend(pid)) from pg_stat_activity"
                                + " where datname = 'keyservice' and pid <> pg_backend_pid()"
                                + " and backend_type = 'client backend'"
                                + " and application_name <> 'e8-killer'");
                    PreparedStatement pause = c.prepareStatement("select pg_sleep(0.005)")) {
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
      for (int t = 0; t < 4; t++) {
        int thread = t;
        callers.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < perThread; i++) {
                    Response r =
                        switch ((thread + i) % 4) {
                          case 0, 1 -> Kw.createNamed("alice", "e8");
                          case 2 -> Stack.as("alice").get("/api/keys?size=5");
                          default ->
                              created.isEmpty()
                                  ? Kw.createNamed("alice", "e8")
                                  : Stack.as("alice").get("/api/keys/" + created.get(0));
                        };
                    answered.incrementAndGet();
                    int s = r.statusCode();
                    if (s == 201) {
                      created.add(r.path("id"));
                    } else if (s == 503) {
                      unavailable.incrementAndGet();
                      String body = r.asString();
                      if (!r.contentType().startsWith("application/problem+json")
                          || !body.contains("\"status\":503")
                          || body.contains("Exception")
                          || body.contains("\tat ")) {
                        failures.add("503 " + r.contentType() + " " + body);
                      }
                    } else if (s != 200) {
                      failures.add(s + " " + r.asString());
                    }
                  }
                }));
      }
      for (Future<?> f : callers) {
        f.get();
      }
      stop.set(true);
      assertThat(kills.get()).as("connections killed").isPositive();
    } finally {
      stop.set(true);
      pool.shutdownNow();
    }

    assertThat(failures).as("answers other than 200/201 or a clean 503").isEmpty();
    assertThat(answered.get()).isEqualTo(4 * perThread);
    assertThat(unavailable.get()).as("the kills hit requests in flight").isPositive();

    // back at once: the pool opens new connections
    Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> Kw.createNamed("alice", "e8 after").statusCode() == 201);

    // every key has its created event in the outbox (one transaction), 201s included
    try (Connection c = Kw.db();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "select count(*) from api_keys k where k.name like 'e8 %' and not exists"
                    + " (select 1 from outbox o where o.record_key = k.id::text"
                    + " and o.event_type like '%created')")) {
      rs.next();
      assertThat(rs.getLong(1)).as("keys without their created event").isZero();
    }
    for (String id : created) {
      assertThat(
              Kw.longQuery(
                  "select count(*) from api_keys where id = '"
                      + id
                      + "' and exists (select 1 from outbox where record_key = '"
                      + id
                      + "')"))
          .isEqualTo(1);
    }
  }

  /** The other test classes share alice's account and its cap of 100 live keys. */
  @org.junit.jupiter.api.AfterEach
  void revokeWhatThisTestCreated() {
    Kw.sql(
        "update api_keys set status = 'revoked', revoked_at = now() where status = 'active'"
            + " and name like 'e8 %'");
    Kw.clearPolicy();
  }
}
