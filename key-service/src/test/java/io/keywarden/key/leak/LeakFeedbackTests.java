package io.keywarden.key.leak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.KeyFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeakFeedbackTests {
  private final ObjectMapper json = new ObjectMapper();

  @Test
  void serializesWithExactlyGithubFieldNames() throws Exception {
    String s = json.writeValueAsString(List.of(LeakFeedback.of("some_token", "some_type", true)));
    JsonNode n = json.readTree(s).get(0);
    assertThat(n.size()).isEqualTo(3);
    assertThat(n.fieldNames())
        .toIterable()
        .containsExactlyInAnyOrder("token_hash", "token_type", "label");
    assertThat(n.get("token_hash").asText()).isEqualTo(KeyFormat.sha256Hex("some_token"));
    assertThat(n.get("token_type").asText()).isEqualTo("some_type");
    assertThat(n.get("label").asText()).isEqualTo("true_positive");
  }

  @Test
  void factoryHashesTheRawTokenAsLowerCaseSha256Hex() {
    LeakFeedback f = LeakFeedback.of("some_token", "t", false);
    // echo -n some_token | sha256sum
    assertThat(f.token_hash())
        .isEqualTo("9a45520a1213f15016d2d768b5fb3d904492a44ee274b44d4de8803e00fb536a");
    assertThat(f.label()).isEqualTo("false_positive");
  }

  @Test
  void feedbackJsonNeverContainsTheRawToken() throws Exception {
    String raw = "sk-kw-CANARYcanaryCANARYcanary0123456789xyz";
    String s = json.writeValueAsString(LeakFeedback.of(raw, "t", true));
    assertThat(s).doesNotContain(raw).doesNotContain("token_raw");
    assertThat(LeakFeedback.of(raw, "t", true).toString()).doesNotContain(raw);
  }

  @Test
  void onlyTheTwoGithubLabelsAreAllowed() {
    assertThatThrownBy(() -> new LeakFeedback("ab", "t", "TRUE_POSITIVE"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new LeakFeedback("ab", "t", null))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
