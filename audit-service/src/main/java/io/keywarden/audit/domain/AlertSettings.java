package io.keywarden.audit.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** Where and how an account wants its alerts. */
@Entity
@Table(name = "alert_settings")
public class AlertSettings extends PanacheEntityBase {
  public static final String IMMEDIATE = "immediate";
  public static final String DAILY = "daily";

  @Id public String account;

  @Column(name = "webhook_url")
  public String webhookUrl;

  @Column(name = "webhook_secret")
  public String webhookSecret;

  public String email;

  /** Comma-separated finding types. */
  @Column(name = "finding_types")
  public String findingTypes;

  public String mode;

  @Column(name = "auto_disable_stale")
  public boolean autoDisableStale;

  @Column(name = "updated_at")
  public Instant updatedAt;
}
