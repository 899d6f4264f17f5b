package io.keywarden.audit.it;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.stack.testing.Tokens;
import io.restassured.specification.RequestSpecification;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.config.ConfigProvider;

/** Calls to audit-service as the demo users. */
final class Api {
  private Api() {}

  static String token(String user) {
    return Tokens.password(ConfigProvider.getConfig().getValue("kw.oidc.url", String.class), user);
  }

  static String account(String user) {
    return Tokens.subject(token(user));
  }

  static RequestSpecification as(String user) {
    return given().auth().oauth2(token(user));
  }

  static List<Map<String, Object>> findings(String user, String query) {
    return as(user)
        .get("/api/audit/findings" + query)
        .then()
        .statusCode(200)
        .extract()
        .jsonPath()
        .getList("$");
  }

  /** The alert delivery log as {@code user} sees it. */
  static List<Map<String, Object>> deliveries(String user) {
    return as(user)
        .get("/api/audit/deliveries")
        .then()
        .statusCode(200)
        .extract()
        .jsonPath()
        .getList("$");
  }

  /** Sends a key's created event and waits until audit-service holds it. */
  static KeySnapshot created(KeySnapshot k) {
    Events.sendKey(KeyEventType.CREATED, k);
    awaitVersion(k);
    return k;
  }

  static void awaitVersion(KeySnapshot k) {
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              List<Map<String, Object>> keys =
                  as("carol")
                      .get("/api/audit/keys?account=" + k.account())
                      .then()
                      .extract()
                      .jsonPath()
                      .getList("$");
              return keys.stream()
                  .anyMatch(
                      m ->
                          k.keyId().equals(m.get("id"))
                              && ((Number) m.get("version")).longValue() >= k.version());
            });
  }

  static void sweep() {
    as("carol").post("/api/audit/sweep").then().statusCode(200);
  }
}
