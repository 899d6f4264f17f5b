package io.keywarden.system;

import static io.keywarden.system.SystemStack.JSON;
import static io.keywarden.system.SystemStack.audit;
import static io.keywarden.system.SystemStack.call;
import static io.keywarden.system.SystemStack.key;
import static io.keywarden.system.SystemStack.usage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.testing.Tokens;
import java.math.BigDecimal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * E3: the outbox relay halted between send and mark (key-service's test-only fault hook {@code
 * kw.outbox.test.halt-after-send}), then key-service killed with SIGKILL in the middle of draining
 * thousands of unpublished outbox rows. keywarden.key-events may hold duplicates; every change
 * still takes effect exactly once in usage-service's projection and in audit-service's projection,
 * findings and alerts, and no event is missing.
 */
class OutboxCrashTests {
  static final int KEYS_PER_USER = 20;
  static final int PATCHES_PER_KEY = 60;
  static final String HOOK_LINE = "test fault hook kw.outbox.test.halt-after-send: halting";

  static LocalStack stack;
  static HttpServer webhook;
  static final List<String> webhookBodies = new CopyOnWriteArrayList<>();
  static final Map<String, String> owners = new ConcurrentHashMap<>();
  static String carol;
  static String gateway;

  /** One key of the run and what its last change made of it. */
  record Planned(String user, String id, String secret, String finalState, String finalQuota) {}

