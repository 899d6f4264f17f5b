package io.keywarden.audit.process;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.StackConfig;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The audit report of a big operator (30,000 keys, 3,000 open findings) from the packaged jar on a
 * small heap: every format answers 200 with every row, and the service is still alive and ready
 * afterwards. A report built in memory (every entity, then one String) ran this heap out.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BigReportTests {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int N = 30_000;
  static final int SMALL = 1_234;
  static final int FINDINGS_EVERY = 10;

  /** The service's heap here: well under the 256 MB services run with. */
  static final String HEAP = System.getProperty("kw.test.report-heap", "-Xmx96m");

  LocalStack stack;
  ServiceProcess audit;
  final HttpClient http = HttpClient.newHttpClient();
  final String big = "acct-bigreport-" + UUID.randomUUID();
  // a second account in the same admin report: its pages cross from one account to the next
  final String small = "acct-bigreport-" + UUID.randomUUID();
  final List<String> bigIds = new ArrayList<>();
  final List<String> smallIds = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    stack = KeywardenStackResource.stack();
    Path logs = Files.createDirectories(stack.home().resolve("audit-bigreport-logs"));
    Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    props.put("kw.smtp.host", "127.0.0.1");
    props.put("kw.smtp.port", String.valueOf(stack.smtpPort()));
    audit =
        ServiceProcess.start(
            StackConfig.findRoot(), "audit-service", freePort(), props, logs, List.of(HEAP));
    insert(big, N, bigIds);
    insert(small, SMALL, smallIds);
  }

  /** Keys created one second apart (the report's order), every 10th with an open finding. */
  void insert(String account, int n, List<String> ids) throws Exception {
    Instant base = Instant.now().minus(Duration.ofDays(40));
    try (Connection c = db()) {
      c.setAutoCommit(false);
      try (PreparedStatement k =
              c.prepareStatement(
                  "insert into audit_keys (key_id, account, name, group_name, status, created_at,"
                      + " updated_at, version, expires_at, last_used_at, last_client_ip,"
                      + " total_spend_micros, quota_micros) values (?, ?, ?, 'default', ?, ?, ?,"
                      + " 1, ?, ?, '203.0.113.7', 1234567, 50000000)");
          PreparedStatement f =
              c.prepareStatement(
                  "insert into findings (id, key_id, account, type, status, period, detail,"
                      + " opened_at, updated_at) values (?, ?, ?, 'NEVER_USED', 'open', 'p', ?,"
                      + " now(), now())")) {
        for (int i = 0; i < n; i++) {
          String id = UUID.randomUUID().toString();
          ids.add(id);
          Instant created = base.plusSeconds(i);
          k.setString(1, id);
          k.setString(2, account);
          k.setString(3, "big-report-key-" + i + " <b>&\"x\"</b>");
          // every 7th an active key past its expiry: reported as expired
          k.setString(4, i % 7 == 0 ? "active" : (i % 2 == 0 ? "active" : "disabled"));
          k.setTimestamp(5, Timestamp.from(created));
          k.setTimestamp(6, Timestamp.from(created));
          k.setTimestamp(7, i % 7 == 0 ? Timestamp.from(base.plusSeconds(86400)) : null);
          k.setTimestamp(8, i % 3 == 0 ? null : Timestamp.from(created.plusSeconds(3600)));
          k.addBatch();
          if (i % FINDINGS_EVERY == 0) {
            f.setObject(1, UUID.randomUUID());
            f.setString(2, id);
            f.setString(3, account);
            f.setString(4, "This key was created more than 7 days ago and has never been used.");
            f.addBatch();
          }
          if (i % 5_000 == 4_999) {
            k.executeBatch();
            f.executeBatch();
          }
        }
        k.executeBatch();
        f.executeBatch();
      }
      c.commit();
    }
  }

  @AfterAll
  void stop() throws Exception {
    if (audit != null) {
      audit.stop();
    }
    try (Connection c = db()) {
      for (String table : List.of("findings", "audit_keys")) {
        try (PreparedStatement ps =
            c.prepareStatement("delete from " + table + " where account in (?, ?)")) {
          ps.setString(1, big);
          ps.setString(2, small);
          ps.executeUpdate();
        }
      }
    }
  }

  Connection db() throws Exception {
    return DriverManager.getConnection(stack.jdbcUrl("auditservice"));
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  HttpResponse<String> report(String query) throws Exception {
    HttpRequest req =
        HttpRequest.newBuilder(
                URI.create("http://localhost:" + audit.port() + "/api/audit/report?" + query))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + Tokens.password(stack.issuer(), "carol"))
            .build();
    long start = System.nanoTime();
    HttpResponse<String> r;
    try {
      r = http.send(req, HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new AssertionError(
          query + ": no complete answer (alive " + audit.isAlive() + "): " + e, e);
    }
    System.out.printf(
        "S10: report %s over %d keys on %s: HTTP %d, %d chars in %d ms%n",
        query.replace(big, "<big>"),
        N,
        HEAP,
        r.statusCode(),
        r.body().length(),
        (System.nanoTime() - start) / 1_000_000);
    assertThat(r.statusCode())
        .as(query + ": " + r.body().substring(0, Math.min(300, r.body().length())))
        .isEqualTo(200);
    return r;
  }

  void assertHealthy() throws Exception {
    assertThat(audit.isAlive()).as("audit-service process alive").isTrue();
    HttpResponse<String> ready =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://localhost:" + audit.port() + "/q/health/ready"))
                .timeout(Duration.ofSeconds(30))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
  }

  @Test
  void jsonCsvAndHtmlReportsOfThirtyThousandKeysAnswerEveryRowOnASmallHeap() throws Exception {
    try {
      // JSON: every key once, in the report's order (created, then key id), with its findings
      JsonNode json = JSON.readTree(report("format=json&account=" + big).body());
      assertThat(json.path("account").asText()).isEqualTo(big);
      assertThat(json.path("accounts").asInt()).isEqualTo(1);
      JsonNode keys = json.path("keys");
      assertThat(keys.size()).isEqualTo(N);
      List<String> ids = new ArrayList<>(N);
      int withFinding = 0;
      for (JsonNode k : keys) {
        ids.add(k.path("keyId").asText());
        if (k.path("openFindings").size() == 1) {
          withFinding++;
          assertThat(k.path("openFindings").get(0).path("type").asText()).isEqualTo("NEVER_USED");
        }
      }
      assertThat(ids).isEqualTo(bigIds);
      assertThat(withFinding).isEqualTo(N / FINDINGS_EVERY);
      int expired = (N + 6) / 7;
      assertThat(json.path("keysByStatus").path("expired").asInt()).isEqualTo(expired);
      assertThat(keys.get(0).path("status").asText()).isEqualTo("expired");
      int sum = 0;
      for (JsonNode v : json.path("keysByStatus")) {
        sum += v.asInt();
      }
      assertThat(sum).isEqualTo(N);
      assertThat(json.path("findingsByType").path("NEVER_USED").asInt())
          .isEqualTo(N / FINDINGS_EVERY);

      // CSV: a header and one line per key
      String csv = report("format=csv&account=" + big).body();
      String[] lines = csv.split("\r\n");
      assertThat(lines.length).isEqualTo(N + 1);
      assertThat(lines[0]).startsWith("key_id,name,account,group,status");
      assertThat(lines[1]).startsWith(bigIds.get(0) + ",");
      assertThat(lines[N]).startsWith(bigIds.get(N - 1) + ",");

      // HTML: one table row per key, names escaped, the total card right
      String html = report("format=html&account=" + big).body();
      assertThat(count(html, "<tr data-key=\"")).isEqualTo(N);
      assertThat(html).contains("<b>" + N + "</b>total keys").endsWith("</html>\n");
      assertThat(html).doesNotContain("<b>&\"x\"</b>").contains("&lt;b&gt;&amp;&quot;x&quot;");

      // the admin's report of every account: both accounts in full, each in order, no key twice
      String all = report("format=csv").body();
      Map<String, List<String>> byAccount = new HashMap<>();
      Set<String> seen = new HashSet<>();
      Pattern row = Pattern.compile("(?m)^([0-9a-f-]{36}),[^\r\n]*?,(acct-bigreport-[0-9a-f-]+),");
      Matcher m = row.matcher(all);
      while (m.find()) {
        assertThat(seen.add(m.group(1))).as("key listed twice: " + m.group(1)).isTrue();
        byAccount.computeIfAbsent(m.group(2), x -> new ArrayList<>()).add(m.group(1));
      }
      assertThat(byAccount.get(big)).isEqualTo(bigIds);
      assertThat(byAccount.get(small)).isEqualTo(smallIds);
    } finally {
      assertHealthy();
    }
  }

  static int count(String s, String what) {
    int n = 0;
    for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + what.length())) {
      n++;
    }
    return n;
  }
}
