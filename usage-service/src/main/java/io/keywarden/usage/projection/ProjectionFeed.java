package io.keywarden.usage.projection;

import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.KeySnapshot;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/** Feeds the projection from the key and group topics. Bad records are logged and skipped. */
@ApplicationScoped
public class ProjectionFeed {
  private static final Logger LOG = Logger.getLogger(ProjectionFeed.class);
  private final KeyProjection projection;
  private final CatchUp catchUp;

  ProjectionFeed(
      KeyProjection projection, @org.eclipse.microprofile.health.Readiness CatchUp catchUp) {
    this.projection = projection;
    this.catchUp = catchUp;
  }

  /**
   * A whole poll at a time (mp.messaging.incoming.key-events.batch=true): the per-message cost of
   * the messaging layer is paid once per poll instead of once per key, which a rebuild of a million
   * keys from the broker feels (about 48 s per record, about 11 s per poll).
   */
  @Incoming("key-events")
  public void onKeyEvents(ConsumerRecords<String, String> records) {
    for (ConsumerRecord<String, String> record : records) {
      onKeyEvent(record);
    }
  }

  void onKeyEvent(ConsumerRecord<String, String> record) {
    try {
      CloudEvent<?> e = EventCodec.decode(record.value());
      if (e.data() instanceof KeySnapshot k) {
        projection.apply(k);
      } else {
        LOG.warnf("skipped %s on %s: not a key event", e.type(), record.topic());
      }
    } catch (EventCodec.MalformedEventException ex) {
      LOG.warnf(
          "skipped a malformed record at %s-%d@%d: %s",
          record.topic(), record.partition(), record.offset(), ex.getMessage());
    } finally {
      catchUp.consumed(record.topic(), record.partition(), record.offset());
    }
  }

  @Incoming("groups")
  public void onGroupEvent(ConsumerRecord<String, String> record) {
    try {
      CloudEvent<?> e = EventCodec.decode(record.value());
      if (e.data() instanceof GroupSnapshot g) {
        projection.apply(g);
      }
    } catch (EventCodec.MalformedEventException ex) {
      LOG.warnf(
          "skipped a malformed record at %s-%d@%d: %s",
          record.topic(), record.partition(), record.offset(), ex.getMessage());
    } finally {
      catchUp.consumed(record.topic(), record.partition(), record.offset());
    }
  }
}
