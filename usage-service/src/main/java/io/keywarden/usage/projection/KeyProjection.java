package io.keywarden.usage.projection;

import io.keywarden.contracts.IpAllowList;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.contracts.events.QuotaReset;
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
   * A SHA-256 as four longs (48 bytes on the heap instead of 104 for its hex string): the key of
   * the hash index. {@link KeyEntry} extends it, so an entry is its own index key (no separate hash
   * object per key); equality is by the 256 bits only.
   */
  public static class Hash {
    final long a;
    final long b;
    final long c;
    final long d;

    Hash(long a, long b, long c, long d) {
      this.a = a;
      this.b = b;
      this.c = c;
      this.d = d;
    }

    /** From a 32-byte SHA-256 digest, with no hex text in between (the request path). */
    public static Hash of(byte[] digest) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(digest);
      return new Hash(b.getLong(), b.getLong(), b.getLong(), b.getLong());
    }

    /** Parses 64 lower-case hex digits; anything else is no hash (null): it matches nothing. */
    public static Hash parse(String hex) {
      long[] v = parseLongs(hex);
      return v == null ? null : new Hash(v[0], v[1], v[2], v[3]);
    }

    static long[] parseLongs(String hex) {
      if (hex == null || hex.length() != 64) {
        return null;
      }
      long[] v = new long[4];
      for (int i = 0; i < 64; i++) {
        int d = lowerHexDigit(hex.charAt(i));
        if (d < 0) {
          return null;
        }
        v[i >> 4] = (v[i >> 4] << 4) | d;
      }
      return v;
    }

    /** Whether this is the same 256 bits as {@code o} (any Hash, entries included). */
    public final boolean sameHash(Hash o) {
      return o != null && a == o.a && b == o.b && c == o.c && d == o.d;
    }

    @Override
    public final boolean equals(Object o) {
      return o instanceof Hash h && sameHash(h);
    }

    @Override
    public final int hashCode() {
      // a SHA-256 is uniformly random: its first 32 bits are as good a hash as any
      return (int) (a ^ (a >>> 32));
    }

    @Override
    public String toString() {
      // never the hash itself in a log line
      return "Hash[…]";
    }
  }

  /** A UUID key id as two longs (32 B instead of an 80 B String): the key of the id index. */
  record KeyId(long hi, long lo) {
    /** The strict, canonical lower-case form only; anything else stays a String id. */
    static Object of(String id) {
      if (id == null || id.length() != 36) {
        return id;
      }
      long hi = 0;
      long lo = 0;
      int n = 0;
      for (int i = 0; i < 36; i++) {
        char ch = id.charAt(i);
        if (i == 8 || i == 13 || i == 18 || i == 23) {
          if (ch != '-') {
            return id;
          }
          continue;
        }
        int d = lowerHexDigit(ch);
        if (d < 0) {
          return id;
        }
        if (n < 16) {
          hi = (hi << 4) | d;
        } else {
          lo = (lo << 4) | d;
        }
        n++;
      }
      return new KeyId(hi, lo);
    }

    @Override
    public String toString() {
      return new java.util.UUID(hi, lo).toString();
    }
  }

  /**
   * The limits of a key, shared between every key with the same ones (nearly all keys have none, or
   * one of a few plans): one reference per key instead of three fields.
   */
  record Limits(long quotaMicros, QuotaReset quotaReset, RateLimit rateLimit) {}

  /**
   * A key as the request path needs it, flat: the SHA-256 inline (the entry is its own key in the
   * hash index), the key id as two longs, account and group names shared between keys, the limits
   * shared, the parsed allow-list (one shared empty list for keys without one). Name, mask,
   * timestamps and the hash text, which no decision reads, are not kept. About 96 B per key plus
   * its index nodes, where the whole snapshot was about 300.
   */
  public static final class KeyEntry extends Hash {
    private final boolean hashed;
    private final Object id;
    private final String account;
    private final String group;
    private final KeyStatus status;
    private final boolean custom;
    private final IpAllowList allowList;
    private final Limits limits;
    private final Instant expiresAt;
    private final Hash previousHash;
    private final Instant previousKeyExpiresAt;
    private final long version;
    // the key id text, made on first use only (the keys actually used pay for it)
    private String idText;

    private KeyEntry(
        long[] hash,
        Object id,
        String account,
        String group,
        KeyStatus status,
        boolean custom,
        IpAllowList allowList,
        Limits limits,
        Instant expiresAt,
        Hash previousHash,
        Instant previousKeyExpiresAt,
        long version) {
      super(
          hash == null ? 0 : hash[0],
          hash == null ? 0 : hash[1],
          hash == null ? 0 : hash[2],
          hash == null ? 0 : hash[3]);
      this.hashed = hash != null;
      this.id = id;
      this.account = account;
      this.group = group;
      this.status = status;
      this.custom = custom;
      this.allowList = allowList;
      this.limits = limits;
      this.expiresAt = expiresAt;
      this.previousHash = previousHash;
      this.previousKeyExpiresAt = previousKeyExpiresAt;
      this.version = version;
    }

    public String keyId() {
      if (id instanceof String s) {
        return s;
      }
      String t = idText;
      if (t == null) {
        t = id.toString();
        idText = t; // a benign race: every thread makes the same immutable String
      }
      return t;
    }

    public String account() {
      return account;
    }

    public String group() {
      return group;
    }

    public KeyStatus status() {
      return status;
    }

    public boolean custom() {
      return custom;
    }

    public IpAllowList allowList() {
      return allowList;
    }

    public long quotaMicros() {
      return limits.quotaMicros();
    }

    public QuotaReset quotaReset() {
      return limits.quotaReset();
    }

    public RateLimit rateLimit() {
      return limits.rateLimit();
    }

    public Instant expiresAt() {
      return expiresAt;
    }

    /** Whether the current secret's hash is known (it is indexed). */
    public boolean hashed() {
      return hashed;
    }

    /** After a rotation with overlap: the old secret's hash, else null. */
    public Hash previousHash() {
      return previousHash;
    }

    public Instant previousKeyExpiresAt() {
      return previousKeyExpiresAt;
    }

    public long version() {
      return version;
    }

    @Override
    public String toString() {
      return "KeyEntry[" + keyId() + " v" + version + " " + status + "]";
    }
  }

  private static final IpAllowList NO_ALLOW_LIST = IpAllowList.of(List.of());

  /** A group with its models indexed by id. */
  public record GroupEntry(GroupSnapshot group, Map<String, ModelPrice> models) {}

  /** What a hash resolves to: the key, and whether it is an old secret in its rotation overlap. */
  public record Match(KeyEntry entry, boolean previousSecret) {}

  // by key id: a KeyId for UUID ids (all of key-service's), the String otherwise
  private final Map<Object, KeyEntry> byId = new ConcurrentHashMap<>();
  // by the current secret's hash: the entries themselves, found by the hash they carry
  private final HashIndex byHash =
      new HashIndex(
          new KeyEntry(
              null, "", null, null, null, false, NO_ALLOW_LIST, null, null, null, null, -1));
  private final Map<String, String> names = new ConcurrentHashMap<>();
  private final Map<Limits, Limits> limits = new ConcurrentHashMap<>();
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
    Object id = KeyId.of(k.keyId());
    KeyEntry old = byId.get(id);
    if (old != null && old.version() >= k.version()) {
      return false;
    }
    if (old != null) {
      id = old.id; // the one the id index already holds as its key
    }
    KeyEntry entry = entry(id, k);
    Hash previous = entry.previousHash();
    // the new mappings go in before the old ones leave, so a lookup never sees a gap
    if (entry.hashed()) {
      byHash.put(entry);
    }
    if (previous != null) {
      byPreviousHash.put(previous, entry);
    }
    byId.put(id, entry);
    if (old != null) {
      if (old.hashed() && !(entry.hashed() && old.sameHash(entry))) {
        byHash.remove(old); // only if it is still there (identity, not hash equality)
      }
      Hash op = old.previousHash();
      if (op != null && !op.sameHash(previous)) {
        byPreviousHash.computeIfPresent(op, (h, v) -> v == old ? null : v);
      }
    }
    return true;
  }

  /**
   * What the projection keeps of a snapshot (see {@link KeyEntry}): every field a decision reads,
   * with names and limits shared between keys; none of name, mask, hash text and
   * created/updated/rotated.
   */
  private KeyEntry entry(Object id, KeySnapshot k) {
    Hash previous = k.previousKeyHash() == null ? null : Hash.parse(k.previousKeyHash());
    return new KeyEntry(
        Hash.parseLongs(k.keyHash()),
        id,
        intern(k.account()),
        intern(k.group()),
        k.status(),
        k.custom(),
        k.allowedIps().isEmpty() ? NO_ALLOW_LIST : IpAllowList.of(k.allowedIps()),
        limits(k),
        k.expiresAt(),
        previous,
        k.previousKeyExpiresAt(),
        k.version());
  }

  private Limits limits(KeySnapshot k) {
    Limits l =
        new Limits(
            k.quotaMicros(),
            k.quotaReset(),
            RateLimit.NONE.equals(k.rateLimit()) ? RateLimit.NONE : k.rateLimit());
    Limits had = limits.putIfAbsent(l, l);
    return had == null ? l : had;
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
        && h.sameHash(e.previousHash())
        && e.previousKeyExpiresAt() != null
        && now.isBefore(e.previousKeyExpiresAt())) {
      return Optional.of(new Match(e, true));
    }
    return Optional.empty();
  }

  public Optional<KeyEntry> byId(String keyId) {
    return keyId == null ? Optional.empty() : Optional.ofNullable(byId.get(KeyId.of(keyId)));
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

  /** 0-15 for 0-9 and a-f, -1 for anything else (upper case included: hashes and ids are lower). */
  static int lowerHexDigit(char ch) {
    if (ch >= '0' && ch <= '9') {
      return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
      return ch - 'a' + 10;
    }
    return -1;
  }
}
