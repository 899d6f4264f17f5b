package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.audit.alerts.WebhookSignature;
import io.keywarden.contracts.Topics;
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

/** The scenarios of issue 6, with the clock moved and real Kafka, SMTP and HTTP receivers. */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class AlertScenarioTests {
  private static final String SECRET = "whsec-test-0123456789";

  private static void settings(String user, String path, String email) {
    Api.as(user)
        .contentType("application/json")
        .body(
            Map.of(
                "webhookUrl",
                WebhookReceiver.url(path),
                "webhookSecret",
                SECRET,
                "email",
                email,
                "mode",
                "immediate"))
        .put("/api/audit/alert-settings")
        .then()
        .statusCode(200);
  }

  private static long kafkaAlerts(String keyId, String type) {
    return Events.readAll(Topics.KEY_ALERTS, Duration.ofSeconds(3)).stream()
        .filter(
            r -> keyId.equals(r.key()) && r.value().contains("\"findingType\":\"" + type + "\""))
        .count();
  }

  private static long webhooks(String path, String keyId, String type) {
    return WebhookReceiver.at(path).stream()
        .filter(r -> r.answered() < 300 && r.body().contains(keyId) && r.body().contains(type))
        .count();
  }

  private static long mails(String keyId, String type) {
    return SmtpServer.MESSAGES.stream().filter(m -> m.contains(keyId) && m.contains(type)).count();
  }

  @Test
  void neverUsedForEightDaysAlertsOncePerChannelEvenAfterAReplayAndAnotherSweep() {
    settings("alice", "/alice", "alice@example.test");
    KeySnapshot k =
        Api.created(
            Events.key(Api.account("alice"), "forgotten", KeyStatus.ACTIVE, TestClock.now(), 1));
    String createdJson = Events.sendKey(KeyEventType.CREATED, k);

    TestClock.advance(Duration.ofDays(8));
    Api.sweep();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                webhooks("/alice", k.keyId(), "NEVER_USED") == 1
                    && mails(k.keyId(), "NEVER_USED") == 1);
    assertThat(kafkaAlerts(k.keyId(), "NEVER_USED")).isEqualTo(1);

    // a replay of the same events and a second sweep change nothing
    Events.sendRaw(Topics.KEY_EVENTS, k.keyId(), createdJson);
    Api.sweep();
    Api.sweep();
    assertThat(kafkaAlerts(k.keyId(), "NEVER_USED")).isEqualTo(1);
    assertThat(webhooks("/alice", k.keyId(), "NEVER_USED")).isEqualTo(1);
    assertThat(mails(k.keyId(), "NEVER_USED")).isEqualTo(1);

    WebhookReceiver.Received hook =
        WebhookReceiver.at("/alice").stream()
            .filter(r -> r.body().contains(k.keyId()))
            .findFirst()
            .orElseThrow();
    assertThat(
            WebhookSignature.verify(
                SECRET,
                hook.headers().get("x-keywarden-timestamp"),
                hook.body(),
                hook.headers().get("x-keywarden-signature")))
        .isTrue();
    List<Map<String, Object>> log = Api.deliveries("alice");
    assertThat(
            log.stream()
                .filter(d -> k.keyId().equals(d.get("keyId")))
                .map(d -> d.get("channel") + ":" + d.get("status")))
        .containsExactlyInAnyOrder("kafka:delivered", "webhook:delivered", "email:delivered");
  }

  @Test
  void aLeakedKeyStillTriedRaisesLeakedStillUsedWithinFiveSeconds() {
    KeySnapshot k =
        Api.created(
            Events.key(Api.account("alice"), "leaked", KeyStatus.ACTIVE, TestClock.now(), 1));
    KeySnapshot leaked = Events.with(k, KeyStatus.LEAKED, "leaked", 2);
    Events.sendKey(KeyEventType.LEAKED, leaked);
    Api.awaitVersion(leaked);

    long start = System.nanoTime();
    Events.denied(leaked, "LEAKED", "203.0.113.7");
    await()
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> !Api.findings("alice", "?type=LEAKED_STILL_USED&key=" + k.keyId()).isEmpty());
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    assertThat(Api.findings("alice", "?key=" + k.keyId()).get(0).get("detail").toString())
        .contains("203.0.113.7");
  }

  @Test
  void aKeyUsedFromThirtyIpsInOneDayIsOverShared() {
    KeySnapshot k =
        Api.created(Events.key(Api.account("bob"), "shared", KeyStatus.ACTIVE, TestClock.now(), 1));
    for (int i = 1; i <= 30; i++) {
      Events.used(k, "198.51.100." + i, 1);
    }
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> !Api.findings("bob", "?type=OVER_SHARED&key=" + k.keyId()).isEmpty());
    // it opens once the threshold is crossed and is updated while the events keep coming
    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () ->
                assertThat(Api.findings("bob", "?type=OVER_SHARED&key=" + k.keyId()))
                    .singleElement()
                    .satisfies(
                        f -> assertThat(f.get("detail").toString()).contains("30 client IPs")));
  }

  @Test
  void aKeyUsedFromFewIpsIsNotOverShared() {
    KeySnapshot k =
        Api.created(Events.key(Api.account("bob"), "single", KeyStatus.ACTIVE, TestClock.now(), 1));
    for (int i = 1; i <= 5; i++) {
      Events.used(k, "192.0.2." + i, 1);
    }
    KeySnapshot after = Events.with(k, KeyStatus.ACTIVE, "single-renamed", 2);
    Events.sendKey(KeyEventType.UPDATED, after);
    Api.awaitVersion(after);
    await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> true);
    assertThat(Api.findings("bob", "?type=OVER_SHARED&key=" + k.keyId())).isEmpty();
  }

  @Test
  void aWebhookFailingThreeTimesThenSucceedingGetsExactlyOneDelivery() {
    WebhookReceiver.failFirst("/bob-flaky", 3);
    settings("carol", "/bob-flaky", "carol@example.test");
    KeySnapshot k =
        Api.created(
            Events.key(Api.account("carol"), "flaky", KeyStatus.ACTIVE, TestClock.now(), 1));
    KeySnapshot leaked = Events.with(k, KeyStatus.LEAKED, "flaky", 2);
    Events.sendKey(KeyEventType.LEAKED, leaked);
    Events.denied(leaked, "LEAKED", "203.0.113.8");

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> webhooks("/bob-flaky", k.keyId(), "LEAKED_STILL_USED") == 1);
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> true);
    List<WebhookReceiver.Received> all =
        WebhookReceiver.at("/bob-flaky").stream()
            .filter(r -> r.body().contains(k.keyId()))
            .toList();
    assertThat(all)
        .extracting(WebhookReceiver.Received::answered)
        .containsExactly(500, 500, 500, 204);
    assertThat(all)
        .extracting(r -> r.headers().get("x-keywarden-delivery"))
        .containsOnly(all.get(0).headers().get("x-keywarden-delivery"));
    Map<String, Object> delivery =
        Api.deliveries("carol").stream()
            .filter(d -> k.keyId().equals(d.get("keyId")) && "webhook".equals(d.get("channel")))
            .findFirst()
            .orElseThrow();
    assertThat(delivery).containsEntry("status", "delivered").containsEntry("attempts", 4);
  }
}
