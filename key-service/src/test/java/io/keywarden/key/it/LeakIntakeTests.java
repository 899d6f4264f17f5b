package io.keywarden.key.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** S7: GitHub secret-scanning reports through the real endpoint, database and Kafka. */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class LeakIntakeTests {
  static final String TYPE = "keywarden_api_key";

  /** As GitHub sends it: the blob URL carries the full commit SHA and the file path. */
  static String entry(String token) {
    return "{\"token\":\""
        + token
        + "\",\"type\":\""
        + TYPE
        + "\",\"url\":\"https://github.com/octo-org/octo-repo/blob/"
        + "3f786850e387550fdab836ed7e6dc881de23001b/services/api/config/.env.production\","
        + "\"source\":\"content\"}";
  }

  static byte[] body(List<String> tokens) {
    return tokens.stream()
        .map(LeakIntakeTests::entry)
        .collect(Collectors.joining(",", "[", "]"))
        .getBytes(StandardCharsets.UTF_8);
  }

  static Response post(byte[] body, String keyId, String signature) {
    var spec = given().contentType("application/json").body(body);
    if (keyId != null) {
      spec = spec.header("Github-Public-Key-Identifier", keyId);
    }
    if (signature != null) {
      spec = spec.header("Github-Public-Key-Signature", signature);
    }
    return spec.post("/api/leaks/github");
  }

  static Response postSigned(byte[] body) {
    return post(body, GithubKeyServerResource.KEY_ID, GithubKeyServerResource.sign(body));
  }

  static String status(String user, String id) {
    return Stack.as(user).get("/api/keys/" + id).then().statusCode(200).extract().path("status");
  }

  /** Leaked events of a key on the topic, read from the beginning. */
  static long leakedEvents(String id) {
    return Stack.records(Topics.KEY_EVENTS, rs -> false, Duration.ofSeconds(3)).stream()
        .filter(r -> id.equals(r.key()))
        .map(ConsumerRecord::value)
        .map(EventCodec::decode)
        .filter(e -> e.type().equals("keywarden.key.leaked"))
        .count();
  }

  @Test
  void signedReportMarksOurKeysLeakedOnceAndAnswersFeedbackEvenOnReplay() {
    Response gen = Kw.createNamed("alice", "gh-generated");
    String genId = gen.path("id");
    String genSecret = gen.path("secret");
    String custom = Kw.customKey();
    String customId =
        Kw.create(
                "bob",
                "{\"name\":\""
                    + Kw.uniqueName("gh-custom")
                    + "\",\"group\":\"default\",\"customKey\":\""
                    + custom
                    + "\"}")
            .then()
            .statusCode(201)
            .extract()
            .path("id");
    String unknown = KeyFormat.generate("sk-kw-"); // our format, valid checksum, not stored
    String foreign = "ghp_" + "x".repeat(10); // not plausible at all
    byte[] body = body(List.of(genSecret, custom, unknown, foreign));

    Response r = postSigned(body);
    r.then().statusCode(201);
    List<Map<String, String>> feedback = r.jsonPath().getList("$");
    assertThat(feedback)
        .containsExactlyInAnyOrder(
            Map.of(
                "token_hash",
                KeyFormat.sha256Hex(genSecret),
                "token_type",
                TYPE,
                "label",
                "true_positive"),
            Map.of(
                "token_hash",
                KeyFormat.sha256Hex(custom),
                "token_type",
                TYPE,
                "label",
                "true_positive"),
            Map.of(
                "token_hash",
                KeyFormat.sha256Hex(unknown),
                "token_type",
                TYPE,
                "label",
                "false_positive"),
            Map.of(
                "token_hash",
                KeyFormat.sha256Hex(foreign),
                "token_type",
                TYPE,
                "label",
                "false_positive"));
    assertThat(r.asString()).doesNotContain(genSecret).doesNotContain(custom);

    assertThat(status("alice", genId)).isEqualTo("leaked");
    assertThat(status("bob", customId)).isEqualTo("leaked");
    assertThat(Stack.keyEvents(genId, 2))
        .extracting(CloudEvent::type)
        .containsExactly("keywarden.key.created", "keywarden.key.leaked");
    assertThat(Stack.keyEvents(customId, 2))
        .extracting(CloudEvent::type)
        .containsExactly("keywarden.key.created", "keywarden.key.leaked");

    // GitHub retries: the same signed body again changes nothing and publishes nothing
    postSigned(body).then().statusCode(201).body("size()", equalTo(4));
    assertThat(leakedEvents(genId)).isEqualTo(1);
    assertThat(leakedEvents(customId)).isEqualTo(1);
    assertThat(status("alice", genId)).isEqualTo("leaked");
  }

  @Test
  void badSignaturesAre401ProblemsAndChangeNothing() {
    Response gen = Kw.createNamed("alice", "gh-bad");
    String id = gen.path("id");
    String secret = gen.path("secret");
    byte[] body = body(List.of(secret));
    String good = GithubKeyServerResource.sign(body);

    byte[] tampered = body.clone();
    int at = new String(body, StandardCharsets.UTF_8).indexOf("octo");
    tampered[at] = (byte) 'O';
    byte[] der = Base64.getDecoder().decode(good);
    der[der.length - 1] ^= 1;
    String flipped = Base64.getEncoder().encodeToString(der);

    List<Response> refused = new ArrayList<>();
    refused.add(post(tampered, GithubKeyServerResource.KEY_ID, good)); // body changed
    refused.add(post(body, GithubKeyServerResource.KEY_ID, flipped)); // signature changed
    refused.add(post(body, "no-such-key-id", good)); // unknown key id
    refused.add(post(body, GithubKeyServerResource.KEY_ID, "%%%not base64%%%"));
    refused.add(post(body, GithubKeyServerResource.KEY_ID, null)); // no signature header
    refused.add(post(body, null, good)); // no key id header
    refused.add(post(body, null, null));
    refused.add(post(body, GithubKeyServerResource.KEY_ID, ""));
    for (Response r : refused) {
      r.then().statusCode(401).contentType("application/problem+json");
      assertThat(r.asString()).doesNotContain(secret);
    }
    assertThat(status("alice", id)).isEqualTo("active");
    assertThat(leakedEvents(id)).isZero();
  }

  @Test
  void aTenThousandTokenBatchIsAnsweredWithinSeconds() {
    Response gen = Kw.createNamed("alice", "gh-batch");
    String id = gen.path("id");
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < 9_999; i++) {
      // every one is plausible (valid checksum) so each costs a lookup
      tokens.add(KeyFormat.generate("sk-kw-"));
    }
    tokens.add(5_000, gen.path("secret"));
    byte[] body = body(tokens);
    long t0 = System.nanoTime();
    Response r = postSigned(body);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf(
        "S7 GitHub batch of %d tokens (%d bytes): %d ms%n", tokens.size(), body.length, ms);
    r.then().statusCode(201);
    List<String> labels = r.jsonPath().getList("label");
    assertThat(labels).hasSize(10_000);
    assertThat(labels.stream().filter("true_positive"::equals).count()).isEqualTo(1);
    assertThat(ms).isLessThan(5_000);
    assertThat(status("alice", id)).isEqualTo("leaked");
  }

  @Test
  void theOldSecretOfARotatedKeyStillInItsOverlapIsOursAndLeaksTheKey() {
    Response c = Kw.createNamed("alice", "gh-rotated");
    String id = c.path("id");
    String old = c.path("secret");
    Stack.as("alice")
        .body("{\"overlap\":\"PT1H\"}")
        .post("/api/keys/" + id + "/rotate")
        .then()
        .statusCode(200);
    Response r = postSigned(body(List.of(old)));
    r.then().statusCode(201).body("[0].label", equalTo("true_positive"));
    assertThat(status("alice", id)).isEqualTo("leaked");
    assertThat(Stack.keyEvents(id, 3))
        .extracting(CloudEvent::type)
        .containsExactly("keywarden.key.created", "keywarden.key.rotated", "keywarden.key.leaked");
  }
}
