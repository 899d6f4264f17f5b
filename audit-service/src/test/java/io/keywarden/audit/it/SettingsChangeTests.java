package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Alerts queued under settings the account changed before they went out (a first attempt failed,
 * the retry is pending): the retry follows the settings as they are now. A digest queued in daily
 * mode is not sent once the account is back to immediate alerts (it was: to the new webhook, which
 * is how a digest reached {@code ExpiryQuotaAndFilterTests}' webhook after {@code AnyJsonBodyTests}
 * had left bob in daily mode), and an alert of a type the account took out of its types is not sent
 * to its new webhook. Each is cancelled at once, with the reason in the log.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class SettingsChangeTests {
  private final String run = UUID.randomUUID().toString().substring(0, 8);
  private final String account = "acct-settings-change-" + run;

  @AfterEach
  void cleanUp() throws Exception {
    try (Connection c = DeliveryRaceTests.db()) {
      for (String table : List.of("alert_deliveries", "findings", "audit_keys", "alert_settings")) {
        try (PreparedStatement ps =
            c.prepareStatement("delete from " + table + " where account = ?")) {
          ps.setString(1, account);
          ps.executeUpdate();
        }
      }
    }
  }

  private void put(Map<String, Object> settings) {
    Api.as("carol")
        .contentType("application/json")
        .body(settings)
        .put("/api/audit/alert-settings?account=" + account)
        .then()
        .statusCode(200);
  }

  /** (finding type, status, attempts, last error) of the account's deliveries on a channel. */
  private List<List<Object>> deliveries(String channel) throws Exception {
    try (Connection c = DeliveryRaceTests.db();
        PreparedStatement ps =
            c.prepareStatement(
                "select finding_type, status, attempts, last_error from alert_deliveries"
                    + " where account = ? and channel = ? order by created_at")) {
      ps.setString(1, account);
      ps.setString(2, channel);
      List<List<Object>> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(
              java.util.Arrays.asList(
                  rs.getString(1), rs.getString(2), rs.getInt(3), rs.getString(4)));
        }
      }
      return out;
    }
  }

  /** A key of the account that its next sweep finds NEVER_USED. */
  private KeySnapshot unusedKey() {
    return Api.created(
        Events.key(
            account,
            "never-used-" + run,
            KeyStatus.ACTIVE,
            TestClock.now().minusSeconds(9 * 86400),
            1));
  }

  @Test
  void aDigestQueuedInDailyModeIsNotSentOnceTheAccountIsBackToImmediateAlerts() throws Exception {
    String old = "/digest-old-" + run;
    String now = "/digest-new-" + run;
    WebhookReceiver.failFirst(old, 1_000);
    put(Map.of("mode", "daily", "webhookUrl", WebhookReceiver.url(old)));
    unusedKey();
    Api.sweep();
    // the digest went out once and failed: its retry is pending
    await().atMost(Duration.ofSeconds(30)).until(() -> !WebhookReceiver.at(old).isEmpty());
    put(Map.of("mode", "immediate", "webhookUrl", WebhookReceiver.url(now)));
    List<List<Object>> log = settledWebhookDeliveries();
    System.out.printf("settings change, digest: webhook deliveries %s%n", log);
    assertThat(WebhookReceiver.at(now)).as("a digest sent in immediate mode").isEmpty();
    assertThat(log).hasSize(1);
    assertThat(log.get(0).get(0)).isEqualTo("DIGEST");
    assertThat(log.get(0).get(1)).isEqualTo("failed");
    assertThat((String) log.get(0).get(3)).startsWith("cancelled: ").contains("daily digest");
    // the attempts at the old webhook stopped with the change: failed for good at the next one
    assertThat((int) log.get(0).get(2)).isEqualTo(WebhookReceiver.at(old).size() + 1);
  }

  @Test
  void anAlertOfATypeTheAccountNoLongerWantsIsNotSentToItsNewWebhook() throws Exception {
    String old = "/types-old-" + run;
    String now = "/types-new-" + run;
    KeySnapshot k = alertFailingAt(old);
    put(
        Map.of(
            "mode",
            "immediate",
            "webhookUrl",
            WebhookReceiver.url(now),
            "findingTypes",
            List.of("LEAKED_STILL_USED")));
    List<List<Object>> log = settledWebhookDeliveries();
    System.out.printf("settings change, types: webhook deliveries %s%n", log);
    assertThat(WebhookReceiver.at(now)).as("an unwanted type sent").isEmpty();
    assertThat(WebhookReceiver.at(old)).allMatch(r -> r.body().contains(k.keyId()));
    assertThat(log).hasSize(1);
    assertThat(log.get(0).get(0)).isEqualTo("NEVER_USED");
    assertThat(log.get(0).get(1)).isEqualTo("failed");
    assertThat((String) log.get(0).get(3))
        .isEqualTo("cancelled: the account no longer wants NEVER_USED alerts");
    // Kafka still has it
    assertThat(deliveries("kafka")).extracting(d -> d.get(1)).containsExactly("delivered");
  }

  @Test
  void aRetryFollowsAFixedWebhookAndARemovedOneIsCancelledNotRetried() throws Exception {
    String old = "/fixed-old-" + run;
    String now = "/fixed-new-" + run;
    KeySnapshot first = alertFailingAt(old);
    // the URL fixed: the pending retry goes to the new one, once
    put(Map.of("mode", "immediate", "webhookUrl", WebhookReceiver.url(now)));
    await().atMost(Duration.ofSeconds(60)).until(() -> !WebhookReceiver.at(now).isEmpty());
    assertThat(WebhookReceiver.at(now))
        .singleElement()
        .satisfies(r -> assertThat(r.body()).contains(first.keyId()));

    // the webhook removed while a retry is pending: cancelled at its next attempt, not retried
    WebhookReceiver.failFirst(now, 1_000);
    KeySnapshot second =
        Api.created(
            Events.key(
                account,
                "never-used-2-" + run,
                KeyStatus.ACTIVE,
                TestClock.now().minusSeconds(9 * 86400),
                1));
    Api.sweep();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                WebhookReceiver.at(now).stream().anyMatch(r -> r.body().contains(second.keyId())));
    put(Map.of("mode", "immediate"));
    List<List<Object>> log = settledWebhookDeliveries();
    System.out.printf("settings change, fixed and removed: webhook deliveries %s%n", log);
    long sentSecond =
        WebhookReceiver.at(now).stream().filter(r -> r.body().contains(second.keyId())).count();
    assertThat(log).hasSize(2);
    assertThat(log.get(0).get(1)).isEqualTo("delivered");
    assertThat(log.get(1).get(1)).isEqualTo("failed");
    assertThat(log.get(1).get(3)).isEqualTo("cancelled: no webhook configured any more");
    assertThat((int) log.get(1).get(2)).isEqualTo((int) sentSecond + 1);
  }

  /**
   * Immediate alerts to a webhook at {@code path} that refuses every call; a never-used key, swept:
   * its alert's first attempt has failed when this returns.
   */
  private KeySnapshot alertFailingAt(String path) throws Exception {
    WebhookReceiver.failFirst(path, 1_000);
    put(Map.of("mode", "immediate", "webhookUrl", WebhookReceiver.url(path)));
    KeySnapshot k = unusedKey();
    Api.sweep();
    await().atMost(Duration.ofSeconds(30)).until(() -> !WebhookReceiver.at(path).isEmpty());
    return k;
  }

  /** The account's webhook deliveries once none is pending any more. */
  private List<List<Object>> settledWebhookDeliveries() throws Exception {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> deliveries("webhook").stream().noneMatch(d -> "pending".equals(d.get(1))));
    return deliveries("webhook");
  }
}
