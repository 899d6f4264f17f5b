package io.keywarden.usage.ledger;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.keywarden.contracts.Money;

/**
 * The answer to a usage record, stored with its ledger row so a replay returns it unchanged.
 *
 * @param code VALID (charged), KEY_QUOTA_EXCEEDED or BALANCE_EXHAUSTED (nothing charged),
 *     INVALID_KEY (unknown key id: not stored)
 */
public record ChargeOutcome(
    String requestId,
    boolean accepted,
    String code,
    String keyId,
    String account,
    String chargedUsd,
    String keySpentUsd,
    String quotaUsd,
    String balanceUsd) {

  static ChargeOutcome of(
      String requestId,
      boolean accepted,
      String code,
      String keyId,
      String account,
      long charged,
      long keySpent,
      long limit,
      long balance) {
    return new ChargeOutcome(
        requestId,
        accepted,
        code,
        keyId,
        account,
        Money.formatUsd(charged),
        Money.formatUsd(keySpent),
        limit == 0 ? null : Money.formatUsd(limit),
        Money.formatUsd(balance));
  }

  @JsonIgnore
  public int httpStatus() {
    return switch (code) {
      case "VALID" -> 200;
      case "INVALID_KEY" -> 404;
      case "UNAVAILABLE" -> 503;
      default -> 429;
    };
  }
}
