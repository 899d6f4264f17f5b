package io.keywarden.audit.it;

import static io.keywarden.stack.testing.JsonMutations.clip;
import static io.keywarden.stack.testing.JsonMutations.object;
import static io.keywarden.stack.testing.JsonMutations.quote;
import static io.keywarden.stack.testing.JsonMutations.show;
import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.stack.testing.JsonMutations;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.sessions.JqwikSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * S9 "any JSON body" (audit-service): random and mutated bodies (wrong types, nulls, huge numbers,
 * deep nesting, unknown fields, duplicate keys, truncation, invalid UTF-8, 10k strings, bad and
 * SSRF webhook URLs, bad emails) for every audit endpoint that takes a body. The only one that
 * reads it is PUT alert-settings (as a user for their own account, and as an admin with {@code
 * ?account=}); the POSTs (a finding's ack, the manual sweep) take none and must ignore whatever is
 * sent. The answer is a 2xx or a 4xx problem naming the field, never a 5xx nor a stack trace; a 4xx
 * changed nothing (the settings row is byte for byte the same).
 *
 * <p>Bodies come from jqwik's arbitraries in a seeded {@link JqwikSession} (jqwik's engine cannot
 * start the application). The seed is printed; {@code -Dkw.s9.seed=...} replays a run, {@code
 * -Dkw.s9.tries=...} sets the number of bodies per endpoint.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class AnyJsonBodyTests {
  static final int TRIES = Integer.getInteger("kw.s9.tries", 80);

  /** An account of no key: settings stored for it never send an alert. */
  static final String ADMIN_TARGET = "s9-any-json-body";

  private java.time.Instant started;

  @org.junit.jupiter.api.BeforeEach
  void start() {
    started = TestClock.now();
  }

  /**
   * The settings written here, and the alerts they queued (the sweeps run while bob's fuzzed
   * settings are in place: a daily digest, or immediate alerts, to a webhook that does not answer):
   * left pending, they were retried in the next test class, under that class's settings.
   */
  @AfterEach
  void cleanUp() throws Exception {
    try (Connection c = DeliveryRaceTests.db();
        PreparedStatement deliveries =
            c.prepareStatement(
                "delete from alert_deliveries where account in (?, ?) and channel in"
                    + " ('webhook', 'email', 'disable') and created_at >= ?");
        PreparedStatement settings =
            c.prepareStatement("delete from alert_settings where account in (?, ?)")) {
      deliveries.setString(1, ADMIN_TARGET);
      deliveries.setString(2, Api.account("bob"));
      deliveries.setTimestamp(3, java.sql.Timestamp.from(started));
      deliveries.executeUpdate();
      settings.setString(1, ADMIN_TARGET);
      settings.setString(2, Api.account("bob"));
      settings.executeUpdate();
    }
  }

  enum Endpoint {
    /** bob's own settings. */
    PUT_OWN,
    /** carol (admin) writing another account's settings. */
    PUT_ADMIN,
    /** a body sent to the ack of a finding (none exists: 404, the body is ignored). */
    ACK
  }

  static String row(Connection c, String account) throws Exception {
    try (PreparedStatement ps =
        c.prepareStatement(
            "select md5(s::text) from alert_settings s where account = ?"
                + " union all select 'rows ' || count(*) from alert_settings")) {
      ps.setString(1, account);
      StringBuilder b = new StringBuilder();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          b.append(rs.getString(1)).append(' ');
        }
      }
      return b.toString();
    }
  }

  @Test
  void anyBodyIsA2xxOrA4xxProblemNeverA5xxAndA4xxWritesNothing() throws Exception {
    String seed = System.getProperty("kw.s9.seed", Long.toString(new Random().nextLong()));
    String bob = Api.account("bob");
    Map<String, Integer> statuses = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    int sent = 0;
    JqwikSession.start(seed);
    try (Connection c = DeliveryRaceTests.db()) {
      Bodies bodies = new Bodies(JqwikSession.getRandom().orElseThrow());
      for (Endpoint ep : Endpoint.values()) {
        // the ack reads no body: a quarter as many
        for (int i = 0; i < (ep == Endpoint.ACK ? TRIES / 4 : TRIES); i++) {
          byte[] body = bodies.next();
          String account = ep == Endpoint.PUT_ADMIN ? ADMIN_TARGET : bob;
          String before = row(c, account);
          Response r = send(ep, body);
          sent++;
          int s = r.statusCode();
          statuses.merge(ep + " " + s, 1, Integer::sum);
          String after = row(c, account);
          String shown = show(body);
          String text = r.asString();
          if (s >= 500) {
            failures.add(ep + " -> " + s + " " + clip(text) + " for " + shown);
          } else if (s >= 400) {
            if (!String.valueOf(r.contentType()).startsWith("application/problem+json")
                || String.valueOf(r.jsonPath().getString("detail")).isBlank()) {
              failures.add(ep + " -> " + s + " " + clip(text) + " (not a problem) for " + shown);
            }
            if (!before.equals(after)) {
              failures.add(ep + " -> " + s + " but wrote: " + before + "-> " + after + shown);
            }
          } else if (ep == Endpoint.ACK) {
            failures.add("ACK of no finding -> " + s + " for " + shown);
          }
          if (text.contains("Exception") || text.contains("\tat ")) {
            failures.add(ep + " -> " + s + " a stack trace: " + clip(text));
          }
          if (text.contains(Bodies.SECRET)) {
            failures.add(ep + " -> " + s + " echoed the webhook secret for " + shown);
          }
          if (failures.size() >= 20) {
            break;
          }
        }
      }
    } finally {
      JqwikSession.finish();
    }
    // the manual sweep ignores any body (a few: a sweep is not free)
    for (String b : List.of("{\"x\":1,\"x\":2}", "[".repeat(5000), "\u0000", "")) {
      Response r = Api.as("carol").contentType(ContentType.JSON).body(b).post("/api/audit/sweep");
      sent++;
      statuses.merge("SWEEP " + r.statusCode(), 1, Integer::sum);
      if (r.statusCode() != 200) {
        failures.add("SWEEP -> " + r.statusCode() + " " + clip(r.asString()));
      }
    }
    System.out.printf(
        "S9 any JSON body (audit): seed %s, %d bodies, statuses %s, failures %d%n",
        seed, sent, statuses, failures.size());
    assertThat(failures).as("seed %s (replay with -Dkw.s9.seed=%s)", seed, seed).isEmpty();
    for (Endpoint ep : List.of(Endpoint.PUT_OWN, Endpoint.PUT_ADMIN)) {
      assertThat(statuses.keySet()).as("2xx of %s", ep).anyMatch(k -> k.startsWith(ep + " 2"));
      assertThat(statuses.keySet()).as("4xx of %s", ep).anyMatch(k -> k.startsWith(ep + " 4"));
    }
  }

  /** Bodies the property found answered 5xx or accepted, each a 400 problem naming the field. */
  @Test
  void badSettingsAre400ProblemsNamingTheFieldAndChangeNothing() throws Exception {
    Api.as("bob")
        .contentType(ContentType.JSON)
        .body("{\"email\":\"bob@example.com\",\"mode\":\"daily\"}")
        .put("/api/audit/alert-settings")
        .then()
        .statusCode(200);
    Map<String, String[]> cases = new LinkedHashMap<>();
    // {body, expected field ("" = none)}
    cases.put(
        "a field twice", new String[] {"{\"mode\":\"daily\",\"mode\":\"immediate\"}", "mode"});
    cases.put(
        "a field twice, one field",
        new String[] {"{\"email\":\"a@b.c\",\"email\":\"d@e.f\"}", "email"});
    cases.put(
        "the same type 100 times (overflowed the column: 503)",
        new String[] {
          "{\"findingTypes\":[" + "\"EXPIRING\",".repeat(100) + "\"EXPIRING\"]}", "findingTypes"
        });
    cases.put(
        "NUL in the email (PostgreSQL: 503)",
        new String[] {"{\"email\":\"a\\u0000@b.c\"}", "email"});
    cases.put(
        "NUL in the secret",
        new String[] {
          "{\"webhookUrl\":\"https://h.example/x\",\"webhookSecret\":\"01234567\\u000089abcdef\"}",
          "webhookSecret"
        });
    cases.put(
        "a lone surrogate in the email (no UTF-8 form: PostgreSQL refused it)",
        new String[] {"{\"email\":\"a\\udbe5@b.c\"}", "email"});
    cases.put(
        "a lone surrogate in a listed type",
        new String[] {"{\"findingTypes\":[\"\\udc57\"]}", "findingTypes[0]"});
    cases.put(
        "CR LF in the email",
        new String[] {"{\"email\":\"a@b.c\\r\\nBcc: x@evil.example\"}", "email"});
    cases.put(
        "metadata address",
        new String[] {
          "{\"webhookUrl\":\"http://169.254.169.254/latest/meta-data/\"}", "webhookUrl"
        });
    cases.put(
        "metadata, decimal",
        new String[] {"{\"webhookUrl\":\"http://2852039166/\"}", "webhookUrl"});
    cases.put(
        "metadata, hex", new String[] {"{\"webhookUrl\":\"http://0xA9FEA9FE/\"}", "webhookUrl"});
    cases.put(
        "metadata, octal",
        new String[] {"{\"webhookUrl\":\"http://0251.0376.0251.0376/\"}", "webhookUrl"});
    cases.put(
        "metadata, IPv4-mapped",
        new String[] {"{\"webhookUrl\":\"http://[::ffff:169.254.169.254]/\"}", "webhookUrl"});
    cases.put(
        "link-local IPv6", new String[] {"{\"webhookUrl\":\"http://[fe80::1]/\"}", "webhookUrl"});
    cases.put(
        "metadata name",
        new String[] {"{\"webhookUrl\":\"http://metadata.google.internal/x\"}", "webhookUrl"});
    cases.put(
        "unspecified", new String[] {"{\"webhookUrl\":\"http://0.0.0.0:8080/\"}", "webhookUrl"});
    cases.put("file:", new String[] {"{\"webhookUrl\":\"file:///etc/passwd\"}", "webhookUrl"});
    cases.put(
        "javascript:", new String[] {"{\"webhookUrl\":\"javascript:alert(1)\"}", "webhookUrl"});
    cases.put("no host", new String[] {"{\"webhookUrl\":\"http:///x\"}", "webhookUrl"});
    cases.put(
        "10k URL",
        new String[] {
          "{\"webhookUrl\":\"https://h.example/" + "x".repeat(10_000) + "\"}", "webhookUrl"
        });
    cases.put(
        "10k email", new String[] {"{\"email\":\"" + "x".repeat(10_000) + "@b.c\"}", "email"});
    cases.put("10k mode", new String[] {"{\"mode\":\"" + "x".repeat(10_000) + "\"}", "mode"});
    cases.put("not an email", new String[] {"{\"email\":\"javascript:alert(1)\"}", "email"});
    cases.put("an object for a string", new String[] {"{\"email\":{\"a\":1}}", "email"});
    cases.put(
        "a string for a list", new String[] {"{\"findingTypes\":\"EXPIRING\"}", "findingTypes"});
    cases.put("null in the list", new String[] {"{\"findingTypes\":[null]}", "findingTypes[0]"});
    cases.put(
        "a number for a boolean",
        new String[] {"{\"autoDisableStale\":1e400}", "autoDisableStale"});
    cases.put(
        "a string for a boolean",
        new String[] {"{\"autoDisableStale\":\"maybe\"}", "autoDisableStale"});
    cases.put("an array body", new String[] {"[]", ""});
    cases.put("a string body", new String[] {"\"daily\"", ""});
    cases.put("an empty body", new String[] {"", ""});
    cases.put("truncated", new String[] {"{\"mode\":\"dai", "mode"});
    cases.put(
        "5000 deep",
        new String[] {"{\"mode\":" + "[".repeat(5000) + "]".repeat(5000) + "}", "mode"});
    List<String> wrong = new ArrayList<>();
    try (Connection c = DeliveryRaceTests.db()) {
      String account = Api.account("bob");
      String before = row(c, account);
      for (var e : cases.entrySet()) {
        String[] k = e.getValue();
        Response r =
            Api.as("bob")
                .contentType(ContentType.JSON)
                .body(k[0].getBytes(StandardCharsets.UTF_8))
                .put("/api/audit/alert-settings");
        String field = r.statusCode() == 400 ? r.jsonPath().getString("field") : null;
        boolean ok =
            r.statusCode() == 400
                && String.valueOf(r.contentType()).startsWith("application/problem+json")
                && (k[1].isEmpty() ? field == null : k[1].equals(field));
        if (!ok) {
          wrong.add(e.getKey() + ": " + r.statusCode() + " " + clip(r.asString()));
        }
        if (!before.equals(row(c, account))) {
          wrong.add(e.getKey() + ": the settings row changed");
          before = row(c, account);
        }
      }
      // invalid UTF-8 in a string value
      byte[] bad = "{\"email\":\"a@b.c\"}".getBytes(StandardCharsets.UTF_8);
      bad[10] = (byte) 0xFF;
      Response r =
          Api.as("bob").contentType(ContentType.JSON).body(bad).put("/api/audit/alert-settings");
      if (r.statusCode() != 400 && r.statusCode() != 200 || r.asString().contains("Exception")) {
        wrong.add("invalid UTF-8: " + r.statusCode() + " " + clip(r.asString()));
      }
      if (r.statusCode() == 400 && !before.equals(row(c, account))) {
        wrong.add("invalid UTF-8: the settings row changed");
      }
    }
    // good URLs are still accepted: loopback and private receivers, names, IPv6
    for (String url :
        List.of(
            "http://127.0.0.1:8080/hook",
            "https://10.1.2.3/hook",
            "https://hooks.example.com/a?b=c",
            "http://[2001:db8::1]:9000/x",
            "https://h1.example.com.")) {
      Response r =
          Api.as("bob")
              .contentType(ContentType.JSON)
              .body(Map.of("webhookUrl", url))
              .put("/api/audit/alert-settings");
      if (r.statusCode() != 200) {
        wrong.add("good " + url + ": " + r.statusCode() + " " + clip(r.asString()));
      }
    }
    System.out.printf(
        "S9 audit settings: %d bad bodies, wrong %d%n", cases.size() + 1, wrong.size());
    assertThat(wrong).isEmpty();
  }

  static Response send(Endpoint ep, byte[] body) {
    return switch (ep) {
      case PUT_OWN ->
          Api.as("bob").contentType(ContentType.JSON).body(body).put("/api/audit/alert-settings");
      case PUT_ADMIN ->
          Api.as("carol")
              .contentType(ContentType.JSON)
              .body(body)
              .put("/api/audit/alert-settings?account=" + ADMIN_TARGET);
      case ACK ->
          Api.as("bob")
              .contentType(ContentType.JSON)
              .body(body)
              .post("/api/audit/findings/" + UUID.randomUUID() + "/ack");
    };
  }

  /** Bodies: a plausible settings body, then 0 to 3 mutations. */
  static final class Bodies {
    static final String SECRET = "s9WebhookSecret-0123456789";
    static final List<String> FIELDS =
        List.of(
            "account",
            "webhookUrl",
            "webhookSecret",
            "webhookSecretSet",
            "email",
            "findingTypes",
            "mode",
            "autoDisableStale");
    private static final List<String> UNKNOWN =
        List.of("id", "updatedAt", "", "__proto__", "x", "webhook_url", "Mode");

    private final Random random;
    private final JsonMutations json;

    private final Arbitrary<String> junkStrings =
        Arbitraries.oneOf(
            Arbitraries.strings().all().ofMaxLength(40),
            Arbitraries.strings().alpha().numeric().withChars("-_.:/@[] ").ofMaxLength(70),
            Arbitraries.of(
                "",
                " ",
                "\u0000",
                "\r\n",
                "\u202e",
                "\ud800",
                "🔑",
                "null",
                "immediate",
                "DAILY",
                "weekly",
                "EXPIRING",
                "STALE",
                "a@b.c",
                "a@@b",
                "@",
                "http://127.0.0.1/x",
                "https://hooks.example.com/k",
                "http://169.254.169.254/latest/meta-data/",
                "http://[fe80::1%25eth0]/",
                "http://[::ffff:a9fe:a9fe]/",
                "http://2852039166/",
                "http://0xa9.0xfe.0xa9.0xfe/",
                "http://metadata.google.internal./",
                "http://0.0.0.0/",
                "http://224.0.0.1/",
                "gopher://h/x",
                "file:///etc/passwd",
                "javascript:alert(1)",
                "data:text/html,x",
                "http://user:pw@h.example/",
                "http://h.example:99999/",
                "http://%00/",
                "sk-kw-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "'; drop table alert_settings; --",
                "%s%n%x",
                "x".repeat(10_000)));

    private final Arbitrary<String> numbers =
        Arbitraries.oneOf(
            Arbitraries.integers().map(String::valueOf),
            Arbitraries.longs().map(String::valueOf),
            Arbitraries.doubles().map(d -> Double.isFinite(d) ? String.valueOf(d) : "1e999"),
            Arbitraries.of(
                "0",
                "-0",
                "1",
                "1e400",
                "-1e400",
                "2147483648",
                "1" + "0".repeat(2_000),
                "0." + "0".repeat(1_500) + "1"));

    Bodies(Random random) {
      this.random = random;
      this.json = new JsonMutations(random, junkStrings::sample, numbers::sample, UNKNOWN, FIELDS);
    }

    byte[] next() {
      Map<String, String> fields = plausible();
      int mutations = random.nextInt(4);
      List<String> duplicates = new ArrayList<>();
      String whole = null;
      for (int m = 0; m < mutations && whole == null; m++) {
        switch (random.nextInt(8)) {
          case 0, 1 -> fields.put(json.pick(FIELDS), json.anyValue(3));
          case 2 -> json.removeOne(fields);
          case 3 -> fields.put(json.pick(UNKNOWN), json.anyValue(2));
          case 4 -> duplicates.add(quote(json.pick(FIELDS)) + ":" + json.anyValue(1));
          case 5 -> whole = json.anyValue(4);
          case 6 -> fields.put("findingTypes", bigList());
          default -> whole = json.deep("mode", "{\"email\":", ",\"mode\":\"daily\"}");
        }
      }
      return json.bytes(whole != null ? whole : object(fields, duplicates));
    }

    /** A body that is often valid. */
    private Map<String, String> plausible() {
      Map<String, String> f = new LinkedHashMap<>();
      if (random.nextBoolean()) {
        f.put(
            "webhookUrl",
            quote(json.pick("https://hooks.example.com/k", "http://127.0.0.1:9/x", "")));
        if (random.nextBoolean()) {
          f.put("webhookSecret", quote(SECRET));
        }
      }
      if (random.nextBoolean()) {
        f.put("email", quote(json.pick("ops@example.com", "a.b+c@d.example", "")));
      }
      if (random.nextBoolean()) {
        f.put(
            "findingTypes",
            json.pick("[]", "[\"EXPIRING\"]", "[\"stale\",\"EXPIRING\"]", "null", "[\"NOPE\"]"));
      }
      if (random.nextBoolean()) {
        f.put("mode", quote(json.pick("immediate", "daily", "Daily ", "hourly")));
      }
      if (random.nextInt(3) == 0) {
        f.put("autoDisableStale", json.pick("true", "false", "null"));
      }
      return f;
    }

    private String bigList() {
      int n = json.pick(50, 101, 3_000);
      return "[" + "\"EXPIRING\",".repeat(n - 1) + "\"EXPIRING\"]";
    }
  }
}
