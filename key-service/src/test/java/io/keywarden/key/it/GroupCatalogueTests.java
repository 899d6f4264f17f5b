package io.keywarden.key.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;

import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
class GroupCatalogueTests {

  static String groupBody(String name, boolean enabled) {
    return "{\"name\":\""
        + name
        + "\",\"description\":\"Team plan\",\"enabled\":"
        + enabled
        + ",\"models\":[{\"id\":\"gpt-5.5\",\"inputUsdPerMillion\":\"1.25\",\"outputUsdPerMillion\":\"10\"},"
        + "{\"id\":\"claude-sonnet-4-6\",\"ownedBy\":\"anthropic\",\"inputUsdPerMillion\":\"3\",\"outputUsdPerMillion\":\"15\"}]}";
  }

  static List<GroupSnapshot> groupEvents(String name, int atLeast) {
    return Stack.records(
            "keywarden.groups",
            rs -> rs.stream().filter(r -> name.equals(r.key())).count() >= atLeast,
            Duration.ofSeconds(15))
        .stream()
        .filter(r -> name.equals(r.key()))
        .map(ConsumerRecord::value)
        .map(v -> (GroupSnapshot) EventCodec.decode(v).data())
        .toList();
  }

  @Test
  void adminCrudOfGroupsIsPublishedAndUsersSeeOnlyEnabledGroupsWithPrices() {
    String name = "team-" + UUID.randomUUID().toString().substring(0, 8);
    Stack.as("carol")
        .body(groupBody(name, true))
        .post("/api/admin/groups")
        .then()
        .statusCode(201)
        .header("Location", org.hamcrest.Matchers.endsWith("/api/admin/groups/" + name))
        .body("models[0].inputUsdPerMillion", equalTo("1.25"))
        .body("models[0].outputUsdPerMillion", equalTo("10.00"));
    Stack.as("alice").get("/api/groups").then().statusCode(200).body("name", hasItem(name));
    Stack.as("alice")
        .body("{\"name\":\"k " + name + "\",\"group\":\"" + name + "\"}")
        .post("/api/keys")
        .then()
        .statusCode(201);

    Stack.as("carol")
        .body("{\"enabled\":false}")
        .put("/api/admin/groups/" + name)
        .then()
        .statusCode(200)
        .body("enabled", equalTo(false));
    Stack.as("alice").get("/api/groups").then().statusCode(200).body("name", not(hasItem(name)));
    Stack.as("carol").get("/api/admin/groups").then().statusCode(200).body("name", hasItem(name));
    // a disabled group takes no new keys
    Stack.as("alice")
        .body("{\"name\":\"k2 " + name + "\",\"group\":\"" + name + "\"}")
        .post("/api/keys")
        .then()
        .statusCode(400)
        .body("field", equalTo("group"));
    // a group with keys cannot be deleted
    Stack.as("carol")
        .delete("/api/admin/groups/" + name)
        .then()
        .statusCode(409)
        .body("field", equalTo("name"));

    List<GroupSnapshot> events = groupEvents(name, 2);
    assertThat(events).hasSizeGreaterThanOrEqualTo(2);
    assertThat(events.get(0).enabled()).isTrue();
    assertThat(events.get(0).models())
        .extracting(m -> m.inputMicrosPerMillion())
        .containsExactly(1_250_000L, 3_000_000L);
    GroupSnapshot last = events.get(events.size() - 1);
    assertThat(last.enabled()).isFalse();
    assertThat(last.version()).isGreaterThan(events.get(0).version());
  }

