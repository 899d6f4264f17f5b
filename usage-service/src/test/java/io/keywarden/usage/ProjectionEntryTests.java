package io.keywarden.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.usage.projection.KeyProjection;
import io.keywarden.usage.projection.KeyProjection.KeyEntry;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The flat projection entry keeps every field a decision reads, and its hash index finds exactly
 * the current secrets (and old ones within their overlap) through updates, rotations and growth.
 */
class ProjectionEntryTests {
  static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

  static KeySnapshot snapshot(
      String id, String secret, String previousSecret, KeyStatus status, long version) {
    return new KeySnapshot(
        id,
        "acct-" + id.hashCode() % 7,
        "name " + id,
        "group-a",
        status,
        KeyFormat.sha256Hex(secret),
        KeyFormat.mask(secret),
        true,
        previousSecret == null ? null : KeyFormat.sha256Hex(previousSecret),
        previousSecret == null ? null : NOW.plusSeconds(60),
        List.of("10.0.0.0/8"),
        7_000_000,
        QuotaReset.WEEKLY,
        new RateLimit(60, 1000, 3),
        NOW.plusSeconds(3600),
        NOW,
        NOW,
        NOW,
        version);
  }

  static KeyEntry find(KeyProjection p, String secret, Instant now) {
    return p.byHash(KeyFormat.sha256Hex(secret), now).map(KeyProjection.Match::entry).orElse(null);
  }

  @Test
  void keepsEveryFieldDecisionsRead() {
    KeyProjection p = new KeyProjection();
    String id = UUID.randomUUID().toString();
    KeySnapshot k = snapshot(id, "sk-kw-current-secret", "sk-kw-old-secret", KeyStatus.ACTIVE, 4);
    assertThat(p.apply(k)).isTrue();

    KeyEntry e = find(p, "sk-kw-current-secret", NOW);
    assertThat(e).isNotNull();
    assertThat(p.byId(id)).containsSame(e);
    assertThat(e.keyId()).isEqualTo(k.keyId());
    assertThat(e.account()).isEqualTo(k.account());
    assertThat(e.group()).isEqualTo(k.group());
    assertThat(e.status()).isEqualTo(k.status());
    assertThat(e.custom()).isEqualTo(k.custom());
    assertThat(e.quotaMicros()).isEqualTo(k.quotaMicros());
    assertThat(e.quotaReset()).isEqualTo(k.quotaReset());
    assertThat(e.rateLimit()).isEqualTo(k.rateLimit());
    assertThat(e.expiresAt()).isEqualTo(k.expiresAt());
    assertThat(e.previousKeyExpiresAt()).isEqualTo(k.previousKeyExpiresAt());
    assertThat(e.version()).isEqualTo(k.version());
    assertThat(e.allowList().allows("10.1.2.3")).isTrue();
    assertThat(e.allowList().allows("192.168.0.1")).isFalse();
    assertThat(e.previousHash())
        .isEqualTo(KeyProjection.Hash.parse(KeyFormat.sha256Hex("sk-kw-old-secret")));
    assertThat(e.sameHash(KeyProjection.Hash.of(KeyFormat.sha256("sk-kw-current-secret"))))
        .isTrue();
    // the old secret within its overlap, and not after it
    assertThat(p.byHash(KeyFormat.sha256Hex("sk-kw-old-secret"), NOW))
        .hasValueSatisfying(
            m -> {
              assertThat(m.entry()).isSameAs(e);
              assertThat(m.previousSecret()).isTrue();
            });
    assertThat(p.byHash(KeyFormat.sha256Hex("sk-kw-old-secret"), NOW.plusSeconds(60))).isEmpty();
    assertThat(find(p, "sk-kw-unknown-secret", NOW)).isNull();
  }

  /**
   * Every field of the snapshot is either kept (an accessor of the same name on the entry), kept in
   * another form, or deliberately dropped: a field added to KeySnapshot fails this test until
   * someone decides which.
   */
  @Test
  void everySnapshotFieldIsKeptOrDeliberatelyDropped() {
    Set<String> dropped = Set.of("name", "mask", "createdAt", "updatedAt", "rotatedAt");
    Set<String> otherForm = Set.of("keyHash", "previousKeyHash", "allowedIps");
    Set<String> entryMethods =
        Arrays.stream(KeyEntry.class.getMethods()).map(Method::getName).collect(Collectors.toSet());
    Set<String> unaccounted = new HashSet<>();
    for (RecordComponent c : KeySnapshot.class.getRecordComponents()) {
      String n = c.getName();
      if (!dropped.contains(n) && !otherForm.contains(n) && !entryMethods.contains(n)) {
        unaccounted.add(n);
      }
    }
    assertThat(unaccounted).isEmpty();
    assertThat(entryMethods).contains("sameHash", "previousHash", "allowList");
  }

