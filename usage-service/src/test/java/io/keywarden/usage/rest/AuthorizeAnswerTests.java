package io.keywarden.usage.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.usage.authz.Authorizer;
import io.keywarden.usage.authz.DecisionCode;
import io.keywarden.usage.authz.KeyCheck;
import io.keywarden.usage.projection.KeyProjection;
import jakarta.ws.rs.core.Response;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The hand-written authorize answer is the JSON Jackson would write for the same values. */
class AuthorizeAnswerTests {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

  static KeyProjection.KeyEntry entry(String account, String group) {
    KeyProjection p = new KeyProjection();
    String id = UUID.randomUUID().toString();
    p.apply(
        new KeySnapshot(
            id,
            account,
            "name",
            group,
            KeyStatus.ACTIVE,
            KeyFormat.sha256Hex("sk-kw-answer-test"),
            KeyFormat.mask("sk-kw-answer-test"),
            false,
            null,
            null,
            List.of(),
            0,
            QuotaReset.NONE,
            new RateLimit(null, null, null),
            null,
            NOW,
            NOW,
            null,
            1));
    return p.byId(id).orElseThrow();
  }

  /** What the answer was before: a map written by Jackson. */
  static JsonNode viaJackson(Authorizer.Decision d) {
    Map<String, Object> remaining = new LinkedHashMap<>();
    remaining.put(
        "quotaUsd",
        d.quotaRemainingMicros() == null
            ? null
            : io.keywarden.contracts.Money.formatUsd(Math.max(0, d.quotaRemainingMicros())));
    remaining.put(
        "balanceUsd",
        d.balanceMicros() == null ? null : AuthorizeResource.formatSigned(d.balanceMicros()));
    remaining.put("requestsThisMinute", d.requestsRemaining());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("allowed", d.allowed());
    out.put("code", d.code().name());
    out.put("keyId", d.key() == null ? null : d.key().keyId());
    out.put("account", d.key() == null ? null : d.key().account());
    out.put("group", d.key() == null ? null : d.key().group());
    out.put("remaining", remaining);
    out.put("retryAfterSeconds", d.retryAfterSeconds());
    return JSON.valueToTree(out);
  }

  static void same(Authorizer.Decision d) throws Exception {
    Response r = AuthorizeResource.answer(d);
    String body = (String) r.getEntity();
    assertThat(JSON.readTree(body)).isEqualTo(viaJackson(d));
    // field order as before, too
    assertThat(body).startsWith("{\"allowed\":").contains("\"remaining\":{\"quotaUsd\":");
    assertThat(r.getHeaderString("Retry-After"))
        .isEqualTo(d.retryAfterSeconds() == null ? null : d.retryAfterSeconds().toString());
  }

  @Test
  void everyShapeOfDecisionIsWrittenAsJacksonWouldWriteIt() throws Exception {
    var plain = entry("acct-1", "default");
    var hostile = entry("a\"c\\c\u0001t \u00e9\u4e2d\ud83d\ude00 </script>", "g\n\"roup\"");
    same(new Authorizer.Decision(DecisionCode.INVALID_KEY, null, null, null, null, null));
    same(
        new Authorizer.Decision(
            DecisionCode.VALID,
            new KeyCheck.Result(DecisionCode.VALID, plain, null),
            1_500_000L,
            -2_250_000L,
            59,
            null));
    same(
        new Authorizer.Decision(
            DecisionCode.RATE_LIMITED,
            new KeyCheck.Result(DecisionCode.RATE_LIMITED, hostile, null),
            null,
            0L,
            0,
            17));
    same(
        new Authorizer.Decision(
            DecisionCode.KEY_QUOTA_EXCEEDED,
            new KeyCheck.Result(DecisionCode.KEY_QUOTA_EXCEEDED, plain, null),
            -5L,
            null,
            null,
            null));
  }
}
