package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
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

  @Property
  void formatThenParseIsIdentity(@ForAll @LongRange(min = 0, max = 999_999_999_999_999L) long m) {
    assertThat(Money.parseUsd(Money.formatUsd(m))).isEqualTo(m);
  }
}