  @Test
  void updatesReplaceRotationsMoveAndStaleVersionsAreIgnored() {
    KeyProjection p = new KeyProjection();
    String id = UUID.randomUUID().toString();
    p.apply(snapshot(id, "sk-kw-first", null, KeyStatus.ACTIVE, 1));
    assertThat(p.apply(snapshot(id, "sk-kw-first", null, KeyStatus.DISABLED, 2))).isTrue();
    assertThat(find(p, "sk-kw-first", NOW).status()).isEqualTo(KeyStatus.DISABLED);
    assertThat(p.apply(snapshot(id, "sk-kw-first", null, KeyStatus.ACTIVE, 2))).isFalse();
    assertThat(p.apply(snapshot(id, "sk-kw-first", null, KeyStatus.ACTIVE, 1))).isFalse();
    assertThat(find(p, "sk-kw-first", NOW).status()).isEqualTo(KeyStatus.DISABLED);

    // rotation: the new secret is found, the old one only as the previous secret
    p.apply(snapshot(id, "sk-kw-second", "sk-kw-first", KeyStatus.ACTIVE, 3));
    assertThat(find(p, "sk-kw-second", NOW).version()).isEqualTo(3);
    assertThat(p.byHash(KeyFormat.sha256Hex("sk-kw-first"), NOW).orElseThrow().previousSecret())
        .isTrue();
    // a second rotation drops the first secret altogether
    p.apply(snapshot(id, "sk-kw-third", "sk-kw-second", KeyStatus.ACTIVE, 4));
    assertThat(find(p, "sk-kw-first", NOW)).isNull();
    assertThat(find(p, "sk-kw-second", NOW).version()).isEqualTo(4);
    assertThat(find(p, "sk-kw-third", NOW).version()).isEqualTo(4);
    assertThat(p.keyCount()).isEqualTo(1);
  }

  @Test
  void idsThatAreNotCanonicalUuidsAreKeptAsText() {
    KeyProjection p = new KeyProjection();
    String upper = UUID.randomUUID().toString().toUpperCase();
    p.apply(snapshot("custom-id-1", "sk-kw-a", null, KeyStatus.ACTIVE, 1));
    p.apply(snapshot(upper, "sk-kw-b", null, KeyStatus.ACTIVE, 1));
    assertThat(find(p, "sk-kw-a", NOW).keyId()).isEqualTo("custom-id-1");
    assertThat(find(p, "sk-kw-b", NOW).keyId()).isEqualTo(upper);
    assertThat(p.byId(upper)).isPresent();
    assertThat(p.byId(upper.toLowerCase())).isEmpty();
    assertThat(p.byId(null)).isEmpty();
  }

  @Test
  void manyKeysThroughGrowthAndRotationsAreAllFound() {
    KeyProjection p = new KeyProjection();
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      p.apply(snapshot(new UUID(7, i).toString(), "sk-kw-k" + i, null, KeyStatus.ACTIVE, 1));
    }
    // rotate every other key twice (tombstones in the index), then check every secret
    for (int i = 0; i < n; i += 2) {
      String id = new UUID(7, i).toString();
      p.apply(snapshot(id, "sk-kw-r" + i, "sk-kw-k" + i, KeyStatus.ACTIVE, 2));
      p.apply(snapshot(id, "sk-kw-s" + i, "sk-kw-r" + i, KeyStatus.ACTIVE, 3));
    }
    for (int i = 0; i < n; i++) {
      String id = new UUID(7, i).toString();
      if (i % 2 == 0) {
        assertThat(find(p, "sk-kw-k" + i, NOW)).isNull();
        assertThat(find(p, "sk-kw-s" + i, NOW).keyId()).isEqualTo(id);
      } else {
        assertThat(find(p, "sk-kw-k" + i, NOW).keyId()).isEqualTo(id);
      }
    }
    assertThat(p.keyCount()).isEqualTo(n);
  }
}