  @Test
  void createAndRotateAnswersConfigureTheGroupsCurrentModelsAfterTheGroupChanged() {
    String name = "team-" + UUID.randomUUID().toString().substring(0, 8);
    Stack.as("carol").body(groupBody(name, true)).post("/api/admin/groups").then().statusCode(201);
    String id =
        Stack.as("alice")
            .body("{\"name\":\"before " + name + "\",\"group\":\"" + name + "\"}")
            .post("/api/keys")
            .then()
            .statusCode(201)
            .body("useConfigs.codex.model", equalTo("gpt-5.5"))
            .body("useConfigs.claude-code.model", equalTo("claude-sonnet-4-6"))
            .extract()
            .path("id");

    Stack.as("carol")
        .body(
            "{\"models\":[{\"id\":\"gpt-6\",\"inputUsdPerMillion\":\"1\",\"outputUsdPerMillion\":\"2\"},"
                + "{\"id\":\"claude-opus-5\",\"ownedBy\":\"anthropic\",\"inputUsdPerMillion\":\"3\","
                + "\"outputUsdPerMillion\":\"4\"}]}")
        .put("/api/admin/groups/" + name)
        .then()
        .statusCode(200);

    String after =
        Stack.as("alice")
            .body("{\"name\":\"after " + name + "\",\"group\":\"" + name + "\"}")
            .post("/api/keys")
            .then()
            .statusCode(201)
            .body("useConfigs.codex.model", equalTo("gpt-6"))
            .body("useConfigs.claude-code.model", equalTo("claude-opus-5"))
            .body("useConfigs.cursor.steps[3]", org.hamcrest.Matchers.containsString("gpt-6"))
            .extract()
            .path("id");
    Stack.as("alice")
        .post("/api/keys/" + id + "/rotate")
        .then()
        .statusCode(200)
        .body("useConfigs.codex.model", equalTo("gpt-6"))
        .body("useConfigs.claude-code.model", equalTo("claude-opus-5"));
    // revoked: alice's live keys stay under the cap for the other test classes
    Stack.as("alice").delete("/api/keys/" + id).then().statusCode(200);
    Stack.as("alice").delete("/api/keys/" + after).then().statusCode(200);
  }

  @Test
  void anUnusedGroupIsDeletedWithATombstoneEvent() {
    String name = "gone-" + UUID.randomUUID().toString().substring(0, 8);
    Stack.as("carol").body(groupBody(name, true)).post("/api/admin/groups").then().statusCode(201);
    Stack.as("carol").delete("/api/admin/groups/" + name).then().statusCode(204);
    Stack.as("carol").delete("/api/admin/groups/" + name).then().statusCode(404);
    List<GroupSnapshot> events = groupEvents(name, 2);
    assertThat(events.get(events.size() - 1).deleted()).isTrue();
  }

  @Test
  void badGroupInputIs400NamingTheFieldAndUsersCannotManageGroups() {
    Stack.as("alice")
        .body(groupBody("mine", true))
        .post("/api/admin/groups")
        .then()
        .statusCode(403);
    Stack.as("carol")
        .body(groupBody("Bad Name!", true))
        .post("/api/admin/groups")
        .then()
        .statusCode(400)
        .body("field", equalTo("name"));
    Stack.as("carol")
        .body("{\"name\":\"x1\",\"models\":[]}")
        .post("/api/admin/groups")
        .then()
        .statusCode(400)
        .body("field", equalTo("models"));
    Stack.as("carol")
        .body(
            "{\"name\":\"x2\",\"models\":[{\"id\":\"m\",\"inputUsdPerMillion\":\"-1\",\"outputUsdPerMillion\":\"1\"}]}")
        .post("/api/admin/groups")
        .then()
        .statusCode(400)
        .body("field", equalTo("models[0].inputUsdPerMillion"));
    Stack.as("carol")
        .body(
            "{\"name\":\"x3\",\"models\":[{\"id\":\"m\",\"inputUsdPerMillion\":\"1\",\"outputUsdPerMillion\":\"1\"},{\"id\":\"m\",\"inputUsdPerMillion\":\"1\",\"outputUsdPerMillion\":\"1\"}]}")
        .post("/api/admin/groups")
        .then()
        .statusCode(400)
        .body("field", equalTo("models[1].id"));
    Stack.as("carol")
        .body(groupBody("default", true))
        .post("/api/admin/groups")
        .then()
        .statusCode(409);
    Stack.as("carol")
        .body("{\"name\":\"other\"}")
        .put("/api/admin/groups/default")
        .then()
        .statusCode(400)
        .body("field", equalTo("name"));
    Stack.as("carol")
        .body("{\"enabled\":true}")
        .put("/api/admin/groups/nope-nope")
        .then()
        .statusCode(404);
  }
}
