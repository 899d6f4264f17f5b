package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Jazzer: {@link Money#parseUsd} on any text either returns micro-dollars equal to what an
 * independent BigDecimal reading gives, or throws IllegalArgumentException with a message; nothing
 * else escapes. {@link Money#formatUsd} round-trips through it. {@code mvn test} replays the seeds
 * in src/test/resources/io/keywarden/contracts/MoneyFuzzTestsInputs; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>To fuzz: {@code JAZZER_FUZZ=1 ./mvnw -pl contracts test -Dtest='MoneyFuzzTests#parseUsd'} (5
 * minutes; a crashing input lands beside the seeds as {@code crash-<sha1>}: keep it, renamed, as a
 * seed).
 */
class MoneyFuzzTests {
  /** The documented grammar, after dropping spaces, tabs and line breaks around it. */
  private static final Pattern GRAMMAR = Pattern.compile("[0-9]{1,13}(\\.[0-9]{1,6})?");

  @FuzzTest(maxDuration = "5m")
  void parseUsd(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    Long expected = reference(text);
    long micros;
    try {
      micros = Money.parseUsd(text);
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).as("rejection of %s", quoted(text)).isNotBlank();
      assertThat(expected).as("%s was rejected but is a valid amount", quoted(text)).isNull();
      checkFormat(input);
      return;
    }
    assertThat(expected).as("%s was accepted", quoted(text)).isNotNull();
    assertThat(micros).as("micro-dollars of %s", quoted(text)).isEqualTo(expected);
    assertThat(Money.parseUsd(Money.formatUsd(micros))).isEqualTo(micros);
    checkFormat(input);
  }

  /** formatUsd of any long: parses back to itself when in range, else is refused. */
  private static void checkFormat(byte[] input) {
    ByteBuffer b = ByteBuffer.allocate(8).put(input, 0, Math.min(8, input.length));
    long micros = b.getLong(0);
    String text = Money.formatUsd(micros);
    assertThat(text).matches("-?[0-9]+\\.[0-9]{2,6}");
    assertThat(new BigDecimal(text).movePointRight(6).longValueExact()).isEqualTo(micros);
    if (micros >= 0 && micros <= Money.MAX_USD.longValueExact() * Money.MICROS_PER_USD) {
      assertThat(Money.parseUsd(text)).isEqualTo(micros);
    } else {
      try {
        Money.parseUsd(text);
        throw new AssertionError(text + " is out of range but was accepted");
      } catch (IllegalArgumentException expected) {
        // documented
      }
    }
  }

  /** What the amount is by the documented rule, or null when it must be refused. */
  static Long reference(String text) {
    String t = text.replaceAll("^[ \\t\\n\\r]+|[ \\t\\n\\r]+$", "");
    if (!GRAMMAR.matcher(t).matches()) {
      return null;
    }
    BigDecimal usd = new BigDecimal(t);
    if (usd.compareTo(Money.MAX_USD) > 0) {
      return null;
    }
    return usd.movePointRight(6).longValueExact();
  }

  static String quoted(String s) {
    StringBuilder b = new StringBuilder("\"");
    s.codePoints()
        .forEach(
            c -> {
              if (c >= 0x20 && c < 0x7f) {
                b.appendCodePoint(c);
              } else {
                b.append(String.format("\\u%04x", c));
              }
            });
    return b.append('"').toString();
  }
}
