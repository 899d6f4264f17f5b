package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.TestResolver;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Webhook host NAMES that resolve to the metadata service (or another link-local, unspecified or
 * multicast address) are refused when the alert is sent, not only literal addresses when the
 * settings are saved: the name is resolved at every delivery and the request goes to the checked
 * address. The names are fixed in local-stack's {@link TestResolver} (the JVM's resolver in these
 * tests).
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class WebhookDnsTests {
  private final List<String> keys = new ArrayList<>();

  @BeforeAll
  static void names() {
    TestResolver.fix("receiver.kw.test", "127.0.0.1");
    TestResolver.fix("metadata-alias.kw.test", "169.254.169.254");
    TestResolver.fix("mixed.kw.test", "127.0.0.1", "169.254.169.254");
    TestResolver.fix("mapped.kw.test", "::ffff:a9fe:a9fe");
  }

  @AfterEach
  void cleanUp() throws Exception {
    try (Connection c = SweepScaleTests.db()) {
      for (String table : List.of("alert_deliveries", "findings", "audit_keys")) {
        try (PreparedStatement ps =
            c.prepareStatement("delete from " + table + " where key_id = any(?)")) {
          ps.setArray(1, c.createArrayOf("varchar", keys.toArray()));
          ps.executeUpdate();
        }
      }
      try (PreparedStatement ps =
          c.prepareStatement("delete from alert_settings where account = ?")) {
        ps.setString(1, Api.account("bob"));
        ps.executeUpdate();
      }
    }
  }

  private static void webhook(String url) {
    Api.as("bob")
        .contentType("application/json")
        .body(
            Map.of("webhookUrl", url, "webhookSecret", "whsec-dns-0123456789", "mode", "immediate"))
        .put("/api/audit/alert-settings")
        .then()
        .statusCode(200);
  }

  /** A never-used key of bob's, swept: one webhook delivery planned for it. */
  private KeySnapshot neverUsedKey(String name) {
    KeySnapshot k =
        Api.created(
            Events.key(
                Api.account("bob"),
                name,
                KeyStatus.ACTIVE,
                TestClock.now().minus(Duration.ofDays(9)),
                1));
    keys.add(k.keyId());
    Api.sweep();
    return k;
  }

  private static Optional<Map<String, Object>> webhookDelivery(String keyId) {
    return Api.deliveries("bob").stream()
        .filter(d -> keyId.equals(d.get("keyId")) && "webhook".equals(d.get("channel")))
        .findFirst();
  }

  private static String port() {
    return String.valueOf(WebhookReceiver.port());
  }

  @Test
  void aNameResolvingToTheMetadataServiceIsRefusedAtDeliveryAndNothingIsSent() {
    WebhookReceiver.url("/dns-start"); // the receiver listens on 127.0.0.1
    List<String[]> cases =
        List.of(
            new String[] {"metadata-alias.kw.test", "169.254.169.254, a link-local"},
            // one good address is not enough: the refused one could be the one connected to
            new String[] {"mixed.kw.test", "169.254.169.254, a link-local"},
            new String[] {"mapped.kw.test", "169.254.169.254, a link-local"});
    for (String[] c : cases) {
      String path = "/dns-" + c[0];
      // the settings take the name: what it resolves to is checked when sending
      webhook("http://" + c[0] + ":" + port() + path);
      KeySnapshot k = neverUsedKey("dns-" + c[0]);
      awaitWebhookStatus(k.keyId(), "failed", Duration.ofSeconds(30));
      Map<String, Object> d = webhookDelivery(k.keyId()).orElseThrow();
      assertThat((String) d.get("lastError"))
          .as(c[0])
          .isEqualTo("the webhook host resolves to " + c[1] + " address: not sent")
          .doesNotContain("whsec");
      // refused for good at the first attempt, not retried
      assertThat(((Number) d.get("attempts")).intValue()).as(c[0]).isEqualTo(1);
      assertThat(WebhookReceiver.at(path)).as(c[0]).isEmpty();
    }

    // a name resolving to loopback (an internal receiver) still gets its alerts, under its name
    String path = "/dns-receiver";
    webhook("http://receiver.kw.test:" + port() + path);
    KeySnapshot k = neverUsedKey("dns-receiver");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> WebhookReceiver.at(path).stream().anyMatch(r -> r.body().contains(k.keyId())));
    WebhookReceiver.Received r =
        WebhookReceiver.at(path).stream()
            .filter(x -> x.body().contains(k.keyId()))
            .findFirst()
            .orElseThrow();
    assertThat(r.headers().get("host")).isEqualTo("receiver.kw.test:" + port());
    awaitWebhookStatus(k.keyId(), "delivered", Duration.ofSeconds(10));
  }

  /** Waits (at most {@code atMost}) until the key's webhook delivery has {@code status}. */
  private static void awaitWebhookStatus(String keyId, String status, Duration atMost) {
    await()
        .atMost(atMost)
        .until(() -> webhookDelivery(keyId).map(d -> status.equals(d.get("status"))).orElse(false));
  }
}
