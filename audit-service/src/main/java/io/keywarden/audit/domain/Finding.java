package io.keywarden.audit.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** A finding about a key; at most one unresolved per (key, type), enforced by an index. */
@Entity
@Table(name = "findings")
public class Finding extends PanacheEntityBase {
  public static final String OPEN = "open";
  public static final String ACKNOWLEDGED = "acknowledged";
  public static final String RESOLVED = "resolved";

  @Id public UUID id;

  @Column(name = "key_id")
  public String keyId;

  public String account;
  public String type;
  public String status;
  public String period;
  public String detail;

  @Column(name = "opened_at")
  public Instant openedAt;

  @Column(name = "updated_at")
  public Instant updatedAt;

  @Column(name = "acked_at")
  public Instant ackedAt;

  @Column(name = "resolved_at")
  public Instant resolvedAt;
}
