package io.keywarden.audit.findings;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.events.KeyStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class FindingRulesTests {
  static final Instant NOW = Instant.parse("2026-11-23T12:00:00Z");
  final FindingRules rules = new FindingRules(Thresholds.defaults());

  static KeyFacts key(KeyStatus status, Instant created, Instant lastUsed) {
    return new KeyFacts(
        "k1", "acct", status, created, null, null, lastUsed, null, null, 0, "none", 0, null, 0, 0,
        null, null, null, null);
  }

  static KeyFacts with(
      KeyFacts k,
      Instant rotated,
      Instant expires,
      long quota,
      long spent,
      int ips,
      Instant denied) {
    return new KeyFacts(
        k.keyId(),
        k.account(),
        k.status(),
        k.createdAt(),
        rotated,
        expires,
        k.lastUsedAt(),
        denied,
        denied == null ? null : "203.0.113.1",
        quota,
        "none",
        spent,
        LocalDate.ofInstant(NOW, ZoneOffset.UTC),
        ips,
        0,
        null,
        null,
        null,
        null);
  }

  List<FindingType> types(KeyFacts k) {
    return rules.evaluate(k, NOW).stream().map(FindingRules.Desired::type).toList();
  }

  @Test
  void neverUsedOpensAfterSevenDaysNotBeforeAndNotOnceUsed() {
    assertThat(types(key(KeyStatus.ACTIVE, NOW.minus(Duration.ofDays(6)), null))).isEmpty();
    assertThat(types(key(KeyStatus.ACTIVE, NOW.minus(Duration.ofDays(8)), null)))
        .containsExactly(FindingType.NEVER_USED);
    assertThat(types(key(KeyStatus.ACTIVE, NOW.minus(Duration.ofDays(8)), NOW.minusSeconds(5))))
        .isEmpty();
  }

  @Test
  void unusedAt45DaysBecomesStaleAt90AndNeverBoth() {
    Instant created = NOW.minus(Duration.ofDays(200));
    KeyFacts k46 =
        with(
            key(KeyStatus.ACTIVE, created, NOW.minus(Duration.ofDays(46))),
            NOW.minus(Duration.ofDays(60)),
            null,
            0,
            0,
            0,
            null);
    assertThat(types(k46)).containsExactly(FindingType.UNUSED);
    KeyFacts k91 =
        with(
            key(KeyStatus.ACTIVE, created, NOW.minus(Duration.ofDays(91))),
            NOW.minus(Duration.ofDays(91)),
            null,
            0,
            0,
            0,
            null);
    assertThat(types(k91)).containsExactly(FindingType.STALE, FindingType.OLD);
  }

  @Test
  void expiringMovesToANewPeriodAt7And3And1DaysLeft() {
    KeyFacts base = key(KeyStatus.ACTIVE, NOW.minus(Duration.ofDays(1)), NOW);
    assertThat(rules.evaluate(with(base, null, NOW.plus(Duration.ofDays(8)), 0, 0, 0, null), NOW))
        .isEmpty();
    String p7 =
        rules
            .evaluate(with(base, null, NOW.plus(Duration.ofDays(6)), 0, 0, 0, null), NOW)
            .get(0)
            .period();
    String p3 =
        rules
            .evaluate(with(base, null, NOW.plus(Duration.ofDays(2)), 0, 0, 0, null), NOW)
            .get(0)
            .period();
    String p1 =
        rules
            .evaluate(with(base, null, NOW.plus(Duration.ofHours(5)), 0, 0, 0, null), NOW)
            .get(0)
            .period();
    assertThat(List.of(p7, p3, p1)).doesNotHaveDuplicates();
    assertThat(p7).startsWith("7d:");
    assertThat(p1).startsWith("1d:");
    // expired: nothing, the key cannot be used
    assertThat(rules.evaluate(with(base, null, NOW.minusSeconds(1), 0, 0, 0, null), NOW)).isEmpty();
  }

  @Test
  void oldIsMeasuredFromTheLastRotation() {
    KeyFacts old = key(KeyStatus.ACTIVE, NOW.minus(Duration.ofDays(100)), NOW);
    assertThat(types(old)).containsExactly(FindingType.OLD);
    assertThat(types(with(old, NOW.minus(Duration.ofDays(10)), null, 0, 0, 0, null))).isEmpty();
  }

  @Test
  void disabledOrRevokedKeysHaveNoFindingsButATriedLeakedKeyDoes() {
    Instant created = NOW.minus(Duration.ofDays(100));
    assertThat(types(key(KeyStatus.DISABLED, created, null))).isEmpty();
    assertThat(types(key(KeyStatus.REVOKED, created, null))).isEmpty();
    KeyFacts tried =
        with(key(KeyStatus.LEAKED, created, null), null, null, 0, 0, 0, NOW.minusSeconds(3));
    assertThat(types(tried)).containsExactly(FindingType.LEAKED_STILL_USED);
    KeyFacts quiet =
        with(
            key(KeyStatus.LEAKED, created, null),
            null,
            null,
            0,
            0,
            0,
            NOW.minus(Duration.ofDays(8)));
    assertThat(types(quiet)).isEmpty();
  }

  @Test
  void overSharedNeedsMoreThanTheThresholdOfIpsToday() {
    KeyFacts k = key(KeyStatus.ACTIVE, NOW.minus(Duration.ofDays(1)), NOW);
    assertThat(types(with(k, null, null, 0, 0, 20, null))).isEmpty();
    assertThat(types(with(k, null, null, 0, 0, 30, null))).containsExactly(FindingType.OVER_SHARED);
  }

  @Test
  void quotaNearAt80And95PercentAreDifferentPeriods() {
    KeyFacts k = key(KeyStatus.ACTIVE, NOW.minus(Duration.ofDays(1)), NOW);
    assertThat(types(with(k, null, null, 1_000_000, 790_000, 0, null))).isEmpty();
    String p80 =
        rules.evaluate(with(k, null, null, 1_000_000, 800_000, 0, null), NOW).get(0).period();
    String p95 =
        rules.evaluate(with(k, null, null, 1_000_000, 960_000, 0, null), NOW).get(0).period();
    assertThat(p80).startsWith("key:80:");
    assertThat(p95).startsWith("key:95:");
  }
}