  @BeforeAll
  static void start() throws Exception {
    stack = SystemStack.get();
    webhook = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    webhook.createContext(
        "/e3",
        exchange -> {
          webhookBodies.add(
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    webhook.start();
    carol = Tokens.password(stack.issuer(), "carol");
    gateway = Tokens.clientCredentials(stack.issuer(), "keywarden-gateway", "gateway-secret");
  }

  @AfterAll
  static void cleanUp() throws Exception {
    // key-service must be up for the classes after this one, whatever happened here
    ServiceProcess ks = SystemStack.service("key-service");
    if (ks == null || !ks.isAlive()) {
      startKeyService(Map.of());
    }
    for (var e : owners.entrySet()) {
      call("DELETE", key("/api/keys/" + e.getKey()), token(e.getValue()), null);
    }
    for (String user : List.of("alice", "bob")) {
      call(
          "PUT",
          audit("/api/audit/alert-settings"),
          token(user),
          "{\"findingTypes\":[],\"mode\":\"immediate\"}");
    }
    if (webhook != null) {
      webhook.stop(0);
    }
  }

  /** audit-service's findings and alert deliveries of these keys, for failure messages. */
  static String auditState(Set<String> ids) throws Exception {
    StringBuilder out = new StringBuilder();
    try (Connection c = SystemStack.db("auditservice");
        Statement st = c.createStatement()) {
      for (String q :
          List.of(
              "select key_id, type, status, period from findings",
              "select key_id, finding_type, channel, status, attempts, last_error"
                  + " from alert_deliveries")) {
        int n = 0;
        try (ResultSet rs = st.executeQuery(q)) {
          while (rs.next()) {
            if (ids.contains(rs.getString(1)) && n++ < 20) {
              StringBuilder row = new StringBuilder();
              for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                row.append(rs.getString(i)).append(' ');
              }
              out.append(row).append('\n');
            }
          }
        }
        out.append(n).append(" rows of ").append(q).append('\n');
      }
    }
    return out.toString();
  }

  static String token(String user) {
    return Tokens.password(stack.issuer(), user);
  }

  @Test
  void relayHaltedBetweenSendAndMarkAndKilledMidDrainAppliesEveryChangeOnce() throws Exception {
    for (String user : List.of("alice", "bob")) {
      HttpResponse<String> s =
          call(
              "PUT",
              audit("/api/audit/alert-settings"),
              token(user),
              "{\"webhookUrl\":\"http://localhost:"
                  + webhook.getAddress().getPort()
                  + "/e3\",\"findingTypes\":[\"LEAKED_STILL_USED\"],\"mode\":\"immediate\"}");
      assertThat(s.statusCode()).as(s.body()).isEqualTo(200);
      SystemStack.credit(carol, Tokens.subject(token(user)), "10.00");
    }
    long kafkaPid = stack.mainPids().get("kafka");
    ServiceProcess keyService = SystemStack.service("key-service");

    // 1. Kafka frozen: every change commits with its outbox row, none can be published
    List<Planned> planned;
    long backlog;
    signal("STOP", kafkaPid);
    try {
      planned = makeChanges();
      backlog = unpublished();
      System.out.printf("E3: %d unpublished outbox rows with Kafka stopped%n", backlog);
      assertThat(backlog).isGreaterThanOrEqualTo(2000);
      // whatever the relay holds in memory dies with it
      ProcessHandle.of(keyService.pid()).ifPresent(ProcessHandle::destroyForcibly);
      await().atMost(Duration.ofSeconds(30)).until(() -> !keyService.isAlive());
    } finally {
      signal("CONT", kafkaPid);
    }
    Set<String> ids = new HashSet<>();
    planned.forEach(p -> ids.add(p.id()));
    assertThat(unpublished()).isGreaterThanOrEqualTo(backlog);
    // the killed writers' claims on their rows lapse after kw.outbox.claim (30 s); lapse them now,
    // or a quick restart finds nothing of the backlog the relay may take yet (its first batch,
    // the one the hook halts after, was then a single unrelated row: duplicates 0)
    try (Connection c = SystemStack.db("keyservice");
        Statement st = c.createStatement()) {
      st.executeUpdate(
          "update outbox set claimed_until = now() - interval '1 second'"
              + " where published_at is null and claimed_until >= now()");
    }

    // 2. the fault hook: the relay's first batch is sent and acknowledged, then the process halts
    long logBefore = Files.size(keyService.logFile());
    try {
      ServiceProcess hooked = startKeyService(Map.of("kw.outbox.test.halt-after-send", "true"));
      await().atMost(Duration.ofSeconds(90)).until(() -> !hooked.isAlive());
    } catch (IllegalStateException haltedWhileStarting) {
      // it halted before /q/health/ready answered: the same fault
    }
    String hookLog =
        Files.readString(keyService.logFile(), StandardCharsets.ISO_8859_1)
            .substring((int) logBefore);
    assertThat(hookLog).contains(HOOK_LINE);
    long afterHook = unpublished();
    System.out.printf("E3: relay halted after send, before mark: %d rows unpublished%n", afterHook);
    assertThat(afterHook).as("nothing marked by the halted relay").isGreaterThanOrEqualTo(backlog);

    // 3. SIGKILL in the middle of the drain
    AtomicLong remainingAtKill = new AtomicLong(-1);
    ExecutorService watcher = Executors.newSingleThreadExecutor();
    Future<Integer> killer =
        watcher.submit(
            () -> {
              // one connection for all the polls (a new one each time would churn ephemeral ports)
              try (Connection c = SystemStack.db("keyservice")) {
                await()
                    .atMost(Duration.ofSeconds(180))
                    .pollInterval(Duration.ofMillis(5))
                    .until(() -> unpublished(c) < afterHook);
                // the first batch is marked: kill now, with the rest of the backlog still to go
                List<ProcessHandle> running = keyServiceProcesses();
                running.forEach(ProcessHandle::destroyForcibly);
                remainingAtKill.set(unpublished(c));
                return running.size();
              }
            });
    try {
      startKeyService(Map.of());
    } catch (IllegalStateException killedWhileStarting) {
      // killed before /q/health/ready answered
    }
    assertThat(killer.get(200, TimeUnit.SECONDS)).isEqualTo(1);
    watcher.shutdown();
    await().atMost(Duration.ofSeconds(30)).until(() -> keyServiceProcesses().isEmpty());
    long left = unpublished();
    System.out.printf(
        "E3: key-service killed mid-drain with %d rows unpublished (%d a moment later)%n",
        remainingAtKill.get(), left);
    assertThat(left).as("killed before the drain ended").isPositive();

    // 4. restarted for good: the drain completes
    long drainStart = System.nanoTime();
    startKeyService(Map.of());
    await().atMost(Duration.ofSeconds(120)).until(() -> unpublished() == 0);
    System.out.printf(
        "E3: drained in %d ms after the restart%n", (System.nanoTime() - drainStart) / 1_000_000);

    // ---------------------------------------------------------------- what reached Kafka
    Map<String, String> expected = new HashMap<>(); // event id -> key id
    Map<String, Long> versions = new HashMap<>(); // key id -> last version
    try (Connection c = SystemStack.db("keyservice");
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "select event_id, record_key, payload from outbox"
                    + " where topic = 'keywarden.key-events'")) {
      while (rs.next()) {
        String keyId = rs.getString(2);
        if (ids.contains(keyId)) {
          expected.put(rs.getString(1), keyId);
          long v = JSON.readTree(rs.getString(3)).get("data").get("version").asLong();
          versions.merge(keyId, v, Math::max);
        }
      }
    }
    int expectedEvents = planned.size() * (1 + PATCHES_PER_KEY) + planned.size() * 3 / 4;
    assertThat(expected).hasSize(expectedEvents);
    Map<String, Integer> seen = new HashMap<>();
    Map<String, List<Long>> firstSeenVersions = new HashMap<>();
    for (SystemStack.Rec r : SystemStack.records("keywarden.key-events")) {
      if (r.key() == null || !ids.contains(r.key())) {
        continue;
      }
      JsonNode event = JSON.readTree(r.value());
      String eventId = event.get("id").asText();
      if (seen.merge(eventId, 1, Integer::sum) == 1) {
        firstSeenVersions
            .computeIfAbsent(r.key(), x -> new ArrayList<>())
            .add(event.get("data").get("version").asLong());
      }
    }
    long records = seen.values().stream().mapToLong(Integer::longValue).sum();
    long duplicates = records - seen.size();
    Set<String> missing = new HashSet<>(expected.keySet());
    missing.removeAll(seen.keySet());
    Set<String> unknown = new HashSet<>(seen.keySet());
    unknown.removeAll(expected.keySet());
    System.out.printf(
        "E3: %d changes, %d records on keywarden.key-events: duplicates N = %d, missing %d%n",
        expected.size(), records, duplicates, missing.size());
    assertThat(missing).as("events never published").isEmpty();
    assertThat(unknown).as("events not in the outbox").isEmpty();
    assertThat(duplicates).as("the halted batch was sent again").isPositive();
    // first publications of a key are in version order (the relay sends in commit order)
    firstSeenVersions.forEach(
        (id, vs) -> assertThat(vs).as("versions of %s", id).isSorted().doesNotHaveDuplicates());

    // ---------------------------------------------------------------- effects, once
    int doubled = 0;
    List<String> wrong = new ArrayList<>();
    // usage-service's projection: each key in its final state
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              List<String> off = new ArrayList<>();
              for (Planned p : planned) {
                JsonNode d = authorize(p.secret());
                String code = d.get("code").asText();
                String want =
                    switch (p.finalState()) {
                      case "leaked" -> "LEAKED";
                      case "revoked" -> "REVOKED";
                      case "disabled" -> "DISABLED";
                      default -> "VALID";
                    };
                // a revoked key may also be forgotten altogether: unknown, 401 all the same
                if (!code.equals(want) && !(want.equals("REVOKED") && code.equals("INVALID_KEY"))) {
                  off.add(p.id() + " " + code + " != " + want);
                } else if (want.equals("VALID")
                    && new BigDecimal(d.get("remaining").get("quotaUsd").asText())
                            .compareTo(new BigDecimal(p.finalQuota()))
                        != 0) {
                  off.add(p.id() + " quota " + d.get("remaining") + " != " + p.finalQuota());
                }
              }
              assertThat(off).as("usage-service projection").isEmpty();
            });
    // audit-service's projection: the last version, state and name of each key
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              Map<String, JsonNode> audited = new HashMap<>();
              for (JsonNode n :
                  JSON.readTree(call("GET", audit("/api/audit/keys"), carol, null).body())) {
                audited.put(n.get("id").asText(), n);
              }
              List<String> off = new ArrayList<>();
              for (Planned p : planned) {
                JsonNode row = audited.get(p.id());
                if (row == null
                    || row.get("version").asLong() != versions.get(p.id())
                    || !row.get("status").asText().equals(p.finalState())
                    || !row.get("name").asText().endsWith("-v" + PATCHES_PER_KEY)) {
                  off.add(p.id() + " " + row + " want v" + versions.get(p.id()));
                }
              }
              assertThat(off).as("audit-service projection").isEmpty();
            });
    // findings and alerts: the projection check above presented every key once or more, so each
    // leaked or revoked key (gone, by its key events) still being tried is one LEAKED_STILL_USED
    // finding, alerted once per channel; the others are none
    List<String> goneIds =
        planned.stream()
            .filter(p -> p.finalState().equals("leaked") || p.finalState().equals("revoked"))
            .map(Planned::id)
            .toList();
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () ->
                assertThat(
                        goneIds.stream()
                            .filter(id -> webhookBodies.stream().noneMatch(b -> b.contains(id)))
                            .toList())
                    .as(
                        "gone keys without a LEAKED_STILL_USED webhook alert; audit-service holds %s",
                        auditState(ids))
                    .isEmpty());
    long delivered = webhookBodies.stream().filter(b -> ids.stream().anyMatch(b::contains)).count();
    // and nothing more arrives: no second delivery of any of them
    await()
        .during(Duration.ofSeconds(5))
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                webhookBodies.stream().filter(b -> ids.stream().anyMatch(b::contains)).count()
                    == delivered);
    Map<String, Integer> findings = new HashMap<>();
    Map<String, Integer> openFindings = new HashMap<>();
    Map<String, Integer> deliveries = new HashMap<>();
    try (Connection c = SystemStack.db("auditservice");
        Statement st = c.createStatement()) {
      try (ResultSet rs = st.executeQuery("select key_id, type, status from findings")) {
        while (rs.next()) {
          if (ids.contains(rs.getString(1))) {
            findings.merge(rs.getString(1) + " " + rs.getString(2), 1, Integer::sum);
            if (!rs.getString(3).equals("resolved")) {
              openFindings.merge(rs.getString(1) + " " + rs.getString(2), 1, Integer::sum);
            }
          }
        }
      }
      try (ResultSet rs =
          st.executeQuery("select key_id, finding_type, channel from alert_deliveries")) {
        while (rs.next()) {
          if (ids.contains(rs.getString(1))) {
            deliveries.merge(
                rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3), 1, Integer::sum);
          }
        }
      }
    }
    Map<String, Integer> alertsOnKafka = new HashMap<>();
    for (SystemStack.Rec r : SystemStack.records("keywarden.key-alerts")) {
      if (r.key() != null && ids.contains(r.key())) {
        JsonNode data = JSON.readTree(r.value()).get("data");
        alertsOnKafka.merge(r.key() + " " + data.get("findingType").asText(), 1, Integer::sum);
      }
    }
    Map<String, Integer> webhooks = new HashMap<>();
    for (String b : webhookBodies) {
      for (String id : ids) {
        if (b.contains(id)) {
          webhooks.merge(id, 1, Integer::sum);
        }
      }
    }
    String type = "LEAKED_STILL_USED";
    for (String id : ids) {
      int want = goneIds.contains(id) ? 1 : 0;
      int f = findings.getOrDefault(id + " " + type, 0);
      int o = openFindings.getOrDefault(id + " " + type, 0);
      int w = webhooks.getOrDefault(id, 0);
      int k = alertsOnKafka.getOrDefault(id + " " + type, 0);
      int dw = deliveries.getOrDefault(id + " " + type + " webhook", 0);
      int dk = deliveries.getOrDefault(id + " " + type + " kafka", 0);
      doubled +=
          Math.max(0, f - 1)
              + Math.max(0, w - 1)
              + Math.max(0, k - 1)
              + Math.max(0, dw - 1)
              + Math.max(0, dk - 1);
      if (f != want || o != want || w != want || k != want || dw != want || dk != want) {
        wrong.add(
            id
                + ": findings "
                + f
                + " ("
                + o
                + " open), webhooks "
                + w
                + ", key-alerts "
                + k
                + ", deliveries webhook "
                + dw
                + " kafka "
                + dk
                + ", want "
                + want);
      }
    }
    findings.forEach(
        (k, n) -> {
          if (n > 1) {
            wrong.add("finding " + k + " x" + n);
          }
        });
    System.out.printf(
        "E3: %d keys (%d leaked or revoked, then tried): %d findings, webhook alerts %d, key-alerts"
            + " %d: doubled effects %d, wrong effects %d%n",
        ids.size(),
        goneIds.size(),
        findings.values().stream().mapToInt(Integer::intValue).sum(),
        webhooks.values().stream().mapToInt(Integer::intValue).sum(),
        alertsOnKafka.values().stream().mapToInt(Integer::intValue).sum(),
        doubled,
        wrong.size());
    assertThat(wrong).isEmpty();
    assertThat(doubled).isZero();
  }

  /** Creates 20 keys each for alice and bob, 60 updates each, then leaks, revokes or disables. */
  static List<Planned> makeChanges() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Planned>> futures = new ArrayList<>();
      for (String user : List.of("alice", "bob")) {
        String bearer = token(user);
        for (int i = 0; i < KEYS_PER_USER; i++) {
          int n = i;
          futures.add(pool.submit(() -> oneKey(user, bearer, n)));
        }
      }
      List<Planned> out = new ArrayList<>();
      for (Future<Planned> f : futures) {
        out.add(f.get(10, TimeUnit.MINUTES));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  static Planned oneKey(String user, String bearer, int n) throws Exception {
    String tag = "e3-" + user + "-" + n + "-" + Long.toString(System.nanoTime(), 36);
    HttpResponse<String> created =
        call(
            "POST",
            key("/api/keys"),
            bearer,
            "{\"name\":\"" + tag + "-v0\",\"group\":\"default\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode k = JSON.readTree(created.body());
    String id = k.get("id").asText();
    owners.put(id, user);
    String quota = null;
    for (int v = 1; v <= PATCHES_PER_KEY; v++) {
      quota = (1 + (n + v) % 7) + ".25";
      HttpResponse<String> patched =
          call(
              "PATCH",
              key("/api/keys/" + id),
              bearer,
              "{\"name\":\"" + tag + "-v" + v + "\",\"quotaUsd\":\"" + quota + "\"}");
      assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
    }
    String state =
        switch (n % 4) {
          case 0 -> "leaked";
          case 1 -> "revoked";
          case 2 -> "disabled";
          default -> "active";
        };
    HttpResponse<String> last =
        switch (state) {
          case "leaked" -> call("POST", key("/api/keys/" + id + "/leaked"), bearer, null);
          case "revoked" -> call("DELETE", key("/api/keys/" + id), bearer, null);
          case "disabled" -> call("POST", key("/api/keys/" + id + "/disable"), bearer, null);
          default -> null;
        };
    if (last != null) {
      assertThat(last.statusCode()).as(last.body()).isEqualTo(200);
    }
    return new Planned(user, id, k.get("secret").asText(), state, quota);
  }

  static JsonNode authorize(String secret) throws Exception {
    HttpResponse<String> r =
        call(
            "POST",
            usage("/api/authorize"),
            gateway,
            "{\"key\":\"" + secret + "\",\"model\":\"gpt-5.5\"}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  static long unpublished() throws Exception {
    try (Connection c = SystemStack.db("keyservice")) {
      return unpublished(c);
    }
  }

  static long unpublished(Connection c) throws Exception {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select count(*) from outbox where published_at is null")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** key-service JVMs this test JVM started that are still running. */
  static List<ProcessHandle> keyServiceProcesses() {
    return ProcessHandle.current()
        .children()
        .filter(ProcessHandle::isAlive)
        .filter(
            p ->
                p.info()
                    .commandLine()
                    .map(cmd -> cmd.contains("key-service/target/quarkus-app/quarkus-run.jar"))
                    .orElse(false))
        .toList();
  }

  static ServiceProcess startKeyService(Map<String, String> extra) {
    int port = stack.config().keyServicePort();
    // the killed process' port can linger a moment (the stack checks it is free before a start)
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> free(port));
    Map<String, String> props = new HashMap<>(SystemStack.keyServiceProperties(stack));
    props.putAll(extra);
    return stack.startService("key-service", stack.config().keyServicePort(), props);
  }

  static boolean free(int port) {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(port)) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  static void signal(String signal, long pid) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("kill -%s %d", signal, pid).isZero();
  }
}
