package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@link KeyFormat#withholdKeys} and {@link KeyFormat#containsKey} (S6). */
class KeyFormatWithholdTests {
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
