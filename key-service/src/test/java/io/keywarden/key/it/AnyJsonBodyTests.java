package io.keywarden.key.it;

import static io.keywarden.stack.testing.JsonMutations.clip;
import static io.keywarden.stack.testing.JsonMutations.object;
import static io.keywarden.stack.testing.JsonMutations.quote;
import static io.keywarden.stack.testing.JsonMutations.show;
import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.stack.testing.JsonMutations;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
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
 * S9 "any JSON body": random and mutated bodies (wrong types, nulls, huge numbers, deep nesting,
 * unknown fields, duplicate keys, truncation, invalid UTF-8) for every key endpoint that reads one.
 * The answer is a 2xx (the body was valid) or a 4xx problem, never a 5xx; and a 4xx changed
 * nothing: no key row, no key change, no outbox row.
 *
 * <p>jqwik's engine cannot start the application (@QuarkusTest is a Jupiter extension), so the
 * bodies come from jqwik's arbitraries in a seeded {@link JqwikSession} inside a Jupiter test. The
 * seed is printed; {@code -Dkw.s9.seed=...} replays a run, {@code -Dkw.s9.tries=...} sets the
 * number of bodies per endpoint.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class AnyJsonBodyTests {
  static final String USER = "alice";
  static final int TRIES = Integer.getInteger("kw.s9.tries", 100);

  final List<String> keys = new ArrayList<>();

  @AfterEach
  void revoke() {
    for (String id : keys) {
      Stack.as(USER).delete("/api/keys/" + id);
    }
    Kw.sql(
        "update api_keys set status = 'revoked', revoked_at = now() where status <> 'revoked'"
            + " and name like 's9 %'");
  }

  /** Which endpoint, and the fields its body may have (with generators of plausible values). */
  enum Endpoint {
    CREATE,
    PATCH,
    ROTATE,
    USE
  }

  /** What a request may change: key rows of the account, outbox rows, the target key's row. */
  record Fingerprint(long keyRows, long outboxMax, String target) {}

  Fingerprint fingerprint(Connection c, String account, String target) throws Exception {
    try (PreparedStatement ps =
        c.prepareStatement(
            "select (select count(*) from api_keys where account = ?),"
                + " (select coalesce(max(seq), 0) from outbox),"
                + " (select md5(k::text) from api_keys k where id = ?)")) {
      ps.setString(1, account);
      ps.setObject(2, target == null ? null : UUID.fromString(target));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new Fingerprint(rs.getLong(1), rs.getLong(2), rs.getString(3));
      }
    }
  }

  @Test
  void anyBodyIsA2xxOrA4xxProblemNeverA5xxAndA4xxWritesNothing() throws Exception {
    String seed = System.getProperty("kw.s9.seed", Long.toString(new Random().nextLong()));
    String account = Stack.account(USER);
    Response made = Kw.createNamed(USER, "s9 patch target");
    String patchTarget = made.then().statusCode(201).extract().path("id");
    String rotateTarget = Kw.createNamed(USER, "s9 rotate target").path("id");
    Response useKey = Kw.createNamed(USER, "s9 use target");
    String useTarget = useKey.path("id");
    String useSecret = useKey.path("secret");
    keys.addAll(List.of(patchTarget, rotateTarget, useTarget));

    Map<String, Integer> statuses = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    int sent = 0;
    JqwikSession.start(seed);
    try (Connection c = Kw.db()) {
      Bodies bodies = new Bodies(JqwikSession.getRandom().orElseThrow(), useSecret);
      for (Endpoint ep : Endpoint.values()) {
        for (int i = 0; i < TRIES; i++) {
          byte[] body = bodies.next(ep);
          String target =
              switch (ep) {
                case CREATE -> null;
                case PATCH -> patchTarget;
                case ROTATE -> rotateTarget;
                case USE -> useTarget;
              };
          Fingerprint before = fingerprint(c, account, target);
          Response r = send(ep, target, body);
          sent++;
          int s = r.statusCode();
          statuses.merge(ep + " " + s, 1, Integer::sum);
          Fingerprint after = fingerprint(c, account, target);
          String shown = show(body);
          if (s >= 500) {
            failures.add(ep + " -> " + s + " " + clip(r.asString()) + " for " + shown);
            continue;
          }
          if (s >= 400) {
            if (!String.valueOf(r.contentType()).startsWith("application/problem+json")
                || String.valueOf(r.jsonPath().getString("detail")).isBlank()) {
              failures.add(
                  ep
                      + " -> "
                      + s
                      + " "
                      + r.contentType()
                      + " "
                      + clip(r.asString())
                      + " (not a problem) for "
                      + shown);
            }
            if (!before.equals(after)) {
              failures.add(
                  ep + " -> " + s + " but wrote: " + before + " -> " + after + " " + shown);
            }
            if (r.asString().contains(useSecret)) {
              failures.add(ep + " -> " + s + " echoed a secret for " + shown);
            }
          } else if (ep == Endpoint.CREATE) {
            keys.add(r.path("id"));
            if (after.keyRows() != before.keyRows() + 1) {
              failures.add("CREATE -> " + s + " but key rows " + before + " -> " + after);
            }
          }
          if (failures.size() >= 20) {
            break;
          }
        }
        // a 2xx create left a live key: keep under the account's cap of 100
        for (String id : keys.subList(3, keys.size())) {
          Stack.as(USER).delete("/api/keys/" + id);
        }
        keys.subList(3, keys.size()).clear();
      }
    } finally {
      JqwikSession.finish();
    }
    System.out.printf(
        "S9 any JSON body: seed %s, %d bodies, statuses %s, failures %d%n",
        seed, sent, statuses, failures.size());
    assertThat(failures).as("seed %s (replay with -Dkw.s9.seed=%s)", seed, seed).isEmpty();
    // the generator reaches both outcomes on every endpoint
    for (Endpoint ep : Endpoint.values()) {
      assertThat(statuses.keySet()).as("2xx of %s", ep).anyMatch(k -> k.startsWith(ep + " 2"));
      assertThat(statuses.keySet()).as("4xx of %s", ep).anyMatch(k -> k.startsWith(ep + " 4"));
    }
  }

  /** Bodies the property found answered 500, or 400 without a problem naming the field. */
  @Test
  void bodiesThatWere500OrNamelessAre400ProblemsNamingTheField() {
    Response made = Kw.createNamed(USER, "s9 examples");
    String id = made.then().statusCode(201).extract().path("id");
    keys.add(id);
    Map<String, String[]> cases = new LinkedHashMap<>();
    // {method path, body, expected field ("" = none)}
    cases.put(
        "rotate, a field twice",
        new String[] {"POST /rotate", "{\"overlap\":\"P7D\",\"overlap\":\"P1D\"}", "overlap"});
    cases.put(
        "use, a field twice",
        new String[] {"POST /use?client=codex", "{\"secret\":\"a\",\"secret\":\"b\"}", "secret"});
    cases.put(
        "patch, a field twice",
        new String[] {"PATCH ", "{\"name\":\"s9 a\",\"name\":\"s9 b\"}", "name"});
    cases.put(
        "create, a field twice",
        new String[] {
          "POST", "{\"name\":\"s9 dup\",\"group\":\"default\",\"group\":\"x\"}", "group"
        });
    cases.put(
        "create, an object for a string",
        new String[] {"POST", "{\"name\":{\"a\":1},\"group\":\"default\"}", "name"});
    cases.put(
        "create, a string for an object",
        new String[] {
          "POST", "{\"name\":\"s9 x\",\"group\":\"default\",\"rateLimit\":\"fast\"}", "rateLimit"
        });
    cases.put(
        "create, a number over int",
        new String[] {
          "POST",
          "{\"name\":\"s9 x\",\"group\":\"default\",\"rateLimit\":{\"requestsPerMinute\":99999999999}}",
          "rateLimit.requestsPerMinute"
        });
    cases.put("create, an array body", new String[] {"POST", "[]", ""});
    cases.put("create, a string body", new String[] {"POST", "\"key\"", ""});
    cases.put(
        "use, an object for the secret",
        new String[] {"POST /use?client=codex", "{\"secret\":{}}", "secret"});
    cases.put(
        "patch, nested 5000 deep",
        new String[] {"PATCH ", "{\"name\":" + "[".repeat(5000) + "]".repeat(5000) + "}", ""});
    List<String> wrong = new ArrayList<>();
    for (var e : cases.entrySet()) {
      String[] c = e.getValue();
      String method = c[0].substring(0, c[0].indexOf(' ') < 0 ? c[0].length() : c[0].indexOf(' '));
      String suffix = c[0].indexOf(' ') < 0 ? "" : c[0].substring(c[0].indexOf(' ') + 1);
      String path =
          method.equals("POST") && suffix.isEmpty() ? "/api/keys" : "/api/keys/" + id + suffix;
      Response r = Stack.as(USER).body(c[1].getBytes(StandardCharsets.UTF_8)).request(method, path);
      String field = r.statusCode() == 400 ? r.jsonPath().getString("field") : null;
      boolean ok =
          r.statusCode() == 400
              && String.valueOf(r.contentType()).startsWith("application/problem+json")
              && (c[2].isEmpty() ? field == null : c[2].equals(field));
      if (!ok) {
        wrong.add(
            e.getKey() + ": " + r.statusCode() + " " + r.contentType() + " " + clip(r.asString()));
      }
    }
    assertThat(wrong).isEmpty();
  }

  static Response send(Endpoint ep, String target, byte[] body) {
    var spec = Stack.as(USER).body(body);
    return switch (ep) {
      case CREATE -> spec.post("/api/keys");
      case PATCH -> spec.patch("/api/keys/" + target);
      case ROTATE -> spec.post("/api/keys/" + target + "/rotate");
      case USE -> spec.post("/api/keys/" + target + "/use?client=codex");
    };
  }

  /** Bodies: a plausible body of the endpoint, then 0 to 3 mutations. */
  static final class Bodies {
    private final Random random;
    private final String secret;
    private final JsonMutations json;

    private final Arbitrary<String> junkStrings =
        Arbitraries.oneOf(
            Arbitraries.strings().all().ofMaxLength(40),
            Arbitraries.strings().alpha().numeric().withChars("-_.:/ ").ofMaxLength(70),
            Arbitraries.of(
                "",
                " ",
                "\u0000",
                "\u202e",
                "\ud800",
                "🔑",
                "null",
                "PT0S",
                "PT1H",
                "P1D",
                "P8D",
                "P-1D",
                "P1Y",
                "P300000Y",
                "P999999999Y",
                "PT99999999999999H",
                "-PT1H",
                "2020-01-01T00:00:00Z",
                "2027-06-01T00:00:00Z",
                "+99999-01-01T00:00:00Z",
                "+999999999-12-31T23:59:59Z",
                "2027-02-30T00:00:00Z",
                "12.50",
                "0",
                "-1",
                "0.0000001",
                "9999999999999",
                "99999999999999999999",
                "1e3",
                "NaN",
                "default",
                "daily",
                "weekly",
                "monthly",
                "none",
                "10.0.0.0/8",
                "::/0",
                "300.1.1.1/99",
                "1.2.3.4/",
                "sk-kw-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "'; drop table api_keys; --",
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
                "-1",
                "3.5",
                "1e400",
                "-1e400",
                "2147483648",
                "123456789012345678901234567890",
                "1" + "0".repeat(2_000),
                "0." + "0".repeat(1_500) + "1",
                "1E-400"));

    private static final List<String> UNKNOWN =
        List.of("spent", "status", "keyHash", "account", "version", "id", "", "__proto__", "x");
    private static final List<String> KNOWN =
        List.of("requestsPerMinute", "tokensPerMinute", "name", "overlap");

    Bodies(Random random, String secret) {
      this.random = random;
      this.secret = secret;
      this.json = new JsonMutations(random, junkStrings::sample, numbers::sample, UNKNOWN, KNOWN);
    }

    byte[] next(Endpoint ep) {
      Map<String, String> fields = plausible(ep);
      int mutations = random.nextInt(4);
      List<String> duplicates = new ArrayList<>();
      String whole = null;
      for (int m = 0; m < mutations && whole == null; m++) {
        switch (random.nextInt(7)) {
          case 0, 1 -> fields.put(json.pick(fieldNames(ep)), json.anyValue(3));
          case 2 -> json.removeOne(fields);
          case 3 -> fields.put(json.pick(UNKNOWN), json.anyValue(2));
          case 4 -> duplicates.add(quote(json.pick(fieldNames(ep))) + ":" + json.anyValue(1));
          case 5 -> whole = json.anyValue(4); // not an object, or any object
          default -> whole = json.deep("name", "{\"name\":", ",\"group\":\"default\"}");
        }
      }
      return json.bytes(whole != null ? whole : object(fields, duplicates));
    }

    private List<String> fieldNames(Endpoint ep) {
      return switch (ep) {
        case CREATE ->
            List.of(
                "name",
                "group",
                "customKey",
                "allowedIps",
                "quotaUsd",
                "quotaReset",
                "rateLimit",
                "expiresAt",
                "expiresIn");
        case PATCH ->
            List.of(
                "name", "group", "allowedIps", "quotaUsd", "quotaReset", "rateLimit", "expiresAt");
        case ROTATE -> List.of("overlap");
        case USE -> List.of("secret");
      };
    }

    /** A body that is often valid: a few fields with values of the right shape. */
    private Map<String, String> plausible(Endpoint ep) {
      Map<String, String> f = new LinkedHashMap<>();
      switch (ep) {
        case CREATE -> {
          f.put("name", quote("s9 " + Long.toHexString(random.nextLong())));
          f.put("group", quote("default"));
          for (String o : List.of("allowedIps", "quotaUsd", "quotaReset", "rateLimit")) {
            if (random.nextInt(3) == 0) {
              f.put(o, plausibleValue(o));
            }
          }
          if (random.nextInt(4) == 0) {
            f.put(random.nextBoolean() ? "expiresAt" : "expiresIn", plausibleValue("expires"));
          }
          if (random.nextInt(6) == 0) {
            f.put("customKey", quote(customKey()));
          }
        }
        case PATCH -> {
          List<String> names = fieldNames(ep);
          int n = 1 + random.nextInt(3);
          for (int i = 0; i < n; i++) {
            String name = names.get(random.nextInt(names.size()));
            f.put(name, plausibleValue(name));
          }
        }
        case ROTATE -> {
          if (random.nextBoolean()) {
            f.put("overlap", plausibleValue("overlap"));
          }
        }
        case USE -> f.put("secret", quote(random.nextBoolean() ? secret : customKey()));
      }
      return f;
    }

    private String plausibleValue(String field) {
      return switch (field) {
        case "name" -> quote("s9 " + Long.toHexString(random.nextLong()));
        case "group" -> quote(random.nextInt(4) == 0 ? "no-such-group" : "default");
        case "allowedIps" ->
            json.pick(
                "[]",
                "[\"10.0.0.0/8\"]",
                "[\"203.0.113.7\",\"2001:db8::/32\"]",
                "null",
                "[\"10.0.0.0/33\"]");
        case "quotaUsd" -> quote(json.pick("12.50", "0.01", "5", "0", "1000000"));
        case "quotaReset" -> quote(json.pick("none", "daily", "weekly", "monthly"));
        case "rateLimit" ->
            json.pick(
                "{\"requestsPerMinute\":60}",
                "{\"requestsPerMinute\":60,\"tokensPerMinute\":100000,\"concurrentRequests\":4}",
                "null",
                "{}");
        case "expires", "expiresAt" -> quote(json.pick("2027-06-01T00:00:00Z", "P30D", "PT12H"));
        case "overlap" -> quote(json.pick("PT1H", "P1D", "PT0S", "P7D"));
        default -> json.anyValue(1);
      };
    }

    /** A strong custom key (48 alphanumerics), from the seeded random. */
    private String customKey() {
      String alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
      StringBuilder b = new StringBuilder("Cx");
      for (int i = 0; i < 46; i++) {
        b.append(alnum.charAt(random.nextInt(alnum.length())));
      }
      return b.toString();
    }
  }
}
