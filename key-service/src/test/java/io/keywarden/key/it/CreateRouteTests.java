package io.keywarden.key.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.Topics;
import io.keywarden.key.rest.CreateKeyRoute;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Problem;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import io.vertx.pgclient.PgException;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * POST /api/keys on the Vert.x route (CreateKeyRoute): a successful create is answered there, with
 * the same status, headers and JSON as Quarkus REST gives; everything else is handed on to Quarkus
 * REST and answered exactly as before. A request with an Accept header the route does not take
 * ("application/json, *&#47;*") goes the REST way and serves as the reference.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class CreateRouteTests {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String REST_ONLY_ACCEPT = "application/json, */*";

  @Inject CreateKeyRoute route;

  private static RequestSpecification viaRest(String user) {
    return Stack.as(user).header("Accept", REST_ONLY_ACCEPT);
  }

  @Test
  void aCreateIsAnsweredByTheRouteWithTheSameStatusHeadersAndJsonAsRest() throws Exception {
    long[] before = route.counts();
    String body =
        "{\"name\":\"%s\",\"group\":\"default\",\"allowedIps\":[\"10.0.0.0/8\"],\"quotaUsd\":\"2.5\","
            + "\"quotaReset\":\"daily\",\"rateLimit\":{\"requestsPerMinute\":60},\"expiresIn\":\"P30D\"}";
    Response fast =
        Stack.as("alice").body(body.formatted(Kw.uniqueName("route"))).post("/api/keys");
    long[] mid = route.counts();
    Response rest = viaRest("alice").body(body.formatted(Kw.uniqueName("route"))).post("/api/keys");
    long[] after = route.counts();

    assertThat(fast.statusCode()).isEqualTo(201);
    assertThat(rest.statusCode()).isEqualTo(201);
    assertThat(mid[0] - before[0]).as("served by the route").isEqualTo(1);
    assertThat(after[0] - mid[0]).as("not served by the route").isZero();
    assertThat(after[1] - mid[1]).as("handed on to REST").isEqualTo(1);

    assertThat(fast.contentType()).isEqualTo(rest.contentType());
    assertThat(headerNames(fast)).isEqualTo(headerNames(rest));
    JsonNode f = JSON.readTree(fast.asByteArray());
    JsonNode r = JSON.readTree(rest.asByteArray());
    assertThat(fast.header("Location"))
        .isEqualTo(locationOf(rest, r).replace(r.get("id").asText(), f.get("id").asText()));
    assertThat(fast.header("Content-Length")).isEqualTo(String.valueOf(fast.asByteArray().length));

    // the same fields in the same order, the same values where they do not depend on the key
    assertThat(fieldNames(f)).isEqualTo(fieldNames(r));
    for (String same :
        List.of(
            "account",
            "group",
            "status",
            "custom",
            "allowedIps",
            "quotaUsd",
            "quotaReset",
            "rateLimit",
            "spentUsd",
            "quotaRemainingUsd")) {
      assertThat(f.get(same)).as(same).isEqualTo(r.get(same));
    }
    assertThat(f.get("secret").asText()).startsWith("sk-kw-");
    assertThat(f.get("useConfigs").toString()).contains(f.get("secret").asText());
    assertThat(
            Stack.keysOnTopic(
                Topics.KEY_EVENTS, Set.of(f.get("id").asText()), Duration.ofSeconds(15)))
        .containsExactly(f.get("id").asText());
  }

  @Test
  void everyRefusalIsTheRestAnswerByteForByte() {
    String taken = Kw.uniqueName("taken");
    Kw.create("alice", "{\"name\":\"" + taken + "\",\"group\":\"default\"}").then().statusCode(201);
    List<String> bodies =
        List.of(
            "{\"name\":\"x\",\"group\":\"default\",\"secret\":\"nope\"}", // unknown field
            "{\"name\":\"x\",\"group\":\"default\",\"rateLimit\":{\"requestsPerMinute\":\"many\"}}",
            "not json",
            "[]",
            "null",
            "{\"group\":\"default\"}", // no name
            "{\"name\":\"x\",\"group\":\"no-such-group\"}", // refused by the database call
            "{\"name\":\"" + taken + "\",\"group\":\"default\"}", // 409 from the database call
            "{\"name\":\"x\",\"group\":\"default\",\"customKey\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
            "{\"name\":\"x\",\"group\":\"default\",\"expiresAt\":\"2020-01-01T00:00:00Z\","
                + "\"expiresIn\":\"P1D\"}");
    bodies = new ArrayList<>(bodies);
    for (int n : new int[] {300, 500, 600, 700, 800, 1200, 3000}) {
      bodies.add("{\"name\":\"x\",\"group\":\"default\",\"allowedIps\":" + ips(n) + "}");
    }
    long servedBefore = route.counts()[0];
    for (String b : bodies) {
      Response viaRoute = Stack.as("alice").body(b).post("/api/keys");
      Response viaRest = viaRest("alice").body(b).post("/api/keys");
      String what = b.length() > 200 ? b.length() + " bytes" : b;
      assertThat(viaRoute.statusCode())
          .as(what)
          .isBetween(400, 499)
          .isEqualTo(viaRest.statusCode());
      assertThat(viaRoute.contentType()).as(what).isEqualTo(viaRest.contentType());
      assertThat(viaRoute.asString()).as(what).isEqualTo(viaRest.asString());
    }
    assertThat(route.counts()[0]).as("no refusal answered by the route").isEqualTo(servedBefore);
  }

  @Test
  void noTokenAnotherRoleOrAnEmptyBodyGetTheRestAnswer() {
    String body = "{\"name\":\"" + Kw.uniqueName("anon") + "\",\"group\":\"default\"}";
    Response anonymous = given().contentType("application/json").body(body).post("/api/keys");
    Response anonymousRest =
        given()
            .contentType("application/json")
            .header("Accept", REST_ONLY_ACCEPT)
            .body(body)
            .post("/api/keys");
    assertThat(anonymous.statusCode()).isEqualTo(401);
    assertThat(anonymous.asString()).isEqualTo(anonymousRest.asString());

    String gateway = Kw.gatewayToken();
    Response noRole =
        given().auth().oauth2(gateway).contentType("application/json").body(body).post("/api/keys");
    Response noRoleRest =
        given()
            .auth()
            .oauth2(gateway)
            .contentType("application/json")
            .header("Accept", REST_ONLY_ACCEPT)
            .body(body)
            .post("/api/keys");
    assertThat(noRole.statusCode()).isEqualTo(403);
    assertThat(noRole.asString()).isEqualTo(noRoleRest.asString());

    Response empty = Stack.as("alice").body("").post("/api/keys");
    Response emptyRest = viaRest("alice").body("").post("/api/keys");
    assertThat(empty.statusCode()).isEqualTo(400).isEqualTo(emptyRest.statusCode());
    assertThat(empty.asString()).isEqualTo(emptyRest.asString());
    assertThat(Kw.liveKeys(Tokens.subject(gateway))).isZero();
  }

  @Test
  void otherContentTypesAreRefusedAsBefore() {
    Response text =
        Stack.as("alice")
            .contentType("text/plain")
            .body("{\"name\":\"t\",\"group\":\"default\"}")
            .post("/api/keys");
    assertThat(text.statusCode()).isEqualTo(415);
    assertThat(CreateKeyRoute.isJson("application/json; charset=UTF-8")).isTrue();
    assertThat(CreateKeyRoute.isJson("Application/JSON")).isTrue();
    assertThat(CreateKeyRoute.isJson("application/json; charset=ISO-8859-1")).isFalse();
    assertThat(CreateKeyRoute.isJson("application/jsonx")).isFalse();
  }

  @Test
  void aFailureThatIsNotARefusalIsAnsweredAsRestWouldNotRunAgain() {
    var conflict = CreateKeyRoute.mapped(new PgException("dup", "ERROR", "23505", "detail"));
    assertThat(conflict.getStatus()).isEqualTo(409);
    assertThat(((Problem) conflict.getEntity()).detail())
        .isEqualTo("conflicts with an existing record; retry");
    var down = CreateKeyRoute.mapped(new PgException("down", "FATAL", "57P01", "detail"));
    assertThat(down.getStatus()).isEqualTo(503);
    assertThat(((Problem) down.getEntity()).title()).isEqualTo("Service unavailable");
    var bug = CreateKeyRoute.mapped(new IllegalStateException("kw_create_key: no outcome row"));
    assertThat(bug.getStatus()).isEqualTo(500);
    assertThat(((Problem) bug.getEntity()).detail())
        .isEqualTo("the request could not be completed");
    var refusal = CreateKeyRoute.mapped(ApiProblem.badRequest("name", "is required"));
    assertThat(refusal.getStatus()).isEqualTo(400);
    assertThat(((Problem) refusal.getEntity()).field()).isEqualTo("name");
  }

  /** A JSON array of n distinct IPv4 addresses (about 14 bytes each). */
  private static String ips(int n) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < n; i++) {
      b.append(i == 0 ? "" : ",")
          .append("\"10.0.")
          .append(i / 256)
          .append('.')
          .append(i % 256)
          .append('"');
    }
    return b.append(']').toString();
  }

  private static String locationOf(Response rest, JsonNode body) {
    String loc = rest.header("Location");
    assertThat(loc).endsWith("/api/keys/" + body.get("id").asText());
    return loc;
  }

  private static Set<String> headerNames(Response r) {
    Set<String> names = new TreeSet<>();
    r.headers().forEach(h -> names.add(h.getName().toLowerCase(java.util.Locale.ROOT)));
    return names;
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> out = new ArrayList<>();
    collect("", n, out);
    return out;
  }

  private static void collect(String prefix, JsonNode n, List<String> out) {
    if (n.isObject()) {
      for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        out.add(prefix + name);
        collect(prefix + name + ".", n.get(name), out);
      }
    }
  }
}
