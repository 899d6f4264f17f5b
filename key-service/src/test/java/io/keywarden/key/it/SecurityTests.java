package io.keywarden.key.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** S1/S3/S4/S5/S6: roles, property-level authorization, resource limits, the canary secret. */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class SecurityTests {

  record Call(String method, String path, String body) {
    @Override
    public String toString() {
      return method + " " + path;
    }
  }

  static List<Call> adminCalls(String keyId) {
    return List.of(
        new Call("GET", "/api/admin/keys", null),
        new Call("GET", "/api/admin/keys/" + keyId, null),
        new Call("POST", "/api/admin/keys/" + keyId + "/disable", null),
        new Call("POST", "/api/admin/keys/" + keyId + "/enable", null),
        new Call("POST", "/api/admin/keys/" + keyId + "/leaked", null),
        new Call("DELETE", "/api/admin/keys/" + keyId, null),
        new Call("GET", "/api/admin/policy", null),
        new Call("PUT", "/api/admin/policy", "{\"maxLiveKeysPerAccount\":1}"),
        new Call("GET", "/api/admin/groups", null),
        new Call(
            "POST",
            "/api/admin/groups",
            "{\"name\":\"evil\",\"description\":\"x\",\"enabled\":true,\"models\":[]}"),
        new Call("PUT", "/api/admin/groups/default", "{\"enabled\":false}"),
        new Call("DELETE", "/api/admin/groups/default", null));
  }

  static List<Call> keyCalls(String keyId) {
    return List.of(
        new Call("GET", "/api/keys", null),
        new Call("POST", "/api/keys", "{\"name\":\"gw\",\"group\":\"default\"}"),
        new Call("GET", "/api/keys/" + keyId, null),
        new Call("PATCH", "/api/keys/" + keyId, "{\"name\":\"gw\"}"),
        new Call("DELETE", "/api/keys/" + keyId, null),
        new Call("POST", "/api/keys/" + keyId + "/disable", null),
        new Call("POST", "/api/keys/" + keyId + "/enable", null),
        new Call("POST", "/api/keys/" + keyId + "/rotate", null),
        new Call("POST", "/api/keys/" + keyId + "/leaked", null),
        new Call("GET", "/api/keys/" + keyId + "/use?client=codex", null),
        new Call("POST", "/api/keys/" + keyId + "/use?client=codex", "{\"secret\":\"x\"}"));
  }

  static Response call(RequestSpecification spec, Call c) {
    spec = spec.contentType("application/json");
    if (c.body() != null) {
      spec = spec.body(c.body());
    }
    return spec.request(c.method(), c.path());
  }

  @Test
  void usersGet403OnEveryAdminEndpointAndTheGatewayOnKeyCrud() {
    String id = Kw.createNamed("alice", "bfla").then().statusCode(201).extract().path("id");
    String gateway = Kw.gatewayToken();
    for (Call c : adminCalls(id)) {
      Response r = call(Stack.as("alice"), c);
      assertThat(r.statusCode()).as("user on %s", c).isEqualTo(403);
      assertThat(r.contentType()).as("user on %s", c).startsWith("application/problem+json");
      Response g = call(given().auth().oauth2(gateway), c);
      assertThat(g.statusCode()).as("gateway on %s", c).isEqualTo(403);
    }
    for (Call c : keyCalls(id)) {
      Response g = call(given().auth().oauth2(gateway), c);
      assertThat(g.statusCode()).as("gateway on %s", c).isEqualTo(403);
      assertThat(g.contentType()).as("gateway on %s", c).startsWith("application/problem+json");
    }
    Response g = call(given().auth().oauth2(gateway), new Call("GET", "/api/groups", null));
    assertThat(g.statusCode()).isEqualTo(403);
    // nothing happened to the key or the policy
    Stack.as("alice")
        .get("/api/keys/" + id)
        .then()
        .statusCode(200)
        .body("status", equalTo("active"));
    Kw.admin("GET", "/api/admin/policy", null).then().body("maxLiveKeysPerAccount", equalTo(100));
    Stack.as("alice")
        .get("/api/groups")
        .then()
        .statusCode(200)
        .body("name", org.hamcrest.Matchers.hasItem("default"));
  }

  @jakarta.inject.Inject io.keywarden.support.security.VerifiedTokenCache tokenCache;

  @Test
  void aVerifiedTokenIsAnsweredFromTheCacheWithItsOwnIdentityAndRoles() {
    String alice = Tokens.password(Stack.issuer(), "alice");
    String bob = Tokens.password(Stack.issuer(), "bob");
    given().auth().oauth2(alice).get("/api/keys").then().statusCode(200);
    given().auth().oauth2(bob).get("/api/keys").then().statusCode(200);
    long hitsBefore = tokenCache.hits();

    String name = Kw.uniqueName("cached");
    given()
        .auth()
        .oauth2(alice)
        .contentType("application/json")
        .body("{\"name\":\"" + name + "\",\"group\":\"default\"}")
        .post("/api/keys")
        .then()
        .statusCode(201);
    // each token keeps its own account and roles when it comes from the cache
    given()
        .auth()
        .oauth2(alice)
        .get("/api/keys?q=" + name)
        .then()
        .statusCode(200)
        .body("items.name", org.hamcrest.Matchers.hasItem(name));
    given()
        .auth()
        .oauth2(bob)
        .get("/api/keys?q=" + name)
        .then()
        .statusCode(200)
        .body("items", org.hamcrest.Matchers.empty());
    given().auth().oauth2(alice).get("/api/admin/keys").then().statusCode(403);
    assertThat(tokenCache.hits() - hitsBefore).isGreaterThanOrEqualTo(4);

    // a token differing from a cached one in its signature is verified, and refused
    String tampered =
        alice.substring(0, alice.length() - 4) + (alice.endsWith("AAAA") ? "BBBB" : "AAAA");
    given().auth().oauth2(tampered).get("/api/keys").then().statusCode(401);
  }

  @Test
  void noTokenOrABadTokenIsA401ProblemEverywhere() {
    String id = UUID.randomUUID().toString();
    List<Call> all = new ArrayList<>(keyCalls(id));
    all.addAll(adminCalls(id));
    all.add(new Call("GET", "/api/groups", null));
    for (Call c : all) {
      Response r = call(given(), c);
      assertThat(r.statusCode()).as("anonymous %s", c).isEqualTo(401);
      assertThat(r.contentType()).as("anonymous %s", c).startsWith("application/problem+json");
      Response bad = call(given().auth().oauth2("not.a.token"), c);
      assertThat(bad.statusCode()).as("garbage token %s", c).isEqualTo(401);
    }
  }

  @Test
  void propertiesThatAreNotChangeableAre400NamingThemEvenOnALeakedKey() {
    Response c = Kw.createNamed("alice", "bopla");
    String id = c.path("id");
    String secret = c.path("secret");
    String hash = KeyFormat.sha256Hex(secret);
    Stack.as("alice").post("/api/keys/" + id + "/leaked").then().statusCode(200);
    Map<String, String> bodies = new LinkedHashMap<>();
    bodies.put("spent", "{\"spent\":0}");
    bodies.put("spentUsd", "{\"spentUsd\":\"0\"}");
    bodies.put("keyHash", "{\"keyHash\":\"" + "0".repeat(64) + "\"}");
    bodies.put("accountId", "{\"accountId\":\"" + Stack.account("bob") + "\"}");
    bodies.put("account", "{\"account\":\"" + Stack.account("bob") + "\"}");
    bodies.put("status", "{\"status\":\"active\"}");
    bodies.put("version", "{\"version\":1}");
    bodies.put("previousKeyHash", "{\"previousKeyHash\":null}");
    for (var e : bodies.entrySet()) {
      Response r = Stack.as("alice").body(e.getValue()).patch("/api/keys/" + id);
      r.then()
          .statusCode(400)
          .contentType("application/problem+json")
          .body("field", equalTo(e.getKey()));
    }
    Response get = Stack.as("alice").get("/api/keys/" + id);
    get.then().statusCode(200).body("status", equalTo("leaked"));
    assertThat(get.asString()).doesNotContain(hash);
    assertThat(Kw.admin("GET", "/api/admin/keys/" + id, null).asString()).doesNotContain(hash);
  }

  @Test
  void resourceLimitsAnswer413Or400NamingTheFieldAndNever500() throws Exception {
    List<Integer> statuses = new ArrayList<>();
    // 10 MB body: the answer must come from the headers alone (a client still writing the body
    // when the server closes would see a broken pipe, so speak HTTP on a raw socket)
    int s413 = oversizedBodyStatus(10 * 1024 * 1024, Tokens.password(Stack.issuer(), "alice"));
    assertThat(s413).isEqualTo(413);
    statuses.add(s413);

    String ips =
        IntStream.range(0, 10_000)
            .mapToObj(i -> "\"10." + (i / 65536) + "." + (i / 256 % 256) + "." + (i % 256) + "\"")
            .collect(Collectors.joining(",", "[", "]"));
    Response r =
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("ips")
                + "\",\"group\":\"default\",\"allowedIps\":"
                + ips
                + "}");
    r.then().statusCode(400).body("field", equalTo("allowedIps"));
    statuses.add(r.statusCode());

    String id = Kw.createNamed("alice", "limits").then().statusCode(201).extract().path("id");
    r = Stack.as("alice").body("{\"allowedIps\":" + ips + "}").patch("/api/keys/" + id);
    r.then().statusCode(400).body("field", equalTo("allowedIps"));
    statuses.add(r.statusCode());

    r = Kw.create("alice", "{\"name\":\"" + "n".repeat(10_000) + "\",\"group\":\"default\"}");
    r.then().statusCode(400).body("field", equalTo("name"));
    assertThat(r.asString().length()).isLessThan(2_000);
    statuses.add(r.statusCode());

    r = Kw.create("alice", "{\"name\":\"ok\",\"group\":\"" + "g".repeat(10_000) + "\"}");
    r.then().statusCode(400).body("field", equalTo("group"));
    statuses.add(r.statusCode());

    for (String q :
        List.of(
            "size=1000000000", "size=-1", "page=1000000000", "size=abc", "q=" + "x".repeat(100))) {
      Response l = Stack.as("alice").get("/api/keys?" + q);
      assertThat(l.statusCode()).as(q).isEqualTo(400);
      statuses.add(l.statusCode());
      Response a = Stack.as("carol").get("/api/admin/keys?" + q);
      assertThat(a.statusCode()).as("admin " + q).isEqualTo(400);
      statuses.add(a.statusCode());
    }
    Stack.as("alice").get("/api/keys?size=1000000000").then().body("field", equalTo("size"));
    Stack.as("alice").get("/api/keys?q=" + "x".repeat(100)).then().body("field", equalTo("q"));
    // a request line over the server's limit is refused before any code runs
    Response longUri = Stack.as("alice").get("/api/keys?q=" + "x".repeat(5000));
    assertThat(longUri.statusCode()).isEqualTo(414);
    statuses.add(longUri.statusCode());
    assertThat(statuses).allMatch(s -> s < 500);
  }

  /** Sends headers announcing a body of {@code length} bytes and 64 KiB of it; the status line. */
  static int oversizedBodyStatus(int length, String token) throws Exception {
    int port = io.restassured.RestAssured.port;
    try (java.net.Socket socket = new java.net.Socket("localhost", port)) {
      socket.setSoTimeout(10_000);
      var out = socket.getOutputStream();
      out.write(
          ("POST /api/keys HTTP/1.1\r\nHost: localhost:"
                  + port
                  + "\r\nAuthorization: Bearer "
                  + token
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      byte[] chunk = new byte[64 * 1024];
      java.util.Arrays.fill(chunk, (byte) 'a');
      try {
        out.write(chunk);
        out.flush();
      } catch (java.io.IOException closedEarly) {
        // the server may already have answered and closed
      }
      var in =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      String status = in.readLine();
      assertThat(status).as("status line").startsWith("HTTP/1.1 ");
      return Integer.parseInt(status.split(" ")[1]);
    }
  }

  /**
   * S6: canary secrets sent through create, custom create, rotate, Use key POST, patch, owner leak
   * report, GitHub report and many error paths appear in no event, no database column, no log line
   * and no error body; their hashes appear in no REST answer.
   */
  @Test
  void canarySecretsAppearInNoTopicColumnLogOrErrorBody() throws Exception {
    List<String> canaries = new ArrayList<>();
    List<Response> answers = new ArrayList<>();
    List<Response> errors = new ArrayList<>();

    Response created = Kw.createNamed("alice", "canary");
    created.then().statusCode(201);
    answers.add(created);
    String id = created.path("id");
    String secret = created.path("secret");
    canaries.add(secret);

    String custom = Kw.customKey();
    canaries.add(custom);
    Response cc =
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("canary custom")
                + "\",\"group\":\"default\",\"customKey\":\""
                + custom
                + "\"}");
    cc.then().statusCode(201);
    answers.add(cc);
    String customId = cc.path("id");

    Response used =
        Stack.as("alice")
            .body("{\"secret\":\"" + secret + "\"}")
            .post("/api/keys/" + id + "/use?client=codex&os=linux");
    used.then().statusCode(200);
    // the Use-key answer is meant to contain the secret the caller sent; its hash must not be
    assertThat(used.asString()).doesNotContain(KeyFormat.sha256Hex(secret));

    Response patched =
        Stack.as("alice")
            .body("{\"quotaUsd\":\"2\",\"name\":\"" + Kw.uniqueName("canary p") + "\"}")
            .patch("/api/keys/" + id);
    patched.then().statusCode(200);
    answers.add(patched);

    Response rotated =
        Stack.as("alice").body("{\"overlap\":\"PT1H\"}").post("/api/keys/" + id + "/rotate");
    rotated.then().statusCode(200);
    answers.add(rotated);
    String rotatedSecret = rotated.path("secret");
    canaries.add(rotatedSecret);

    // error paths that carry a canary in the request
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("dup")
                + "\",\"group\":\"default\",\"customKey\":\""
                + custom
                + "\"}"));
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("dup")
                + "\",\"group\":\"default\",\"customKey\":\""
                + rotatedSecret
                + "\"}"));
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("x")
                + "\",\"group\":\"default\",\"secret\":\""
                + secret
                + "\"}"));
    errors.add(
        Kw.create(
            "alice", "{\"name\":\"" + Kw.uniqueName("x") + "\",\"group\":\"" + secret + "\"}"));
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("x")
                + "\",\"group\":\"default\",\"customKey\":\""
                + secret
                + "!\"}"));
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("x")
                + "\",\"group\":\"default\",\"allowedIps\":[\""
                + secret
                + "\"]}"));
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("x")
                + "\",\"group\":\"default\",\"quotaUsd\":\""
                + secret
                + "\"}"));
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("x")
                + "\",\"group\":\"default\",\"expiresIn\":\""
                + secret
                + "\"}"));
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("x")
                + "\",\"group\":\"default\",\"quotaReset\":\""
                + secret
                + "\"}"));
    errors.add(
        Kw.create(
            "alice",
            "{\"name\":\""
                + Kw.uniqueName("x")
                + "\",\"group\":\"default\",\"rateLimit\":{\"requestsPerMinute\":\""
                + secret
                + "\"}}"));
    errors.add(
        Kw.create(
            "alice", "{\"name\":\"" + secret + "\",\"group\":\"default\",\"" + secret + "\":1}"));
    errors.add(Kw.create("alice", "{\"name\":\"" + secret + "\" broken"));
    errors.add(
        Stack.as("alice")
            .body("{\"secret\":\"" + custom + "\"}")
            .post("/api/keys/" + id + "/use?client=codex"));
    errors.add(
        Stack.as("alice")
            .body("{\"secret\":\"" + secret + "\"}")
            .post("/api/keys/" + customId + "/use?client=" + secret));
    errors.add(Stack.as("alice").body("{\"keyHash\":\"" + secret + "\"}").patch("/api/keys/" + id));
    errors.add(
        Stack.as("alice").body("{\"name\":\"" + secret + "\u0007\"}").patch("/api/keys/" + id));
    errors.add(
        Stack.as("alice")
            .body("{\"overlap\":\"" + secret + "\"}")
            .post("/api/keys/" + id + "/rotate"));
    errors.add(
        Stack.as("bob")
            .body("{\"secret\":\"" + secret + "\"}")
            .post("/api/keys/" + id + "/use?client=codex"));
    errors.add(Stack.as("alice").get("/api/keys?q=" + secret + "&status=" + secret));
    errors.add(Stack.as("alice").get("/api/keys/" + secret));
    errors.add(Kw.admin("PUT", "/api/admin/policy", "{\"maxQuotaUsd\":\"" + secret + "\"}"));
    errors.add(Kw.admin("PUT", "/api/admin/policy", "{\"" + secret + "\":1}"));
    byte[] unsigned = LeakIntakeTests.body(List.of(rotatedSecret));
    errors.add(LeakIntakeTests.post(unsigned, GithubKeyServerResource.KEY_ID, "MEUCIQ" + secret));
    errors.add(LeakIntakeTests.post(unsigned, secret, GithubKeyServerResource.sign(unsigned)));
    for (Response e : errors) {
      assertThat(e.statusCode()).as(e.asString()).isBetween(400, 499);
    }

    // the owner reports the custom key; GitHub reports the rotated key's current secret
    answers.add(Stack.as("alice").post("/api/keys/" + customId + "/leaked"));
    Response gh = LeakIntakeTests.postSigned(LeakIntakeTests.body(List.of(rotatedSecret, secret)));
    gh.then().statusCode(201);
    Stack.as("alice").get("/api/keys/" + id).then().body("status", equalTo("leaked"));
    answers.add(Stack.as("alice").get("/api/keys/" + id));
    answers.add(Stack.as("alice").get("/api/keys?size=100"));
    answers.add(Kw.admin("GET", "/api/admin/keys/" + id, null));
    answers.add(Kw.admin("GET", "/api/admin/keys?size=100", null));
    answers.add(Stack.as("alice").get("/api/keys/" + id + "/use?client=cherry-studio"));

    for (String canary : canaries) {
      for (Response e : errors) {
        assertThat(e.asString()).as("error body").doesNotContain(canary);
      }
      String hash = KeyFormat.sha256Hex(canary);
      for (Response a : answers) {
        assertThat(a.asString()).as("REST answer").doesNotContain(hash);
      }
    }

    // every event has been published before looking
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> Kw.unpublishedOutboxRows() == 0);
    for (String topic : Kw.allTopics()) {
      List<String> values = Stack.allValues(topic);
      if (topic.equals("keywarden.key-events")) {
        assertThat(values).anyMatch(v -> v.contains(id)); // the scan sees our events at all
      }
      for (String canary : canaries) {
        assertThat(values).as(topic).noneMatch(v -> v.contains(canary));
      }
    }

    List<String> scanned = new ArrayList<>();
    try (Connection c = Kw.db()) {
      List<String[]> columns = new ArrayList<>();
      try (ResultSet rs =
          c.createStatement()
              .executeQuery(
                  "select table_name, column_name from information_schema.columns"
                      + " where table_schema = 'public' and data_type in"
                      + " ('text','character varying','character','json','jsonb')")) {
        while (rs.next()) {
          columns.add(new String[] {rs.getString(1), rs.getString(2)});
        }
      }
      for (String[] col : columns) {
        scanned.add(col[0] + "." + col[1]);
        try (PreparedStatement ps =
            c.prepareStatement(
                "select count(*) from \""
                    + col[0]
                    + "\" where strpos(\""
                    + col[1]
                    + "\"::text, ?) > 0")) {
          for (String canary : canaries) {
            ps.setString(1, canary);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              assertThat(rs.getLong(1)).as("%s.%s", col[0], col[1]).isZero();
            }
          }
        }
      }
    }
    assertThat(scanned).contains("api_keys.key_hash", "outbox.payload");

    Path log = Path.of("target/test-logs/key-service.log");
    assertThat(log).exists();
    String text = Files.readString(log);
    assertThat(text).isNotEmpty();
    for (String canary : canaries) {
      assertThat(text).doesNotContain(canary);
    }
  }
}
