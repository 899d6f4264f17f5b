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

  /**
   * What the ledger row stores of an answer besides its own columns (request id, key id, account,
   * amount): {@code code|keySpentMicros|limitMicros|balanceMicros}, about 30 bytes where the JSON
   * answer took about 220 (a sixth of the WAL written per usage record).
   */
  static String stored(String code, long keySpent, long limit, long balance) {
    return code + '|' + keySpent + '|' + limit + '|' + balance;
  }

  /**
   * The answer back from a ledger row: the compact form of {@link #stored}, or the JSON answer that
   * rows written before it hold ({@code json} reads those).
   */
  static ChargeOutcome fromStored(
      String stored,
      String requestId,
      String keyId,
      String account,
      long amountMicros,
      java.util.function.Function<String, ChargeOutcome> json) {
    if (stored == null) {
      return null;
    }
    if (stored.startsWith("{")) {
      return json.apply(stored);
    }
    String[] f = stored.split("\\|", -1);
    if (f.length != 4) {
      throw new IllegalStateException("unreadable stored outcome of " + requestId);
    }
    boolean accepted = f[0].equals("VALID");
    return of(
        requestId,
        accepted,
        f[0],
        keyId,
        account,
        accepted ? -amountMicros : 0,
        Long.parseLong(f[1]),
        Long.parseLong(f[2]),
        Long.parseLong(f[3]));
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
