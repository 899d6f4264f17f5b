package io.keywarden.contracts;

import java.math.BigDecimal;
import java.math.RoundingMode;

/** USD as a long of micro-dollars inside, a decimal string ("12.50") at the REST edge. */
public final class Money {
  public static final long MICROS_PER_USD = 1_000_000L;

  /** Largest amount accepted at the edge: one trillion dollars keeps every sum inside a long. */
  public static final BigDecimal MAX_USD = new BigDecimal("1000000000000");

  private Money() {}

  /**
   * Parses a non-negative decimal string with at most 6 decimals.
   *
   * @throws IllegalArgumentException with a message fit for a 400 (it names no field: the caller
   *     does)
   */
  public static long parseUsd(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("must be a decimal string such as \"12.50\"");
    }
    String t = text.trim();
    if (!t.matches("\\d{1,13}(\\.\\d{1,6})?")) {
      throw new IllegalArgumentException(
          "must be a non-negative decimal string with at most 6 decimals, such as \"12.50\"");
    }
    BigDecimal v = new BigDecimal(t);
    if (v.compareTo(MAX_USD) > 0) {
      throw new IllegalArgumentException("must be at most " + MAX_USD.toPlainString());
    }
    return v.movePointRight(6).longValueExact();
  }

  /** Formats micro-dollars with at least 2 and at most 6 decimals: 12500000 -> "12.50". */
  public static String formatUsd(long micros) {
    BigDecimal v = BigDecimal.valueOf(micros, 6).stripTrailingZeros();
    if (v.scale() < 2) {
      v = v.setScale(2, RoundingMode.UNNECESSARY);
    }
    return v.toPlainString();
  }
}
