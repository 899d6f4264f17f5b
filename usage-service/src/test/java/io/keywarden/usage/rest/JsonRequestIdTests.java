package io.keywarden.usage.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The hand-written request-id check accepts exactly what the documented pattern accepts. */
class JsonRequestIdTests {
  @Test
  void agreesWithThePattern() {
    String alphabet = "aZ09._:-/ é\"{\\\t+";
    Random rnd = new Random(7);
    for (int i = 0; i < 50_000; i++) {
      int len = rnd.nextInt(135);
      StringBuilder b = new StringBuilder(len);
      for (int j = 0; j < len; j++) {
        // mostly valid characters, so that long valid ids are common too
        b.append(
            rnd.nextInt(10) == 0
                ? alphabet.charAt(rnd.nextInt(alphabet.length()))
                : alphabet.charAt(rnd.nextInt(8)));
      }
      String s = b.toString();
      assertThat(Json.validRequestId(s)).as(s).isEqualTo(Json.REQUEST_ID.matcher(s).matches());
    }
    assertThat(Json.validRequestId("a".repeat(128))).isTrue();
    assertThat(Json.validRequestId("a".repeat(129))).isFalse();
    assertThat(Json.validRequestId("")).isFalse();
  }
}
