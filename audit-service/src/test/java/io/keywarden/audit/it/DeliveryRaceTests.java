package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.audit.alerts.DeliveryWorker;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.vertx.VertxContextSupport;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

/**
 * Delivery workers racing on the same due deliveries (two callers of {@code sendDue} at once, plus
 * the scheduled tick): the row claim in the database lets each delivery out exactly once.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class DeliveryRaceTests {
  private static final int N = 120;

  @Inject DeliveryWorker worker;

  static Connection db() throws Exception {
    return DriverManager.getConnection(
        "jdbc:postgresql://localhost:"
            + ConfigProvider.getConfig().getValue("kw.db.port", String.class)
            + "/auditservice",
        "postgres",
        "");
  }

  @Test
  void twoWorkersRacingOnTheSameDueDeliveriesSendEachOnce() throws Exception {
    String run = UUID.randomUUID().toString().substring(0, 8);
    String hook = "/race-" + run;
    Api.as("carol")
        .contentType("application/json")
        .body(Map.of("mode", "daily", "webhookUrl", WebhookReceiver.url(hook)))
        .put("/api/audit/alert-settings")
        .then()
        .statusCode(200);
    String account = Api.account("carol");
    List<String> ids = new ArrayList<>();
    try (Connection c = db()) {
      // queued as not due yet, so no worker sees them before the race starts
      try (PreparedStatement ps =
          c.prepareStatement(
              "insert into alert_deliveries (id, scope, key_id, account, finding_id, finding_type,"
                  + " period, channel, status, attempts, next_attempt_at, created_at) values (?,"
                  + " ?, null, ?, null, 'DIGEST', ?, 'webhook', 'pending', 0, ?, now())")) {
        for (int i = 0; i < N; i++) {
          UUID id = UUID.randomUUID();
          ids.add(id.toString());
          ps.setObject(1, id);
          ps.setString(2, "account:" + account);
          ps.setString(3, account);
          ps.setString(4, "race-" + run + "-" + i);
          ps.setTimestamp(5, Timestamp.from(Instant.parse("2100-01-01T00:00:00Z")));
          ps.addBatch();
        }
        ps.executeBatch();
      }
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> racers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
          racers.add(
              pool.submit(
                  () -> {
                    go.await();
                    int sent = 0;
                    for (int n; (n = sendDue()) > 0; ) {
                      sent += n;
                    }
                    return sent;
                  }));
        }
        try (PreparedStatement due =
            c.prepareStatement(
                "update alert_deliveries set next_attempt_at = now() - interval '1 minute'"
                    + " where period like ?")) {
          due.setString(1, "race-" + run + "-%");
          assertThat(due.executeUpdate()).isEqualTo(N);
        }
        go.countDown();
        for (Future<Integer> f : racers) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> delivered(c, run) == N);
    }
    await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> true);
    List<WebhookReceiver.Received> got = WebhookReceiver.at(hook);
    Map<String, Long> perDelivery =
        got.stream()
            .collect(
                Collectors.groupingBy(
                    r -> r.headers().get("x-keywarden-delivery"), Collectors.counting()));
    assertThat(perDelivery.keySet()).containsExactlyInAnyOrderElementsOf(ids);
    assertThat(perDelivery.values()).allMatch(n -> n == 1, "sent once");
    assertThat(got).hasSize(N);
    try (Connection c = db();
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "select attempts, count(*) from alert_deliveries where period like 'race-"
                        + run
                        + "-%' group by attempts")) {
      Map<Integer, Long> attempts = new java.util.HashMap<>();
      while (rs.next()) {
        attempts.put(rs.getInt(1), rs.getLong(2));
      }
      assertThat(attempts).isEqualTo(Map.of(1, (long) N));
    }
  }

  /** One worker run on its own Vert.x context, as the scheduler runs it. */
  private int sendDue() throws Exception {
    try {
      return VertxContextSupport.subscribeAndAwait(worker::sendDue);
    } catch (Exception | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  private static long delivered(Connection c, String run) throws Exception {
    try (ResultSet rs =
        c.createStatement()
            .executeQuery(
                "select count(*) from alert_deliveries where status = 'delivered' and period like"
                    + " 'race-"
                    + run
                    + "-%'")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
