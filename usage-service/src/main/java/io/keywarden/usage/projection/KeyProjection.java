package io.keywarden.usage.projection;

import io.keywarden.contracts.IpAllowList;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.ModelPrice;
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
  /** A key as the request path needs it, with its parsed allow-list. */
  public record KeyEntry(KeySnapshot key, IpAllowList allowList) {}

  /** A group with its models indexed by id. */
  public record GroupEntry(GroupSnapshot group, Map<String, ModelPrice> models) {}

  /** What a hash resolves to: the key, and whether it is an old secret in its rotation overlap. */
  public record Match(KeyEntry entry, boolean previousSecret) {}

  private final Map<String, KeyEntry> byId = new ConcurrentHashMap<>();
  private final Map<String, KeyEntry> byHash = new ConcurrentHashMap<>();
  private final Map<String, KeyEntry> byPreviousHash = new ConcurrentHashMap<>();
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
    KeyEntry entry = new KeyEntry(k, IpAllowList.of(k.allowedIps()));
    // the new mappings go in before the old ones leave, so a lookup never sees a gap
    byHash.put(k.keyHash(), entry);
    if (k.previousKeyHash() != null) {
      byPreviousHash.put(k.previousKeyHash(), entry);
    }
    byId.put(k.keyId(), entry);
    if (old != null) {
      String oh = old.key().keyHash();
      if (!oh.equals(k.keyHash())) {
        byHash.remove(oh, old);
      }
      String op = old.key().previousKeyHash();
      if (op != null && !op.equals(k.previousKeyHash())) {
        byPreviousHash.remove(op, old);
      }
    }
    return true;
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
    lookups.increment();
    KeyEntry e = byHash.get(hash);
    if (e != null) {
      return Optional.of(new Match(e, false));
    }
    e = byPreviousHash.get(hash);
    if (e != null
        && hash.equals(e.key().previousKeyHash())
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
