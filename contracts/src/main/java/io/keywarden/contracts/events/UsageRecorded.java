package io.keywarden.contracts.events;

import java.time.Instant;
import java.util.Map;

/**
 * Per-key usage roll-up for one window (a minute) on {@code keywarden.usage-events}.
 *
 * @param denials denied requests in the window by code (e.g. {@code RATE_LIMITED})
 * @param keySpentMicros the key's spend in its current quota period after this window
 */
public record UsageRecorded(
    String keyId,
    String account,
    Instant windowStart,
    Instant windowEnd,
    long requests,
    Map<String, Long> denials,
    long spendMicros,
    long inputTokens,
    long outputTokens,
    int distinctClientIps,
    int distinctUserAgents,
    Instant lastUsedAt,
    String lastClientIp,
    long keySpentMicros) {
  public static final String TYPE = "keywarden.usage.recorded";

  public UsageRecorded {
    denials = denials == null ? Map.of() : Map.copyOf(denials);
  }
}
