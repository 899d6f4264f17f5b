package io.keywarden.key.rest;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.keywarden.contracts.Money;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.key.domain.ApiKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** A key as the API shows it: never the hash; the secret only in the create and rotate answers. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KeyView(
    String id,
    String account,
    String name,
    String group,
    String status,
    String mask,
    boolean custom,
    List<String> allowedIps,
    String quotaUsd,
    String quotaReset,
    RateLimit rateLimit,
    Instant expiresAt,
    Instant createdAt,
    Instant updatedAt,
    Instant rotatedAt,
    Instant previousSecretExpiresAt,
    Instant lastUsedAt,
    String spentUsd,
    String quotaRemainingUsd,
    String secret,
    Map<String, String> useLinks,
    Object useConfigs) {

  public static KeyView of(ApiKey k, Instant now, String usePath, String secret, Object configs) {
    Long remaining = k.quotaMicros == 0 ? null : Math.max(0, k.quotaMicros - k.spentMicros);
    Instant prevEnd =
        k.previousKeyHash != null
                && k.previousKeyExpiresAt != null
                && now.isBefore(k.previousKeyExpiresAt)
            ? k.previousKeyExpiresAt
            : null;
    return new KeyView(
        k.id.toString(),
        k.account,
        k.name,
        k.group,
        k.effectiveStatus(now).wire(),
        k.mask,
        k.custom,
        k.allowedIps(),
        Money.formatUsd(k.quotaMicros),
        k.quotaReset,
        k.rateLimit(),
        k.expiresAt,
        k.createdAt,
        k.updatedAt,
        k.rotatedAt,
        prevEnd,
        k.lastUsedAt,
        Money.formatUsd(k.spentMicros),
        remaining == null ? null : Money.formatUsd(remaining),
        secret,
        useLinks(usePath),
        configs);
  }

  static Map<String, String> useLinks(String usePath) {
    return Map.of(
        "codex", usePath + "?client=codex",
        "claude-code", usePath + "?client=claude-code",
        "cursor", usePath + "?client=cursor",
        "cherry-studio", usePath + "?client=cherry-studio",
        "cc-switch", usePath + "?client=cc-switch");
  }
}
