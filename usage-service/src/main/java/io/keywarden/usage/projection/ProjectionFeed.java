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
   * A whole poll at a time (mp.messaging.incoming.key-events.batch=true): the messaging layer's
   * per-message cost is paid once per poll (bench/usage-replay.sh: a 1M-key rebuild from the broker
   * took 47.9 s record by record, 17.9 s poll by poll). Decoding a poll on two threads was tried
   * and measured no better on this shared 2-core machine (29.5 s in a busier run).
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
      if (e.data() instanceof KeySnapshot k && k.keyId() != null && !k.keyId().isBlank()) {
        projection.apply(k);
      } else {
        LOG.warnf(
            "skipped a record at %s-%d@%d: not a key event with a key id",
            record.topic(), record.partition(), record.offset());
      }
    } catch (EventCodec.MalformedEventException ex) {
      skipped(record, ex.getMessage());
    } catch (RuntimeException ex) {
      // whatever a record holds, it never stops the rest of its poll from being applied
      skipped(record, ex.getClass().getSimpleName());
    } finally {
      catchUp.consumed(record.topic(), record.partition(), record.offset());
    }
  }

  /**
   * Logs a skipped record by its position only, with a short reason that quotes none of its content
   * (a poison record may hold a secret in any attribute: only the first words of the reason are
   * kept, and nothing that looks like a key or a long token).
   */
  static void skipped(ConsumerRecord<String, String> record, String reason) {
    LOG.warnf(
        "skipped a malformed record at %s-%d@%d (%d chars): %s",
        record.topic(),
        record.partition(),
        record.offset(),
        record.value() == null ? 0 : record.value().length(),
        safe(reason));
  }

  /** The reason without quoted content: cut at a quote or 80 characters, long tokens masked. */
  static String safe(String reason) {
    if (reason == null) {
      return "";
    }
    String s = reason;
    int quote = s.indexOf('\'');
    if (quote >= 0) {
      s = s.substring(0, quote) + "…";
    }
    if (s.length() > 80) {
      s = s.substring(0, 80) + "…";
    }
    return s.replaceAll("[A-Za-z0-9_+/=-]{16,}", "…");
  }

  @Incoming("groups")
  public void onGroupEvent(ConsumerRecord<String, String> record) {
    try {
      CloudEvent<?> e = EventCodec.decode(record.value());
      if (e.data() instanceof GroupSnapshot g && g.name() != null && !g.name().isBlank()) {
        projection.apply(g);
      }
    } catch (EventCodec.MalformedEventException ex) {
      skipped(record, ex.getMessage());
    } catch (RuntimeException ex) {
      skipped(record, ex.getClass().getSimpleName());
    } finally {
      catchUp.consumed(record.topic(), record.partition(), record.offset());
    }
  }
}
