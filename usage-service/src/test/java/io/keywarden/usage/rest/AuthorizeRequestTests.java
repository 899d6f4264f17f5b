package io.keywarden.usage.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.KeyFormat;
import io.keywarden.usage.authz.Authorizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The streaming reading of an authorize body agrees with the tree reading (the judge) on every
 * body: same ask, or the same 400 naming the same field with the same words. And the common shapes
 * are really read by the streaming reading (else the fast path would be dead code).
 */
class AuthorizeRequestTests {
  static final ObjectMapper MAPPER = new ObjectMapper();
  static final String KEY = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
  static final String HASH = KeyFormat.sha256Hex(KEY);

  /** "ok:" + the ask, or "400:" + field + ": " + message. */
  static String outcome(java.util.function.Supplier<Authorizer.Ask> reading) {
    try {
      return "ok:" + reading.get();
    } catch (Problem.BadInput e) {
      return "400:" + e.field() + ": " + e.getMessage();
    }
  }

  static String viaTree(String body) {
    return outcome(() -> AuthorizeRequest.parse(Json.parse(MAPPER, body)));
  }

  static String viaBytes(String body) {
    return outcome(() -> AuthorizeRequest.parse(MAPPER, body.getBytes(StandardCharsets.UTF_8)));
  }

  static final String[] FIELDS = {
    "key",
    "keyHash",
    "clientIp",
    "model",
    "requestId",
    "estimatedCostUsd",
    "userAgent",
    "spent",
    "Key"
  };
  static final String[] VALUES = {
    "\"" + KEY + "\"",
    "\"" + HASH + "\"",
    "\"" + HASH.toUpperCase() + "\"",
    "\"10.0.0.1\"",
    "\"::1\"",
    "\"300.1.1.1\"",
    "\"gpt-4o-mini\"",
    "\"req-1:a.b_c\"",
    "\"a b\"",
    "\"0.25\"",
    "\"-1\"",
    "\"0.0000001\"",
    "0.25",
    "12",
    "null",
    "true",
    "\"\"",
    "{}",
    "[\"x\"]",
    "\"\\u0041\\n\\\"q\\\"\"",
    "\"" + "x".repeat(300) + "\"",
    "\"caf\u00e9 \u65e5\u672c\"",
    "\"gpt\\udbe5\"",
    "\"\\ud83d\\udd11 pair\"",
  };

  @Test
  void aLoneSurrogateIsA400NamingItsFieldByEitherReading() {
    String body = "{\"key\":\"" + KEY + "\",\"model\":\"gpt\\udbe5\"}";
    assertThat(viaBytes(body))
        .isEqualTo(viaTree(body))
        .isEqualTo("400:model: " + io.keywarden.contracts.Unicode.PROBLEM);
  }

  @Test
  void everyBodyGetsTheTreeReadingsAnswer() {
    Random rnd = new Random(42);
    List<String> bodies = new ArrayList<>();
    bodies.addAll(
        List.of(
            "",
            " ",
            "{",
            "{}",
            "[]",
            "[1,2]",
            "null",
            "\"key\"",
            "{\"key\":\"" + KEY + "\"} trailing",
            "{\"key\":\"" + KEY + "\"} {}",
            "{\"key\":\"" + KEY + "\",}",
            "{\"key\":\"" + KEY + "\",\"key\":\"" + KEY + "\"}",
            "{\"key\":\"" + KEY + "\",\"key\":null}",
            "{\"key\":null,\"keyHash\":\"" + HASH + "\"}",
            " {\n\t\"key\" : \"" + KEY + "\" } \n",
            "{\"key\":\""
                + KEY
                + "\",\"clientIp\":\"10.0.0.1\",\"model\":\"gpt-4o-mini\","
                + "\"requestId\":\"r-1\",\"estimatedCostUsd\":\"0.01\",\"userAgent\":\"curl/8\"}"));
    for (int i = 0; i < 20_000; i++) {
      StringBuilder b = new StringBuilder("{");
      int n = rnd.nextInt(6);
      for (int f = 0; f < n; f++) {
        if (f > 0) {
          b.append(',');
        }
        // mostly the known fields; sometimes an unknown or repeated one
        String name = FIELDS[rnd.nextInt(rnd.nextInt(10) == 0 ? FIELDS.length : 7)];
        b.append('"').append(name).append("\":").append(VALUES[rnd.nextInt(VALUES.length)]);
      }
      bodies.add(b.append('}').toString());
    }
    int fast = 0;
    for (String body : bodies) {
      assertThat(viaBytes(body)).as(body).isEqualTo(viaTree(body));
      try {
        if (AuthorizeRequest.flat(MAPPER.getFactory(), body.getBytes(StandardCharsets.UTF_8))
            != null) {
          fast++;
        }
      } catch (Problem.BadInput e) {
        fast++; // judged by the streaming reading: a bad value in the common shape
      }
    }
    assertThat(fast).as("bodies read by the streaming reading").isGreaterThan(bodies.size() / 4);
  }

  @Test
  void theCommonShapesAreReadWithoutATree() {
    for (String body :
        List.of(
            "{\"key\":\"" + KEY + "\"}",
            "{\"keyHash\":\"" + HASH + "\",\"clientIp\":\"::1\",\"model\":null}",
            "{\"key\":\""
                + KEY
                + "\",\"clientIp\":\"10.0.0.1\",\"model\":\"m\",\"requestId\":\"r\","
                + "\"estimatedCostUsd\":\"0.01\",\"userAgent\":\"ua\"}")) {
      Authorizer.Ask ask =
          AuthorizeRequest.flat(MAPPER.getFactory(), body.getBytes(StandardCharsets.UTF_8));
      assertThat(ask).as(body).isNotNull();
      assertThat("ok:" + ask).isEqualTo(viaTree(body));
    }
    Authorizer.Ask full =
        AuthorizeRequest.flat(
            MAPPER.getFactory(),
            ("{\"key\":\""
                    + KEY
                    + "\",\"clientIp\":\"10.0.0.1\",\"model\":\"m\",\"requestId\":\"r\","
                    + "\"estimatedCostUsd\":\"0.01\",\"userAgent\":\"ua\"}")
                .getBytes(StandardCharsets.UTF_8));
    assertThat(full).isEqualTo(new Authorizer.Ask(KEY, null, "10.0.0.1", "m", "r", 10_000, "ua"));
  }
}
