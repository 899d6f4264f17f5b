package io.keywarden.key.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** The operator's caps and defaults; a null column falls back to the configuration. */
@Entity
@Table(name = "key_policy")
public class KeyPolicyRow extends PanacheEntityBase {
  @Id public Integer id;

  @Column(name = "max_live_keys_per_account")
  public Integer maxLiveKeysPerAccount;

  @Column(name = "max_quota_micros")
  public Long maxQuotaMicros;

  @Column(name = "max_lifetime_seconds")
  public Long maxLifetimeSeconds;

  @Column(name = "default_lifetime_seconds")
  public Long defaultLifetimeSeconds;

  @Column(name = "updated_at")
  public Instant updatedAt;

  @Column(name = "updated_by")
  public String updatedBy;
}
