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
import io.keywarden.contracts.KeyFormat;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.testing.Tokens;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * S6, system-wide: one canary key sent through every path of the three services (the
 * OpenAI-compatible API with both headers, forward-auth, authorize, usage records, wrong endpoints,
 * the key as a model name or in a wrong field, malformed variants, the owner's leak report, then
 * audit-service's findings, reports and alerts). Afterwards the canary is in no service log, no
 * record of any topic (dead-letter topics included), no column of any database, no error body,
 * report or alert; its SHA-256 hex is in no REST answer, report or alert either.
 */
class CanaryTests {
  static LocalStack stack;
  static HttpServer webhook;
  static final List<String> webhookBodies = new CopyOnWriteArrayList<>();
  static String alice;
  static String carol;
  static String gateway;
  static String keyId;

  @BeforeAll
  static void start() throws Exception {
    stack = SystemStack.get();
    webhook = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    webhook.createContext(
        "/hook",
        exchange -> {
          String body =
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          webhookBodies.add(exchange.getRequestHeaders().entrySet() + "\n" + body);
          exchange.sendResponseHeaders(204, -1);
          exchange.close();
        });
    webhook.start();
    alice = Tokens.password(stack.issuer(), "alice");
    carol = Tokens.password(stack.issuer(), "carol");
    gateway = Tokens.clientCredentials(stack.issuer(), "keywarden-gateway", "gateway-secret");
  }

  @AfterAll
  static void cleanUp() throws Exception {
    if (keyId != null) {
      call("DELETE", key("/api/keys/" + keyId), Tokens.password(stack.issuer(), "alice"), null);
    }
    // alice's alerts go nowhere once this class is done
    call(
        "PUT",
        audit("/api/audit/alert-settings"),
        Tokens.password(stack.issuer(), "alice"),
        "{\"findingTypes\":[],\"mode\":\"immediate\"}");
    if (webhook != null) {
      webhook.stop(0);
    }
  }

  @Test
  void canaryKeyAppearsInNoLogTopicColumnErrorReportOrAlert() throws Exception {
    List<HttpResponse<String>> answers = new ArrayList<>();
    Map<String, HttpResponse<String>> errors = new LinkedHashMap<>();
    String account = Tokens.subject(alice);

    // alice wants every finding by webhook and email, at once
    HttpResponse<String> settings =
        call(
            "PUT",
            audit("/api/audit/alert-settings"),
            alice,
            "{\"webhookUrl\":\"http://localhost:"
                + webhook.getAddress().getPort()
                + "/hook\",\"email\":\"alice-s6@example.test\",\"findingTypes\":[],"
                + "\"mode\":\"immediate\"}");
    assertThat(settings.statusCode()).as(settings.body()).isEqualTo(200);
    SystemStack.credit(carol, account, "10.00");

    HttpResponse<String> created =
        call(
            "POST",
            key("/api/keys"),
            alice,
            "{\"name\":\"s6 canary " + UUID.randomUUID() + "\",\"group\":\"default\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode k = JSON.readTree(created.body());
    keyId = k.get("id").asText();
    String canary = k.get("secret").asText();
    String hash = KeyFormat.sha256Hex(canary);
    assertThat(canary).startsWith("sk-kw-");

    // ---------------------------------------------------------- good use, every way in
    String models = usage("/v1/models");
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> call("GET", models, canary, null).statusCode() == 200);
    answers.add(call("GET", models, canary, null));
    answers.add(call("GET", models, Map.of("x-api-key", canary), null));
    // a client that puts its key into its user agent: counted, never kept
    answers.add(
        call(
            "GET",
            models,
            Map.of("Authorization", "Bearer " + canary, "User-Agent", "s6-client/1.0 " + canary),
            null));
    answers.add(call("GET", usage("/v1/models/gpt-5.5"), canary, null));
    for (HttpResponse<String> a : answers) {
      assertThat(a.statusCode()).as(a.uri() + " " + a.body()).isEqualTo(200);
    }
    String secretHeader = "X-Keywarden-Gateway-Secret";
    HttpResponse<String> fa =
        call(
            "GET",
            usage("/api/forward-auth"),
            Map.of(
                secretHeader,
                SystemStack.GATEWAY_SECRET,
                "Authorization",
                "Bearer " + canary,
                "X-Keywarden-Model",
                "gpt-5.5",
                "X-Real-IP",
                "127.0.0.1"),
            null);
    assertThat(fa.statusCode()).as(fa.body()).isEqualTo(200);
    answers.add(fa);
    HttpResponse<String> nginx =
        call(
            "GET",
            usage("/api/forward-auth/nginx"),
            Map.of(secretHeader, SystemStack.GATEWAY_SECRET, "x-api-key", canary),
            null);
    assertThat(nginx.statusCode()).as(nginx.body()).isEqualTo(200);
    answers.add(nginx);
    HttpResponse<String> authz =
        call(
            "POST",
            usage("/api/authorize"),
            gateway,
            "{\"key\":\""
                + canary
                + "\",\"model\":\"gpt-5.5\",\"clientIp\":\"127.0.0.1\",\"userAgent\":\"s6\"}");
    assertThat(authz.statusCode()).as(authz.body()).isEqualTo(200);
    assertThat(JSON.readTree(authz.body()).get("allowed").asBoolean()).as(authz.body()).isTrue();
    answers.add(authz);
    HttpResponse<String> authzSecret =
        call(
            "POST",
            usage("/api/authorize"),
            Map.of(secretHeader, SystemStack.GATEWAY_SECRET),
            "{\"key\":\"" + canary + "\",\"model\":\"gpt-5.5\"}");
    assertThat(authzSecret.statusCode()).as(authzSecret.body()).isEqualTo(200);
    answers.add(authzSecret);
    HttpResponse<String> recorded =
        call(
            "POST",
            usage("/api/usage"),
            gateway,
            "{\"requestId\":\"s6-"
                + UUID.randomUUID()
                + "\",\"keyId\":\""
                + keyId
                + "\",\"model\":\"gpt-5.5\",\"inputTokens\":1000,\"outputTokens\":200}");
    assertThat(recorded.statusCode()).as(recorded.body()).isBetween(200, 201);
    answers.add(recorded);

    // ---------------------------------------------------------- errors that carry the canary
    String bad =
        canary.substring(0, 12) + (canary.charAt(12) == 'A' ? 'B' : 'A') + canary.substring(13);
    String enc = URLEncoder.encode(canary, StandardCharsets.UTF_8);
    // usage-service, OpenAI-compatible API
    errors.put("models as model name", call("GET", usage("/v1/models/" + enc), canary, null));
    errors.put("chat completions", call("POST", usage("/v1/chat/completions"), canary, "{}"));
    errors.put("v1 unknown path", call("GET", usage("/v1/" + enc), canary, null));
    errors.put("models key + x", call("GET", models, canary + "x", null));
    errors.put("models key bad crc", call("GET", models, bad, null));
    errors.put("models key truncated", call("GET", models, canary.substring(0, 40), null));
    errors.put("models key upper", call("GET", models, canary.toUpperCase(Locale.ROOT), null));
    errors.put(
        "models basic auth", call("GET", models, Map.of("Authorization", "Basic " + canary), null));
    errors.put(
        "models raw auth",
        call("GET", models, Map.of("Authorization", canary + " " + canary), null));
    errors.put(
        "models x-api-key + x", call("GET", models, Map.of("x-api-key", canary + "x"), null));
    errors.put(
        "models query key",
        call("GET", models + "?api_key=" + enc + "&model=" + enc, (String) null, null));
    errors.put("models post body", call("POST", models, canary, "{\"model\":\"" + canary + "\"}"));
    errors.put("accounts with key", call("GET", usage("/api/accounts/me"), canary, null));
    errors.put(
        "usage of account", call("GET", usage("/api/accounts/me/usage?from=" + enc), alice, null));
    // forward-auth and authorize
    errors.put(
        "forward-auth model canary",
        call(
            "GET",
            usage("/api/forward-auth"),
            Map.of(
                secretHeader,
                SystemStack.GATEWAY_SECRET,
                "Authorization",
                "Bearer " + canary,
                "X-Keywarden-Model",
                canary),
            null));
    errors.put(
        "probe: forward-auth ignores a bad ip, estimate and request id",
        call(
            "GET",
            usage("/api/forward-auth/nginx"),
            Map.of(
                secretHeader,
                SystemStack.GATEWAY_SECRET,
                "Authorization",
                "Bearer " + canary,
                "X-Real-IP",
                canary,
                "X-Keywarden-Estimated-Cost-Usd",
                canary,
                "X-Keywarden-Request-Id",
                "s6-" + UUID.randomUUID()),
            null));
    errors.put(
        "forward-auth key + x",
        call(
            "GET",
            usage("/api/forward-auth"),
            Map.of(secretHeader, SystemStack.GATEWAY_SECRET, "x-api-key", canary + "x"),
            null));
    errors.put(
        "forward-auth secret = canary",
        call(
            "GET",
            usage("/api/forward-auth"),
            Map.of(secretHeader, canary, "Authorization", "Bearer " + canary),
            null));
    errors.put(
        "authorize model canary",
        call(
            "POST",
            usage("/api/authorize"),
            gateway,
            "{\"key\":\"" + canary + "\",\"model\":\"" + canary + "\"}"));
    errors.put(
        "authorize ip canary",
        call(
            "POST",
            usage("/api/authorize"),
            gateway,
            "{\"key\":\"" + canary + "\",\"clientIp\":\"" + canary + "\"}"));
    errors.put(
        "authorize estimate canary",
        call(
            "POST",
            usage("/api/authorize"),
            Map.of(secretHeader, SystemStack.GATEWAY_SECRET),
            "{\"key\":\"" + canary + "\",\"estimatedCostUsd\":\"" + canary + "\"}"));
    errors.put(
        "authorize keyHash canary",
        call("POST", usage("/api/authorize"), gateway, "{\"keyHash\":\"" + canary + "\"}"));
    errors.put(
        "authorize field canary",
        call("POST", usage("/api/authorize"), gateway, "{\"" + canary + "\":\"x\"}"));
    errors.put(
        "authorize broken json",
        call("POST", usage("/api/authorize"), gateway, "{\"key\":\"" + canary + "\" ,,"));
    errors.put(
        "authorize key nested",
        call(
            "POST",
            usage("/api/authorize"),
            Map.of(secretHeader, SystemStack.GATEWAY_SECRET),
            "{\"key\":[\"" + canary + "\"]}"));
    errors.put(
        "authorize as user",
        call("POST", usage("/api/authorize"), alice, "{\"key\":\"" + canary + "\"}"));
    errors.put(
        "authorize with key as token",
        call("POST", usage("/api/authorize"), canary, "{\"key\":\"" + canary + "\"}"));
    // usage records
    errors.put(
        "usage keyId canary",
        call(
            "POST",
            usage("/api/usage"),
            gateway,
            "{\"requestId\":\"s6-"
                + UUID.randomUUID()
                + "\",\"keyId\":\""
                + canary
                + "\",\"model\":\"gpt-5.5\",\"inputTokens\":1,\"outputTokens\":1}"));
    errors.put(
        "usage model canary",
        call(
            "POST",
            usage("/api/usage"),
            gateway,
            "{\"requestId\":\"s6-"
                + UUID.randomUUID()
                + "\",\"keyId\":\""
                + keyId
                + "\",\"model\":\""
                + canary
                + "\",\"inputTokens\":1,\"outputTokens\":1}"));
    errors.put(
        "usage requestId canary",
        call(
            "POST",
            usage("/api/usage"),
            gateway,
            "{\"requestId\":\""
                + canary
                + "\",\"keyId\":\""
                + keyId
                + "\",\"model\":\"gpt-5.5\",\"inputTokens\":\""
                + canary
                + "\",\"outputTokens\":1}"));
    errors.put(
        "usage cost canary",
        call(
            "POST",
            usage("/api/usage"),
            gateway,
            "[{\"requestId\":\"s6-"
                + UUID.randomUUID()
                + "\",\"keyId\":\""
                + keyId
                + "\",\"model\":\"gpt-5.5\",\"costUsd\":\""
                + canary
                + "\"}]"));
    errors.put(
        "usage field canary", call("POST", usage("/api/usage"), gateway, "{\"" + canary + "\":1}"));
    errors.put(
        "usage with key as token",
        call("POST", usage("/api/usage"), canary, "{\"keyId\":\"" + keyId + "\"}"));
    errors.put(
        "credit account canary",
        call(
            "POST",
            usage("/api/admin/accounts/" + enc + "/credits"),
            carol,
            "{\"amountUsd\":\"" + canary + "\"}"));
    // key-service
    errors.put("key by canary id", call("GET", key("/api/keys/" + enc), alice, null));
    errors.put("keys with key as token", call("GET", key("/api/keys"), canary, null));
    errors.put(
        "create group canary",
        call("POST", key("/api/keys"), alice, "{\"name\":\"s6 x\",\"group\":\"" + canary + "\"}"));
    errors.put(
        "create secret field",
        call(
            "POST",
            key("/api/keys"),
            alice,
            "{\"name\":\"s6 x\",\"group\":\"default\",\"secret\":\"" + canary + "\"}"));
    errors.put(
        "create custom key taken",
        call(
            "POST",
            key("/api/keys"),
            alice,
            "{\"name\":\"s6 x\",\"group\":\"default\",\"customKey\":\"" + canary + "\"}"));
    errors.put(
        "patch keyHash",
        call("PATCH", key("/api/keys/" + keyId), alice, "{\"keyHash\":\"" + canary + "\"}"));
    errors.put(
        "use key client canary",
        call("GET", key("/api/keys/" + keyId + "/use?client=" + enc + "&os=" + enc), alice, null));
    errors.put("key-service unknown path", call("GET", key("/api/" + enc), alice, null));
    // audit-service
    errors.put(
        "findings other account",
        call("GET", audit("/api/audit/findings?account=" + enc), alice, null));
    errors.put("findings type", call("GET", audit("/api/audit/findings?type=" + enc), alice, null));
    errors.put(
        "findings since",
        call("GET", audit("/api/audit/findings?since=" + enc + "&limit=" + enc), carol, null));
    errors.put(
        "ack canary", call("POST", audit("/api/audit/findings/" + enc + "/ack"), alice, null));
    errors.put("report format", call("GET", audit("/api/audit/report?format=" + enc), alice, null));
    errors.put(
        "report other account",
        call("GET", audit("/api/audit/report?account=" + enc), alice, null));
    errors.put(
        "deliveries status",
        call("GET", audit("/api/audit/deliveries?status=" + enc), alice, null));
    errors.put(
        "audit keys as user", call("GET", audit("/api/audit/keys?account=" + enc), alice, null));
    errors.put("audit with key as token", call("GET", audit("/api/audit/findings"), canary, null));
    errors.put("audit unknown path", call("GET", audit("/api/audit/" + enc), alice, null));
    errors.put(
        "alert settings email",
        call(
            "PUT",
            audit("/api/audit/alert-settings"),
            alice,
            "{\"email\":\"" + canary + "\",\"mode\":\"immediate\"}"));
    errors.put(
        "alert settings url",
        call(
            "PUT",
            audit("/api/audit/alert-settings"),
            alice,
            "{\"webhookUrl\":\"" + canary + "\",\"mode\":\"" + canary + "\"}"));
    errors.put(
        "alert settings types",
        call(
            "PUT",
            audit("/api/audit/alert-settings"),
            alice,
            "{\"findingTypes\":[\"" + canary + "\"]}"));
    errors.put(
        "alert settings account",
        call(
            "PUT",
            audit("/api/audit/alert-settings?account=" + enc),
            alice,
            "{\"mode\":\"immediate\"}"));
    errors.put(
        "alert settings unknown field",
        call("PUT", audit("/api/audit/alert-settings"), alice, "{\"" + canary + "\":1}"));
    for (var e : errors.entrySet()) {
      HttpResponse<String> r = e.getValue();
      if (e.getKey().startsWith("probe")) {
        // lenient by design (forward-auth ignores what it cannot use): only scanned below
        assertThat(r.statusCode()).as(e.getKey()).isLessThan(500);
      } else if (e.getKey().startsWith("authorize") && r.statusCode() == 200) {
        // authorize answers a refusal as a decision
        assertThat(JSON.readTree(r.body()).get("allowed").asBoolean()).as(e.getKey()).isFalse();
      } else {
        assertThat(r.statusCode()).as("%s: %s", e.getKey(), r.body()).isBetween(400, 499);
      }
    }
    // the settings errors changed nothing: alerts still go to the webhook
    JsonNode kept =
        JSON.readTree(call("GET", audit("/api/audit/alert-settings"), alice, null).body());
    assertThat(kept.get("webhookUrl").asText()).contains("/hook");

    // ---------------------------------------------------------- the owner reports it leaked
    HttpResponse<String> leaked = call("POST", key("/api/keys/" + keyId + "/leaked"), alice, null);
    assertThat(leaked.statusCode()).as(leaked.body()).isEqualTo(200);
    answers.add(leaked);
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () ->
                call(
                            "GET",
                            models,
                            Map.of(
                                "Authorization",
                                "Bearer " + canary,
                                "User-Agent",
                                "s6-client/1.0 (" + canary + ")"),
                            null)
                        .statusCode()
                    == 403);
    HttpResponse<String> deniedModels = call("GET", models, canary, null);
    assertThat(JSON.readTree(deniedModels.body()).get("error").get("code").asText())
        .isEqualTo("key_leaked");
    errors.put("models after leak", deniedModels);
    errors.put(
        "forward-auth after leak",
        call(
            "GET",
            usage("/api/forward-auth"),
            Map.of(secretHeader, SystemStack.GATEWAY_SECRET, "x-api-key", canary),
            null));
    HttpResponse<String> authzLeaked =
        call(
            "POST",
            usage("/api/authorize"),
            gateway,
            "{\"key\":\"" + canary + "\",\"clientIp\":\"127.0.0.1\"}");
    assertThat(JSON.readTree(authzLeaked.body()).get("allowed").asBoolean()).isFalse();
    answers.add(authzLeaked);

    // audit-service: a leaked key still being tried is a LEAKED_STILL_USED finding, alerted by
    // webhook, email and on keywarden.key-alerts
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () -> {
              JsonNode f =
                  JSON.readTree(
                      call(
                              "GET",
                              audit("/api/audit/findings?type=LEAKED_STILL_USED&key=" + keyId),
                              alice,
                              null)
                          .body());
              assertThat(f.size()).isEqualTo(1);
              assertThat(webhookBodies).anyMatch(b -> b.contains(keyId));
              assertThat(mailTexts()).anyMatch(m -> m.contains(keyId));
            });
    // the usage record reached audit-service (a roll-up), so usage-events are part of the scan
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              JsonNode keys =
                  JSON.readTree(
                      call("GET", audit("/api/audit/keys?account=" + account), carol, null).body());
              JsonNode row = null;
              for (JsonNode n : keys) {
                if (n.get("id").asText().equals(keyId)) {
                  row = n;
                }
              }
              assertThat(row).isNotNull();
              assertThat(row.get("status").asText()).isEqualTo("leaked");
              assertThat(new java.math.BigDecimal(row.get("spendUsd").asText())).isPositive();
            });

    List<HttpResponse<String>> reports = new ArrayList<>();
    for (String token : List.of(alice, carol)) {
      for (String format : List.of("json", "csv", "html")) {
        reports.add(call("GET", audit("/api/audit/report?format=" + format), token, null));
      }
      reports.add(call("GET", audit("/api/audit/findings?key=" + keyId), token, null));
      reports.add(call("GET", audit("/api/audit/deliveries"), token, null));
    }
    reports.add(call("GET", audit("/api/audit/keys"), carol, null));
    reports.add(call("GET", audit("/api/audit/alert-settings"), alice, null));
    for (HttpResponse<String> r : reports) {
      assertThat(r.statusCode()).as(r.uri() + " " + r.body()).isEqualTo(200);
      if (!r.uri().getPath().endsWith("alert-settings")) {
        assertThat(r.body()).as(r.uri().toString()).contains(keyId);
      }
    }
    answers.add(call("GET", key("/api/keys/" + keyId), alice, null));
    answers.add(call("GET", key("/api/keys?size=100"), alice, null));
    answers.add(call("GET", key("/api/admin/keys/" + keyId), carol, null));
    answers.add(call("GET", key("/api/keys/" + keyId + "/use?client=codex&os=linux"), alice, null));
    answers.add(call("GET", usage("/api/accounts/me"), alice, null));
    answers.add(call("GET", usage("/api/accounts/me/usage"), alice, null));

    // ---------------------------------------------------------- the scan
    int hits = 0;
    List<String> where = new ArrayList<>();
    for (var e : errors.entrySet()) {
      String text = e.getValue().headers().map() + "\n" + e.getValue().body();
      if (text.contains(canary) || text.contains(hash)) {
        where.add("error body: " + e.getKey() + ": " + e.getValue().body());
      }
    }
    for (HttpResponse<String> a : answers) {
      if (a.body().contains(hash) || a.headers().map().toString().contains(hash)) {
        where.add("REST answer has the hash: " + a.uri());
      }
    }
    for (HttpResponse<String> r : reports) {
      if (r.body().contains(canary) || r.body().contains(hash)) {
        where.add("report: " + r.uri());
      }
    }
    for (String b : webhookBodies) {
      if (b.contains(canary) || b.contains(hash)) {
        where.add("webhook alert: " + b);
      }
    }
    List<String> mails = mailTexts();
    assertThat(mails).isNotEmpty();
    for (String m : mails) {
      if (m.contains(canary) || m.contains(hash)) {
        where.add("email alert: " + m);
      }
    }
    // logs: the services', and PostgreSQL's and Kafka's
    List<Path> logs = new ArrayList<>();
    for (ServiceProcess s : stack.services()) {
      if (!logs.contains(s.logFile())) {
        logs.add(s.logFile());
      }
    }
    try (Stream<Path> files = Files.list(stack.config().logDir())) {
      files.filter(p -> !logs.contains(p)).forEach(logs::add);
    }
    for (Path log : logs) {
      String text = Files.readString(log, StandardCharsets.ISO_8859_1);
      if (text.contains(canary)) {
        where.add("log " + log.getFileName());
      }
      if (log.getFileName().toString().endsWith("-service.log") && text.contains(hash)) {
        where.add("log (hash) " + log.getFileName());
      }
    }
    assertThat(logs.stream().map(p -> p.getFileName().toString()))
        .contains("key-service.log", "usage-service.log", "audit-service.log");
    // every topic, dead-letter topics included, from the beginning
    int records = 0;
    List<String> topics = new ArrayList<>(SystemStack.topics());
    boolean sawKey = false;
    boolean sawUsage = false;
    boolean sawAlert = false;
    for (String topic : topics) {
      for (SystemStack.Rec r : SystemStack.records(topic)) {
        records++;
        String all = r.all();
        if (all.contains(canary)) {
          where.add("topic " + topic + " partition " + r.partition() + " offset " + r.offset());
        }
        if (all.contains(keyId)) {
          sawKey |= topic.equals("keywarden.key-events");
          sawUsage |= topic.equals("keywarden.usage-events");
          sawAlert |= topic.equals("keywarden.key-alerts");
        }
      }
    }
    assertThat(sawKey).as("key-events of the canary key").isTrue();
    assertThat(sawUsage).as("usage-events of the canary key").isTrue();
    assertThat(sawAlert).as("key-alerts of the canary key").isTrue();
    // every column of every table of every database
    int columns = 0;
    List<String> scanned = new ArrayList<>();
    for (String database : LocalStack.DATABASES) {
      try (Connection c = SystemStack.db(database)) {
        List<String[]> cols = new ArrayList<>();
        try (ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "select c.table_schema, c.table_name, c.column_name"
                        + " from information_schema.columns c join information_schema.tables t"
                        + " on t.table_schema = c.table_schema and t.table_name = c.table_name"
                        + " where t.table_type = 'BASE TABLE'"
                        + " and c.table_schema not in ('pg_catalog', 'information_schema')")) {
          while (rs.next()) {
            cols.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
          }
        }
        for (String[] col : cols) {
          columns++;
          scanned.add(database + "." + col[1] + "." + col[2]);
          try (PreparedStatement ps =
              c.prepareStatement(
                  "select count(*) from \""
                      + col[0]
                      + "\".\""
                      + col[1]
                      + "\" where strpos(\""
                      + col[2]
                      + "\"::text, ?) > 0")) {
            ps.setString(1, canary);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              if (rs.getLong(1) > 0) {
                where.add("column " + database + "." + col[1] + "." + col[2]);
              }
            }
          }
        }
      }
    }
    assertThat(scanned)
        .contains(
            "keyservice.api_keys.key_hash",
            "keyservice.outbox.payload",
            "usageservice.flyway_schema_history.script",
            "auditservice.findings.detail",
            "auditservice.alert_deliveries.last_error");
    hits = where.size();
    System.out.printf(
        "S6 canary: %d error bodies, %d answers, %d reports, %d webhook and %d email alerts, %d log"
            + " files, %d records on %d topics %s, %d columns in %d databases: hits %d%n",
        errors.size(),
        answers.size(),
        reports.size(),
        webhookBodies.size(),
        mails.size(),
        logs.size(),
        records,
        topics.size(),
        topics,
        columns,
        LocalStack.DATABASES.size(),
        hits);
    assertThat(where).as("places the canary (or its hash) reached").isEmpty();
  }

  /** Every email received: headers, subject and decoded body text. */
  static List<String> mailTexts() throws Exception {
    List<String> out = new ArrayList<>();
    for (jakarta.mail.internet.MimeMessage m : stack.mail().messages()) {
      StringBuilder text = new StringBuilder();
      for (var h : java.util.Collections.list(m.getAllHeaderLines())) {
        text.append(h).append('\n');
      }
      text.append(m.getSubject()).append('\n');
      appendContent(m.getContent(), text);
      out.add(text.toString());
    }
    return out;
  }

  private static void appendContent(Object content, StringBuilder text) throws Exception {
    if (content instanceof jakarta.mail.Multipart mp) {
      for (int i = 0; i < mp.getCount(); i++) {
        appendContent(mp.getBodyPart(i).getContent(), text);
      }
    } else if (content instanceof java.io.InputStream in) {
      text.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } else {
      text.append(content).append('\n');
    }
  }
}
