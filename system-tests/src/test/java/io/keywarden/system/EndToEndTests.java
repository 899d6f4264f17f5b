package io.keywarden.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.testing.Tokens;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The thinnest real slice, end to end: the real PostgreSQL, Kafka and Keycloak of the local stack
 * and the three packaged services as separate processes, exactly as the run command starts them.
 */
class EndToEndTests {
  static final ObjectMapper JSON = SystemStack.JSON;
  static LocalStack stack;
  static int keyPort;
  static int usagePort;
  static int auditPort;

  @BeforeAll
  static void startEverything() {
    stack = SystemStack.get();
    keyPort = SystemStack.keyPort();
    usagePort = SystemStack.usagePort();
    auditPort = SystemStack.auditPort();
  }

  static HttpResponse<String> call(String method, String url, String bearer, String body)
      throws Exception {
    return SystemStack.call(method, url, bearer, body);
  }

  @Test
  void createUseRevokeAndAuditAKeyAcrossAllThreeServices() throws Exception {
    String alice = Tokens.password(stack.issuer(), "alice");
    String bob = Tokens.password(stack.issuer(), "bob");
    String carol = Tokens.password(stack.issuer(), "carol");

    HttpResponse<String> created =
        call(
            "POST",
            "http://localhost:" + keyPort + "/api/keys",
            alice,
            "{\"name\":\"e2e laptop\",\"group\":\"default\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode key = JSON.readTree(created.body());
    String id = key.get("id").asText();
    String secret = key.get("secret").asText();
    assertThat(created.headers().firstValue("Location"))
        .hasValueSatisfying(l -> assertThat(l).endsWith("/api/keys/" + id));
    assertThat(secret).startsWith("sk-kw-");
    for (String field : List.of("id", "name", "group", "status", "createdAt", "secret")) {
      assertThat(key.has(field)).as(field).isTrue();
    }

    // the key works on the OpenAI-compatible endpoint once usage-service has the event
    String models = "http://localhost:" + usagePort + "/v1/models";
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> call("GET", models, secret, null).statusCode() == 200);
    JsonNode list = JSON.readTree(call("GET", models, secret, null).body());
    assertThat(list.get("object").asText()).isEqualTo("list");
    List<String> ids =
        StreamSupport.stream(list.get("data").spliterator(), false)
            .map(m -> m.get("id").asText())
            .toList();
    assertThat(ids).contains("gpt-5.5", "claude-sonnet-4-6");
    assertThat(list.get("data").get(0).get("object").asText()).isEqualTo("model");
    assertThat(list.get("data").get(0).has("owned_by")).isTrue();

    // bob cannot see or touch alice's key
    assertThat(
            call("GET", "http://localhost:" + keyPort + "/api/keys/" + id, bob, null).statusCode())
        .isEqualTo(404);
    assertThat(
            call("DELETE", "http://localhost:" + keyPort + "/api/keys/" + id, bob, null)
                .statusCode())
        .isEqualTo(404);

    // missing, malformed and unknown keys get OpenAI's 401, never echoing the key
    for (String bad :
        List.of(
            "",
            "garbage",
            secret.substring(0, secret.length() - 1) + (secret.endsWith("A") ? "B" : "A"))) {
      HttpResponse<String> r = call("GET", models, bad.isEmpty() ? null : bad, null);
      assertThat(r.statusCode()).isEqualTo(401);
      JsonNode err = JSON.readTree(r.body()).get("error");
      assertThat(err.get("code").asText()).isEqualTo("invalid_api_key");
      assertThat(err.get("message").asText()).isNotBlank();
      assertThat(r.body()).doesNotContain(secret.substring(6, 20));
    }

    // revoke: denied within 2 s
    assertThat(
            call("DELETE", "http://localhost:" + keyPort + "/api/keys/" + id, alice, null)
                .statusCode())
        .isEqualTo(200);
    long revokedAt = System.nanoTime();
    await()
        .atMost(Duration.ofSeconds(2))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> call("GET", models, secret, null).statusCode() == 401);
    System.out.printf("revoke -> denied in %d ms%n", (System.nanoTime() - revokedAt) / 1_000_000);
    JsonNode denied = JSON.readTree(call("GET", models, secret, null).body());
    assertThat(denied.get("error").get("code").asText()).isEqualTo("invalid_api_key");

    // audit-service knows the key as revoked
    await()
        .atMost(Duration.ofSeconds(15))
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .untilAsserted(
            () -> {
              HttpResponse<String> r =
                  call("GET", "http://localhost:" + auditPort + "/api/audit/keys", carol, null);
              assertThat(r.statusCode()).isEqualTo(200);
              JsonNode body = JSON.readTree(r.body());
              JsonNode items = body.isArray() ? body : body.get("items");
              JsonNode row =
                  StreamSupport.stream(items.spliterator(), false)
                      .filter(n -> id.equals(n.get("id").asText()))
                      .findFirst()
                      .orElseThrow();
              assertThat(row.get("status").asText()).isEqualTo("revoked");
              assertThat(row.get("name").asText()).isEqualTo("e2e laptop");
              assertThat(row.get("account").asText()).isEqualTo(Tokens.subject(alice));
              assertThat(row.has("createdAt")).isTrue();
            });
    assertThat(
            call("GET", "http://localhost:" + auditPort + "/api/audit/keys", alice, null)
                .statusCode())
        .isEqualTo(403);

    // the secret reached no log line of any service
    for (ServiceProcess s : stack.services()) {
      assertThat(readLog(s.logFile())).as(s.name() + " log").doesNotContain(secret).isNotEmpty();
    }
  }

  /**
   * A key created three days before its expiry is flagged EXPIRING by audit-service from its
   * created event alone (no sweep), through key-service's outbox and Kafka.
   */
  @Test
  void aKeyExpiringInThreeDaysIsFlaggedByAuditService() throws Exception {
    String alice = Tokens.password(stack.issuer(), "alice");
    HttpResponse<String> created =
        call(
            "POST",
            "http://localhost:" + keyPort + "/api/keys",
            alice,
            "{\"name\":\"e2e expiring\",\"group\":\"default\",\"expiresIn\":\"P3D\"}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String id = JSON.readTree(created.body()).get("id").asText();
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .untilAsserted(
              () -> {
                HttpResponse<String> r =
                    call(
                        "GET",
                        "http://localhost:" + auditPort + "/api/audit/findings?key=" + id,
                        alice,
                        null);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                JsonNode body = JSON.readTree(r.body());
                JsonNode items = body.isArray() ? body : body.get("items");
                assertThat(
                        StreamSupport.stream(items.spliterator(), false)
                            .map(n -> n.get("type").asText() + ":" + n.get("status").asText()))
                    .as(r.body())
                    .contains("EXPIRING:open");
              });
    } finally {
      call("DELETE", "http://localhost:" + keyPort + "/api/keys/" + id, alice, null);
    }
  }

  static String readLog(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p) : "";
  }
}
