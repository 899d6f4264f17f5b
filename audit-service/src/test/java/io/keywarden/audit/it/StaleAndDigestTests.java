package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class StaleAndDigestTests {

  @Test
  void aStaleKeyOfAnAccountThatOptedInIsDisabledThroughKeyServiceWithAuditsOwnToken() {
    WebhookReceiver.url("/key-service"); // key-service's admin API is played by the receiver
    Api.as("bob")
        .contentType("application/json")
        .body(Map.of("mode", "immediate", "autoDisableStale", true))
        .put("/api/audit/alert-settings")
        .then()
        .statusCode(200);
    KeySnapshot k =
        Api.created(
            Events.key(
                Api.account("bob"),
                "ancient",
                KeyStatus.ACTIVE,
                TestClock.now().minus(Duration.ofDays(120)),
                1));
    Api.sweep();
    String path = "/key-service/api/admin/keys/" + k.keyId() + "/disable";
    await().atMost(Duration.ofSeconds(20)).until(() -> !WebhookReceiver.at(path).isEmpty());
    WebhookReceiver.Received call = WebhookReceiver.at(path).get(0);
    String bearer = call.headers().get("authorization").substring("Bearer ".length());
    assertThat(Tokens.claims(bearer).path("azp").asText()).isEqualTo("keywarden-audit");
    Api.sweep();
    await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() -> true);
    assertThat(WebhookReceiver.at(path)).hasSize(1);
  }

  @Test
  void aKeyOfAnAccountThatDidNotOptInIsNeverDisabled() {
    Api.as("alice")
        .contentType("application/json")
        .body(Map.of("mode", "immediate", "autoDisableStale", false))
        .put("/api/audit/alert-settings")
        .then()
        .statusCode(200);
    KeySnapshot k =
        Api.created(
            Events.key(
                Api.account("alice"),
                "ancient-kept",
                KeyStatus.ACTIVE,
                TestClock.now().minus(Duration.ofDays(120)),
                1));
    Api.sweep();
    assertThat(Api.findings("alice", "?type=STALE&key=" + k.keyId())).hasSize(1);
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> true);
    assertThat(WebhookReceiver.at("/key-service/api/admin/keys/" + k.keyId() + "/disable"))
        .isEmpty();
  }

  @Test
  void dailyModeSendsOneDigestPerAccountPerDayInsteadOfImmediateAlerts() {
    String hook = "/digest-carol";
    Api.as("carol")
        .contentType("application/json")
        .body(Map.of("mode", "daily", "webhookUrl", WebhookReceiver.url(hook)))
        .put("/api/audit/alert-settings")
        .then()
        .statusCode(200);
    KeySnapshot k =
        Api.created(
            Events.key(
                Api.account("carol"),
                "digest-me",
                KeyStatus.ACTIVE,
                TestClock.now().minus(Duration.ofDays(9)),
                1));
    Api.sweep();
    await().atMost(Duration.ofSeconds(20)).until(() -> !WebhookReceiver.at(hook).isEmpty());
    Api.sweep();
    Api.sweep();
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> true);
    List<WebhookReceiver.Received> got = WebhookReceiver.at(hook);
    assertThat(got).hasSize(1);
    assertThat(got.get(0).body()).contains("keywarden.alert.digest").contains(k.keyId());
  }
}
