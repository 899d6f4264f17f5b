package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * S5 (audit-service): absurd query parameters on the findings, keys, deliveries and report
 * endpoints get a 400 naming the parameter, never a 500; a CSV and an HTML report over 10,000 keys
 * are answered in full, and the heap they take is measured.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class AbsurdQueryTests {
  static final String LONG = "k".repeat(10_000);

  @Test
  void absurdParametersGetA400NamingTheParameter() {
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("/api/audit/findings?limit=1000000000", "limit");
    cases.put("/api/audit/findings?limit=99999999999999", "limit");
    cases.put("/api/audit/findings?limit=-1", "limit");
    cases.put("/api/audit/findings?offset=-1", "offset");
    cases.put("/api/audit/findings?offset=1000000000", "offset");
    cases.put("/api/audit/findings?offset=99999999999999999999", "offset");
    cases.put("/api/audit/findings?key=" + LONG, "key");
    cases.put("/api/audit/findings?account=" + LONG, "account");
    cases.put("/api/audit/findings?type=" + LONG, "type");
    cases.put("/api/audit/findings?status=" + LONG, "status");
    cases.put("/api/audit/findings?since=" + LONG, "since");
    cases.put("/api/audit/findings?since=%2B1000000000-12-31T23:59:59Z", "since");
    cases.put("/api/audit/findings?since=-1000000000-01-01T00:00:00Z", "since");
    cases.put("/api/audit/findings?since=0001-01-01T00:00:00Z", "since");
    cases.put("/api/audit/findings?since=2026-13-45T99:00:00Z", "since");
    cases.put("/api/audit/keys?account=" + LONG, "account");
    cases.put("/api/audit/deliveries?account=" + LONG, "account");
    cases.put("/api/audit/deliveries?limit=1000000000", "limit");
    cases.put("/api/audit/report?account=" + LONG, "account");
    cases.put("/api/audit/report?format=" + LONG, "format");
    // %00 decodes to the NUL character, which PostgreSQL's text cannot hold
    cases.put("/api/audit/findings?account=a%00b", "account");
    cases.put("/api/audit/findings?key=a%00b", "key");
    cases.put("/api/audit/keys?account=a%00b", "account");
    cases.put("/api/audit/deliveries?account=a%00b", "account");
    cases.put("/api/audit/report?account=a%00b", "account");
    List<String> fivexx = new ArrayList<>();
    for (Map.Entry<String, String> c : cases.entrySet()) {
      Response r = Api.as("carol").urlEncodingEnabled(false).get(c.getKey());
      String shown = c.getKey().length() > 90 ? c.getKey().substring(0, 90) + "…" : c.getKey();
      if (r.statusCode() >= 500) {
        fivexx.add(shown);
      }
      assertThat(r.statusCode()).as(shown + ": " + r.asString()).isEqualTo(400);
      assertThat(r.asString()).as(shown).contains(c.getValue()).doesNotContain("Exception");
    }
    // sane values still work
    assertThat(Api.as("carol").get("/api/audit/findings?limit=1000&offset=0").statusCode())
        .isEqualTo(200);
    assertThat(
            Api.as("carol")
                .get("/api/audit/findings?since=2026-01-01T00:00:00Z&offset=5")
                .statusCode())
        .isEqualTo(200);
    System.out.printf(
        "S5: %d absurd queries -> 400 naming the parameter, 5xx %d%n", cases.size(), fivexx.size());
  }

  static long heapUsed() {
    long used = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        used += p.getUsage().getUsed();
      }
    }
    return used;
  }

  static long heapPeakSinceReset() {
    long peak = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        peak += p.getPeakUsage().getUsed();
      }
    }
    return peak;
  }

  @Test
  void aCsvAndAnHtmlReportOverTenThousandKeysAreAnsweredInFull() throws Exception {
    int n = 10_000;
    String account = "acct-report-10k-" + UUID.randomUUID();
    Instant created = TestClock.now().minus(Duration.ofDays(2));
    try (Connection c = SweepScaleTests.db()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              "insert into audit_keys (key_id, account, name, status, created_at, updated_at,"
                  + " version) values (?, ?, ?, 'active', ?, ?, 1)")) {
        for (int i = 0; i < n; i++) {
          ps.setString(1, UUID.randomUUID().toString());
          ps.setString(2, account);
          ps.setString(3, "=report-key-" + i); // also a CSV-injection attempt in every row
          ps.setTimestamp(4, Timestamp.from(created));
          ps.setTimestamp(5, Timestamp.from(created));
          ps.addBatch();
        }
        ps.executeBatch();
      }
      c.commit();
      c.setAutoCommit(true);
      try {
        for (String format : List.of("csv", "html")) {
          System.gc();
          long before = heapUsed();
          ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
          long start = System.nanoTime();
          Response r =
              Api.as("carol").get("/api/audit/report?format=" + format + "&account=" + account);
          long ms = (System.nanoTime() - start) / 1_000_000;
          long peak = heapPeakSinceReset();
          assertThat(r.statusCode()).isEqualTo(200);
          String body = r.asString();
          int lines = body.split(format.equals("csv") ? "\r\n" : "report-key-", -1).length - 1;
          assertThat(lines).as(format + " rows").isEqualTo(format.equals("csv") ? n + 1 : n);
          if (format.equals("csv")) {
            assertThat(body).contains("'=report-key-9999").doesNotContain(",=report-key-");
          }
          System.out.printf(
              "S5: %s report over %d keys: %d bytes in %d ms; test JVM heap (client and service"
                  + " together) %d MB before, peak %d MB during%n",
              format, n, body.length(), ms, before >> 20, peak >> 20);
        }
      } finally {
        try (PreparedStatement ps =
            c.prepareStatement("delete from audit_keys where account = ?")) {
          ps.setString(1, account);
          ps.executeUpdate();
        }
      }
    }
  }
}
