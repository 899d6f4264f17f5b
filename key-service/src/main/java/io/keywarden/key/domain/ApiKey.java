package io.keywarden.key.domain;

import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.RateLimit;
import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** A key of an account. Holds the SHA-256 of its secret, never the secret. */
@Entity
@Table(name = "api_keys")
public class ApiKey extends PanacheEntityBase {
  @Id public UUID id;
  public String account;
  public String name;

  @Column(name = "group_name")
  public String group;

  public String status;

  @Column(name = "key_hash")
  public String keyHash;

  public String mask;
  public boolean custom;

  @Column(name = "previous_key_hash")
  public String previousKeyHash;

  @Column(name = "previous_key_expires_at")
  public Instant previousKeyExpiresAt;

  /** JSON array of normalised addresses and CIDRs. */
  @Column(name = "allowed_ips", columnDefinition = "text")
  public String allowedIpsJson = "[]";

  @Column(name = "quota_micros")
  public long quotaMicros;

  @Column(name = "quota_reset")
  public String quotaReset = "none";

  @Column(name = "requests_per_minute")
  public Integer requestsPerMinute;

  @Column(name = "tokens_per_minute")
  public Integer tokensPerMinute;

  @Column(name = "concurrent_requests")
  public Integer concurrentRequests;

  @Column(name = "expires_at")
  public Instant expiresAt;

  @Column(name = "created_at")
  public Instant createdAt;

  @Column(name = "updated_at")
  public Instant updatedAt;

  @Column(name = "rotated_at")
  public Instant rotatedAt;

  @Column(name = "revoked_at")
  public Instant revokedAt;

  @Column(name = "last_used_at")
  public Instant lastUsedAt;

  @Column(name = "last_used_ip")
  public String lastUsedIp;

  @Column(name = "spent_micros")
  public long spentMicros;

  /** Window end of the usage roll-up that last set lastUsedAt and spentMicros. */
  @Column(name = "usage_as_of")
  public Instant usageAsOf;

  public long version;

  public KeyStatus storedStatus() {
    return KeyStatus.fromWire(status);
  }

  /** The status a caller sees: an active key past its expiry is expired. */
  public KeyStatus effectiveStatus(Instant now) {
    KeyStatus s = storedStatus();
    if ((s == KeyStatus.ACTIVE || s == KeyStatus.DISABLED)
        && expiresAt != null
        && !now.isBefore(expiresAt)) {
      return KeyStatus.EXPIRED;
    }
    return s;
  }

  public RateLimit rateLimit() {
    return new RateLimit(requestsPerMinute, tokensPerMinute, concurrentRequests);
  }

  public List<String> allowedIps() {
    // most keys allow every address: no parse for the empty list
    return "[]".equals(allowedIpsJson) ? List.of() : Json.readStringList(allowedIpsJson);
  }

  public KeySnapshot snapshot(Instant now) {
    return new KeySnapshot(
        id.toString(),
        account,
        name,
        group,
        effectiveStatus(now),
        keyHash,
        mask,
        custom,
        previousKeyHash,
        previousKeyExpiresAt,
        allowedIps(),
        quotaMicros,
        QuotaReset.fromWire(quotaReset),
        rateLimit(),
        expiresAt,
        createdAt,
        updatedAt,
        rotatedAt,
        version);
  }
}
