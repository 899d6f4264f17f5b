package io.keywarden.contracts;

import java.math.BigDecimal;

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
    // by hand (runs for every usage record): \d{1,13}(\.\d{1,6})? after dropping spaces, tabs and
    // line breaks around it (not trim: it drops NUL and every other control character, so
    // "\u000012.50" passed)
    String t = stripAsciiSpace(text);
    int n = t.length();
    int i = 0;
    long whole = 0;
    while (i < n && i < 14 && isDigit(t.charAt(i))) {
      whole = whole * 10 + (t.charAt(i) - '0');
      i++;
    }
    long fraction = 0;
    int decimals = 0;
    boolean ok = i >= 1 && i <= 13;
    if (ok && i < n) {
      ok = t.charAt(i) == '.' && n - i - 1 >= 1 && n - i - 1 <= 6;
      for (int j = i + 1; ok && j < n; j++) {
        char c = t.charAt(j);
        ok = isDigit(c);
        fraction = fraction * 10 + (c - '0');
        decimals++;
      }
    }
    if (!ok) {
      throw new IllegalArgumentException(
          "must be a non-negative decimal string with at most 6 decimals, such as \"12.50\"");
    }
    for (int d = decimals; d < 6; d++) {
      fraction *= 10;
    }
    if (whole > MAX_WHOLE_USD || whole == MAX_WHOLE_USD && fraction > 0) {
      throw new IllegalArgumentException("must be at most " + MAX_USD.toPlainString());
    }
    return whole * MICROS_PER_USD + fraction;
  }

  private static final long MAX_WHOLE_USD = 1_000_000_000_000L;

  private static String stripAsciiSpace(String s) {
    int from = 0;
    int to = s.length();
    while (from < to && isAsciiSpace(s.charAt(from))) {
      from++;
    }
    while (to > from && isAsciiSpace(s.charAt(to - 1))) {
      to--;
    }
    return s.substring(from, to);
  }

  private static boolean isAsciiSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  /** Formats micro-dollars with at least 2 and at most 6 decimals: 12500000 -> "12.50". */
  public static String formatUsd(long micros) {
    if (micros == Long.MIN_VALUE) {
      return "-9223372036854.775808"; // no positive long to negate into
    }
    // by hand (runs for every authorize answer): what BigDecimal's stripTrailingZeros and
    // setScale(2) gave
    long abs = Math.abs(micros);
    long whole = abs / MICROS_PER_USD;
    int fraction = (int) (abs % MICROS_PER_USD);
    StringBuilder b = new StringBuilder(24);
    if (micros < 0) {
      b.append('-');
    }
    b.append(whole).append('.');
    int digits = 6;
    while (digits > 2 && fraction % 10 == 0) {
      fraction /= 10;
      digits--;
    }
    String f = Integer.toString(fraction);
    for (int z = f.length(); z < digits; z++) {
      b.append('0');
    }
    return b.append(f).toString();
  }
}
