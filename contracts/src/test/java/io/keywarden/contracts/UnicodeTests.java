package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class UnicodeTests {
  @Test
  void wellFormedTextPasses() {
    assertThat(Unicode.unpairedSurrogate("")).isEqualTo(-1);
    assertThat(Unicode.unpairedSurrogate("codex-laptop")).isEqualTo(-1);
    assertThat(Unicode.unpairedSurrogate("ключ 鍵 \uD83D\uDD11 (a pair)")).isEqualTo(-1);
    assertThat(Unicode.unpairedSurrogate("\uD83D\uDD11\uD83D\uDD11")).isEqualTo(-1);
  }

  @Test
  void theProblemNamesALoneSurrogateOrANulCharacter() {
    assertThat(Unicode.problem("codex-laptop \uD83D\uDD11")).isNull();
    assertThat(Unicode.problem("a\uDBE5")).isEqualTo(Unicode.PROBLEM);
    assertThat(Unicode.problem("a\u0000b")).isEqualTo(Unicode.NUL);
    assertThat(Unicode.problem("\u0000\uDBE5")).isEqualTo(Unicode.PROBLEM);
    assertThat(
            Unicode.problemIn(
                java.util.Map.of(
                    "ok", java.util.List.of("x"), "q", java.util.List.of("y", "\u0000"))))
        .containsExactly("q", Unicode.NUL);
    assertThat(Unicode.problemIn(java.util.Map.of("q", java.util.List.of("y")))).isNull();
  }

  @Test
  void aSurrogateWithoutItsPartnerIsFoundWhereItIs() {
    assertThat(Unicode.unpairedSurrogate("\uDBE5")).isZero();
    assertThat(Unicode.unpairedSurrogate("ab\uDC57")).isEqualTo(2);
    assertThat(Unicode.unpairedSurrogate("ab\uD83Dc")).isEqualTo(2);
    assertThat(Unicode.unpairedSurrogate("\uD83D\uDD11\uD83D")).isEqualTo(2);
    // low before high is two unpaired ones, not a pair
    assertThat(Unicode.unpairedSurrogate("x\uDD11\uD83D")).isEqualTo(1);
    // two highs: the first lacks its low
    assertThat(Unicode.unpairedSurrogate("\uD83D\uD83D\uDD11")).isZero();
  }

  /** The check agrees with the JDK's strict UTF-8 encoder, which is what a database needs. */
  @Property(tries = 2000)
  void agreesWithAStrictUtf8Encoder(@ForAll char[] chars) {
    String s = new String(chars);
    boolean encodes;
    try {
      StandardCharsets.UTF_8
          .newEncoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .encode(CharBuffer.wrap(s));
      encodes = true;
    } catch (CharacterCodingException e) {
      encodes = false;
    }
    assertThat(Unicode.wellFormed(s)).as("%s", s.chars().boxed().toList()).isEqualTo(encodes);
    // problem() makes its own pass: it names a lone surrogate exactly when the encoder refuses,
    // else NUL exactly when the text holds one
    String want = !encodes ? Unicode.PROBLEM : s.indexOf('\0') >= 0 ? Unicode.NUL : null;
    assertThat(Unicode.problem(s)).as("%s", s.chars().boxed().toList()).isEqualTo(want);
  }
}
