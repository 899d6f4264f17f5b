package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyFormatTests {

  @Test
  void generatedKeysCarryThePrefixAtLeast192RandomBitsAndAValidChecksum() {
    String key = KeyFormat.generate("sk-kw-");
    assertThat(key).startsWith("sk-kw-").hasSize(6 + 33 + 6);
    assertThat(key.substring(6)).matches("[0-9A-Za-z]+");
    assertThat(BigInteger.valueOf(62).pow(KeyFormat.RANDOM_CHARS).bitLength() - 1)
        .isGreaterThanOrEqualTo(192);
    assertThat(KeyFormat.hasValidChecksum(key, "sk-kw-")).isTrue();
  }

  @Test
  void anyChangedCharacterBreaksTheChecksum() {
    String key = KeyFormat.generate("sk-kw-");
    for (int i = 6; i < key.length(); i++) {
      char c = key.charAt(i);
      char other = c == 'a' ? 'b' : 'a';
      String changed = key.substring(0, i) + other + key.substring(i + 1);
      assertThat(KeyFormat.hasValidChecksum(changed, "sk-kw-")).as("position %d", i).isFalse();
    }
  }

  @Test
  void rejectsWrongPrefixLengthAndAlphabet() {
    String key = KeyFormat.generate("sk-kw-");
    assertThat(KeyFormat.hasValidChecksum(key.substring(1), "sk-kw-")).isFalse();
    assertThat(KeyFormat.hasValidChecksum(key + "0", "sk-kw-")).isFalse();
    assertThat(KeyFormat.hasValidChecksum(key.replace("sk-kw-", "sk-xx-"), "sk-kw-")).isFalse();
    assertThat(KeyFormat.hasValidChecksum(null, "sk-kw-")).isFalse();
    assertThat(KeyFormat.hasValidChecksum("sk-kw-" + "!".repeat(39), "sk-kw-")).isFalse();
  }

  @Test
  void keysAreUnique() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      assertThat(seen.add(KeyFormat.generate("sk-kw-"))).isTrue();
    }
  }

  @Test
  void hashIsLowerHexSha256AndMaskHidesTheMiddle() {
    assertThat(KeyFormat.sha256Hex("abc"))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    String key = KeyFormat.generate("sk-kw-");
    String mask = KeyFormat.mask(key);
    assertThat(mask).startsWith(key.substring(0, 10)).endsWith(key.substring(key.length() - 4));
    assertThat(mask).contains("…").hasSize(15);
    assertThat(KeyFormat.hashesEqual(KeyFormat.sha256Hex(key), KeyFormat.sha256Hex(key))).isTrue();
    assertThat(KeyFormat.hashesEqual(KeyFormat.sha256Hex(key), KeyFormat.sha256Hex("x"))).isFalse();
  }
}
