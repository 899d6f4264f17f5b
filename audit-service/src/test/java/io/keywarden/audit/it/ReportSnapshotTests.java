package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The streamed audit report reads one snapshot: keys created, deleted, revoked and findings
 * resolved while a report streams (after its summary, before its last pages) change neither its
 * rows nor its counts, which agree exactly. Its connection is given back when a client goes away
 * mid-report or stops reading, and reports beyond {@code kw.audit.report.max-concurrent} are a 503
 * problem, not a wait for the pool.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReportSnapshotTests {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int N = 6_000;
  static final String APP = "keywarden-audit-report";

  final String run = UUID.randomUUID().toString().substring(0, 8);
  final String account = "acct-report-snapshot-" + run;
  final String longAccount = account + "-long";

  @BeforeAll
  void insert() throws Exception {
    try (Connection c = DeliveryRaceTests.db()) {
      insertKeys(c, 0, N);
    }
  }

  /**
   * Keys {@code from..to-1}, one second apart (the report's order), every third disabled, every
   * fourth with an open NEVER_USED finding and every fifth an OLD one.
   */
  void insertKeys(Connection c, int from, int to) throws Exception {
    try (PreparedStatement k =
            c.prepareStatement(
                "insert into audit_keys (key_id, account, name, group_name, status, created_at,"
                    + " updated_at, version) select ? || lpad(i::text, 6, '0'), ?, 'snapshot key '"
                    + " || i || ' ' || repeat('n', 120), 'default', case when i % 3 = 0 then"
                    + " 'disabled' else 'active' end, now() - interval '1 day' + i * interval '1"
                    + " second', now(), 1 from generate_series(?, ?) i");
        PreparedStatement f =
            c.prepareStatement(
                "insert into findings (id, key_id, account, type, status, period, detail,"
                    + " opened_at, updated_at) select gen_random_uuid(), key_id, account, t,"
                    + " 'open', 'p', 'snapshot finding', now(), now() from audit_keys, lateral"
                    + " (select 'NEVER_USED' t where substr(key_id, 10)::int % 4 = 0 union all"
                    + " select 'OLD' where substr(key_id, 10)::int % 5 = 0) x where account = ?"
                    + " and substr(key_id, 10)::int between ? and ?")) {
      k.setString(1, run + "-");
      k.setString(2, account);
      k.setInt(3, from);
      k.setInt(4, to - 1);
      assertThat(k.executeUpdate()).isEqualTo(to - from);
      f.setString(1, account);
      f.setInt(2, from);
      f.setInt(3, to - 1);
      f.executeUpdate();
    }
  }

  @AfterAll
  void cleanUp() throws Exception {
    try (Connection c = DeliveryRaceTests.db()) {
      for (String table : List.of("findings", "audit_keys")) {
        try (PreparedStatement ps =
            c.prepareStatement("delete from " + table + " where account = ?")) {
          ps.setString(1, account);
          ps.executeUpdate();
          ps.setString(1, longAccount);
          ps.executeUpdate();
        }
      }
    }
  }

  static int reportConnections() throws Exception {
    try (Connection c = DeliveryRaceTests.db();
        PreparedStatement ps =
            c.prepareStatement(
                "select count(*) from pg_stat_activity where application_name = ?")) {
      ps.setString(1, APP);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  @Test
  void summaryAndRowsAreOneSnapshotWhileKeysChangeMidStream() throws Exception {
    List<String> before;
    try (Raw r = new Raw("/api/audit/report?format=json&account=" + account)) {
      assertThat(r.status).as(r.headers.toString()).isEqualTo(200);
      // the head (the summary) is out; the rows are still to be read: change them now
      String first = new String(r.chunk(), StandardCharsets.UTF_8);
      assertThat(first).contains("\"keysByStatus\"");
      try (Connection c = DeliveryRaceTests.db()) {
        c.createStatement()
            .executeUpdate(
                "delete from findings where account = '"
                    + account
                    + "' and substr(key_id, 10)::int >= "
                    + (N - 100));
        c.createStatement()
            .executeUpdate(
                "delete from audit_keys where account = '"
                    + account
                    + "' and substr(key_id, 10)::int >= "
                    + (N - 100));
        insertKeys(c, N, N + 300);
        c.createStatement()
            .executeUpdate(
                "update findings set status = 'resolved', resolved_at = now() where account = '"
                    + account
                    + "' and substr(key_id, 10)::int between "
                    + (N - 2000)
                    + " and "
                    + (N - 1000));
        c.createStatement()
            .executeUpdate(
                "update audit_keys set status = 'revoked' where account = '"
                    + account
                    + "' and substr(key_id, 10)::int between "
                    + (N - 900)
                    + " and "
                    + (N - 500));
      }
      String body = first + r.rest();
      JsonNode report = JSON.readTree(body);
      Consistency seen = Consistency.of(report);
      System.out.printf(
          "report snapshot: %d rows, keysByStatus %s, findingsByType %s; from the rows: %s %s%n",
          seen.rows, seen.summaryStatuses, seen.summaryTypes, seen.rowStatuses, seen.rowTypes);
      seen.assertConsistent();
      assertThat(seen.rows).as("the keys when the report began").isEqualTo(N);
      before = seen.ids;
      for (int i = 0; i < N; i++) {
        assertThat(before.get(i)).isEqualTo(run + "-" + String.format(Locale.ROOT, "%06d", i));
      }
    }
    // the changes are there for the next report, which agrees with itself too
    try (Raw r = new Raw("/api/audit/report?format=json&account=" + account)) {
      assertThat(r.status).isEqualTo(200);
      Consistency after = Consistency.of(JSON.readTree(r.rest()));
      after.assertConsistent();
      assertThat(after.rows).isEqualTo(N - 100 + 300);
      assertThat(after.rowStatuses.get("revoked")).isEqualTo(401);
    }
  }

  /** The summary of a JSON report and what its rows add up to. */
  record Consistency(
      int rows,
      List<String> ids,
      Map<String, Integer> summaryStatuses,
      Map<String, Integer> rowStatuses,
      Map<String, Integer> summaryTypes,
      Map<String, Integer> rowTypes,
      int accounts,
      int rowAccounts) {
    static Consistency of(JsonNode report) {
      Map<String, Integer> summaryStatuses = new TreeMap<>();
      report
          .path("keysByStatus")
          .properties()
          .forEach(e -> summaryStatuses.put(e.getKey(), e.getValue().asInt()));
      Map<String, Integer> summaryTypes = new TreeMap<>();
      report
          .path("findingsByType")
          .properties()
          .forEach(e -> summaryTypes.put(e.getKey(), e.getValue().asInt()));
      Map<String, Integer> rowStatuses = new TreeMap<>();
      summaryStatuses.keySet().forEach(s -> rowStatuses.put(s, 0));
      Map<String, Integer> rowTypes = new TreeMap<>();
      summaryTypes.keySet().forEach(t -> rowTypes.put(t, 0));
      List<String> ids = new ArrayList<>();
      java.util.Set<String> accounts = new java.util.HashSet<>();
      for (JsonNode k : report.path("keys")) {
        ids.add(k.path("keyId").asText());
        accounts.add(k.path("account").asText());
        rowStatuses.merge(k.path("status").asText(), 1, Integer::sum);
        for (JsonNode f : k.path("openFindings")) {
          rowTypes.merge(f.path("type").asText(), 1, Integer::sum);
        }
      }
      return new Consistency(
          ids.size(),
          ids,
          summaryStatuses,
          rowStatuses,
          summaryTypes,
          rowTypes,
          report.path("accounts").asInt(),
          accounts.size());
    }

    void assertConsistent() {
      assertThat(rowStatuses)
          .as("keys by status: the summary and the rows")
          .isEqualTo(summaryStatuses);
      assertThat(rowTypes)
          .as("open findings by type: the summary and the rows")
          .isEqualTo(summaryTypes);
      assertThat(summaryStatuses.values().stream().mapToInt(Integer::intValue).sum())
          .isEqualTo(rows);
      assertThat(rowAccounts).isEqualTo(accounts);
    }
  }

  @Test
  void clientsThatGoAwayOrStopReadingMidReportGiveTheirConnectionBack() throws Exception {
    int max =
        ConfigProvider.getConfig()
            .getOptionalValue("kw.audit.report.max-concurrent", Integer.class)
            .orElse(4);
    String path = "/api/audit/report?format=html&account=" + account;
    await().atMost(Duration.ofSeconds(30)).until(() -> reportConnections() == 0);

    // max reports at once, each read a little, then the client goes away (a reset), twice
    for (int round = 0; round < 2; round++) {
      List<Raw> open = new ArrayList<>();
      try {
        for (int i = 0; i < max; i++) {
          Raw r = new Raw(path);
          open.add(r);
          assertThat(r.status).as("report %d of %d, round %d", i + 1, max, round).isEqualTo(200);
          assertThat(r.chunk()).isNotEmpty();
        }
        assertThat(reportConnections()).as("a connection per streaming report").isEqualTo(max);
        // one more is refused at once, with a problem saying why and when to come back
        try (Raw extra = new Raw(path)) {
          assertThat(extra.status).isEqualTo(503);
          assertThat(extra.headers.get("content-type")).startsWith("application/problem+json");
          assertThat(extra.headers.get("retry-after")).isEqualTo("5");
          assertThat(extra.rest()).contains("too many audit reports");
        }
      } finally {
        open.forEach(Raw::close);
      }
      System.out.printf(
          "report: %d clients gone mid-report, their connections given back after %d ms%n",
          max, msUntilConnectionsBack(Duration.ofSeconds(30)));
    }

    // a client that stops reading: its report is cut off after the idle timeout, the connection
    // is given back and the permit too
    List<Raw> stalled = new ArrayList<>();
    try {
      openReports(path, max, stalled);
      System.out.printf(
          "report: %d stalled clients' connections given back after %d ms%n",
          max, msUntilConnectionsBack(Duration.ofSeconds(90)));
      // the reports are freed: as many again answer, and one reads to the end
      List<Raw> again = new ArrayList<>();
      try {
        openReports(path, max, again);
        String html = again.get(0).rest();
        assertThat(html).endsWith("</html>\n");
        assertThat(BigCount.count(html, "<tr data-key=\"")).isEqualTo(N);
      } finally {
        again.forEach(Raw::close);
      }
    } finally {
      stalled.forEach(Raw::close);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> reportConnections() == 0);
  }

  /**
   * A client that keeps reading, never idle long enough for the idle timeout, still loses its
   * report at {@code max-duration}: the server ends the snapshot and gives the connection and the
   * permit back then, while the client is still reading (what the kernel had buffered for it still
   * arrives, then the stream breaks off without the document's end).
   */
  @Test
  void aReportStreamingLongerThanTheMaxDurationIsCutOffAndItsConnectionGivenBack()
      throws Exception {
    Duration maxDuration =
        ConfigProvider.getConfig().getValue("kw.audit.report.max-duration", Duration.class);
    // 20,000 keys: ~10 MB of HTML, which a reader of ~320 KB/s takes ~30 s to read
    try (Connection c = DeliveryRaceTests.db();
        PreparedStatement k =
            c.prepareStatement(
                "insert into audit_keys (key_id, account, name, group_name, status, created_at,"
                    + " updated_at, version) select ? || lpad(i::text, 6, '0'), ?, 'long key '"
                    + " || i || ' ' || repeat('n', 120), 'default', 'active', now() - interval"
                    + " '1 day' + i * interval '1 second', now(), 1 from generate_series(1, 20000)"
                    + " i")) {
      k.setString(1, run + "L");
      k.setString(2, longAccount);
      assertThat(k.executeUpdate()).isEqualTo(20_000);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> reportConnections() == 0);
    LogCapture reportLog =
        new LogCapture("io.keywarden.audit.report", java.util.logging.Level.INFO, false);
    java.util.concurrent.ScheduledExecutorService reader =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    long started = System.nanoTime();
    try (Raw r = new Raw("/api/audit/report?format=html&account=" + longAccount)) {
      assertThat(r.status).isEqualTo(200);
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[32 * 1024];
      reader.scheduleAtFixedRate(
          () -> {
            try {
              int n = r.in.read(buf);
              if (n > 0) {
                synchronized (got) {
                  got.write(buf, 0, n);
                }
              }
            } catch (IOException e) {
              // the reset: nothing more to read
            }
          },
          0,
          100,
          java.util.concurrent.TimeUnit.MILLISECONDS);
      await()
          .atMost(maxDuration.plusSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> reportConnections() == 0);
      long ms = (System.nanoTime() - started) / 1_000_000;
      String sofar;
      synchronized (got) {
        sofar = got.toString(StandardCharsets.UTF_8);
      }
      System.out.printf(
          "report: a steady reader's report cut off after %d ms (max duration %s), %d bytes read"
              + " by then%n",
          ms, maxDuration, sofar.length());
      assertThat(ms)
          .as("the connection given back, not before the max duration")
          .isGreaterThanOrEqualTo(maxDuration.toMillis());
      assertThat(sofar).as("the client still reading").doesNotContain("</html>");
      assertThat(reportLog.lines())
          .as("cut off for its duration, not for idling")
          .anyMatch(w -> w.contains("streamed longer than"))
          .noneMatch(w -> w.contains("connection closed"));
    } finally {
      reader.shutdownNow();
      reportLog.close();
    }
  }

  static final class BigCount {
    static int count(String s, String what) {
      int n = 0;
      for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + what.length())) {
        n++;
      }
      return n;
    }
  }

  /**
   * A report over a plain socket with a small receive buffer: the test decides when (and whether)
   * the rest is read, and how the client goes away.
   */
  static final class Raw implements AutoCloseable {
    final Socket socket = new Socket();
    final InputStream in;
    final int status;
    final Map<String, String> headers = new HashMap<>();
    final boolean chunked;

    Raw(String path) throws IOException {
      socket.setReceiveBufferSize(4096);
      socket.connect(new InetSocketAddress("localhost", RestAssured.port), 10_000);
      socket.setSoTimeout(60_000);
      socket
          .getOutputStream()
          .write(
              ("GET "
                      + path
                      + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                      + Api.token("carol")
                      + "\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      in = new BufferedInputStream(socket.getInputStream(), 4096);
      String statusLine = line();
      status = Integer.parseInt(statusLine.split(" ")[1]);
      for (String h = line(); !h.isEmpty(); h = line()) {
        int colon = h.indexOf(':');
        headers.put(
            h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
      }
      chunked = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
    }

    private String line() throws IOException {
      StringBuilder b = new StringBuilder();
      for (int c; (c = in.read()) != -1; ) {
        if (c == '\n') {
          break;
        }
        if (c != '\r') {
          b.append((char) c);
        }
      }
      return b.toString();
    }

    /** The next chunk of the body; empty at its end. */
    byte[] chunk() throws IOException {
      if (!chunked) {
        String length = headers.get("content-length");
        return length == null ? in.readAllBytes() : in.readNBytes(Integer.parseInt(length));
      }
      String size = line();
      int n = Integer.parseInt(size.split(";")[0].trim(), 16);
      if (n == 0) {
        line();
        return new byte[0];
      }
      byte[] data = in.readNBytes(n);
      if (data.length < n) {
        throw new IOException("the transfer broke off");
      }
      line();
      return data;
    }

    /** The rest of the body. */
    String rest() throws IOException {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (byte[] c = chunk(); c.length > 0; c = chunk()) {
        out.write(c);
        if (!chunked) {
          break;
        }
      }
      return out.toString(StandardCharsets.UTF_8);
    }

    /** Goes away at once: a reset, not an orderly close. */
    @Override
    public void close() {
      try {
        socket.setSoLinger(true, 0);
        socket.close();
      } catch (IOException e) {
        // gone already
      }
    }
  }

  /** Opens {@code n} reports at {@code path} into {@code into}, each answered 200. */
  private static void openReports(String path, int n, List<Raw> into) throws Exception {
    for (int i = 0; i < n; i++) {
      Raw r = new Raw(path);
      into.add(r);
      assertThat(r.status).isEqualTo(200);
    }
  }

  /** Waits (at most {@code atMost}) until no report holds a connection; how long that took. */
  private static long msUntilConnectionsBack(Duration atMost) {
    long start = System.nanoTime();
    await().atMost(atMost).until(() -> reportConnections() == 0);
    return (System.nanoTime() - start) / 1_000_000;
  }
}
