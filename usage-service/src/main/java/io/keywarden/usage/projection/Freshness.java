package io.keywarden.usage.projection;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Whether the projection can be trusted to allow a key (M6). A heartbeat thread ticks every {@code
 * kw.projection.heartbeat}; a gap above {@code kw.projection.stall-threshold} means the process was
 * paused (SIGSTOP, a long GC, a frozen VM) and may have missed revocations. Then the projection is
 * stale until it has read the key and group topics up to their end offsets fetched after the pause.
 * The request path only reads two volatile fields (no I/O): while stale, or while the heartbeat
 * itself is overdue (the first request after SIGCONT can run before the heartbeat thread does),
 * nothing is allowed: the answer is 503 {@code UNAVAILABLE} with Retry-After.
 */
@ApplicationScoped
public class Freshness {
  private static final Logger LOG = Logger.getLogger(Freshness.class);
  private final CatchUp catchUp;
  private final long heartbeatNanos;
  private final long stallNanos;
  private volatile long lastTick = System.nanoTime();
  private volatile boolean stale;
  private volatile boolean running = true;
  private Thread thread;

  Freshness(
      CatchUp catchUp,
      @ConfigProperty(name = "kw.projection.heartbeat", defaultValue = "100ms") Duration heartbeat,
      @ConfigProperty(name = "kw.projection.stall-threshold", defaultValue = "1s") Duration stall) {
    this.catchUp = catchUp;
    this.heartbeatNanos = heartbeat.toNanos();
    this.stallNanos = stall.toNanos();
  }

  void start(@Observes StartupEvent e) {
    lastTick = System.nanoTime();
    thread = Thread.ofPlatform().name("projection-heartbeat").daemon().start(this::loop);
  }

  void stop(@Observes ShutdownEvent e) {
    running = false;
    if (thread != null) {
      thread.interrupt();
    }
  }

  /** True when a key may be allowed from the projection. */
  public boolean isFresh() {
    return !stale && System.nanoTime() - lastTick < stallNanos;
  }

  private void loop() {
    while (running) {
      try {
        Thread.sleep(Duration.ofNanos(heartbeatNanos));
      } catch (InterruptedException e) {
        return;
      }
      long now = System.nanoTime();
      long gap = now - lastTick;
      if (gap >= stallNanos) {
        stale = true; // before the tick: the request path never sees a fresh tick while stale
        lastTick = now;
        LOG.warnf(
            "paused for %d ms: re-reading the key topics before allowing keys", gap / 1_000_000);
        catchUpAfterPause();
        LOG.infof("caught up after the pause");
        stale = false;
      }
      lastTick = System.nanoTime();
    }
  }

  private void catchUpAfterPause() {
    Map<TopicPartition, Long> targets = null;
    while (running && targets == null) {
      try {
        targets = catchUp.endOffsets();
      } catch (RuntimeException e) {
        LOG.warnf("end offsets not available: %s", e.getMessage());
        lastTick = System.nanoTime();
      }
    }
    while (running && !catchUp.reached(targets)) {
      lastTick = System.nanoTime();
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
