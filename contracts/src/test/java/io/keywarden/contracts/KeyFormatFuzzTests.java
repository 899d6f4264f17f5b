package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Jazzer: {@link KeyFormat#hasValidChecksum} and {@link KeyFormat#mask} on any text never throw; a
 * text passes the checksum only when it has the generated shape; a well-formed key built from the
 * input passes, and the same key with one character changed fails. Seeds: {@code
 * KeyFormatFuzzTestsInputs}.
 *
 * <p>To fuzz: {@code JAZZER_FUZZ=1 ./mvnw -pl contracts test -Dtest='KeyFormatFuzzTests#checksum'}
 * (5 minutes; a crashing input lands beside the seeds as {@code crash-<sha1>}: keep it, renamed, as
 * a seed).
 */
class KeyFormatFuzzTests {
  private static final String P = KeyFormat.DEFAULT_PREFIX;

  @FuzzTest(maxDuration = "5m")
  void checksum(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);

    // 1. any text as a presented key
    boolean valid = KeyFormat.hasValidChecksum(text, P);
    if (valid) {
      assertThat(text)
          .startsWith(P)
          .hasSize(P.length() + KeyFormat.RANDOM_CHARS + KeyFormat.CHECKSUM_CHARS);
      assertThat(text.substring(P.length())).matches("[0-9A-Za-z]+");
    }
    checkMask(text);

    // 2. any text as a prefix: a key generated with it passes
    String prefix = text.length() > 12 ? text.substring(0, 12) : text;
    String generated = KeyFormat.generate(prefix);
    assertThat(KeyFormat.hasValidChecksum(generated, prefix)).isTrue();
    assertThat(KeyFormat.hasValidChecksum(text, prefix)).isIn(true, false);

    // 3. a well-formed key made of the input's bytes passes; one changed character fails it
    StringBuilder body = new StringBuilder(KeyFormat.RANDOM_CHARS);
    for (int i = 0; i < KeyFormat.RANDOM_CHARS; i++) {
      int b = i < input.length ? input[i] & 0xFF : i;
      body.append(KeyFormat.ALPHABET.charAt(b % 62));
    }
    String key = P + body + KeyFormat.checksum(body.toString());
    assertThat(KeyFormat.hasValidChecksum(key, P)).as(key).isTrue();
    int pos = input.length == 0 ? 0 : (input[input.length - 1] & 0xFF) % key.length();
    char replacement =
        input.length < 2 ? '0' : (char) ((input[input.length - 2] & 0xFF) | (input[0] << 8));
    if (replacement != key.charAt(pos)) {
      String changed = key.substring(0, pos) + replacement + key.substring(pos + 1);
      assertThat(KeyFormat.hasValidChecksum(changed, P))
          .as("%s with position %d changed", key, pos)
          .isFalse();
    }
  }

  /** A mask never throws, is well-formed UTF-16 and shows at most 8 characters after the prefix. */
  private static void checkMask(String text) {
    String mask = KeyFormat.mask(text);
    for (int i = 0; i < mask.length(); i++) {
      char c = mask.charAt(i);
      if (Character.isHighSurrogate(c)) {
        assertThat(i + 1 < mask.length() && Character.isLowSurrogate(mask.charAt(i + 1)))
            .as("mask %s splits a surrogate pair", MoneyFuzzTests.quoted(mask))
            .isTrue();
        i++;
      } else {
        assertThat(Character.isLowSurrogate(c))
            .as("mask %s splits a surrogate pair", MoneyFuzzTests.quoted(mask))
            .isFalse();
      }
    }
    String shown = mask.startsWith(P) ? mask.substring(P.length()) : mask;
    assertThat(shown.replace("…", "").codePointCount(0, shown.replace("…", "").length()))
        .isLessThanOrEqualTo(8);
  }
}
