package io.keywarden.key.domain;

import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.UUID;

/** An event waiting to be published; written in the transaction of the change it describes. */
@Entity
@Table(name = "outbox")
public class OutboxEvent extends PanacheEntityBase {
  @Id
  @GeneratedValue(strategy = GenerationType.IDENTITY)
  public Long seq;

  @Column(name = "event_id")
  public UUID eventId;

  public String topic;

  @Column(name = "record_key")
  public String recordKey;

  @Column(name = "event_type")
  public String eventType;

  @Column(columnDefinition = "text")
  public String payload;

  @Column(name = "created_at")
  public Instant createdAt;

  @Column(name = "published_at")
  public Instant publishedAt;
}
