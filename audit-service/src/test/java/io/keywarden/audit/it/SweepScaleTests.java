package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.scheduler.Scheduler;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Level;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A manual sweep over 2,000 keys whose findings all open at once (the case that used to take more
 * than 120 s: one settings read and one insert per finding and channel), then over the same keys
 * with all 2,000 findings open. The SQL statements the service sends (Hibernate's statement log)
 * are counted: a sweep costs a few statements per page of keys, never a few per finding.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class SweepScaleTests {
  /** 2,000 in the suite; bench/audit-sweep.sh --scale N runs it with more. */
  private static final int KEYS = Integer.getInteger("kw.sweep-scale.keys", 2_000);

  /** Pages of 1,000 keys: a handful of statements each, whatever the number of findings. */
  private static final int MAX_STATEMENTS = 20 + 10 * (KEYS / 1000);

  @Inject Scheduler scheduler;

  private final String account = "acct-sweep-scale-" + UUID.randomUUID();

  static Connection db() throws Exception {
    return DriverManager.getConnection(
        "jdbc:postgresql://localhost:"
            + ConfigProvider.getConfig().getValue("kw.db.port", String.class)
            + "/auditservice",
        "postgres",
        "");
  }

  @AfterEach
  void cleanUp() throws Exception {
    try (Connection c = db()) {
      for (String table : new String[] {"alert_deliveries", "findings", "audit_keys"}) {
        try (PreparedStatement ps =
            c.prepareStatement("delete from " + table + " where account = ?")) {
          ps.setString(1, account);
          ps.executeUpdate();
        }
      }
      try (PreparedStatement ps =
          c.prepareStatement("delete from alert_settings where account = ?")) {
        ps.setString(1, account);
        ps.executeUpdate();
      }
    } finally {
      scheduler.resume();
    }
  }

  record Sweep(long millis, int statements, String result) {}

  /** A sweep over HTTP with a 10-minute timeout (the old code took minutes). */
  Sweep sweep() throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create("http://localhost:" + RestAssured.port + "/api/audit/sweep"))
            .timeout(Duration.ofMinutes(10))
            .header("Authorization", "Bearer " + Api.token("carol"))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build();
    // the statements Hibernate Reactive sends (DEBUG), not 10,000 lines on the console
    try (LogCapture statements = new LogCapture("org.hibernate.SQL", Level.FINE, true);
        HttpClient http = HttpClient.newHttpClient()) {
      long start = System.nanoTime();
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      return new Sweep(ms, statements.count(), r.body());
    }
  }

  long count(Connection c, String sql) throws Exception {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, account);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  @Test
  void aSweepOpeningTwoThousandFindingsWithThreeChannelsEachCostsStatementsPerPageNotPerFinding()
      throws Exception {
    // nothing else talks to the database meanwhile: the counts are the sweep's own
    scheduler.pause();
    await(Duration.ofSeconds(2));
    Instant created = TestClock.now().minus(Duration.ofDays(9)); // NEVER_USED
    try (Connection c = db()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "insert into alert_settings (account, webhook_url, email, finding_types, mode,"
                  + " updated_at) values (?, ?, ?, '', 'immediate', now())")) {
        ps.setString(1, account);
        ps.setString(2, WebhookReceiver.url("/sweep-scale"));
        ps.setString(3, "sweep-scale@example.test");
        ps.executeUpdate();
      }
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              "insert into audit_keys (key_id, account, name, status, created_at, updated_at,"
                  + " version) values (?, ?, ?, 'active', ?, ?, 1)")) {
        for (int i = 0; i < KEYS; i++) {
          ps.setString(1, UUID.randomUUID().toString());
          ps.setString(2, account);
          ps.setString(3, "scale-" + i);
          ps.setTimestamp(4, Timestamp.from(created));
          ps.setTimestamp(5, Timestamp.from(created));
          ps.addBatch();
        }
        ps.executeBatch();
      }
      c.commit();
      c.setAutoCommit(true);

      Sweep first = sweep();
      long findings =
          count(c, "select count(*) from findings where account = ? and status = 'open'");
      Map<String, Long> perChannel = new java.util.TreeMap<>();
      try (PreparedStatement ps =
          c.prepareStatement(
              "select channel, count(*), count(distinct finding_id) from alert_deliveries where"
                  + " account = ? group by channel")) {
        ps.setString(1, account);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            perChannel.put(rs.getString(1), rs.getLong(2));
            assertThat(rs.getLong(3)).as("findings of " + rs.getString(1)).isEqualTo(KEYS);
          }
        }
      }
      Sweep second = sweep();
      long deliveriesAfter = count(c, "select count(*) from alert_deliveries where account = ?");
      System.out.printf(
          "SWEEP-SCALE keys=%d sweep1 (opens %d findings, queues %s) ms=%d statements=%d;"
              + " sweep2 (all open already) ms=%d statements=%d%n",
          KEYS,
          findings,
          perChannel,
          first.millis(),
          first.statements(),
          second.millis(),
          second.statements());
      assertThat(findings).isEqualTo(KEYS);
      assertThat(perChannel)
          .isEqualTo(Map.of("email", (long) KEYS, "kafka", (long) KEYS, "webhook", (long) KEYS));
      assertThat(deliveriesAfter).as("the second sweep queues nothing again").isEqualTo(3L * KEYS);
      assertThat(first.statements()).as("statements of sweep 1").isLessThan(MAX_STATEMENTS);
      assertThat(second.statements()).as("statements of sweep 2").isLessThan(MAX_STATEMENTS);
    }
  }

  private static void await(Duration d) {
    org.awaitility.Awaitility.await().pollDelay(d).atMost(d.plusSeconds(1)).until(() -> true);
  }
}
