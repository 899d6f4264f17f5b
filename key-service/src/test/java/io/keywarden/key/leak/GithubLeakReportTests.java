package io.keywarden.key.leak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class GithubLeakReportTests {
  private static final String SECRET = "sk-kw-CANARYcanaryCANARYcanary0123456789xyz";

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void parsesAllFourFieldsInBodyOrder() {
    List<ReportedToken> r =
        GithubLeakReport.parse(
            b(
                "[{\"token\":\"a\",\"type\":\"t1\",\"url\":\"https://x\",\"source\":\"commit\"},"
                    + "{\"source\":\"npm\",\"url\":\"\",\"type\":\"t2\",\"token\":\"b\"}]"));
    assertThat(r)
        .containsExactly(
            new ReportedToken("a", "t1", "https://x", "commit"),
            new ReportedToken("b", "t2", "", "npm"));
  }

  @Test
  void urlAndSourceMayBeAbsentOrNullAndUnknownFieldsAreIgnored() {
    List<ReportedToken> r =
        GithubLeakReport.parse(
            b(
                "[{\"token\":\"a\",\"type\":\"t\"},{\"token\":\"b\",\"url\":null,\"extra\":{\"x\":[1,2]}}]"));
    assertThat(r)
        .containsExactly(new ReportedToken("a", "t", "", ""), new ReportedToken("b", "", "", ""));
  }

  @Test
  void knownAnswerBodyParses() {
    assertThat(GithubLeakReport.parse(LeakTestSupport.KAT_BODY))
        .containsExactly(new ReportedToken("some_token", "some_type", "some_url", ""));
  }

  @Test
  void emptyArrayIsAnEmptyReport() {
    assertThat(GithubLeakReport.parse(b("[]"))).isEmpty();
  }

  @Test
  void malformedJsonIsRefusedWithoutQuotingTheBody() {
    assertThatThrownBy(() -> GithubLeakReport.parse(b("[{\"token\":\"" + SECRET + "\"")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("body is not valid JSON")
        .message()
        .doesNotContain(SECRET);
    // Jackson would quote an unrecognized bare word: make sure that never reaches the message
    assertThatThrownBy(() -> GithubLeakReport.parse(b("[{\"token\":" + SECRET + "}]")))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .doesNotContain(SECRET)
        .doesNotContain("CANARY");
    assertThatThrownBy(() -> GithubLeakReport.parse(b(SECRET)))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .doesNotContain("CANARY");
  }

  @Test
  void notAnArrayIsRefused() {
    assertThatThrownBy(() -> GithubLeakReport.parse(b("{\"token\":\"" + SECRET + "\"}")))
        .hasMessage("body is not a JSON array");
    assertThatThrownBy(() -> GithubLeakReport.parse(b("\"" + SECRET + "\"")))
        .hasMessage("body is not a JSON array");
    assertThatThrownBy(() -> GithubLeakReport.parse(new byte[0])).hasMessage("body is empty");
    assertThatThrownBy(() -> GithubLeakReport.parse(null)).hasMessage("body is empty");
    assertThatThrownBy(() -> GithubLeakReport.parse(b("   "))).hasMessage("body is empty");
  }

  @Test
  void elementWithoutStringTokenIsNamedByIndex() {
    String ok = "{\"token\":\"" + SECRET + "\",\"type\":\"t\"},";
    assertThatThrownBy(() -> GithubLeakReport.parse(b("[" + ok + ok + ok + "{\"type\":\"t\"}]")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("body[3].token is missing");
    assertThatThrownBy(() -> GithubLeakReport.parse(b("[" + ok + "{\"token\":42}]")))
        .hasMessage("body[1].token is not a string");
    assertThatThrownBy(() -> GithubLeakReport.parse(b("[" + ok + "{\"token\":null}]")))
        .hasMessage("body[1].token is not a string");
    assertThatThrownBy(() -> GithubLeakReport.parse(b("[" + ok + "\"" + SECRET + "\"]")))
        .hasMessage("body[1] is not an object")
        .message()
        .doesNotContain(SECRET);
    assertThatThrownBy(() -> GithubLeakReport.parse(b("[{\"token\":\"a\",\"type\":7}]")))
        .hasMessage("body[0].type is not a string");
  }

  @Test
  void duplicateTokenFieldIsRefusedSoNoTokenIsSilentlyDropped() {
    assertThatThrownBy(
            () -> GithubLeakReport.parse(b("[{\"token\":\"" + SECRET + "\",\"token\":\"x\"}]")))
        .isInstanceOf(IllegalArgumentException.class)
        .message()
        .doesNotContain(SECRET);
  }

  @Test
  void trailingContentAfterArrayIsRefused() {
    assertThatThrownBy(() -> GithubLeakReport.parse(b("[] []")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void exactly100000TokensAreAcceptedAnd100001Refused() {
    assertThat(GithubLeakReport.parse(body(GithubLeakReport.MAX_TOKENS))).hasSize(100_000);
    assertThatThrownBy(() -> GithubLeakReport.parse(body(GithubLeakReport.MAX_TOKENS + 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("more than 100000 tokens");
  }

  @Test
  void reportedTokenToStringNeverShowsTheToken() {
    ReportedToken t =
        new ReportedToken(SECRET, "keywarden_api_key", "https://github.com/x", "commit");
    assertThat(t.toString())
        .doesNotContain(SECRET)
        .doesNotContain("CANARY")
        .contains("keywarden_api_key")
        .contains("commit");
    assertThat(List.of(t).toString()).doesNotContain(SECRET);
  }

  static byte[] body(int n) {
    StringBuilder sb = new StringBuilder(n * 64).append('[');
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append("{\"token\":\"tok").append(i).append("\",\"type\":\"t\",\"url\":\"\"}");
    }
    return b(sb.append(']').toString());
  }
}
