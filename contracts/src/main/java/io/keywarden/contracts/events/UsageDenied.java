package io.keywarden.contracts.events;

import java.time.Instant;

/**
 * A request refused for a known key, with its code (e.g. {@code LEAKED}, {@code REVOKED}): a leaked
 * key still being tried matters to audit.
 */
public record UsageDenied(
    String keyId, String account, String code, String clientIp, String userAgent, Instant at) {
  public static final String TYPE = "keywarden.usage.denied";
}
