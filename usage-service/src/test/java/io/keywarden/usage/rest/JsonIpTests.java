package io.keywarden.usage.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.stack.testing.TestResolver;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The hand-written IPv4 check accepts exactly what the former regex check accepted. */
class JsonIpTests {
  /** The check as it was: regex, split, range. */
  static boolean former(String s) {
    if (!s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      return false;
    }
    for (String part : s.split("\\.")) {
      if (Integer.parseInt(part) > 255) {
        return false;
      }
    }
    return true;
  }

  @Test
  void agreesWithTheFormerCheckOnEdgeCasesAndRandomStrings() {
    List<String> cases =
        new ArrayList<>(
            List.of(
                "1.2.3.4",
                "0.0.0.0",
                "255.255.255.255",
                "256.1.1.1",
                "1.2.3",
                "1.2.3.4.5",
                "01.002.3.4",
                "1234.1.1.1",
                "1..2.3",
                ".1.2.3",
                "1.2.3.",
                "",
                "a.b.c.d",
                "1.2.3.4 ",
                " 1.2.3.4",
                "١.٢.٣.٤",
                "10.0.0.1/8",
                "999.999.999.999",
                "1.2.3.-4"));
    Random r = new Random(42);
    String alphabet = "0123456789..25x";
    for (int i = 0; i < 200_000; i++) {
      StringBuilder b = new StringBuilder();
      int len = r.nextInt(17);
      for (int j = 0; j < len; j++) {
        b.append(alphabet.charAt(r.nextInt(alphabet.length())));
      }
      cases.add(b.toString());
    }
    for (int i = 0; i < 20_000; i++) {
      cases.add(
          r.nextInt(300) + "." + r.nextInt(300) + "." + r.nextInt(1000) + "." + r.nextInt(300));
    }
    int accepted = 0;
    for (String s : cases) {
      assertThat(Json.isIpv4(s)).as("'%s'", s).isEqualTo(former(s));
      if (former(s)) {
        accepted++;
      }
    }
    assertThat(accepted).isGreaterThan(1000); // the sample holds plenty of valid addresses
    assertThat(Json.isIpLiteral("2001:db8::1")).isTrue();
    assertThat(Json.isIpLiteral("::ffff:10.0.0.1")).isTrue();
    assertThat(Json.isIpLiteral("2001:db8::g")).isFalse();
    assertThat(Json.isIpLiteral("example.com")).isFalse();
  }

  /**
   * A text with ':' that is no literal (".1:2") used to pass the character check and reach
   * InetAddress.getByName, which sends such a text to the name service: a DNS query for user input
   * on the authorize path. The JVM's resolver in this module's tests records every lookup.
   */
  @Test
  void aColonTextThatIsNoLiteralNeverReachesTheNameService() {
    List<String> texts = List.of(".1:2", ".2.3.:14", "..:", ".:a", "x:1", "g::1");
    TestResolver.LOOKUPS.clear();
    for (String s : texts) {
      assertThat(Json.isIpLiteral(s)).as("'%s'", s).isFalse();
    }
    assertThat(Json.isIpLiteral("::1")).isTrue();
    assertThat(TestResolver.LOOKUPS).isEmpty();
  }
}
