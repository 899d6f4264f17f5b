package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class FindingsApiTests {

  private static Map<String, Object> leakedFinding(String user) {
    KeySnapshot k =
        Api.created(Events.key(Api.account(user), "leaky", KeyStatus.ACTIVE, TestClock.now(), 1));
    KeySnapshot leaked = Events.with(k, KeyStatus.LEAKED, "leaky", 2);
    Events.sendKey(KeyEventType.LEAKED, leaked);
    Events.denied(leaked, "LEAKED", "203.0.113.9");
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> !Api.findings(user, "?key=" + k.keyId()).isEmpty());
    return Api.findings(user, "?key=" + k.keyId()).get(0);
  }

  @Test
  void anotherAccountsFindingIsInvisibleAndCannotBeAcknowledged() {
    Map<String, Object> f = leakedFinding("alice");
    String id = (String) f.get("id");

    assertThat(Api.findings("bob", "?key=" + f.get("keyId"))).isEmpty();
    Api.as("bob").post("/api/audit/findings/" + id + "/ack").then().statusCode(404);
    Api.as("bob").get("/api/audit/findings?account=" + Api.account("alice")).then().statusCode(404);
    assertThat(Api.findings("alice", "?status=open&type=LEAKED_STILL_USED"))
        .anyMatch(x -> id.equals(x.get("id")));
  }

  @Test
  void acknowledgingAFindingMarksItAcknowledgedForItsOwner() {
    Map<String, Object> f = leakedFinding("alice");
    String id = (String) f.get("id");
    Api.as("alice")
        .post("/api/audit/findings/" + id + "/ack")
        .then()
        .statusCode(200)
        .extract()
        .path("status")
        .equals("acknowledged");
    List<Map<String, Object>> acked =
        Api.findings("alice", "?status=acknowledged&key=" + f.get("keyId"));
    assertThat(acked).extracting(x -> x.get("id")).containsExactly(id);
    assertThat(Api.findings("alice", "?status=open&key=" + f.get("keyId"))).isEmpty();
  }

  @Test
  void badFiltersAre400sNamingTheField() {
    Api.as("alice")
        .get("/api/audit/findings?type=NOPE")
        .then()
        .statusCode(400)
        .contentType("application/problem+json")
        .extract()
        .path("field")
        .equals("type");
    String field =
        Api.as("alice")
            .get("/api/audit/findings?since=yesterday")
            .then()
            .statusCode(400)
            .extract()
            .path("field");
    assertThat(field).isEqualTo("since");
    String ackField =
        Api.as("alice")
            .post("/api/audit/findings/not-a-uuid/ack")
            .then()
            .statusCode(400)
            .extract()
            .path("field");
    assertThat(ackField).isEqualTo("id");
  }

  @Test
  void usingANeverUsedKeyResolvesItsNeverUsedFinding() {
    KeySnapshot k =
        Api.created(
            Events.key(
                Api.account("bob"),
                "idle",
                KeyStatus.ACTIVE,
                TestClock.now().minus(Duration.ofDays(10)),
                1));
    Api.sweep();
    assertThat(Api.findings("bob", "?type=NEVER_USED&status=open&key=" + k.keyId())).hasSize(1);

    Events.used(k, "198.51.100.1", 1);
    await()
        .atMost(Duration.ofSeconds(15))
        .until(
            () -> Api.findings("bob", "?type=NEVER_USED&status=open&key=" + k.keyId()).isEmpty());
    assertThat(Api.findings("bob", "?type=NEVER_USED&status=resolved&key=" + k.keyId())).hasSize(1);
  }
}
