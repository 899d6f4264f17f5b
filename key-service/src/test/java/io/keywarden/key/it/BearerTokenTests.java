package io.keywarden.key.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.keywarden.key.it.SecurityTests.Call;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import io.keywarden.support.security.VerifiedTokenCache;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * S2 (RELIABILITY.md): bearer tokens that are well formed but must not be trusted, on every
 * key-service endpoint: expired (also after the same token was verified and cached), {@code
 * alg:none}, signed by a key that is not the realm's (same kid, same claims), a payload changed
 * under its original signature, and tokens of another realm of the same Keycloak. Each is a 401
 * problem and changes nothing.
 *
 * <p>Audience: key-service accepts only access tokens whose {@code aud} holds {@code keywarden-api}
 * ({@code quarkus.oidc.token.audience}); the realm's clients add it. A token another client of the
 * same realm obtained for the same user, without that audience, is refused.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class BearerTokenTests {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder B64D = Base64.getUrlDecoder();

  @Inject VerifiedTokenCache tokenCache;

  /**
   * A bad token to try as a user (key endpoints, the groups list) and one to try as an admin (admin
   * endpoints, key create).
   */
  record Bad(String what, String asUser, String asAdmin) {}

  @Test
  void expiredTokensAre401EvenAfterTheyWereVerifiedAndCached() {
    String client = "kw-short-" + UUID.randomUUID().toString().substring(0, 8);
    int lifespan = 8;
    KeycloakAdmin.createShortLivedClient("keywarden", client, lifespan, true);
    try {
      String alice = passwordGrant(Stack.issuer(), client, "alice");
      String carol = passwordGrant(Stack.issuer(), client, "carol");
      JsonNode claims = Tokens.claims(alice);
      assertThat(claims.path("azp").asText()).isEqualTo(client);
      assertThat(claims.path("exp").asLong() - claims.path("iat").asLong()).isEqualTo(lifespan);
      long expiresAtMillis =
          Math.max(claims.path("exp").asLong(), Tokens.claims(carol).path("exp").asLong()) * 1000;

      // valid until exp: verified once by quarkus-oidc, then answered from the token cache
      String id = aliceKey();
      long hitsBefore = tokenCache.hits();
      for (int i = 0; i < 2; i++) {
        given().auth().oauth2(alice).get("/api/keys/" + id).then().statusCode(200);
        given().auth().oauth2(carol).get("/api/admin/policy").then().statusCode(200);
      }
      assertThat(System.currentTimeMillis())
          .as("the machine was too slow to use the tokens before they expired")
          .isLessThan(expiresAtMillis);
      assertThat(tokenCache.hits() - hitsBefore).isGreaterThanOrEqualTo(2);

      Awaitility.await()
          .atMost(Duration.ofSeconds(lifespan + 20))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> System.currentTimeMillis() >= expiresAtMillis + 100);
      assertAllRefusedAndNothingChanged(List.of(new Bad("expired", alice, carol)), id);
    } finally {
      KeycloakAdmin.deleteClient("keywarden", client);
    }
  }

  @Test
  void tokensMeantForAnotherClientOfTheRealmAre401() {
    assertThat(Tokens.claims(Tokens.password(Stack.issuer(), "alice")).path("aud").toString())
        .as("the realm's own clients put the services' audience into their tokens")
        .contains("keywarden-api");
    String client = "kw-other-app-" + UUID.randomUUID().toString().substring(0, 8);
    KeycloakAdmin.createShortLivedClient("keywarden", client, 300, false);
    try {
      String alice = passwordGrant(Stack.issuer(), client, "alice");
      String carol = passwordGrant(Stack.issuer(), client, "carol");
      assertThat(Tokens.claims(alice).path("azp").asText()).isEqualTo(client);
      assertThat(Tokens.claims(alice).path("aud").toString()).doesNotContain("keywarden-api");
      assertAllRefusedAndNothingChanged(
          List.of(new Bad("wrong audience", alice, carol)), aliceKey());
    } finally {
      KeycloakAdmin.deleteClient("keywarden", client);
    }
  }

  @Test
  void unsignedForgedTamperedAndOtherRealmTokensAre401() throws Exception {
    String alice = Tokens.password(Stack.issuer(), "alice");
    String carol = Tokens.password(Stack.issuer(), "carol");
    String id = aliceKey();
    // the originals are good (and now in the token cache): every refusal below is the change's
    given().auth().oauth2(alice).get("/api/keys/" + id).then().statusCode(200);
    given().auth().oauth2(carol).get("/api/admin/policy").then().statusCode(200);

    PrivateKey ownKey = rsaKey();
    List<Bad> bad = new ArrayList<>();
    bad.add(new Bad("alg:none", algNone(alice), algNone(carol)));
    bad.add(new Bad("own RSA key, same kid", resign(alice, ownKey), resign(carol, ownKey)));
    String aliceAsAdmin = withRealmRole(alice, "admin");
    assertThat(Tokens.claims(aliceAsAdmin).path("realm_access").path("roles").toString())
        .contains("\"admin\"");
    bad.add(new Bad("role admin added, original signature", aliceAsAdmin, aliceAsAdmin));

    String realm = "kw-other-" + UUID.randomUUID().toString().substring(0, 8);
    KeycloakAdmin.importDemoRealmAs(realm);
    try {
      String otherAlice = Tokens.password(KeycloakAdmin.issuer(realm), "alice");
      String otherCarol = Tokens.password(KeycloakAdmin.issuer(realm), "carol");
      assertThat(Tokens.claims(otherCarol).path("iss").asText())
          .isEqualTo(KeycloakAdmin.issuer(realm));
      assertThat(Tokens.claims(otherCarol).path("realm_access").path("roles").toString())
          .contains("\"admin\"");
      bad.add(new Bad("other realm", otherAlice, otherCarol));
      assertAllRefusedAndNothingChanged(bad, id);
    } finally {
      KeycloakAdmin.deleteRealm(realm);
    }
    // the real tokens still work: the refusals did not disturb them
    given().auth().oauth2(alice).get("/api/keys/" + id).then().statusCode(200);
  }

  // ---------------------------------------------------------------- checks

  /**
   * Sends every key-service call with each bad token: the user's token on the key endpoints and the
   * groups list, the admin's on the admin endpoints. Each must be a 401 problem; no key, group,
   * policy or event may have been written.
   */
  private static void assertAllRefusedAndNothingChanged(List<Bad> bad, String aliceKeyId) {
    Map<String, String> before = databaseState();
    String marker = "s2-" + UUID.randomUUID().toString().substring(0, 8);
    int requests = 0;
    for (Bad b : bad) {
      List<Call> userCalls = new ArrayList<>(SecurityTests.keyCalls(aliceKeyId));
      userCalls.add(
          new Call("POST", "/api/keys", "{\"name\":\"" + marker + "\",\"group\":\"default\"}"));
      userCalls.add(new Call("GET", "/api/groups", null));
      List<Call> adminCalls = new ArrayList<>(SecurityTests.adminCalls(aliceKeyId));
      adminCalls.add(
          new Call(
              "POST",
              "/api/admin/groups",
              "{\"name\":\""
                  + marker
                  + "\",\"description\":\"x\",\"enabled\":true,\"models\":[]}"));
      adminCalls.add(
          new Call("POST", "/api/keys", "{\"name\":\"" + marker + "\",\"group\":\"default\"}"));
      for (var e : List.of(Map.entry(b.asUser(), userCalls), Map.entry(b.asAdmin(), adminCalls))) {
        for (Call c : e.getValue()) {
          Response r = SecurityTests.call(given().auth().oauth2(e.getKey()), c);
          assertThat(r.statusCode()).as("%s: %s", b.what(), c).isEqualTo(401);
          assertThat(r.contentType())
              .as("%s: %s", b.what(), c)
              .startsWith("application/problem+json");
          assertThat(r.<Integer>path("status")).as("%s: %s", b.what(), c).isEqualTo(401);
          assertThat(r.<String>path("title")).as("%s: %s", b.what(), c).isEqualTo("Unauthorized");
          assertThat(r.asString()).as("%s: %s", b.what(), c).doesNotContain(e.getKey());
          requests++;
        }
      }
    }
    assertThat(requests).isGreaterThanOrEqualTo(bad.size() * 25);

    // nothing was written: the database, and what the real users see
    assertThat(databaseState()).isEqualTo(before);
    Stack.as("alice")
        .get("/api/keys/" + aliceKeyId)
        .then()
        .statusCode(200)
        .body("status", equalTo("active"));
    Stack.as("alice")
        .get("/api/keys?q=" + marker)
        .then()
        .statusCode(200)
        .body("items", org.hamcrest.Matchers.empty());
    Stack.as("carol")
        .get("/api/keys?q=" + marker)
        .then()
        .statusCode(200)
        .body("items", org.hamcrest.Matchers.empty());
    Stack.as("alice")
        .get("/api/groups")
        .then()
        .statusCode(200)
        .body("name", org.hamcrest.Matchers.hasItem("default"))
        .body("name", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasItem(marker)));
  }

  /** Fingerprints of every table a request could write, and the demo users' live key counts. */
  private static Map<String, String> databaseState() {
    Map<String, String> state = new LinkedHashMap<>();
    Map<String, String> queries = new LinkedHashMap<>();
    queries.put(
        "api_keys",
        "select count(*) || ':' || coalesce(md5(string_agg(id || status || name || group_name"
            + " || key_hash || coalesce(previous_key_hash, '') || version, ',' order by id)), '')"
            + " from api_keys");
    queries.put(
        "key_groups",
        "select count(*) || ':' || coalesce(md5(string_agg(name || enabled || models_json ||"
            + " version, ',' order by name)), '') from key_groups");
    queries.put("key_policy", "select string_agg(p::text, ',') from key_policy p");
    queries.put("outbox", "select count(*) || ':' || coalesce(max(seq), 0) from outbox");
    try (Connection c = Kw.db()) {
      for (var q : queries.entrySet()) {
        try (ResultSet rs = c.createStatement().executeQuery(q.getValue())) {
          rs.next();
          state.put(q.getKey(), rs.getString(1));
        }
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
    state.put("alice live", String.valueOf(Kw.liveKeys(Stack.account("alice"))));
    state.put("carol live", String.valueOf(Kw.liveKeys(Stack.account("carol"))));
    return state;
  }

  /** The other test classes share alice's account and its cap of 100 live keys. */
  @org.junit.jupiter.api.AfterEach
  void revokeWhatThisTestCreated() {
    Kw.sql(
        "update api_keys set status = 'revoked', revoked_at = now() where status = 'active'"
            + " and name like 's2 %'");
  }

  private static String aliceKey() {
    return Kw.createNamed("alice", "s2").then().statusCode(201).extract().path("id");
  }

  // ---------------------------------------------------------------- token surgery

  private static String passwordGrant(String issuer, String clientId, String user) {
    return given()
        .formParam("grant_type", "password")
        .formParam("client_id", clientId)
        .formParam("username", user)
        .formParam("password", user)
        .post(issuer + "/protocol/openid-connect/token")
        .then()
        .statusCode(200)
        .extract()
        .path("access_token");
  }

  /** The token's own claims under {@code {"alg":"none","typ":"JWT"}}, with no signature. */
  static String algNone(String token) {
    String header =
        B64.encodeToString(
            "{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.US_ASCII));
    return header + "." + token.split("\\.")[1] + ".";
  }

  /** The token's own header (kid included) and claims, signed RS256 with {@code key}. */
  static String resign(String token, PrivateKey key) throws GeneralSecurityException {
    String[] parts = token.split("\\.");
    JsonNode header = json(parts[0]);
    assertThat(header.path("alg").asText()).isEqualTo("RS256");
    assertThat(header.path("kid").asText()).isNotBlank();
    String signingInput = parts[0] + "." + parts[1];
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(key);
    s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
    String forged = signingInput + "." + B64.encodeToString(s.sign());
    assertThat(forged).isNotEqualTo(token);
    return forged;
  }

  /** The token with {@code role} added to its realm roles, under its original signature. */
  static String withRealmRole(String token, String role) throws Exception {
    String[] parts = token.split("\\.");
    ObjectNode claims = (ObjectNode) json(parts[1]);
    ArrayNode roles = (ArrayNode) claims.path("realm_access").path("roles");
    assertThat(roles.toString()).doesNotContain("\"" + role + "\"");
    roles.add(role);
    return parts[0] + "." + B64.encodeToString(JSON.writeValueAsBytes(claims)) + "." + parts[2];
  }

  static PrivateKey rsaKey() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair().getPrivate();
  }

  private static JsonNode json(String part) {
    try {
      return JSON.readTree(B64D.decode(part));
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
