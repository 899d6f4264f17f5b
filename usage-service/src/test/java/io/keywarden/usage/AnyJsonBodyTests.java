package io.keywarden.usage;

import static io.keywarden.stack.testing.JsonMutations.clip;
import static io.keywarden.stack.testing.JsonMutations.object;
import static io.keywarden.stack.testing.JsonMutations.quote;
import static io.keywarden.stack.testing.JsonMutations.show;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.stack.testing.JsonMutations;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.usage.projection.KeyProjection;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.sessions.JqwikSession;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * S9 "any JSON body": random and mutated bodies (wrong types, nulls, huge numbers, deep nesting,
 * unknown fields, duplicate keys, truncation, invalid UTF-8, empty bodies, arrays for objects and
 * objects for arrays) for every usage-service endpoint that reads one: POST /api/authorize (bearer
 * token and the shared-secret Vert.x route), POST /api/usage (one record and a batch) and POST
 * /api/admin/accounts/{account}/credits. The answer is a 2xx (the body was valid), a decision in
 * OpenAI's error shape (usage: 404 unknown key, 429 insufficient quota), or a 400/413 problem+json
 * naming the problem; never a 5xx. A problem wrote nothing: no ledger row, the account's balance,
 * the key's spend and its holds unchanged.
 *
 * <p>The bodies come from jqwik's arbitraries in a seeded {@link JqwikSession} inside a Jupiter
 * test (jqwik's engine cannot start the application). The seed is printed; {@code -Dkw.s9.seed=...}
 * replays a run, {@code -Dkw.s9.tries=...} sets the bodies per endpoint.
 */
@QuarkusTest
@QuarkusTestResource(value = KeywardenStackResource.class)
class AnyJsonBodyTests {
  static final int TRIES = Integer.getInteger("kw.s9.tries", 100);
  static final String SHARED_SECRET = "test-gateway-secret";

  @Inject KeyProjection projection;
  @Inject Pool pool;

  @ConfigProperty(name = "kafka.bootstrap.servers")
  String bootstrap;

  @ConfigProperty(name = "kw.oidc.url")
  String issuer;

  Fixtures fx;

  @BeforeEach
  void setUp() {
    fx = new Fixtures(bootstrap, issuer, projection);
  }

  enum Endpoint {
    AUTHORIZE_TOKEN,
    AUTHORIZE_SECRET,
    USAGE,
    USAGE_BATCH,
    CREDITS
  }

  /** What a request may change: any ledger row, the account's row, the key's budget and holds. */
  record Fingerprint(long ledgerMax, String account, String budget, Set<String> holds) {}

  Fingerprint fingerprint(String account, String keyId) {
    Row r =
        pool.preparedQuery(
                "select (select coalesce(max(id), 0) from ledger),"
                    + " (select md5(a::text) from accounts a where account = $1),"
                    + " (select md5(b::text) from key_budgets b where key_id = $2),"
                    + " (select coalesce(string_agg(request_id, ' '), '') from holds"
                    + " where key_id = $2)")
            .execute(Tuple.of(account, keyId))
            .await()
            .indefinitely()
            .iterator()
            .next();
    Set<String> holds = new HashSet<>();
    for (String h : r.getString(3).split(" ")) {
      if (!h.isEmpty()) {
        holds.add(h);
      }
    }
    return new Fingerprint(r.getLong(0), r.getString(1), r.getString(2), holds);
  }

  RequestSpecification as(Endpoint ep, String gateway, String admin) {
    RequestSpecification spec = given().contentType("application/json");
    return switch (ep) {
      case AUTHORIZE_SECRET -> spec.header("X-Keywarden-Gateway-Secret", SHARED_SECRET);
      case CREDITS -> spec.auth().oauth2(admin);
      default -> spec.auth().oauth2(gateway);
    };
  }

  Response send(Endpoint ep, String account, byte[] body, String gateway, String admin) {
    RequestSpecification spec = as(ep, gateway, admin).body(body);
    return switch (ep) {
      case AUTHORIZE_TOKEN, AUTHORIZE_SECRET -> spec.post("/api/authorize");
      case USAGE, USAGE_BATCH -> spec.post("/api/usage");
      case CREDITS -> spec.post("/api/admin/accounts/" + account + "/credits");
    };
  }

  @Test
  void anyBodyIsA2xxOrA4xxProblemNeverA5xxAndAProblemWritesNothing() {
    String seed = System.getProperty("kw.s9.seed", Long.toString(new Random().nextLong()));
    String account = Fixtures.account();
    Fixtures.TestKey key = fx.key(fx.group(true), account);
    fx.credit(account, "1000000");
    Map<String, Integer> statuses = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    int sent = 0;
    JqwikSession.start(seed);
    try {
      Bodies bodies =
          new Bodies(JqwikSession.getRandom().orElseThrow(), key.secret, key.id(), account);
      for (Endpoint ep : Endpoint.values()) {
        // fresh tokens per endpoint (a run outlives none of them)
        String gateway = fx.gatewayToken();
        String admin = fx.token("carol");
        for (int i = 0; i < TRIES && failures.size() < 20; i++) {
          byte[] body = bodies.next(ep);
          Fingerprint before = fingerprint(account, key.id());
          Response r = send(ep, account, body, gateway, admin);
          sent++;
          int s = r.statusCode();
          String text = r.asString();
          statuses.merge(ep + " " + s, 1, Integer::sum);
          Fingerprint after = fingerprint(account, key.id());
          String shown = show(body);
          if (text.contains(key.secret)) {
            failures.add(ep + " -> " + s + " echoed the key for " + shown);
          }
          if (s >= 500 || text.contains("Exception") || text.contains("\tat ")) {
            failures.add(ep + " -> " + s + " " + clip(text) + " for " + shown);
            continue;
          }
          boolean decision = (ep == Endpoint.USAGE) && (s == 404 || s == 429);
          if (decision) {
            // a usage record decided: OpenAI's error shape
            if (!String.valueOf(r.contentType()).startsWith("application/json")
                || String.valueOf(r.jsonPath().getString("error.message")).isBlank()) {
              failures.add(ep + " -> " + s + " not OpenAI's shape: " + clip(text) + " " + shown);
            }
          } else if (s >= 400) {
            if (!String.valueOf(r.contentType()).startsWith("application/problem+json")
                || String.valueOf(r.jsonPath().getString("detail")).isBlank()) {
              failures.add(
                  ep
                      + " -> "
                      + s
                      + " "
                      + r.contentType()
                      + " "
                      + clip(text)
                      + " (not a problem) "
                      + shown);
            }
            Set<String> newHolds = new HashSet<>(after.holds());
            newHolds.removeAll(before.holds());
            if (after.ledgerMax() != before.ledgerMax()
                || !java.util.Objects.equals(after.account(), before.account())
                || !java.util.Objects.equals(after.budget(), before.budget())
                || !newHolds.isEmpty()) {
              failures.add(
                  ep + " -> " + s + " but wrote: " + before + " -> " + after + " " + shown);
            }
          } else if (ep == Endpoint.AUTHORIZE_TOKEN || ep == Endpoint.AUTHORIZE_SECRET) {
            if (r.jsonPath().get("allowed") == null) {
              failures.add(ep + " -> " + s + " without allowed: " + clip(text));
            }
          }
        }
      }
    } finally {
      JqwikSession.finish();
    }
    System.out.printf(
        "S9 any JSON body (usage-service): seed %s, %d bodies, statuses %s, failures %d%n",
        seed, sent, statuses, failures.size());
    assertThat(failures).as("seed %s (replay with -Dkw.s9.seed=%s)", seed, seed).isEmpty();
    for (Endpoint ep : Endpoint.values()) {
      assertThat(statuses.keySet()).as("2xx of %s", ep).anyMatch(k -> k.startsWith(ep + " 2"));
      assertThat(statuses.keySet()).as("4xx of %s", ep).anyMatch(k -> k.startsWith(ep + " 4"));
    }
  }

  /**
   * Bodies that were 500s, read as "the last one wins", or accepted with U+FFFD or trailing junk.
   */
  @Test
  void bodiesThatWere500OrLenientAre400ProblemsNamingTheField() {
    String account = Fixtures.account();
    Fixtures.TestKey key = fx.key(fx.group(true), account);
    fx.credit(account, "100");
    String gateway = fx.gatewayToken();
    String admin = fx.token("carol");
    String k = "\"key\":\"" + key.secret + "\"";
    String rec = "\"requestId\":\"s9-" + UUID.randomUUID() + "\",\"keyId\":\"" + key.id() + "\"";
    String rec2 = "\"requestId\":\"s9-" + UUID.randomUUID() + "\",\"keyId\":\"" + key.id() + "\"";
    byte[] badUtf8 = ("{" + k + ",\"model\":\"gpt\u00e9\"}").getBytes(StandardCharsets.UTF_8);
    // the é's two bytes become C3 28: an invalid sequence
    for (int i = 0; i < badUtf8.length - 1; i++) {
      if (badUtf8[i] == (byte) 0xC3) {
        badUtf8[i + 1] = 0x28;
      }
    }
    List<Object[]> cases = new ArrayList<>();
    // {endpoint, body, expected field}
    for (Endpoint ep : List.of(Endpoint.AUTHORIZE_TOKEN, Endpoint.AUTHORIZE_SECRET)) {
      cases.add(new Object[] {ep, "{" + k + "," + k + "}", "key"});
      cases.add(new Object[] {ep, "{" + k + ",\"model\":\"a\",\"model\":\"b\"}", "model"});
      cases.add(
          new Object[] {
            ep, "{" + k + ",\"requestId\":\"r1\",\"estimatedCostUsd\":1e400}", "estimatedCostUsd"
          });
      cases.add(new Object[] {ep, "{" + k + "} {}", "body"});
      cases.add(new Object[] {ep, "{" + k + "}x", "body"});
      cases.add(new Object[] {ep, badUtf8, "body"});
      cases.add(new Object[] {ep, "", "body"});
      cases.add(new Object[] {ep, "[{" + k + "}]", "body"});
      cases.add(new Object[] {ep, "{\"key\":" + "[".repeat(5000) + "]".repeat(5000) + "}", "body"});
    }
    cases.add(new Object[] {Endpoint.USAGE, "{" + rec + ",\"costUsd\":1e400}", "costUsd"});
    cases.add(new Object[] {Endpoint.USAGE, "{" + rec + ",\"costUsd\":-1e400}", "costUsd"});
    cases.add(
        new Object[] {
          Endpoint.USAGE, "{" + rec + ",\"costUsd\":\"0.01\",\"costUsd\":\"0\"}", "costUsd"
        });
    cases.add(
        new Object[] {
          Endpoint.USAGE, "{" + rec + ",\"inputTokens\":18446744073709551616}", "inputTokens"
        });
    cases.add(new Object[] {Endpoint.USAGE, "{" + rec + "}]", "body"});
    cases.add(
        new Object[] {
          Endpoint.USAGE_BATCH,
          "[{" + rec + "},{" + rec2 + ",\"model\":\"a\",\"model\":\"b\"}]",
          "[1].model"
        });
    cases.add(
        new Object[] {Endpoint.USAGE_BATCH, "[{" + rec + ",\"costUsd\":1e999}]", "[0].costUsd"});
    cases.add(new Object[] {Endpoint.USAGE_BATCH, "[[]]", "[0]."});
    cases.add(
        new Object[] {
          Endpoint.CREDITS,
          "{\"amountUsd\":\"5\",\"amountUsd\":\"500\",\"reference\":\"s9-x\"}",
          "amountUsd"
        });
    cases.add(
        new Object[] {
          Endpoint.CREDITS, "{\"amountUsd\":1e400,\"reference\":\"s9-y\"}", "amountUsd"
        });
    cases.add(
        new Object[] {Endpoint.CREDITS, "[{\"amountUsd\":\"5\",\"reference\":\"s9-z\"}]", "body"});
    cases.add(
        new Object[] {Endpoint.CREDITS, "{\"amountUsd\":\"5\",\"reference\":\"s9-w\"} 1", "body"});
    // the NUL character: PostgreSQL's text cannot hold it (was a 503; seed of session 13's run)
    cases.add(
        new Object[] {
          Endpoint.CREDITS, "{\"amountUsd\":6180526,\"reference\":\"\\u0000\"}", "reference"
        });
    cases.add(new Object[] {Endpoint.USAGE, "{" + rec + ",\"model\":\"gpt\\u0000\"}", "model"});
    for (Endpoint ep : List.of(Endpoint.AUTHORIZE_TOKEN, Endpoint.AUTHORIZE_SECRET)) {
      cases.add(new Object[] {ep, "{" + k + ",\"requestId\":\"r\\u0000\"}", "requestId"});
    }
    List<String> wrong = new ArrayList<>();
    for (Object[] c : cases) {
      Endpoint ep = (Endpoint) c[0];
      byte[] body = c[1] instanceof byte[] b ? b : ((String) c[1]).getBytes(StandardCharsets.UTF_8);
      Fingerprint before = fingerprint(account, key.id());
      Response r = send(ep, account, body, gateway, admin);
      Fingerprint after = fingerprint(account, key.id());
      String field = r.statusCode() == 400 ? r.jsonPath().getString("field") : null;
      boolean ok =
          r.statusCode() == 400
              && String.valueOf(r.contentType()).startsWith("application/problem+json")
              && c[2].equals(field)
              && before.equals(after);
      if (!ok) {
        wrong.add(
            ep
                + " "
                + show(body)
                + ": "
                + r.statusCode()
                + " "
                + r.contentType()
                + " "
                + clip(r.asString())
                + (before.equals(after) ? "" : " wrote " + before + " -> " + after));
      }
    }
    assertThat(wrong).isEmpty();
  }

  /**
   * Valid records the property found answered 503 for ever: one without a model and a cost (the
   * price look-up threw on a null model) and one of 10^12 tokens of a dear model (the cost
   * overflowed). Each failed its whole batch; now the first is charged 0 and the second refused.
   */
  @Test
  void recordsThatFailedTheirBatchAreDecided() {
    String account = Fixtures.account();
    Fixtures.TestKey key = fx.key(fx.group(true), account);
    fx.credit(account, "100");
    String gateway = fx.gatewayToken();
    String noModel = "s9-" + UUID.randomUUID();
    Response r =
        send(
            Endpoint.USAGE,
            account,
            ("{\"requestId\":\"" + noModel + "\",\"keyId\":\"" + key.id() + "\"}")
                .getBytes(StandardCharsets.UTF_8),
            gateway,
            null);
    assertThat(r.statusCode()).as(r.asString()).isEqualTo(200);
    String dear = "s9-" + UUID.randomUUID();
    r =
        send(
            Endpoint.USAGE,
            account,
            ("{\"requestId\":\""
                    + dear
                    + "\",\"keyId\":\""
                    + key.id()
                    + "\",\"model\":\"gpt-4o\",\"inputTokens\":1000000000000,"
                    + "\"outputTokens\":1000000000000}")
                .getBytes(StandardCharsets.UTF_8),
            gateway,
            null);
    assertThat(r.statusCode()).as(r.asString()).isEqualTo(429);
    assertThat(r.jsonPath().getString("error.code")).isEqualTo("insufficient_quota");
    // both decided in the ledger; the balance is untouched (0 charged, the other refused)
    long rows =
        pool.preparedQuery("select count(*) from ledger where request_id in ($1, $2)")
            .execute(Tuple.of(noModel, dear))
            .await()
            .indefinitely()
            .iterator()
            .next()
            .getLong(0);
    assertThat(rows).isEqualTo(2);
    long balance =
        pool.preparedQuery("select balance_micros from accounts where account = $1")
            .execute(Tuple.of(account))
            .await()
            .indefinitely()
            .iterator()
            .next()
            .getLong(0);
    assertThat(balance).isEqualTo(100_000_000L);
  }

  /** Bodies: a plausible body of the endpoint, then 0 to 3 mutations. */
  static final class Bodies {
    private final Random random;
    private final String secret;
    private final String keyId;
    private final String account;
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
                "12.50",
                "0",
                "-0",
                "-1",
                "0.0000001",
                "9999999999999",
                "99999999999999999999",
                "1e3",
                "NaN",
                "Infinity",
                "-Infinity",
                "0x10",
                "10.0.0.1",
                "::1",
                "300.1.1.1",
                "gpt-4o-mini",
                "sk-kw-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "'; drop table ledger; --",
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
                "-0.0",
                "1",
                "-1",
                "3.5",
                "0.01",
                "1e400",
                "-1e400",
                "1E-400",
                "2147483648",
                "9223372036854775807",
                "9223372036854775808",
                "18446744073709551616",
                "123456789012345678901234567890",
                "1" + "0".repeat(2_000),
                "0." + "0".repeat(1_500) + "1"));

    private static final List<String> UNKNOWN =
        List.of("spent", "account", "balanceUsd", "allowed", "Key", "", "__proto__", "x");
    private static final List<String> KNOWN =
        List.of("key", "requestId", "keyId", "costUsd", "amountUsd");

    Bodies(Random random, String secret, String keyId, String account) {
      this.random = random;
      this.secret = secret;
      this.keyId = keyId;
      this.account = account;
      this.json = new JsonMutations(random, junkStrings::sample, numbers::sample, UNKNOWN, KNOWN);
    }

    byte[] next(Endpoint ep) {
      String body;
      if (ep == Endpoint.USAGE_BATCH) {
        body = random.nextInt(6) == 0 ? whole() : null;
        if (body == null) {
          StringBuilder b = new StringBuilder("[");
          int n = random.nextInt(10) == 0 ? 0 : 1 + random.nextInt(3);
          for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",")
                .append(
                    random.nextInt(3) == 0
                        ? mutated(Endpoint.USAGE)
                        : object(plausible(Endpoint.USAGE), List.of()));
          }
          body = b.append(']').toString();
        }
      } else {
        body = mutated(ep);
      }
      return json.bytes(body);
    }

    /** Not an object, or any object, or nesting past any sane depth, or nothing. */
    private String whole() {
      return switch (random.nextInt(3)) {
        case 0 -> json.anyValue(4);
        case 1 -> json.deep("key", "{\"keyId\":", ",\"reference\":\"s9\"}");
        default -> json.pick("", " ", "null", "{}", "[]", "\"x\"", "0");
      };
    }

    private String mutated(Endpoint ep) {
      Map<String, String> fields = plausible(ep);
      int mutations = random.nextInt(4);
      List<String> duplicates = new ArrayList<>();
      for (int m = 0; m < mutations; m++) {
        switch (random.nextInt(7)) {
          case 0, 1 -> fields.put(json.pick(fieldNames(ep)), json.anyValue(3));
          case 2 -> json.removeOne(fields);
          case 3 -> fields.put(json.pick(UNKNOWN), json.anyValue(2));
          case 4 -> {
            String f = json.pick(fieldNames(ep));
            duplicates.add(
                quote(f) + ":" + (random.nextBoolean() ? plausibleValue(f) : json.anyValue(1)));
          }
          case 5 -> {
            return whole();
          }
          // a number where the endpoint takes one (huge, negative, fractional)
          default -> fields.put(json.pick(fieldNames(ep)), numbers.sample());
        }
      }
      return object(fields, duplicates);
    }

    private List<String> fieldNames(Endpoint ep) {
      return switch (ep) {
        case AUTHORIZE_TOKEN, AUTHORIZE_SECRET ->
            List.of(
                "key",
                "keyHash",
                "clientIp",
                "model",
                "requestId",
                "estimatedCostUsd",
                "userAgent");
        case USAGE, USAGE_BATCH ->
            List.of("requestId", "keyId", "model", "inputTokens", "outputTokens", "costUsd");
        case CREDITS -> List.of("amountUsd", "reference");
      };
    }

    /** A body that is often valid: the required fields and some optional ones. */
    private Map<String, String> plausible(Endpoint ep) {
      Map<String, String> f = new LinkedHashMap<>();
      switch (ep) {
        case AUTHORIZE_TOKEN, AUTHORIZE_SECRET -> {
          if (random.nextBoolean()) {
            f.put("key", plausibleValue("key"));
          } else {
            f.put("keyHash", plausibleValue("keyHash"));
          }
          for (String o : List.of("clientIp", "model", "userAgent")) {
            if (random.nextBoolean()) {
              f.put(o, plausibleValue(o));
            }
          }
          if (random.nextInt(3) == 0) {
            f.put("requestId", plausibleValue("requestId"));
            f.put("estimatedCostUsd", plausibleValue("estimatedCostUsd"));
          }
        }
        case USAGE, USAGE_BATCH -> {
          f.put("requestId", plausibleValue("requestId"));
          f.put("keyId", plausibleValue("keyId"));
          for (String o : List.of("model", "inputTokens", "outputTokens", "costUsd")) {
            if (random.nextBoolean()) {
              f.put(o, plausibleValue(o));
            }
          }
        }
        case CREDITS -> {
          f.put("amountUsd", plausibleValue("amountUsd"));
          f.put("reference", plausibleValue("reference"));
        }
      }
      return f;
    }

    private String plausibleValue(String field) {
      return switch (field) {
        case "key" ->
            quote(random.nextInt(4) == 0 ? KeyFormat.generate(KeyFormat.DEFAULT_PREFIX) : secret);
        case "keyHash" -> quote(KeyFormat.sha256Hex(secret));
        case "clientIp" -> quote(json.pick("10.0.0.1", "203.0.113.7", "2001:db8::1"));
        case "model" -> quote(json.pick("gpt-4o-mini", "gpt-4o", "no-such-model"));
        case "userAgent" -> quote("s9/1.0");
        case "requestId" -> quote("s9-" + Long.toHexString(random.nextLong()));
        case "estimatedCostUsd", "costUsd" ->
            random.nextInt(4) == 0
                ? json.pick("0.01", "0")
                : quote(json.pick("0.0001", "0.01", "0", "1.5"));
        case "keyId" -> quote(random.nextInt(5) == 0 ? UUID.randomUUID().toString() : keyId);
        case "inputTokens", "outputTokens" -> json.pick("0", "10", "1000", "1000000");
        case "amountUsd" -> quote(json.pick("12.50", "0.01", "5", "0", "1000000"));
        case "reference" -> quote("s9-" + Long.toHexString(random.nextLong()));
        default -> json.anyValue(1);
      };
    }
  }
}
