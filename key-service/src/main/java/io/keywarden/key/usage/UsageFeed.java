package io.keywarden.key.usage;

import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.UsageRecorded;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.ZoneOffset;
import java.util.UUID;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

/**
 * Shows lastUsedAt and spend in the key list, from usage-service's roll-ups. Idempotent: a replayed
 * or older roll-up (by window end) changes nothing.
 */
@ApplicationScoped
public class UsageFeed {
  private static final Logger LOG = Logger.getLogger(UsageFeed.class);
  private final Pool pool;

  UsageFeed(Pool pool) {
    this.pool = pool;
  }

  @Incoming("usage-events")
  public Uni<Void> onUsage(String payload) {
    CloudEvent<?> e;
    try {
      e = EventCodec.decode(payload);
    } catch (EventCodec.MalformedEventException ex) {
      // poison: to the dead-letter topic, the stream goes on
      return Uni.createFrom().failure(ex);
    }
    if (!(e.data() instanceof UsageRecorded u)) {
      return Uni.createFrom().voidItem();
    }
    UUID id;
    try {
      id = UUID.fromString(u.keyId());
    } catch (IllegalArgumentException ex) {
      LOG.warnf("usage roll-up %s names no key id", e.id());
      return Uni.createFrom().voidItem();
    }
    return pool.preparedQuery(
            "update api_keys set"
                + " last_used_at = greatest(last_used_at, $2),"
                + " last_used_ip = case when last_used_at is null or $2 >= last_used_at then $3 else last_used_ip end,"
                + " spent_micros = $4, usage_as_of = $5"
                + " where id = $1 and (usage_as_of is null or usage_as_of <= $5)")
        .execute(
            Tuple.of(
                id,
                u.lastUsedAt() == null ? null : u.lastUsedAt().atOffset(ZoneOffset.UTC),
                u.lastClientIp(),
                u.keySpentMicros(),
                u.windowEnd().atOffset(ZoneOffset.UTC)))
        .replaceWithVoid();
  }
}
