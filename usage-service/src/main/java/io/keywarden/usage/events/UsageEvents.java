package io.keywarden.usage.events;

import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.QuotaThreshold;
import io.keywarden.contracts.events.UsageDenied;
import io.keywarden.contracts.events.UsageRecorded;
import io.keywarden.usage.projection.KeyProjection.KeyEntry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * Events on {@code keywarden.usage-events} (record key = key id): per-key roll-ups per window
 * ({@code kw.rollup.window}, a minute), one {@code denied} event per key, code and window (the rest
 * are counted in the roll-up), and quota thresholds (decided once per period in the ledger).
 */
@ApplicationScoped
@io.quarkus.runtime.Startup
public class UsageEvents {
  private static final Logger LOG = Logger.getLogger(UsageEvents.class);
  private static final int MAX_DISTINCT = 10_000;
  private static final String SOURCE = "/keywarden/usage-service";

  private static final class Window {
    final long start;
    final String account;
    long requests;
    final Map<String, Long> denials = new HashMap<>();
    final Set<String> deniedSent = new HashSet<>();
    long spend;
    long input;
    long output;
    final Set<String> ips = new HashSet<>();
    final Set<String> agents = new HashSet<>();
    Instant lastUsedAt;
    String lastIp;
    long keySpent = -1;

    Window(long start, String account) {
      this.start = start;
      this.account = account;
    }
  }

  private final Map<String, Window> windows = new ConcurrentHashMap<>();
  private final Emitter<String> emitter;
  private final Clock clock;
  private final long windowMillis;

  UsageEvents(
      @Channel("usage-events") Emitter<String> emitter,
      Clock clock,
      @ConfigProperty(name = "kw.rollup.window", defaultValue = "60s") Duration window) {
    this.emitter = emitter;
    this.clock = clock;
    this.windowMillis = window.toMillis();
  }

  private long windowStart(Instant now) {
    long ms = now.toEpochMilli();
    return ms - Math.floorMod(ms, windowMillis);
  }

  /** The window of a key for {@code now}; a window of an earlier period is flushed first. */
  private Window window(KeyEntry k, Instant now) {
    long start = windowStart(now);
    Window w = windows.get(k.keyId());
    if (w != null && w.start == start) {
      return w;
    }
    List<Window> closed = new ArrayList<>();
    Window fresh =
        windows.compute(
            k.keyId(),
            (id, old) -> {
              if (old != null && old.start == start) {
                return old;
              }
              if (old != null) {
                closed.add(old);
              }
              return new Window(start, k.account());
            });
    for (Window c : closed) {
      publish(k.keyId(), c);
    }
    return fresh;
  }

  public void allowed(KeyEntry k, String clientIp, String userAgent, Instant now) {
    Window w = window(k, now);
    synchronized (w) {
      w.requests++;
      seen(w, clientIp, userAgent, now);
    }
  }

  private static void seen(Window w, String clientIp, String userAgent, Instant now) {
    if (clientIp != null && w.ips.size() < MAX_DISTINCT) {
      w.ips.add(clientIp);
    }
    if (userAgent != null && w.agents.size() < MAX_DISTINCT) {
      w.agents.add(userAgent);
    }
    if (w.lastUsedAt == null || now.isAfter(w.lastUsedAt)) {
      w.lastUsedAt = now;
      if (clientIp != null) {
        w.lastIp = clientIp;
      }
    }
  }

  /** A refused request of a known key: counted, and the first per code and window is sent. */
  public void denied(KeyEntry k, String code, String clientIp, String userAgent, Instant now) {
    Window w = window(k, now);
    boolean send;
    synchronized (w) {
      w.denials.merge(code, 1L, Long::sum);
      if (clientIp != null && w.ips.size() < MAX_DISTINCT) {
        w.ips.add(clientIp);
      }
      if (userAgent != null && w.agents.size() < MAX_DISTINCT) {
        w.agents.add(userAgent);
      }
      send = w.deniedSent.add(code);
    }
    if (send) {
      send(
          k.keyId(),
          CloudEvent.of(
              UsageDenied.TYPE,
              SOURCE,
              k.keyId(),
              now,
              new UsageDenied(k.keyId(), k.account(), code, clientIp, userAgent, now)));
    }
  }

