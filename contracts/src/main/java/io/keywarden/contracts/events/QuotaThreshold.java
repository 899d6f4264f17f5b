package io.keywarden.contracts.events;

import java.time.Instant;

/**
 * A key's quota or an account's balance crossed {@code percent} (80, 95 or 100) in a period; sent
 * once per (scope, percent, period). 100 is sent with type {@link #EXHAUSTED}.
 *
 * @param scope {@code key} or {@code account}
 * @param period the quota period it belongs to, e.g. {@code 2026-11-23} or {@code none}
 */
public record QuotaThreshold(
    String keyId,
    String account,
    String scope,
    int percent,
    long spentMicros,
    long limitMicros,
    String period,
    Instant at) {
  public static final String TYPE = "keywarden.usage.quota-threshold";
  public static final String EXHAUSTED = "keywarden.usage.quota-exhausted";
}
