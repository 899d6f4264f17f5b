package io.keywarden.key.leak;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.keywarden.contracts.KeyFormat;
import java.util.Objects;

/**
 * One element of the optional feedback array returned to GitHub in the response body: {@code
 * [{"token_hash", "token_type", "label"}]}. Only the SHA-256 hex form is ever sent, never {@code
 * token_raw}.
 */
public record LeakFeedback(
    @JsonProperty("token_hash") String token_hash,
    @JsonProperty("token_type") String token_type,
    @JsonProperty("label") String label) {

  public static final String TRUE_POSITIVE = "true_positive";
  public static final String FALSE_POSITIVE = "false_positive";

  public LeakFeedback {
    Objects.requireNonNull(token_hash, "token_hash");
    token_type = token_type == null ? "" : token_type;
    if (!TRUE_POSITIVE.equals(label) && !FALSE_POSITIVE.equals(label)) {
      throw new IllegalArgumentException("label must be true_positive or false_positive");
    }
  }

  /** Feedback for a raw reported token, hashed here with SHA-256 (lower-case hex). */
  public static LeakFeedback of(String rawToken, String tokenType, boolean truePositive) {
    return ofHash(KeyFormat.sha256Hex(rawToken), tokenType, truePositive);
  }

  /** Feedback for a token already hashed with {@link KeyFormat#sha256Hex}. */
  public static LeakFeedback ofHash(String tokenHash, String tokenType, boolean truePositive) {
    return new LeakFeedback(tokenHash, tokenType, truePositive ? TRUE_POSITIVE : FALSE_POSITIVE);
  }
}
