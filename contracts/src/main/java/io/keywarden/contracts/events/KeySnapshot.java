package io.keywarden.contracts.events;

import java.time.Instant;
import java.util.List;

/**
 * The full current state of a key, carried by every key event (a snapshot, not a diff). It holds
 * the SHA-256 of the secret, never the secret. {@code version} grows by one per change of the key,
 * so a consumer applies an event only when its version is newer than what it holds.
 *
 * @param previousKeyHash after a rotation with overlap: the old secret's hash, honoured until
 *     {@code previousKeyExpiresAt}
 */
public record KeySnapshot(
    String keyId,
    String account,
    String name,
    String group,
    KeyStatus status,
    String keyHash,
    String mask,
    boolean custom,
    String previousKeyHash,
    Instant previousKeyExpiresAt,
    List<String> allowedIps,
    long quotaMicros,
    QuotaReset quotaReset,
    RateLimit rateLimit,
    Instant expiresAt,
    Instant createdAt,
    Instant updatedAt,
    Instant rotatedAt,
    long version) {

  public KeySnapshot {
    allowedIps = allowedIps == null ? List.of() : List.copyOf(allowedIps);
    quotaReset = quotaReset == null ? QuotaReset.NONE : quotaReset;
    rateLimit = rateLimit == null ? RateLimit.NONE : rateLimit;
  }
}
