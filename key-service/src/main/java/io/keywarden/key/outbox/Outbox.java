package io.keywarden.key.outbox;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.domain.KeyGroup;
import io.keywarden.key.domain.OutboxEvent;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.UUID;

/**
 * Writes events into the outbox table. Must be called inside the transaction of the change, so the
 * change and its event commit together or not at all.
 */
@ApplicationScoped
public class Outbox {
  static final String SOURCE = "/keywarden/key-service";
  private final Clock clock;

  Outbox(Clock clock) {
    this.clock = clock;
  }

  public Uni<Void> keyEvent(KeyEventType type, ApiKey key) {
    Instant now = clock.instant();
    CloudEvent<?> event =
        CloudEvent.of(type.type(), SOURCE, key.id.toString(), now, key.snapshot(now));
    return write(Topics.KEY_EVENTS, key.id.toString(), event);
  }

  public Uni<Void> groupEvent(KeyGroup group, boolean deleted) {
    CloudEvent<?> event =
        CloudEvent.of(
            GroupSnapshot.TYPE, SOURCE, group.name, clock.instant(), group.snapshot(deleted));
    return write(Topics.GROUPS, group.name, event);
  }

  /** An encoded key event for a row the caller writes itself (the create path's SQL function). */
  public record Pending(
      UUID eventId, String topic, String recordKey, String type, String payload) {}

  public Pending pendingKeyEvent(KeyEventType type, ApiKey key, Instant now) {
    CloudEvent<?> event =
        CloudEvent.of(type.type(), SOURCE, key.id.toString(), now, key.snapshot(now));
    return new Pending(
        UUID.fromString(event.id()),
        Topics.KEY_EVENTS,
        key.id.toString(),
        event.type(),
        EventCodec.encode(event));
  }

  private Uni<Void> write(String topic, String key, CloudEvent<?> event) {
    OutboxEvent row = new OutboxEvent();
    row.eventId = UUID.fromString(event.id());
    row.topic = topic;
    row.recordKey = key;
    row.eventType = event.type();
    row.payload = EventCodec.encode(event);
    row.createdAt = clock.instant();
    return row.persist().replaceWithVoid();
  }
}
