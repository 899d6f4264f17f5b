package io.keywarden.key.it;

import static io.restassured.RestAssured.given;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.restassured.specification.RequestSpecification;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * The local Keycloak's admin REST API (bootstrap admin {@code admin}/{@code admin}), for tests that
 * need tokens the demo realm does not issue: another realm, a client with a very short access token
 * lifespan.
 */
final class KeycloakAdmin {
  private static final ObjectMapper JSON = new ObjectMapper();

  private KeycloakAdmin() {}

  static String url() {
    return KeywardenStackResource.stack().keycloakUrl();
  }

  private static RequestSpecification admin() {
    String token =
        given()
            .baseUri(url())
            .formParam("grant_type", "password")
            .formParam("client_id", "admin-cli")
            .formParam("username", "admin")
            .formParam("password", "admin")
            .post("/realms/master/protocol/openid-connect/token")
            .then()
            .statusCode(200)
            .extract()
            .path("access_token");
    return given().baseUri(url()).auth().oauth2(token).contentType("application/json");
  }

  /**
   * A public client with direct access grants whose access tokens live {@code seconds}; with {@code
   * keywardenAudience} its tokens carry the services' audience as the realm's own clients' do.
   */
  static void createShortLivedClient(
      String realm, String clientId, int seconds, boolean keywardenAudience) {
    Map<String, Object> client = new java.util.HashMap<>();
    client.put("clientId", clientId);
    client.put("enabled", true);
    client.put("publicClient", true);
    client.put("standardFlowEnabled", false);
    client.put("directAccessGrantsEnabled", true);
    client.put("attributes", Map.of("access.token.lifespan", String.valueOf(seconds)));
    if (keywardenAudience) {
      client.put(
          "protocolMappers",
          List.of(
              Map.of(
                  "name", "keywarden-api audience",
                  "protocol", "openid-connect",
                  "protocolMapper", "oidc-audience-mapper",
                  "config",
                      Map.of(
                          "included.custom.audience", "keywarden-api",
                          "access.token.claim", "true"))));
    }
    admin().body(client).post("/admin/realms/" + realm + "/clients").then().statusCode(201);
  }

  static void deleteClient(String realm, String clientId) {
    List<String> ids =
        admin()
            .queryParam("clientId", clientId)
            .get("/admin/realms/" + realm + "/clients")
            .then()
            .statusCode(200)
            .extract()
            .path("id");
    for (String id : ids) {
      admin().delete("/admin/realms/" + realm + "/clients/" + id).then().statusCode(204);
    }
  }

  /** A copy of the demo realm (same users, passwords, roles, clients) under another name. */
  static void importDemoRealmAs(String realm) {
    try (InputStream in =
        KeycloakAdmin.class.getResourceAsStream("/keycloak/keywarden-realm.json")) {
      if (in == null) {
        throw new IllegalStateException("demo realm file missing from the class path");
      }
      ObjectNode rep = (ObjectNode) JSON.readTree(in);
      rep.put("realm", realm);
      admin().body(JSON.writeValueAsString(rep)).post("/admin/realms").then().statusCode(201);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteRealm(String realm) {
    admin().delete("/admin/realms/" + realm).then().statusCode(204);
  }

  static String issuer(String realm) {
    return url() + "/realms/" + realm;
  }
}
