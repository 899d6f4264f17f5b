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

  @Test
  void keysInsideFreeTextAreWithheldAndNothingElseIs() {
    String key = KeyFormat.generate("sk-kw-");
    String other = KeyFormat.generate("sk-kw-");
    assertThat(KeyFormat.withholdKeys("curl/8.5 " + key + " (" + other + ")x", "sk-kw-"))
        .isEqualTo("curl/8.5 " + KeyFormat.WITHHELD + " (" + KeyFormat.WITHHELD + ")x");
    assertThat(KeyFormat.withholdKeys(key, "sk-kw-")).isEqualTo(KeyFormat.WITHHELD);
    assertThat(KeyFormat.containsKey("model " + key, "sk-kw-")).isTrue();
    // a changed character breaks the checksum: not a key, left alone
    String broken = key.substring(0, 10) + (key.charAt(10) == 'A' ? 'B' : 'A') + key.substring(11);
    for (String text :
        new String[] {
          broken, key.substring(0, key.length() - 1), "sk-kw-", "gpt-5.5", "", "sk-kw-sk-kw-"
        }) {
      assertThat(KeyFormat.withholdKeys(text, "sk-kw-")).isSameAs(text);
      assertThat(KeyFormat.containsKey(text, "sk-kw-")).isFalse();
    }
    assertThat(KeyFormat.withholdKeys(null, "sk-kw-")).isNull();
    assertThat(KeyFormat.containsKey(null, "sk-kw-")).isFalse();
  }
}
