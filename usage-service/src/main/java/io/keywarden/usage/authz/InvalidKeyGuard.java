package io.keywarden.usage.authz;

import io.keywarden.contracts.IpAllowList;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Brute-force guard: counts the keys a client address presents that are not keys at all ({@link
 * DecisionCode#INVALID_KEY}: a bad checksum or an unknown key) and, once an address has sent {@code
 * kw.usage.invalid-keys-per-minute} of them (default 100; 0 turns the guard off) within a UTC
 * minute, refuses every key check from it with {@link DecisionCode#RATE_LIMITED} until that minute
 * ends. Good keys from a blocked address are refused too: otherwise the answers would still tell a
 * guesser which of its keys works. Known keys that are revoked, expired or leaked do not count
 * (audit wants to see those being tried, and they tell a guesser nothing new).
 *
 * <p>An IPv6 address counts by its /64, which one host usually holds whole. A check without a
 * client address (an authorize call without {@code clientIp}) is not counted. At most {@link
 * #MAX_TRACKED} addresses are counted per minute; past that, new addresses go uncounted until the
 * next minute (memory stays bounded under an address flood). While nothing is blocked, the only
 * cost on the request path is one empty-map check.
 */
@ApplicationScoped
public class InvalidKeyGuard {
  static final int MAX_TRACKED = 100_000;

  /** One UTC minute: invalid keys per address, and the addresses over the limit. */
  private record Window(
      long minute,
      ConcurrentHashMap<String, AtomicInteger> counts,
      ConcurrentHashMap<String, Boolean> blocked) {
    Window(long minute) {
      this(minute, new ConcurrentHashMap<>(), new ConcurrentHashMap<>());
    }
  }

  private final int limit;
  private final Clock clock;
  private volatile Window window = new Window(Long.MIN_VALUE);
  private final AtomicLong refused = new AtomicLong();

  InvalidKeyGuard(
      @ConfigProperty(name = "kw.usage.invalid-keys-per-minute", defaultValue = "100") int limit,
      Clock clock) {
    if (limit < 0) {
      throw new IllegalArgumentException(
          "kw.usage.invalid-keys-per-minute must be 0 (off) or positive, was " + limit);
    }
    this.limit = limit;
    this.clock = clock;
  }

  /**
   * Seconds until the address may present keys again, or 0 when it may now. Called before every key
   * check; costs one map-emptiness check while no address is blocked.
   */
  public int blockedFor(String clientIp) {
    Window w = window;
    if (w.blocked().isEmpty() || clientIp == null) {
      return 0;
    }
    Instant now = clock.instant();
    if (minute(now) != w.minute() || !w.blocked().containsKey(addressOf(clientIp))) {
      return 0;
    }
    refused.incrementAndGet();
    return secondsLeft(now);
  }

  /** Counts one invalid key from the address; blocks it when that reaches the limit. */
  public void invalid(String clientIp) {
    if (limit == 0 || clientIp == null) {
      return;
    }
    Window w = current(minute(clock.instant()));
    String address = addressOf(clientIp);
    AtomicInteger n = w.counts().get(address);
    if (n == null) {
      if (w.counts().size() >= MAX_TRACKED) {
        return;
      }
      n = w.counts().computeIfAbsent(address, a -> new AtomicInteger());
    }
    if (n.incrementAndGet() >= limit) {
      w.blocked().put(address, Boolean.TRUE);
    }
  }

  /** Key checks refused because their address was blocked, since start (tests, diagnostics). */
  public long refused() {
    return refused.get();
  }

  /** The window of this minute; a new minute (or a clock set back) starts an empty one. */
  private Window current(long minute) {
    Window w = window;
    if (w.minute() == minute) {
      return w;
    }
    synchronized (this) {
      if (window.minute() != minute) {
        window = new Window(minute);
      }
      return window;
    }
  }

  private static long minute(Instant now) {
    return Math.floorDiv(now.getEpochSecond(), 60);
  }

  private static int secondsLeft(Instant now) {
    long intoMinute = Math.floorMod(now.getEpochSecond(), 60);
    return (int) Math.max(1, 60 - intoMinute);
  }

  /** IPv4 as sent; IPv6 as its /64 network (one host's usual share); anything else as sent. */
  static String addressOf(String clientIp) {
    if (clientIp.indexOf(':') < 0) {
      return clientIp;
    }
    try {
      return IpAllowList.normalise(List.of(clientIp.trim() + "/64")).get(0);
    } catch (IllegalArgumentException e) {
      return clientIp;
    }
  }
}
