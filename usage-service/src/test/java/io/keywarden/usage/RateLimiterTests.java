package io.keywarden.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.usage.ledger.Periods;
import io.keywarden.usage.limits.RateLimiter;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** M4 on one instance, on a synthetic clock: admitted / theoretical over 10 windows. */
class RateLimiterTests {
  static final int LIMIT = 100;

  /** Sends {@code factor} x the limit per minute, evenly spread, for 10 minutes. */
  static double admittedRatio(double factor) {
    RateLimiter rl = new RateLimiter(Duration.ofMinutes(10));
    RateLimit limit = new RateLimit(LIMIT, null, null);
    Instant start = Instant.parse("2026-11-23T10:00:00Z");
    int perMinute = (int) Math.round(LIMIT * factor);
    long admitted = 0;
    for (int w = 0; w < 10; w++) {
      for (int i = 0; i < perMinute; i++) {
        Instant t = start.plusMillis(w * 60_000L + (long) i * 60_000L / perMinute);
        if (rl.tryAcquire("k", limit, null, t).allowed()) {
          admitted++;
        }
      }
    }
    double theoretical = 10.0 * Math.min(perMinute, LIMIT);
    return admitted / theoretical;
  }

  @Test
  void m4AdmitsAllOfTheAllowanceAndNoMoreAt09x1xAnd2xLoad() {
    assertThat(admittedRatio(0.9)).isEqualTo(1.0);
    assertThat(admittedRatio(1.0)).isEqualTo(1.0);
    assertThat(admittedRatio(2.0)).isEqualTo(1.0);
  }

  /**
   * Two instances, each with its own limiter, {@code factor} x the limit per minute sent to them in
   * turn (round robin) or all to the first (consistent hashing on the key), for 10 minutes:
   * admitted / min(offered, limit).
   */
  static double twoInstances(double factor, int sharedBy, boolean roundRobin) {
    RateLimiter[] rl = {
      new RateLimiter(Duration.ofMinutes(10), sharedBy),
      new RateLimiter(Duration.ofMinutes(10), sharedBy)
    };
    RateLimit limit = new RateLimit(LIMIT, null, null);
    Instant start = Instant.parse("2026-11-23T10:00:00Z");
    int perMinute = (int) Math.round(LIMIT * factor);
    long admitted = 0;
    int n = 0;
    for (int w = 0; w < 10; w++) {
      for (int i = 0; i < perMinute; i++) {
        Instant t = start.plusMillis(w * 60_000L + (long) i * 60_000L / perMinute);
        RateLimiter target = roundRobin ? rl[n++ % 2] : rl[0];
        if (target.tryAcquire("k", limit, null, t).allowed()) {
          admitted++;
        }
      }
    }
    return admitted / (10.0 * Math.min(perMinute, LIMIT));
  }

  @Test
  void withTwoInstancesEachEnforcesItsOwnShareAsDocumented() {
    // default: every instance enforces the whole limit, so round robin admits up to 2x
    assertThat(twoInstances(0.9, 1, true)).isEqualTo(1.0);
    assertThat(twoInstances(1.0, 1, true)).isEqualTo(1.0);
    assertThat(twoInstances(2.0, 1, true)).isEqualTo(2.0);
    // kw.rate-limit.instances=2: each enforces half, exact behind round robin ...
    assertThat(twoInstances(0.9, 2, true)).isEqualTo(1.0);
    assertThat(twoInstances(1.0, 2, true)).isEqualTo(1.0);
    assertThat(twoInstances(2.0, 2, true)).isEqualTo(1.0);
    // ... and half the limit when one key's requests all reach one instance
    assertThat(twoInstances(2.0, 2, false)).isEqualTo(0.5);
    assertThat(twoInstances(2.0, 1, false)).isEqualTo(1.0);
  }

  @Test
  void aRefusedRequestConsumesNothingAndRetryAfterPointsAtTheNextMinute() {
    RateLimiter rl = new RateLimiter(Duration.ofMinutes(10));
    RateLimit limit = new RateLimit(2, null, null);
    Instant t = Instant.parse("2026-11-23T10:00:45Z");
    assertThat(rl.tryAcquire("k", limit, null, t).allowed()).isTrue();
    assertThat(rl.tryAcquire("k", limit, null, t).allowed()).isTrue();
    for (int i = 0; i < 10; i++) {
      RateLimiter.Verdict v = rl.tryAcquire("k", limit, null, t);
      assertThat(v.allowed()).isFalse();
      assertThat(v.retryAfterSeconds()).isEqualTo(15);
    }
    assertThat(rl.tryAcquire("k", limit, null, t.plusSeconds(15)).allowed()).isTrue();
  }

  @Test
  void concurrencyIsHeldUntilReleasedOrTimedOut() {
    RateLimiter rl = new RateLimiter(Duration.ofMinutes(10));
    RateLimit limit = new RateLimit(null, null, 1);
    Instant t = Instant.parse("2026-11-23T10:00:00Z");
    assertThat(rl.tryAcquire("k", limit, "r1", t).allowed()).isTrue();
    assertThat(rl.tryAcquire("k", limit, "r2", t).allowed()).isFalse();
    rl.release("k", "r1");
    assertThat(rl.tryAcquire("k", limit, "r2", t).allowed()).isTrue();
    assertThat(rl.tryAcquire("k", limit, "r3", t.plus(Duration.ofMinutes(11))).allowed()).isTrue();
  }

  @Test
  void tokensPerMinuteCountRecordedUsage() {
    RateLimiter rl = new RateLimiter(Duration.ofMinutes(10));
    RateLimit limit = new RateLimit(null, 1000, null);
    Instant t = Instant.parse("2026-11-23T10:00:00Z");
    assertThat(rl.tryAcquire("k", limit, null, t).allowed()).isTrue();
    rl.addTokens("k", 1000, t);
    assertThat(rl.tryAcquire("k", limit, null, t.plusSeconds(1)).allowed()).isFalse();
    assertThat(rl.tryAcquire("k", limit, null, t.plusSeconds(60)).allowed()).isTrue();
  }

  @Test
  void quotaPeriodsAreUtcDaysMondayWeeksAndMonths() {
    Instant sun = Instant.parse("2026-11-29T23:59:59Z");
    Instant mon = Instant.parse("2026-11-30T00:00:00Z");
    assertThat(Periods.current(QuotaReset.DAILY, sun)).isEqualTo("2026-11-29");
    assertThat(Periods.current(QuotaReset.DAILY, mon)).isEqualTo("2026-11-30");
    assertThat(Periods.current(QuotaReset.WEEKLY, sun)).isEqualTo("week-2026-11-23");
    assertThat(Periods.current(QuotaReset.WEEKLY, mon)).isEqualTo("week-2026-11-30");
    assertThat(Periods.current(QuotaReset.MONTHLY, mon)).isEqualTo("2026-11");
    assertThat(Periods.current(QuotaReset.MONTHLY, Instant.parse("2026-12-01T00:00:00Z")))
        .isEqualTo("2026-12");
    assertThat(Periods.current(QuotaReset.NONE, mon)).isEqualTo("none");
  }
}
