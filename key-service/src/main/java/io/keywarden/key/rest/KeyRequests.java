package io.keywarden.key.rest;

import io.keywarden.contracts.events.RateLimit;
import java.util.List;

/** Request bodies of the key API. Unknown fields are refused (400 naming the field). */
public final class KeyRequests {
  private KeyRequests() {}

  public record CreateKey(
      String name,
      String group,
      String customKey,
      List<String> allowedIps,
      String quotaUsd,
      String quotaReset,
      RateLimit rateLimit,
      String expiresAt,
      String expiresIn) {}

  public record Rotate(String overlap) {}

  public record UseKeySecret(String secret) {}
}
