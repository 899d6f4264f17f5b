package io.keywarden.audit.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/**
 * One alert on one channel. Unique on (scope, finding type, period, channel) in the database, so
 * restarts and redeliveries cannot send it twice.
 */
@Entity
@Table(name = "alert_deliveries")
public class AlertDelivery extends PanacheEntityBase {
  public static final String PENDING = "pending";
  public static final String DELIVERED = "delivered";
  public static final String FAILED = "failed";

  @Id public UUID id;

  /** The key id, or {@code account:<account>} for a daily digest. */
  public String scope;

  @Column(name = "key_id")
  public String keyId;

  public String account;

  @Column(name = "finding_id")
  public UUID findingId;

  @Column(name = "finding_type")
  public String findingType;

  public String period;
  public String channel;
  public String status;
  public int attempts;

  @Column(name = "next_attempt_at")
  public Instant nextAttemptAt;

  @Column(name = "last_error")
  public String lastError;

  @Column(name = "created_at")
  public Instant createdAt;

  @Column(name = "delivered_at")
  public Instant deliveredAt;
}
