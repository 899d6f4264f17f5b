package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A sweep reads a page of keys, then their open findings. An event that makes one of those keys
 * leaked and opens its LEAKED_STILL_USED finding can commit between the two reads. The sweep must
 * not resolve that finding from the key as it read it (system-tests E3 once saw the finding
 * resolved, and a second one opened by the next denial). The test holds the findings table locked
 * so the sweep waits between its reads, commits the "event" meanwhile, and checks the finding
 * after.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class SweepSnapshotTests {
  private final String account = "acct-sweep-snapshot-" + UUID.randomUUID();

  /** Sorts ahead of every UUID key id: the sweep's first page holds it. */
  private final String keyId = "00000000-snapshot-" + UUID.randomUUID().toString().substring(0, 8);

  @AfterEach
  void cleanUp() throws Exception {
    try (Connection c = SweepScaleTests.db()) {
      for (String table : new String[] {"alert_deliveries", "findings", "audit_keys"}) {
        try (PreparedStatement ps =
            c.prepareStatement("delete from " + table + " where account = ?")) {
          ps.setString(1, account);
          ps.executeUpdate();
        }
      }
    }
  }

  @Test
  void aFindingAnEventOpensWhileTheSweepReadsItsPageStaysOpen() throws Exception {
    Instant now = TestClock.now();
    try (Connection c = SweepScaleTests.db();
        PreparedStatement ps =
            c.prepareStatement(
                "insert into audit_keys (key_id, account, name, status, created_at, updated_at,"
                    + " version) values (?, ?, 'snapshot', 'active', ?, ?, 1)")) {
      ps.setString(1, keyId);
      ps.setString(2, account);
      ps.setTimestamp(3, Timestamp.from(now.minus(Duration.ofHours(1))));
      ps.setTimestamp(4, Timestamp.from(now.minus(Duration.ofHours(1))));
      ps.executeUpdate();
    }
    try (Connection event = SweepScaleTests.db();
        HttpClient http = HttpClient.newHttpClient()) {
      event.setAutoCommit(false);
      event.createStatement().execute("lock table findings in access exclusive mode");
      CompletableFuture<HttpResponse<String>> sweep =
          http.sendAsync(
              HttpRequest.newBuilder(
                      URI.create("http://localhost:" + RestAssured.port + "/api/audit/sweep"))
                  .timeout(Duration.ofMinutes(2))
                  .header("Authorization", "Bearer " + Api.token("carol"))
                  .POST(HttpRequest.BodyPublishers.noBody())
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      // the sweep has read its first page of keys and waits to read their findings
      try (Connection watch = SweepScaleTests.db()) {
        await()
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(50))
            .until(() -> waitingOnFindings(watch));
      }
      try (PreparedStatement ps =
          event.prepareStatement(
              "update audit_keys set status = 'leaked', version = 2, last_denied_at = ?,"
                  + " last_denied_ip = '203.0.113.9' where key_id = ?")) {
        ps.setTimestamp(1, Timestamp.from(now));
        ps.setString(2, keyId);
        assertThat(ps.executeUpdate()).isEqualTo(1);
      }
      try (PreparedStatement ps =
          event.prepareStatement(
              "insert into findings (id, key_id, account, type, status, period, detail,"
                  + " opened_at, updated_at) values (?, ?, ?, 'LEAKED_STILL_USED', 'open', ?,"
                  + " 'opened by the event', ?, ?)")) {
        ps.setObject(1, UUID.randomUUID());
        ps.setString(2, keyId);
        ps.setString(3, account);
        ps.setString(4, LocalDate.ofInstant(now, ZoneOffset.UTC).toString());
        ps.setTimestamp(5, Timestamp.from(now));
        ps.setTimestamp(6, Timestamp.from(now));
        ps.executeUpdate();
      }
      event.commit();
      HttpResponse<String> r = sweep.get(2, TimeUnit.MINUTES);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).doesNotContain("\"skipped\":true");
    }
    try (Connection c = SweepScaleTests.db();
        PreparedStatement ps =
            c.prepareStatement("select status from findings where key_id = ? order by opened_at")) {
      ps.setString(1, keyId);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).as("the finding the event opened").isEqualTo("open");
        assertThat(rs.next()).as("one finding").isFalse();
      }
    }
  }

  /** Whether another session waits for a lock in a statement on the findings table. */
  private static boolean waitingOnFindings(Connection watch) throws Exception {
    try (PreparedStatement ps =
            watch.prepareStatement(
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                    + " and query ilike '%findings%' and pid <> pg_backend_pid()");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1) > 0;
    }
  }
}
