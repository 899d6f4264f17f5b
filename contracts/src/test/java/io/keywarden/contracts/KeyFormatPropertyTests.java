package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/** jqwik: the generated key format and its CRC32 checksum. */
class KeyFormatPropertyTests {
  /** Every base62 character and a few that a key never holds. */
  private static final String REPLACEMENTS = KeyFormat.ALPHABET + "-_ .+/=é\u0000…";

  @Property(tries = 200)
  void everyGeneratedKeyPassesItsChecksum(@ForAll("prefixes") String prefix) {
    String key = KeyFormat.generate(prefix);
    assertThat(key)
        .startsWith(prefix)
        .hasSize(prefix.length() + KeyFormat.RANDOM_CHARS + KeyFormat.CHECKSUM_CHARS);
    assertThat(KeyFormat.hasValidChecksum(key, prefix)).as(key).isTrue();
  }

  /** Changing any one character of a generated key, to anything else, fails the checksum. */
  @Property(tries = 100)
  void everySingleCharacterChangeFailsIt(@ForAll("prefixes") String prefix) {
    String key = KeyFormat.generate(prefix);
    int checked = 0;
    for (int i = 0; i < key.length(); i++) {
      for (int r = 0; r < REPLACEMENTS.length(); r++) {
        char c = REPLACEMENTS.charAt(r);
        if (c == key.charAt(i)) {
          continue;
        }
        String changed = key.substring(0, i) + c + key.substring(i + 1);
        assertThat(KeyFormat.hasValidChecksum(changed, prefix))
            .as("%s with position %d changed to %s", key, i, c)
            .isFalse();
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(key.length() * 60);
  }

  /** Swapping two different neighbours in the random part fails it (a CRC catches short bursts). */
  @Property(tries = 300)
  void swappingNeighboursInTheRandomPartFailsIt(
      @ForAll("prefixes") String prefix,
      @ForAll @IntRange(min = 0, max = KeyFormat.RANDOM_CHARS - 2) int at) {
    String key = KeyFormat.generate(prefix);
    int i = prefix.length() + at;
    char a = key.charAt(i);
    char b = key.charAt(i + 1);
    if (a == b) {
      return;
    }
    String swapped = key.substring(0, i) + b + a + key.substring(i + 2);
    assertThat(KeyFormat.hasValidChecksum(swapped, prefix)).as(swapped).isFalse();
  }

  /** A key one character short or long, or under another prefix, fails it. */
  @Property(tries = 200)
  void wrongLengthOrPrefixFailsIt(
      @ForAll("prefixes") String prefix, @ForAll @IntRange(min = 0, max = 61) int extra) {
    String key = KeyFormat.generate(prefix);
    assertThat(KeyFormat.hasValidChecksum(key.substring(0, key.length() - 1), prefix)).isFalse();
    assertThat(KeyFormat.hasValidChecksum(key + KeyFormat.ALPHABET.charAt(extra), prefix))
        .isFalse();
    assertThat(KeyFormat.hasValidChecksum(key, prefix + "x")).isFalse();
    assertThat(KeyFormat.hasValidChecksum(null, prefix)).isFalse();
  }

  @Provide
  Arbitrary<String> prefixes() {
    return Arbitraries.oneOf(
        Arbitraries.of(KeyFormat.DEFAULT_PREFIX, "kw_", "sk-proj-", ""),
        Arbitraries.strings().withCharRange('a', 'z').withChars("-_").ofMaxLength(10));
  }
}
