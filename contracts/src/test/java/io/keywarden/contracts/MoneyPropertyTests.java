package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.math.BigInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** jqwik: USD decimal strings and micro-dollars. */
class MoneyPropertyTests {
  private static final long MAX_MICROS = 1_000_000_000_000L * Money.MICROS_PER_USD;

  @Example
  void twelveFiftyIsTwelveAndAHalfMillionMicros() {
    assertThat(Money.parseUsd("12.50")).isEqualTo(12_500_000L);
    assertThat(Money.formatUsd(12_500_000L)).isEqualTo("12.50");
  }

  /** Every decimal in range with at most 6 places parses to its exact micro-dollars. */
  @Property(tries = 2000)
  void everyDecimalWithAtMostSixPlacesParsesExactly(@ForAll("amounts") BigDecimal usd) {
    long micros = Money.parseUsd(usd.toPlainString());
    assertThat(micros).isEqualTo(usd.movePointRight(6).longValueExact());
    // and back: the formatted form is canonical and parses to the same amount
    String formatted = Money.formatUsd(micros);
    assertThat(Money.parseUsd(formatted)).isEqualTo(micros);
    assertThat(new BigDecimal(formatted).compareTo(usd)).isZero();
    assertThat(formatted).matches("\\d+\\.\\d{2,6}");
  }

  /** Every micro-dollar amount in range formats to a string that parses back to it. */
  @Property(tries = 2000)
  void everyMicroAmountRoundTrips(@ForAll @LongRange(min = 0, max = MAX_MICROS) long micros) {
    assertThat(Money.parseUsd(Money.formatUsd(micros))).isEqualTo(micros);
  }

  /** Surrounding white space is allowed; the amount is the same. */
  @Property(tries = 300)
  void whiteSpaceAroundIsIgnored(
      @ForAll("amounts") BigDecimal usd,
      @ForAll("spaces") String before,
      @ForAll("spaces") String after) {
    assertThat(Money.parseUsd(before + usd.toPlainString() + after))
        .isEqualTo(usd.movePointRight(6).longValueExact());
  }

  /** More than 6 decimal places is refused, even when the extra digits are zeros. */
  @Property(tries = 1000)
  void moreThanSixPlacesIsRefused(
      @ForAll @LongRange(min = 0, max = 999_999_999_999L) long whole,
      @ForAll @IntRange(min = 7, max = 30) int places,
      @ForAll("digitStrings") String digits) {
    String fraction = (digits + "0".repeat(places)).substring(0, places);
    String text = whole + "." + fraction;
    assertThatThrownBy(() -> Money.parseUsd(text))
        .as(text)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most 6 decimals");
  }

  /** Amounts over the maximum are refused with the maximum in the message. */
  @Property(tries = 500)
  void overTheMaximumIsRefused(@ForAll @LongRange(min = 1, max = MAX_MICROS) long overBy) {
    BigDecimal usd = Money.MAX_USD.add(BigDecimal.valueOf(overBy, 6));
    String text = usd.stripTrailingZeros().toPlainString();
    assertThatThrownBy(() -> Money.parseUsd(text))
        .as(text)
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Junk: an amount with one character inserted that is neither a digit nor a lone dot. */
  @Property(tries = 2000)
  void junkIsRefused(
      @ForAll("amounts") BigDecimal usd,
      @ForAll("junkChars") char junk,
      @ForAll @IntRange(min = 0, max = 40) int at) {
    String plain = usd.toPlainString();
    int pos = Math.min(at, plain.length());
    String text = plain.substring(0, pos) + junk + plain.substring(pos);
    if (" \t\n\r".indexOf(junk) >= 0 && (pos == 0 || pos == plain.length())) {
      return; // spaces, tabs and line breaks around the number are allowed; nothing else is
    }
    assertThatThrownBy(() -> Money.parseUsd(text))
        .as(MoneyFuzzTests.quoted(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("decimal");
  }

  /** Negative amounts, exponents, signs and grouping separators are refused. */
  @Property(tries = 500)
  void signedExponentAndGroupedFormsAreRefused(
      @ForAll("amounts") BigDecimal usd, @ForAll("otherForms") String form) {
    String text =
        switch (form) {
          case "negative" -> "-" + usd.toPlainString();
          case "plus" -> "+" + usd.toPlainString();
          case "exponent" -> usd.unscaledValue() + "E-" + usd.scale();
          case "grouped" -> String.format(java.util.Locale.ROOT, "%,.2f", usd);
          case "leadingDot" -> "." + usd.unscaledValue();
          default -> usd.toPlainString() + ".";
        };
    if (form.equals("grouped") && !text.contains(",")) {
      return;
    }
    assertThatThrownBy(() -> Money.parseUsd(text))
        .as(text)
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Provide
  Arbitrary<BigDecimal> amounts() {
    Arbitrary<BigInteger> whole =
        Arbitraries.oneOf(
            Arbitraries.bigIntegers().between(BigInteger.ZERO, BigInteger.valueOf(1000)),
            Arbitraries.bigIntegers()
                .between(BigInteger.ZERO, BigInteger.valueOf(1_000_000_000_000L)));
    Arbitrary<Integer> scale = Arbitraries.integers().between(0, 6);
    Arbitrary<Integer> fraction = Arbitraries.integers().between(0, 999_999);
    return net.jqwik.api.Combinators.combine(whole, scale, fraction)
        .as((w, s, f) -> new BigDecimal(w).add(BigDecimal.valueOf(f % (int) Math.pow(10, s), s)))
        .filter(usd -> usd.compareTo(Money.MAX_USD) <= 0)
        .edgeCases(e -> e.add(Money.MAX_USD));
  }

  @Provide
  Arbitrary<String> spaces() {
    return Arbitraries.strings().withChars(" \t\n\r").ofMaxLength(3);
  }

  @Provide
  Arbitrary<String> digitStrings() {
    return Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(30);
  }

  @Provide
  Arbitrary<Character> junkChars() {
    return Arbitraries.chars()
        .all()
        .filter(c -> !(c >= '0' && c <= '9') && c != '.' && !Character.isSurrogate(c));
  }

  @Provide
  Arbitrary<String> otherForms() {
    return Arbitraries.of("negative", "plus", "exponent", "grouped", "leadingDot", "trailingDot");
  }
}
