package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MoneyTests {

  @Test
  void parsesDecimalStringsToMicroDollars() {
    assertThat(Money.parseUsd("12.50")).isEqualTo(12_500_000L);
    assertThat(Money.parseUsd("0")).isZero();
    assertThat(Money.parseUsd("0.000001")).isEqualTo(1L);
    assertThat(Money.formatUsd(12_500_000L)).isEqualTo("12.50");
    assertThat(Money.formatUsd(1L)).isEqualTo("0.000001");
    assertThat(Money.formatUsd(0L)).isEqualTo("0.00");
  }

  @Test
  void refusesNegativeTooPreciseAndNonNumbers() {
    for (String bad : new String[] {"-1", "1.0000001", "1e3", "abc", "", " ", "1,5", "NaN"}) {
      assertThatThrownBy(() -> Money.parseUsd(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void formatThenParseIsIdentityForAnyAmount() {
    // seeded, so a failure reproduces; edges first, then 100,000 random amounts
    SplittableRandom random = new SplittableRandom(20261123L);
    long[] edges = {0, 1, 9, 10, 99, 999_999, 1_000_000, 1_000_001, 999_999_999_999_999L};
    for (long m : edges) {
      assertThat(Money.parseUsd(Money.formatUsd(m))).isEqualTo(m);
    }
    for (int i = 0; i < 100_000; i++) {
      long m = random.nextLong(0, 1_000_000_000_000_000L);
      assertThat(Money.parseUsd(Money.formatUsd(m))).as("%d", m).isEqualTo(m);
    }
  }
}
