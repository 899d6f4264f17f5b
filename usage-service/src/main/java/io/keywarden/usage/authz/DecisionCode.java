package io.keywarden.usage.authz;

/** One code per outcome of a key check, with the HTTP mapping of the OpenAI-compatible edge. */
public enum DecisionCode {
  VALID(200, null, null),
  INVALID_KEY(401, "invalid_api_key", "invalid_request_error"),
  DISABLED(403, "key_disabled", "permission_error"),
  EXPIRED(401, "invalid_api_key", "invalid_request_error"),
  REVOKED(401, "invalid_api_key", "invalid_request_error"),
  LEAKED(403, "key_leaked", "permission_error"),
  IP_NOT_ALLOWED(403, "ip_not_allowed", "permission_error"),
  MODEL_NOT_ALLOWED(403, "model_not_allowed", "permission_error"),
  GROUP_DISABLED(403, "group_disabled", "permission_error"),
  RATE_LIMITED(429, "rate_limit_exceeded", "rate_limit_error"),
  KEY_QUOTA_EXCEEDED(429, "insufficient_quota", "insufficient_quota"),
  BALANCE_EXHAUSTED(429, "insufficient_quota", "insufficient_quota"),
  /** The projection may be behind (after a pause): nothing is allowed until it caught up. */
  UNAVAILABLE(503, "service_unavailable", "server_error");

  private final int httpStatus;
  private final String openAiCode;
  private final String openAiType;

  DecisionCode(int httpStatus, String openAiCode, String openAiType) {
    this.httpStatus = httpStatus;
    this.openAiCode = openAiCode;
    this.openAiType = openAiType;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public String openAiCode() {
    return openAiCode;
  }

  public String openAiType() {
    return openAiType;
  }

  /** A message for the caller; it never contains the key. */
  public String message() {
    return switch (this) {
      case VALID -> "ok";
      case INVALID_KEY -> "Invalid API key. Check the key you sent, or create a new one.";
      case DISABLED -> "This API key is disabled. Enable it in your dashboard or use another key.";
      case EXPIRED -> "This API key has expired. Create or rotate a key.";
      case REVOKED -> "This API key was revoked. Create a new key.";
      case LEAKED ->
          "This API key was reported as leaked and is blocked. Create a new key and replace it everywhere.";
      case IP_NOT_ALLOWED -> "This API key may not be used from your IP address.";
      case MODEL_NOT_ALLOWED -> "This API key's group does not include the requested model.";
      case GROUP_DISABLED -> "This API key's group is disabled.";
      case RATE_LIMITED ->
          "Rate limit reached for this API key, or too many invalid keys from your address."
              + " Retry after the indicated time.";
      case KEY_QUOTA_EXCEEDED -> "This API key has used up its quota.";
      case BALANCE_EXHAUSTED -> "Your account balance is exhausted. Add credits to continue.";
      case UNAVAILABLE -> "Key checks are catching up. Retry shortly.";
    };
  }
}
