package io.keywarden.usage.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keywarden.usage.TestClock;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The brute-force guard on its own, with a clock the test moves. */
class InvalidKeyGuardTests {
  private static final Instant MINUTE = Instant.parse("2026-11-24T03:00:00Z");

  /** The service's test clock, stopped at {@code at}. */
  private static TestClock clock(Instant at) {
    TestClock c = new TestClock();
    c.freeze(at);
    return c;
  }

  @Test
  void anAddressIsBlockedAtTheLimitUntilItsMinuteEndsAndOthersAreNot() {
    TestClock clock = clock(MINUTE.plusSeconds(15));
    InvalidKeyGuard guard = new InvalidKeyGuard(3, clock);
    for (int i = 0; i < 2; i++) {
      guard.invalid("192.0.2.1");
      assertThat(guard.blockedFor("192.0.2.1")).isZero();
    }
    guard.invalid("192.0.2.1");
    assertThat(guard.blockedFor("192.0.2.1")).isEqualTo(45); // the rest of its minute
    assertThat(guard.blockedFor("192.0.2.2")).isZero();
    assertThat(guard.blockedFor(null)).isZero();
    clock.freeze(MINUTE.plusSeconds(59).plusMillis(999));
    assertThat(guard.blockedFor("192.0.2.1")).isEqualTo(1);
    clock.freeze(MINUTE.plusSeconds(60));
    assertThat(guard.blockedFor("192.0.2.1")).isZero();
    guard.invalid("192.0.2.1"); // a new minute counts from zero
    assertThat(guard.blockedFor("192.0.2.1")).isZero();
    assertThat(guard.refused()).isEqualTo(2);
  }

  @Test
  void anIpv6AddressCountsByItsSlash64() {
    TestClock clock = clock(MINUTE);
    InvalidKeyGuard guard = new InvalidKeyGuard(2, clock);
    guard.invalid("2001:db8:7:1::a");
    guard.invalid("2001:DB8:7:1:ffff::b");
    assertThat(guard.blockedFor("2001:db8:7:1::c")).isPositive();
    assertThat(guard.blockedFor("2001:db8:7:2::1")).isZero();
    assertThat(InvalidKeyGuard.addressOf("2001:db8:7:1:1:2:3:4")).isEqualTo("2001:db8:7:1::/64");
    assertThat(InvalidKeyGuard.addressOf("203.0.113.9")).isEqualTo("203.0.113.9");
    assertThat(InvalidKeyGuard.addressOf("not:an:address")).isEqualTo("not:an:address");
  }

  @Test
  void zeroTurnsTheGuardOffAndANegativeLimitIsRefused() {
    InvalidKeyGuard off = new InvalidKeyGuard(0, clock(MINUTE));
    for (int i = 0; i < 1_000; i++) {
      off.invalid("192.0.2.1");
    }
    assertThat(off.blockedFor("192.0.2.1")).isZero();
    assertThatThrownBy(() -> new InvalidKeyGuard(-1, clock(MINUTE)))
        .hasMessageContaining("kw.usage.invalid-keys-per-minute");
  }

  @Test
  void pastTheTrackedAddressesNewOnesGoUncountedUntilTheNextMinute() {
    TestClock clock = clock(MINUTE);
    InvalidKeyGuard guard = new InvalidKeyGuard(1, clock);
    for (int i = 0; i < InvalidKeyGuard.MAX_TRACKED; i++) {
      guard.invalid("10." + (i >> 16) + "." + ((i >> 8) & 255) + "." + (i & 255));
    }
    assertThat(guard.blockedFor("10.0.0.0")).isPositive();
    guard.invalid("192.0.2.77"); // one address too many this minute
    assertThat(guard.blockedFor("192.0.2.77")).isZero();
    clock.freeze(MINUTE.plusSeconds(60));
    guard.invalid("192.0.2.77");
    assertThat(guard.blockedFor("192.0.2.77")).isPositive();
  }
}
