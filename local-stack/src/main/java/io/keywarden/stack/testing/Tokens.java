package io.keywarden.stack.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Access tokens from the local Keycloak for tests and scripts. Tokens are cached until a minute
 * before they expire (the realm issues them for 900 s), so a test suite asks Keycloak once per
 * user.
 */
public final class Tokens {
  /** Public client with direct access grants; demo users' passwords equal their names. */
  public static final String CLI_CLIENT = "keywarden-cli";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Map<String, CachedToken> CACHE = new ConcurrentHashMap<>();

  private record CachedToken(String accessToken, long expiresAtMillis) {}

  private Tokens() {}

  /** Password grant for a demo user (password = user name) with client {@code keywarden-cli}. */
  public static String password(String issuer, String user) {
    return password(issuer, user, user);
  }

  /** Password grant with an explicit password; a refused login throws {@link TokenRefused}. */
  public static String password(String issuer, String user, String password) {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "password");
    form.put("client_id", CLI_CLIENT);
    form.put("username", user);
    form.put("password", password);
    form.put("scope", "openid");
    return cached(issuer + "|password|" + user + "|" + password, issuer, form);
  }

  /** Client-credentials grant for a confidential client (e.g. keywarden-gateway). */
  public static String clientCredentials(String issuer, String clientId, String secret) {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("grant_type", "client_credentials");
    form.put("client_id", clientId);
    form.put("client_secret", secret);
    return cached(issuer + "|client|" + clientId + "|" + secret, issuer, form);
  }

  /** The {@code sub} claim of a JWT (its account id in Keywarden), without verifying it. */
  public static String subject(String token) {
    return claims(token).path("sub").asText(null);
  }

  /** The payload of a JWT as JSON, without verifying the signature. */
  public static JsonNode claims(String token) {
    String[] parts = token.split("\\.");
    if (parts.length < 2) {
      throw new IllegalArgumentException("not a JWT");
    }
    try {
      return JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException("not a JWT payload", e);
    }
  }

  /** Forgets cached tokens (e.g. after the stack restarted). */
  public static void clearCache() {
    CACHE.clear();
  }

  private static String cached(String key, String issuer, Map<String, String> form) {
    CachedToken token = CACHE.get(key);
    if (token != null && token.expiresAtMillis() > System.currentTimeMillis()) {
      return token.accessToken();
    }
    CachedToken fresh = request(issuer, form);
    CACHE.put(key, fresh);
    return fresh.accessToken();
  }

  private static CachedToken request(String issuer, Map<String, String> form) {
    String body =
        form.entrySet().stream()
            .map(
                e ->
                    URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                        + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
            .collect(Collectors.joining("&"));
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(issuer + "/protocol/openid-connect/token"))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    try {
      HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new TokenRefused(response.statusCode(), response.body());
      }
      JsonNode json = JSON.readTree(response.body());
      long lifetimeSeconds = json.path("expires_in").asLong(900);
      // Refresh a minute early so a token never expires in the middle of a test.
      long expiresAt = System.currentTimeMillis() + Math.max(0, lifetimeSeconds - 60) * 1000;
      return new CachedToken(json.path("access_token").asText(), expiresAt);
    } catch (IOException e) {
      throw new IllegalStateException("token request to " + issuer + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while getting a token", e);
    }
  }

  /** Keycloak answered the token request with an error (wrong password, unknown client...). */
  public static final class TokenRefused extends RuntimeException {
    private final int status;

    TokenRefused(int status, String body) {
      super("token request refused: HTTP " + status + " " + body);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }
}