  /** A usage record was decided: spend and tokens when charged, a denial code otherwise. */
  public void charged(
      KeyEntry k,
      long cost,
      long input,
      long output,
      long keySpent,
      String deniedCode,
      Instant now) {
    Window w = window(k, now);
    boolean send = false;
    synchronized (w) {
      w.spend += cost;
      w.input += input;
      w.output += output;
      w.keySpent = keySpent;
      if (deniedCode != null) {
        w.denials.merge(deniedCode, 1L, Long::sum);
        send = w.deniedSent.add(deniedCode);
      } else if (w.lastUsedAt == null || now.isAfter(w.lastUsedAt)) {
        w.lastUsedAt = now;
      }
    }
    if (send) {
      // a refused usage record (quota, balance) is a denial audit sees, like an authorize one
      send(
          k.keyId(),
          CloudEvent.of(
              UsageDenied.TYPE,
              SOURCE,
              k.keyId(),
              now,
              new UsageDenied(k.keyId(), k.account(), deniedCode, null, null, now)));
    }
  }

  /**
   * A threshold of a key's quota ({@code scope} key) or of an account's credited balance ({@code
   * scope} account, sent with the key whose charge crossed it) was crossed: once per period. The
   * event is encoded when the charge is decided ({@link #thresholdEvent}) and stored with its mark
   * in the charge's transaction; this sends it, and {@code acked} runs once Kafka acknowledged it.
   * Not sent (the channel full or closed): the mark stays pending and the relay resends it.
   */
  public void thresholdEncoded(String keyId, String encoded, Runnable acked) {
    try {
      emitter.send(
          Message.of(encoded)
              .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(keyId).build())
              .withAck(
                  () -> {
                    acked.run();
                    return java.util.concurrent.CompletableFuture.completedFuture(null);
                  })
              .withNack(
                  e -> {
                    LOG.warnf(
                        "threshold event for key %s not acknowledged: %s", keyId, e.getMessage());
                    return java.util.concurrent.CompletableFuture.completedFuture(null);
                  }));
    } catch (RuntimeException e) {
      LOG.warnf("threshold event for key %s not sent: %s", keyId, e.getMessage());
    }
  }

  /** A threshold event, encoded (its id fixed) so it can be stored and sent again as it is. */
  public static String thresholdEvent(
      KeyEntry k, String scope, int percent, long spent, long limit, String period, Instant now) {
    String type = percent >= 100 ? QuotaThreshold.EXHAUSTED : QuotaThreshold.TYPE;
    return EventCodec.encode(
        CloudEvent.of(
            type,
            SOURCE,
            k.keyId(),
            now,
            new QuotaThreshold(k.keyId(), k.account(), scope, percent, spent, limit, period, now)));
  }

  @Scheduled(
      every = "${kw.rollup.flush:5s}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void flushClosed() {
    flush(false);
  }

  void onStop(@Observes ShutdownEvent e) {
    flush(true);
  }

  /** Publishes every window that has ended (all of them when {@code all}). */
  public void flush(boolean all) {
    long current = windowStart(clock.instant());
    for (String keyId : List.copyOf(windows.keySet())) {
      Window[] out = new Window[1];
      windows.computeIfPresent(
          keyId,
          (id, w) -> {
            if (all || w.start < current) {
              out[0] = w;
              return null;
            }
            return w;
          });
      if (out[0] != null) {
        publish(keyId, out[0]);
      }
    }
  }

  private void publish(String keyId, Window w) {
    UsageRecorded r;
    synchronized (w) {
      r =
          new UsageRecorded(
              keyId,
              w.account,
              Instant.ofEpochMilli(w.start),
              Instant.ofEpochMilli(w.start + windowMillis),
              w.requests,
              w.denials,
              w.spend,
              w.input,
              w.output,
              w.ips.size(),
              w.agents.size(),
              w.lastUsedAt,
              w.lastIp,
              Math.max(0, w.keySpent));
    }
    send(keyId, CloudEvent.of(UsageRecorded.TYPE, SOURCE, keyId, r.windowEnd(), r));
  }

  private void send(String keyId, CloudEvent<?> event) {
    try {
      emitter.send(
          Message.of(EventCodec.encode(event))
              .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(keyId).build()));
    } catch (RuntimeException e) {
      LOG.warnf("usage event %s for key %s not sent: %s", event.type(), keyId, e.getMessage());
    }
  }
}
