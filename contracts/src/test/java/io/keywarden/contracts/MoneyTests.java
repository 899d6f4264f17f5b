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

  /** The former implementations (BigDecimal, a regex): the hand-written ones must agree. */
  static String formerFormat(long micros) {
    java.math.BigDecimal v = java.math.BigDecimal.valueOf(micros, 6).stripTrailingZeros();
    if (v.scale() < 2) {
      v = v.setScale(2, java.math.RoundingMode.UNNECESSARY);
    }
    return v.toPlainString();
  }

  static String formerParse(String text) {
    try {
      if (text == null || text.isBlank()) {
        throw new IllegalArgumentException("must be a decimal string such as \"12.50\"");
      }
      String t = text.trim();
      if (!t.matches("\\d{1,13}(\\.\\d{1,6})?")) {
        throw new IllegalArgumentException(
            "must be a non-negative decimal string with at most 6 decimals, such as \"12.50\"");
      }
      java.math.BigDecimal v = new java.math.BigDecimal(t);
      if (v.compareTo(Money.MAX_USD) > 0) {
        throw new IllegalArgumentException("must be at most " + Money.MAX_USD.toPlainString());
      }
      return "ok " + v.movePointRight(6).longValueExact();
    } catch (IllegalArgumentException e) {
      return "refused " + e.getMessage();
    }
  }

  static String parse(String text) {
    try {
      return "ok " + Money.parseUsd(text);
    } catch (IllegalArgumentException e) {
      return "refused " + e.getMessage();
    }
  }

  @Test
  void handWrittenFormatAndParseAgreeWithTheFormerOnes() {
    java.util.Random random = new java.util.Random(7);
    long[] edges = {
      0,
      1,
      9,
      10,
      99,
      100,
      999_999,
      1_000_000,
      1_000_001,
      1_010_000,
      1_500_000,
      12_340_000,
      999_999_999_999_999L,
      -1,
      -1_500_000,
      Long.MAX_VALUE,
      Long.MIN_VALUE,
      Long.MIN_VALUE + 1
    };
    for (long m : edges) {
      assertThat(Money.formatUsd(m)).as("%d", m).isEqualTo(formerFormat(m));
    }
    for (int i = 0; i < 200_000; i++) {
      long m = random.nextInt(4) == 0 ? random.nextLong() : random.nextLong(0, 10_000_000_000L);
      assertThat(Money.formatUsd(m)).as("%d", m).isEqualTo(formerFormat(m));
    }
    String[] fixed = {
      "0",
      "00",
      "0.0",
      "1.",
      ".5",
      "1.5",
      " 1.5 ",
      "1.000000",
      "1.0000000",
      "9999999999999",
      "1000000000000",
      "1000000000000.000001",
      "1000000000000.0",
      "10000000000000",
      "-1",
      "+1",
      "1e3",
      "1,5",
      "\u0661",
      "１",
      "1.5x",
      "x",
      "",
      " ",
      "1..5",
      "0.000001",
      "12.50",
      "\t7\n"
    };
    for (String t : fixed) {
      assertThat(parse(t)).as("[%s]", t).isEqualTo(formerParse(t));
    }
    String alphabet = "0123456789.9 -x";
    for (int i = 0; i < 200_000; i++) {
      StringBuilder b = new StringBuilder();
      int n = 1 + random.nextInt(22);
      for (int j = 0; j < n; j++) {
        b.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      String t = b.toString();
      assertThat(parse(t)).as("[%s]", t).isEqualTo(formerParse(t));
    }
  }

  /** Found by MoneyFuzzTests: trim() also dropped NUL and other control characters. */
  @org.junit.jupiter.api.Test
  void onlySpacesTabsAndLineBreaksMayStandAroundAnAmount() {
    assertThat(Money.parseUsd(" \t12.50\r\n")).isEqualTo(12_500_000L);
    for (String bad :
        java.util.List.of("\u000012.50", "12.50\u0000", "\u001f12.50", "\u200312.50")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> Money.parseUsd(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("decimal");
    }
  }
}
