package io.keywarden.usage.limits;

import io.keywarden.contracts.events.RateLimit;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Per-key rate limits of one instance, in memory: requests per minute and tokens per minute in
 * fixed UTC-minute windows, and concurrent requests held from an authorize (with a requestId) to
 * its usage record or {@code kw.concurrency.timeout}. With N instances behind a load balancer each
 * enforces the limit on its own share, so a key may get up to N times its limit (documented),
 * unless {@code kw.rate-limit.instances} = N: then each instance enforces 1/N of every limit
 * (rounded up), which is exact behind a round-robin balancer and too strict (1/N) when one key's
 * requests all reach one instance (consistent hashing). Only an allowed request consumes a slot:
 * the caller acquires last, after every other check.
 */
@ApplicationScoped
public class RateLimiter {
  /** The outcome of an acquire. */
  public record Verdict(boolean allowed, int retryAfterSeconds, Integer requestsRemaining) {}

  private static final class State {
    long minute = Long.MIN_VALUE;
    int requests;
    long tokens;
    final Map<String, Long> inflight = new HashMap<>();

    void roll(long m) {
      if (m != minute) {
        minute = m;
        requests = 0;
        tokens = 0;
      }
    }
  }

  private final Map<String, State> states = new ConcurrentHashMap<>();
  private final long concurrencyTimeoutMillis;
  private final int instances;

  public RateLimiter(Duration timeout) {
    this(timeout, 1);
  }

  @jakarta.inject.Inject
  public RateLimiter(
      @ConfigProperty(name = "kw.concurrency.timeout", defaultValue = "10m") Duration timeout,
      @ConfigProperty(name = "kw.rate-limit.instances", defaultValue = "1") int instances) {
    this.concurrencyTimeoutMillis = timeout.toMillis();
    this.instances = Math.max(1, instances);
  }

  /** This instance's share of a limit (all of it unless kw.rate-limit.instances > 1). */
  private Integer share(Integer limit) {
    if (limit == null || instances == 1) {
      return limit;
    }
    return (limit + instances - 1) / instances;
  }

  public Verdict tryAcquire(String keyId, RateLimit limit, String requestId, Instant now) {
    Integer rpm = share(limit.requestsPerMinute());
    Integer tpm = share(limit.tokensPerMinute());
    Integer conc = share(limit.concurrentRequests());
    if (rpm == null && tpm == null && (conc == null || requestId == null)) {
      return new Verdict(true, 0, null);
    }
    long ms = now.toEpochMilli();
    long minute = Math.floorDiv(ms, 60_000L);
    int toNextMinute = (int) Math.max(1, (60_000L - Math.floorMod(ms, 60_000L) + 999) / 1000);
    State s = states.computeIfAbsent(keyId, k -> new State());
    synchronized (s) {
      s.roll(minute);
      if (rpm != null && s.requests >= rpm) {
        return new Verdict(false, toNextMinute, 0);
      }
      if (tpm != null && s.tokens >= tpm) {
        return new Verdict(false, toNextMinute, rpm == null ? null : rpm - s.requests);
      }
      if (conc != null && requestId != null && !s.inflight.containsKey(requestId)) {
        if (s.inflight.size() >= conc) {
          for (Iterator<Long> it = s.inflight.values().iterator(); it.hasNext(); ) {
            if (it.next() <= ms) {
              it.remove();
            }
          }
        }
        if (s.inflight.size() >= conc) {
          return new Verdict(false, 1, rpm == null ? null : rpm - s.requests);
        }
        s.inflight.put(requestId, ms + concurrencyTimeoutMillis);
      }
      s.requests++;
      return new Verdict(true, 0, rpm == null ? null : rpm - s.requests);
    }
  }

  /** Gives back what an allowed request took when a later step (a hold) refused it. */
  public void undo(String keyId, String requestId) {
    State s = states.get(keyId);
    if (s == null) {
      return;
    }
    synchronized (s) {
      if (s.requests > 0) {
        s.requests--;
      }
      if (requestId != null) {
        s.inflight.remove(requestId);
      }
    }
  }

  /** The request finished (its usage was recorded): its concurrency slot is free. */
  public void release(String keyId, String requestId) {
    State s = states.get(keyId);
    if (s == null || requestId == null) {
      return;
    }
    synchronized (s) {
      s.inflight.remove(requestId);
    }
  }

  /** Tokens of recorded usage count against the key's tokens-per-minute. */
  public void addTokens(String keyId, long tokens, Instant now) {
    State s = states.computeIfAbsent(keyId, k -> new State());
    synchronized (s) {
      s.roll(Math.floorDiv(now.toEpochMilli(), 60_000L));
      s.tokens += tokens;
    }
  }

  /** Requests left in this minute, null when unlimited. */
  public Integer remaining(String keyId, RateLimit limit, Instant now) {
    Integer rpm = share(limit.requestsPerMinute());
    if (rpm == null) {
      return null;
    }
    State s = states.get(keyId);
    if (s == null) {
      return rpm;
    }
    synchronized (s) {
      s.roll(Math.floorDiv(now.toEpochMilli(), 60_000L));
      return rpm - s.requests;
    }
  }
}
