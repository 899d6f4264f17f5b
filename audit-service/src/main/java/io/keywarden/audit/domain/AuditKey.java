package io.keywarden.audit.domain;

import io.keywarden.audit.findings.KeyFacts;
import io.keywarden.contracts.events.KeyStatus;
import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.time.LocalDate;
import org.hibernate.annotations.DynamicUpdate;

/** audit-service's projection of a key: never a secret, never a hash. */
@Entity
@DynamicUpdate
@Table(name = "audit_keys")
public class AuditKey extends PanacheEntityBase {
  @Id
  @Column(name = "key_id")
  public String keyId;

  public String account;
  public String name;

  @Column(name = "group_name")
  public String group;

  public String status;

  @Column(name = "quota_micros")
  public long quotaMicros;

  @Column(name = "quota_reset")
  public String quotaReset;

  @Column(name = "expires_at")
  public Instant expiresAt;

  @Column(name = "created_at")
  public Instant createdAt;

  @Column(name = "updated_at")
  public Instant updatedAt;

  @Column(name = "rotated_at")
  public Instant rotatedAt;

  public long version;

  @Column(name = "last_used_at")
  public Instant lastUsedAt;

  @Column(name = "last_client_ip")
  public String lastClientIp;

  @Column(name = "spent_micros")
  public long spentMicros;

  @Column(name = "total_spend_micros")
  public long totalSpendMicros;

  @Column(name = "total_requests")
  public long totalRequests;

  @Column(name = "last_denied_at")
  public Instant lastDeniedAt;

  @Column(name = "last_denied_ip")
  public String lastDeniedIp;

  @Column(name = "quota_event_scope")
  public String quotaEventScope;

  @Column(name = "quota_event_percent")
  public Integer quotaEventPercent;

  @Column(name = "quota_event_period")
  public String quotaEventPeriod;

  @Column(name = "quota_event_at")
  public Instant quotaEventAt;

  public KeyStatus keyStatus() {
    return KeyStatus.fromWire(status);
  }

  public KeyFacts facts(LocalDate usageDay, int distinctIps, int distinctAgents) {
    return new KeyFacts(
        keyId,
        account,
        keyStatus(),
        createdAt,
        rotatedAt,
        expiresAt,
        lastUsedAt,
        lastDeniedAt,
        lastDeniedIp,
        quotaMicros,
        quotaReset,
        spentMicros,
        usageDay,
        distinctIps,
        distinctAgents,
        quotaEventScope,
        quotaEventPercent,
        quotaEventPeriod,
        quotaEventAt);
  }
}
