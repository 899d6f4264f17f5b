package io.keywarden.audit.feed;

import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.EventCodec.MalformedEventException;
import io.keywarden.contracts.events.KeySnapshot;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Consumes key and usage events (group {@code audit-service}, at-least-once). A record that is not
 * a valid event fails at once and goes to the channel's dead-letter topic; a database outage is
 * retried with backoff, holding the partition, so nothing is skipped.
 */
@ApplicationScoped
public class EventFeeds {
  private static final Logger LOG = Logger.getLogger(EventFeeds.class);
  private final AuditProjection projection;
  private final Set<String> holdAfterApply;

  EventFeeds(
      AuditProjection projection,
      @ConfigProperty(name = "kw.fault.hold-after-apply") Optional<List<String>> holdAfterApply) {
    this.projection = projection;
    this.holdAfterApply = Set.copyOf(holdAfterApply.orElse(List.of()));
  }

  /**
   * Fault hook for the crash tests (E4), off unless {@code kw.fault.hold-after-apply} names record
   * keys: a record with such a key is applied (its transaction committed, its alerts queued) and
   * then never acknowledged, so its offset is not committed; the test kills the process in that
   * window.
   */
  private Uni<Void> afterApply(ConsumerRecord<String, String> record, Uni<Void> applied) {
    if (holdAfterApply.isEmpty() || !holdAfterApply.contains(record.key())) {
      return applied;
    }
    return applied
        .invoke(
            () ->
                LOG.warnf(
                    "fault hook: holding %s-%d@%d after applying it",
                    record.topic(), record.partition(), record.offset()))
        .chain(() -> Uni.createFrom().nothing());
  }

  @Incoming("key-events")
  public Uni<Void> onKeyEvent(ConsumerRecord<String, String> record) {
    return Uni.createFrom()
        .deferred(
            () -> {
              CloudEvent<?> e = EventCodec.decode(record.value());
              if (!(e.data() instanceof KeySnapshot k)) {
                throw new MalformedEventException("not a key event: " + e.type());
              }
              return projection.applyKey(k);
            })
        .onFailure(EventFeeds::retryable)
        .retry()
        .withBackOff(Duration.ofMillis(200), Duration.ofSeconds(10))
        .atMost(30)
        .onFailure()
        .invoke(f -> log(record, f))
        .replaceWithVoid()
        .plug(applied -> afterApply(record, applied));
  }

  @Incoming("usage-events")
  public Uni<Void> onUsageEvent(ConsumerRecord<String, String> record) {
    return Uni.createFrom()
        .deferred(() -> projection.applyUsage(EventCodec.decode(record.value())))
        .onFailure(EventFeeds::retryable)
        .retry()
        .withBackOff(Duration.ofMillis(200), Duration.ofSeconds(10))
        .atMost(30)
        .onFailure()
        .invoke(f -> log(record, f))
        .replaceWithVoid()
        .plug(applied -> afterApply(record, applied));
  }

  private static boolean retryable(Throwable t) {
    return !(t instanceof MalformedEventException);
  }

  private static void log(ConsumerRecord<String, String> record, Throwable f) {
    // the message never holds the record's value
    LOG.warnf(
        "record %s-%d@%d goes to the dead-letter topic: %s",
        record.topic(),
        record.partition(),
        record.offset(),
        f instanceof MalformedEventException ? f.getMessage() : f.getClass().getSimpleName());
  }
}
