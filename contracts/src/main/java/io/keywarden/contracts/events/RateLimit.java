package io.keywarden.contracts.events;

/** Per-key rate limits; a null field means no limit of that kind. */
public record RateLimit(
    Integer requestsPerMinute, Integer tokensPerMinute, Integer concurrentRequests) {
  public static final RateLimit NONE = new RateLimit(null, null, null);
}
