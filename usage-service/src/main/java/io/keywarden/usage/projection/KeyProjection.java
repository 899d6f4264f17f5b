package io.keywarden.usage.projection;

import io.keywarden.contracts.IpAllowList;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.contracts.events.RateLimit;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-memory view of every key and group, built from Kafka at start and kept current by it (like
 * a global table). The request path reads only this: no network or disk I/O per request.
 */
@ApplicationScoped
public class KeyProjection {
  /**
   * A key as the request path needs it, with its parsed allow-list. {@code key} is the slimmed
   * snapshot (see {@link #slim}): no name, mask, hash or timestamps the request path never reads.
   */
  public record KeyEntry(KeySnapshot key, IpAllowList allowList, Hash hash) {}

  /**
   * A SHA-256 as four longs (48 bytes on the heap instead of 104 for its hex string): the key of
   * the hash index.
   */
  public record Hash(long a, long b, long c, long d) {
    /** From a 32-byte SHA-256 digest, with no hex text in between (the request path). */
    public static Hash of(byte[] digest) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(digest);
      return new Hash(b.getLong(), b.getLong(), b.getLong(), b.getLong());
    }

    /** Parses 64 lower-case hex digits; anything else is no hash (null): it matches nothing. */
    public static Hash parse(String hex) {
      if (hex == null || hex.length() != 64) {
        return null;
      }
      long[] v = new long[4];
      for (int i = 0; i < 64; i++) {
        char ch = hex.charAt(i);
        int d;
        if (ch >= '0' && ch <= '9') {
          d = ch - '0';
        } else if (ch >= 'a' && ch <= 'f') {
          d = ch - 'a' + 10;
        } else {
          return null;
        }
        v[i >> 4] = (v[i >> 4] << 4) | d;
      }
      return new Hash(v[0], v[1], v[2], v[3]);
    }
  }

  private static final IpAllowList NO_ALLOW_LIST = IpAllowList.of(List.of());

  /** A group with its models indexed by id. */
  public record GroupEntry(GroupSnapshot group, Map<String, ModelPrice> models) {}

  /** What a hash resolves to: the key, and whether it is an old secret in its rotation overlap. */
  public record Match(KeyEntry entry, boolean previousSecret) {}

  private final Map<String, KeyEntry> byId = new ConcurrentHashMap<>();
  private final Map<Hash, KeyEntry> byHash = new ConcurrentHashMap<>();
  private final Map<String, String> names = new ConcurrentHashMap<>();
  private final Map<Hash, KeyEntry> byPreviousHash = new ConcurrentHashMap<>();
  private final Map<String, GroupEntry> groups = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.LongAdder lookups =
      new java.util.concurrent.atomic.LongAdder();

  /** How many hash lookups were made (a bad checksum must not make one). */
  public long lookups() {
    return lookups.sum();
  }

  /**
   * Applies a key snapshot when it is newer than the one held. Returns false for a stale or
   * duplicate event (same or lower version), which is ignored.
   */
  public synchronized boolean apply(KeySnapshot k) {
    KeyEntry old = byId.get(k.keyId());
    if (old != null && old.key().version() >= k.version()) {
      return false;
    }
    Hash hash = Hash.parse(k.keyHash());
    KeyEntry entry =
        new KeyEntry(
            slim(k),
            k.allowedIps().isEmpty() ? NO_ALLOW_LIST : IpAllowList.of(k.allowedIps()),
            hash);
    // the new mappings go in before the old ones leave, so a lookup never sees a gap
    if (hash != null) {
      byHash.put(hash, entry);
    }
    if (k.previousKeyHash() != null) {
      Hash previous = Hash.parse(k.previousKeyHash());
      if (previous != null) {
        byPreviousHash.put(previous, entry);
      }
    }
    byId.put(k.keyId(), entry);
    if (old != null) {
      if (old.hash() != null && !old.hash().equals(hash)) {
        byHash.remove(old.hash(), old);
      }
      String op = old.key().previousKeyHash();
      if (op != null && !op.equals(k.previousKeyHash()) && Hash.parse(op) != null) {
        byPreviousHash.remove(Hash.parse(op), old);
      }
    }
    return true;
  }

  /**
   * What the projection keeps of a snapshot: account and group names shared between keys, the
   * shared "no rate limit", and none of the fields the request path never reads (name, mask, hash -
   * indexed as {@link Hash} -, created/updated/rotated). About 750 B per key became about 300.
   */
  private KeySnapshot slim(KeySnapshot k) {
    return new KeySnapshot(
        k.keyId(),
        intern(k.account()),
        null,
        intern(k.group()),
        k.status(),
        null,
        null,
        k.custom(),
        k.previousKeyHash(),
        k.previousKeyExpiresAt(),
        k.allowedIps(),
        k.quotaMicros(),
        k.quotaReset(),
        RateLimit.NONE.equals(k.rateLimit()) ? RateLimit.NONE : k.rateLimit(),
        k.expiresAt(),
        null,
        null,
        null,
        k.version());
  }

  private String intern(String s) {
    if (s == null) {
      return null;
    }
    String had = names.putIfAbsent(s, s);
    return had == null ? s : had;
  }

  public synchronized boolean apply(GroupSnapshot g) {
    GroupEntry old = groups.get(g.name());
    if (old != null && old.group().version() > g.version()) {
      return false;
    }
    Map<String, ModelPrice> models = new HashMap<>();
    for (ModelPrice m : g.models()) {
      models.put(m.id(), m);
    }
    groups.put(g.name(), new GroupEntry(g, Map.copyOf(models)));
    return true;
  }

  /** Looks a secret's hash up: the current secret, or an old one still within its overlap. */
  public Optional<Match> byHash(String hash, Instant now) {
    Hash h = Hash.parse(hash);
    if (h == null) {
      lookups.increment();
      return Optional.empty();
    }
    return byHash(h, now);
  }

  /** The same for a parsed hash (the request path computes it from the digest directly). */
  public Optional<Match> byHash(Hash h, Instant now) {
    lookups.increment();
    KeyEntry e = byHash.get(h);
    if (e != null) {
      return Optional.of(new Match(e, false));
    }
    e = byPreviousHash.get(h);
    if (e != null
        && h.equals(Hash.parse(e.key().previousKeyHash()))
        && e.key().previousKeyExpiresAt() != null
        && now.isBefore(e.key().previousKeyExpiresAt())) {
      return Optional.of(new Match(e, true));
    }
    return Optional.empty();
  }

  public Optional<KeyEntry> byId(String keyId) {
    return Optional.ofNullable(byId.get(keyId));
  }

  public Optional<GroupEntry> group(String name) {
    return Optional.ofNullable(groups.get(name));
  }

  public int keyCount() {
    return byId.size();
  }

  public List<KeyEntry> keys() {
    return List.copyOf(byId.values());
  }
}
