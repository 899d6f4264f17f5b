package io.keywarden.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The services accept only access tokens meant for them: audience {@value #AUDIENCE} ({@code
 * quarkus.oidc.token.audience}). The realm file gives each of its clients an audience mapper for
 * it; Keycloak imports a realm only once, so a local stack whose realm was imported before the
 * mapper existed gets it here, through the admin API, on start. A no-op (one token, one read per
 * client) once every client has it.
 */
final class KeycloakAudience {
  static final String AUDIENCE = "keywarden-api";
  static final String MAPPER_NAME = "keywarden-api audience";
  static final List<String> CLIENTS =
      List.of("keywarden-cli", "keywarden-gateway", "keywarden-audit");

  private static final ObjectMapper JSON = new ObjectMapper();

  private KeycloakAudience() {}

  /** Adds the audience mapper to every client of the realm that lacks it; the clients changed. */
  static List<String> ensure(String keycloakUrl, String realm) throws IOException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    String token = adminToken(http, keycloakUrl);
    List<String> changed = new ArrayList<>();
    for (String clientId : CLIENTS) {
      JsonNode clients =
          send(
              http,
              get(
                  keycloakUrl
                      + "/admin/realms/"
                      + realm
                      + "/clients?clientId="
                      + URLEncoder.encode(clientId, StandardCharsets.UTF_8),
                  token));
      if (!clients.isArray() || clients.isEmpty()) {
        continue; // not in this realm: nothing to give the mapper to
      }
      JsonNode client = clients.get(0);
      if (hasMapper(client)) {
        continue;
      }
      String url =
          keycloakUrl
              + "/admin/realms/"
              + realm
              + "/clients/"
              + client.path("id").asText()
              + "/protocol-mappers/models";
      HttpRequest add =
          HttpRequest.newBuilder(URI.create(url))
              .timeout(Duration.ofSeconds(10))
              .header("Authorization", "Bearer " + token)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(mapper().toString()))
              .build();
      HttpResponse<String> r = call(http, add);
      if (r.statusCode() / 100 != 2 && r.statusCode() != 409) {
        throw new IOException(
            "Keycloak refused the audience mapper for " + clientId + ": HTTP " + r.statusCode());
      }
      changed.add(clientId);
    }
    return changed;
  }

  static boolean hasMapper(JsonNode client) {
    for (JsonNode m : client.path("protocolMappers")) {
      if ("oidc-audience-mapper".equals(m.path("protocolMapper").asText())
          && AUDIENCE.equals(m.path("config").path("included.custom.audience").asText())) {
        return true;
      }
    }
    return false;
  }

  /** The mapper as the realm file has it. */
  static ObjectNode mapper() {
    ObjectNode m = JSON.createObjectNode();
    m.put("name", MAPPER_NAME);
    m.put("protocol", "openid-connect");
    m.put("protocolMapper", "oidc-audience-mapper");
    m.put("consentRequired", false);
    ObjectNode config = m.putObject("config");
    config.put("included.custom.audience", AUDIENCE);
    config.put("access.token.claim", "true");
    config.put("id.token.claim", "false");
    config.put("introspection.token.claim", "true");
    return m;
  }

  static String adminToken(HttpClient http, String keycloakUrl) throws IOException {
    String form = "grant_type=password&client_id=admin-cli&username=admin&password=admin";
    HttpRequest r =
        HttpRequest.newBuilder(
                URI.create(keycloakUrl + "/realms/master/protocol/openid-connect/token"))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build();
    JsonNode body = send(http, r);
    String token = body.path("access_token").asText(null);
    if (token == null) {
      throw new IOException("no Keycloak admin token");
    }
    return token;
  }

  private static HttpRequest get(String url, String token) {
    return HttpRequest.newBuilder(URI.create(url))
        .timeout(Duration.ofSeconds(10))
        .header("Authorization", "Bearer " + token)
        .GET()
        .build();
  }

  static JsonNode send(HttpClient http, HttpRequest r) throws IOException {
    HttpResponse<String> res = call(http, r);
    if (res.statusCode() != 200) {
      throw new IOException("Keycloak " + r.uri().getPath() + ": HTTP " + res.statusCode());
    }
    return JSON.readTree(res.body());
  }

  static HttpResponse<String> call(HttpClient http, HttpRequest r) throws IOException {
    try {
      return http.send(r, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
