package io.keywarden.usage.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The answer a ledger row stores, read back as the answer it was. */
class ChargeOutcomeTests {
  final ObjectMapper json = new ObjectMapper();

  ChargeOutcome readJson(String s) {
    try {
      return json.readValue(s, ChargeOutcome.class);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void anAcceptedChargeComesBackFromItsCompactForm() {
    ChargeOutcome answer =
        ChargeOutcome.of(
            "r-1", true, "VALID", "k-1", "acme", 12_345, 1_012_345, 5_000_000, 987_655);
    String stored = ChargeOutcome.stored("VALID", 1_012_345, 5_000_000, 987_655);
    assertThat(stored.length()).isLessThan(40);
    assertThat(ChargeOutcome.fromStored(stored, "r-1", "k-1", "acme", -12_345, this::readJson))
        .isEqualTo(answer);
  }

  @Test
  void aRefusalAndAnUnlimitedKeyComeBackToo() {
    ChargeOutcome refused =
        ChargeOutcome.of("r-2", false, "BALANCE_EXHAUSTED", "k-2", "acme", 0, 7, 0, 3);
    assertThat(refused.quotaUsd()).isNull();
    assertThat(
            ChargeOutcome.fromStored(
                ChargeOutcome.stored("BALANCE_EXHAUSTED", 7, 0, 3),
                "r-2",
                "k-2",
                "acme",
                0,
                this::readJson))
        .isEqualTo(refused);
  }

  @Test
  void rowsWrittenBeforeTheCompactFormStillAnswerFromTheirJson() throws Exception {
    ChargeOutcome answer = ChargeOutcome.of("r-3", true, "VALID", "k-3", "acme", 10, 20, 0, 30);
    String legacy = json.writeValueAsString(answer);
    assertThat(ChargeOutcome.fromStored(legacy, "r-3", "k-3", "acme", -10, this::readJson))
        .isEqualTo(answer);
    assertThat(ChargeOutcome.fromStored(null, "r-3", "k-3", "acme", 0, this::readJson)).isNull();
    assertThatThrownBy(
            () -> ChargeOutcome.fromStored("VALID|1", "r-4", "k", "a", 0, this::readJson))
        .hasMessageContaining("r-4");
  }
}
