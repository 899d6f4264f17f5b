package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.QuotaThreshold;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * End to end through Kafka with the clock moved: EXPIRING at 7, 3 and 1 days before expiry,
 * QUOTA_NEAR from usage-service's threshold events, and the findingTypes filter of alert settings.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class ExpiryQuotaAndFilterTests {

  /** The periods of the Kafka alerts of one key and finding type, in order. */
  private static List<String> kafkaAlerts(String keyId, String type) {
    return Events.readAll(Topics.KEY_ALERTS, Duration.ofSeconds(3)).stream()
        .filter(
            r -> keyId.equals(r.key()) && r.value().contains("\"findingType\":\"" + type + "\""))
        .map(r -> r.value().replaceAll(".*\"period\":\"([^\"]*)\".*", "$1"))
        .toList();
  }

  private static void awaitKafkaAlerts(String keyId, String type, int n) {
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> kafkaAlerts(keyId, type).size() >= n);
    // and no more than that
    await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> true);
    assertThat(kafkaAlerts(keyId, type)).hasSize(n);
  }

  /** A key created with three days to live is flagged by its created event, before any sweep. */
  @Test
  void aKeyCreatedCloseToItsExpiryIsFlaggedWithoutASweep() {
    KeySnapshot k =
        Events.snapshot(
            UUID.randomUUID().toString(),
            Api.account("bob"),
            "expires-in-3d",
            KeyStatus.ACTIVE,
            TestClock.now(),
            TestClock.now().plus(Duration.ofDays(3)),
            0,
            1);
    Api.created(k);
    awaitKafkaAlerts(k.keyId(), "EXPIRING", 1);
    assertThat(kafkaAlerts(k.keyId(), "EXPIRING").get(0)).startsWith("3d:");
    // renamed twenty times (an update event each): still one open finding, no second alert
    KeySnapshot last = k;
    for (int v = 2; v <= 21; v++) {
      last = Events.with(k, KeyStatus.ACTIVE, "expires-in-3d " + v, v);
      Events.sendKey(KeyEventType.UPDATED, last);
    }
    Api.awaitVersion(last);
    awaitKafkaAlerts(k.keyId(), "EXPIRING", 1);
    assertThat(Api.findings("bob", "?type=EXPIRING&status=open&key=" + k.keyId())).hasSize(1);
  }

  @Test
  void expiringAlertsOnceAtSevenThreeAndOneDayBeforeExpiry() {
    KeySnapshot k =
        Events.snapshot(
            UUID.randomUUID().toString(),
            Api.account("bob"),
            "expires-soon",
            KeyStatus.ACTIVE,
            TestClock.now(),
            TestClock.now().plus(Duration.ofDays(10)),
            0,
            1);
    Api.created(k);
    Api.sweep();
    assertThat(Api.findings("bob", "?type=EXPIRING&key=" + k.keyId())).isEmpty();

    TestClock.advance(Duration.ofDays(3).plusHours(12)); // 6.5 days left
    Api.sweep();
    Api.sweep();
    awaitKafkaAlerts(k.keyId(), "EXPIRING", 1);

    TestClock.advance(Duration.ofDays(1)); // 5.5 days left: still the 7-day alert
    Api.sweep();
    awaitKafkaAlerts(k.keyId(), "EXPIRING", 1);

    TestClock.advance(Duration.ofDays(3)); // 2.5 days left
    Api.sweep();
    Api.sweep();
    awaitKafkaAlerts(k.keyId(), "EXPIRING", 2);

    TestClock.advance(Duration.ofDays(1).plusHours(14)); // 22 hours left
    Api.sweep();
    Api.sweep();
    awaitKafkaAlerts(k.keyId(), "EXPIRING", 3);
    List<String> periods = kafkaAlerts(k.keyId(), "EXPIRING");
    assertThat(periods.get(0)).startsWith("7d:");
    assertThat(periods.get(1)).startsWith("3d:");
    assertThat(periods.get(2)).startsWith("1d:");
    assertThat(Api.findings("bob", "?type=EXPIRING&key=" + k.keyId()))
        .singleElement()
        .satisfies(f -> assertThat(f.get("period").toString()).startsWith("1d:"));

    // expired: the finding resolves, nothing more is sent
    TestClock.advance(Duration.ofDays(1));
    Api.sweep();
    assertThat(Api.findings("bob", "?type=EXPIRING&status=open&key=" + k.keyId())).isEmpty();
    awaitKafkaAlerts(k.keyId(), "EXPIRING", 3);
  }

  private static void threshold(KeySnapshot k, int percent, String period) {
    Events.send(
        Topics.USAGE_EVENTS,
        k.keyId(),
        CloudEvent.of(
            QuotaThreshold.TYPE,
            "/usage-service",
            k.keyId(),
            TestClock.now(),
            new QuotaThreshold(
                k.keyId(),
                k.account(),
                "key",
                percent,
                percent * 10_000L,
                1_000_000L,
                period,
                TestClock.now())));
  }

  @Test
  void quotaNearAlertsOnceAtEightyAndOnceAtNinetyFivePercentPerPeriod() {
    KeySnapshot k =
        Api.created(
            Events.snapshot(
                UUID.randomUUID().toString(),
                Api.account("alice"),
                "quota-watched",
                KeyStatus.ACTIVE,
                TestClock.now(),
                null,
                1_000_000L,
                1));
    String period = "p-" + UUID.randomUUID().toString().substring(0, 6);
    threshold(k, 80, period);
    awaitKafkaAlerts(k.keyId(), "QUOTA_NEAR", 1);
    // usage-service sends it again (another event id), and the sweep runs: nothing new
    threshold(k, 80, period);
    Api.sweep();
    awaitKafkaAlerts(k.keyId(), "QUOTA_NEAR", 1);

    threshold(k, 95, period);
    awaitKafkaAlerts(k.keyId(), "QUOTA_NEAR", 2);
    threshold(k, 95, period);
    Api.sweep();
    awaitKafkaAlerts(k.keyId(), "QUOTA_NEAR", 2);
    assertThat(kafkaAlerts(k.keyId(), "QUOTA_NEAR"))
        .containsExactly("key:80:" + period, "key:95:" + period);

    // the next period alerts again
    String next = period + "-next";
    threshold(k, 80, next);
    awaitKafkaAlerts(k.keyId(), "QUOTA_NEAR", 3);
    assertThat(kafkaAlerts(k.keyId(), "QUOTA_NEAR").get(2)).isEqualTo("key:80:" + next);
  }

  @Test
  void findingTypesLimitWebhookAndEmailToTheChosenTypesButKafkaGetsAll() {
    String hook = "/types-" + UUID.randomUUID().toString().substring(0, 6);
    Api.as("bob")
        .contentType("application/json")
        .body(
            Map.of(
                "webhookUrl",
                WebhookReceiver.url(hook),
                "email",
                "bob-types@example.test",
                "findingTypes",
                List.of("LEAKED_STILL_USED"),
                "mode",
                "immediate"))
        .put("/api/audit/alert-settings")
        .then()
        .statusCode(200);
    KeySnapshot unused =
        Api.created(
            Events.key(
                Api.account("bob"),
                "unused-not-chosen",
                KeyStatus.ACTIVE,
                TestClock.now().minus(Duration.ofDays(9)),
                1));
    KeySnapshot k =
        Api.created(
            Events.key(Api.account("bob"), "leaked-chosen", KeyStatus.ACTIVE, TestClock.now(), 1));
    KeySnapshot leaked = Events.with(k, KeyStatus.LEAKED, "leaked-chosen", 2);
    Events.sendKey(KeyEventType.LEAKED, leaked);
    Api.awaitVersion(leaked);
    Events.denied(leaked, "LEAKED", "203.0.113.9");
    Api.sweep();

    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                WebhookReceiver.at(hook).stream().anyMatch(r -> r.body().contains(k.keyId()))
                    && SmtpServer.MESSAGES.stream().anyMatch(m -> m.contains(k.keyId())));
    awaitKafkaAlerts(unused.keyId(), "NEVER_USED", 1);
    assertThat(Api.findings("bob", "?type=NEVER_USED&key=" + unused.keyId())).hasSize(1);
    assertThat(WebhookReceiver.at(hook))
        .noneMatch(r -> r.body().contains(unused.keyId()))
        .allMatch(r -> r.body().contains("LEAKED_STILL_USED"));
    assertThat(SmtpServer.MESSAGES).noneMatch(m -> m.contains(unused.keyId()));
    List<Map<String, Object>> log = Api.deliveries("bob");
    assertThat(
            log.stream()
                .filter(d -> unused.keyId().equals(d.get("keyId")))
                .map(d -> d.get("channel")))
        .containsExactly("kafka");
    assertThat(
            log.stream()
                .filter(d -> k.keyId().equals(d.get("keyId")))
                .map(d -> (String) d.get("channel")))
        .containsExactlyInAnyOrder("kafka", "webhook", "email");
  }
}
