package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * E9: one account's webhook hangs for 40 s on its first request (a JDK HttpServer handler that does
 * not answer), another's answers 500 three times, a third answers at once. The hanging delivery
 * times out and is retried after a backoff; the others (and a sweep) go on meanwhile; every (key,
 * finding, period) ends with exactly one delivered webhook, and nothing is sent again after
 * recovery.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class SlowWebhookTests {
  /** A request as the test's receiver saw it. */
  record Hit(String path, String delivery, String body, long atNanos, int answered) {}

  final String run = UUID.randomUUID().toString().substring(0, 8);
  final String slow = "acct-e9-slow-" + run;
  final String flaky = "acct-e9-flaky-" + run;
  final String fast = "acct-e9-fast-" + run;
  final List<Hit> hits = new CopyOnWriteArrayList<>();
  final CountDownLatch hang = new CountDownLatch(1);
  final AtomicInteger slowRequests = new AtomicInteger();
  final AtomicInteger flakyRequests = new AtomicInteger();
  ExecutorService pool;
  HttpServer server;

  @BeforeEach
  void receiver() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    server.createContext(
        "/",
        ex -> {
          String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          String path = ex.getRequestURI().getPath();
          String delivery = ex.getRequestHeaders().getFirst("X-Keywarden-Delivery");
          long at = System.nanoTime();
          int status = 204;
          if (path.equals("/slow") && slowRequests.incrementAndGet() == 1) {
            hits.add(new Hit(path, delivery, body, at, 0)); // 0: not answered (yet)
            try {
              hang.await(40, TimeUnit.SECONDS); // the receiver hangs
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            status = 0;
          } else if (path.equals("/flaky") && flakyRequests.incrementAndGet() <= 3) {
            status = 500;
          }
          if (status != 0) {
            hits.add(new Hit(path, delivery, body, at, status));
          }
          try {
            ex.sendResponseHeaders(status == 0 ? 204 : status, -1);
          } catch (java.io.IOException e) {
            // the sender gave up on the hanging request long ago
          }
          ex.close();
        });
    pool = Executors.newFixedThreadPool(8);
    server.setExecutor(pool);
    server.start();
  }

  @AfterEach
  void cleanUp() throws Exception {
    hang.countDown();
    server.stop(0);
    pool.shutdownNow();
    try (Connection c = SweepScaleTests.db()) {
      for (String table :
          new String[] {"alert_deliveries", "findings", "audit_keys", "alert_settings"}) {
        try (PreparedStatement ps =
            c.prepareStatement("delete from " + table + " where account in (?, ?, ?)")) {
          ps.setString(1, slow);
          ps.setString(2, flaky);
          ps.setString(3, fast);
          ps.executeUpdate();
        }
      }
    }
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  static void settings(Connection c, String account, String url) throws Exception {
    try (PreparedStatement ps =
        c.prepareStatement(
            "insert into alert_settings (account, webhook_url, finding_types, mode, updated_at)"
                + " values (?, ?, '', 'immediate', now())")) {
      ps.setString(1, account);
      ps.setString(2, url);
      ps.executeUpdate();
    }
  }

  /** Keys 9 days old, never used: the next sweep opens a NEVER_USED finding for each. */
  static List<String> keys(Connection c, String account, int n) throws Exception {
    List<String> ids = new ArrayList<>();
    Instant created = TestClock.now().minus(Duration.ofDays(9));
    try (PreparedStatement ps =
        c.prepareStatement(
            "insert into audit_keys (key_id, account, name, status, created_at, updated_at,"
                + " version) values (?, ?, ?, 'active', ?, ?, 1)")) {
      for (int i = 0; i < n; i++) {
        String id = UUID.randomUUID().toString();
        ids.add(id);
        ps.setString(1, id);
        ps.setString(2, account);
        ps.setString(3, "e9-" + i);
        ps.setTimestamp(4, Timestamp.from(created));
        ps.setTimestamp(5, Timestamp.from(created));
        ps.addBatch();
      }
      ps.executeBatch();
    }
    return ids;
  }

  /** channel:status:attempts of an account's deliveries. */
  static List<String> deliveries(Connection c, String account) throws Exception {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "select channel, status, attempts from alert_deliveries where account = ? order by"
                + " channel")) {
      ps.setString(1, account);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1) + ":" + rs.getString(2) + ":" + rs.getInt(3));
        }
      }
    }
    return out;
  }

  List<Hit> at(String path) {
    return hits.stream().filter(h -> h.path().equals(path)).toList();
  }

  @Test
  void aHangingAndAFailingWebhookAreRetriedWithBackoffWithoutHoldingUpOtherAlerts()
      throws Exception {
    try (Connection c = SweepScaleTests.db()) {
      settings(c, slow, url("/slow"));
      settings(c, flaky, url("/flaky"));
      settings(c, fast, url("/fast"));
      List<String> slowKeys = keys(c, slow, 1);
      Api.sweep();
      // the receiver holds the slow delivery's first request
      await().atMost(Duration.ofSeconds(60)).until(() -> slowRequests.get() == 1);
      long hungAt = System.nanoTime();

      List<String> flakyKeys = keys(c, flaky, 1);
      List<String> fastKeys = keys(c, fast, 5);
      Api.sweep(); // a sweep is not held up by the hanging delivery
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> at("/fast").size() == 5 || !deliveries(c, slow).contains("webhook:pending:0"));
      List<String> slowWhileFast = deliveries(c, slow);
      double fastAfter = (System.nanoTime() - hungAt) / 1e9;
      // the five other alerts went out while the hanging one was still on its first attempt
      assertThat(at("/fast")).hasSize(5);
      assertThat(slowWhileFast).contains("webhook:pending:0");

      // the hanging attempt times out (kw.audit.alerts.timeout), is retried after the backoff and
      // the retry is answered
      await()
          .atMost(Duration.ofSeconds(90))
          .until(() -> deliveries(c, slow).contains("webhook:delivered:2"));
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> deliveries(c, flaky).contains("webhook:delivered:4"));
      double slowDeliveredAfter = (System.nanoTime() - hungAt) / 1e9;

      // after recovery: sweeps and ticks send nothing again
      Api.sweep();
      await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(5)).until(() -> true);

      List<Hit> slowHits = at("/slow");
      assertThat(slowHits).extracting(Hit::answered).containsExactly(0, 204);
      assertThat(slowHits).extracting(Hit::delivery).containsOnly(slowHits.get(0).delivery());
      assertThat(slowHits.get(0).body()).contains(slowKeys.get(0));

      List<Hit> flakyHits = at("/flaky");
      assertThat(flakyHits).extracting(Hit::answered).containsExactly(500, 500, 500, 204);
      assertThat(flakyHits).extracting(Hit::delivery).containsOnly(flakyHits.get(0).delivery());
      assertThat(flakyHits.get(0).body()).contains(flakyKeys.get(0));
      // backed off: at least 300 ms + 600 ms + 1200 ms between the first and the fourth attempt
      double flakySpan = (flakyHits.get(3).atNanos() - flakyHits.get(0).atNanos()) / 1e9;
      assertThat(flakySpan).isGreaterThanOrEqualTo(2.1);

      Map<String, Long> fastPerKey =
          at("/fast").stream()
              .collect(
                  Collectors.groupingBy(
                      h -> fastKeys.stream().filter(h.body()::contains).findFirst().orElse("?"),
                      Collectors.counting()));
      assertThat(fastPerKey.keySet()).containsExactlyInAnyOrderElementsOf(fastKeys);
      assertThat(fastPerKey.values()).allMatch(n -> n == 1);
      assertThat(at("/fast")).extracting(Hit::delivery).doesNotHaveDuplicates();

      assertThat(deliveries(c, slow)).containsExactly("kafka:delivered:1", "webhook:delivered:2");
      assertThat(deliveries(c, flaky)).containsExactly("kafka:delivered:1", "webhook:delivered:4");
      assertThat(deliveries(c, fast))
          .hasSize(10)
          .filteredOn(d -> d.startsWith("webhook"))
          .containsOnly("webhook:delivered:1");
      System.out.printf(
          "E9: hanging webhook: 5 other webhooks delivered %.1f s after it hung (its first attempt"
              + " still open); it was delivered on attempt 2 after %.1f s; the 500 webhook on"
              + " attempt 4, %.1f s after its first; deliveries per finding 1 (slow, flaky and 5"
              + " fast), duplicates after recovery 0%n",
          fastAfter, slowDeliveredAfter, flakySpan);
    }
  }
}
