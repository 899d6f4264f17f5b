package io.keywarden.usage.ledger;

/** One usage report of a gateway: what a request cost. {@code costMicros} null = from prices. */
public record UsageRecord(
    String requestId,
    String keyId,
    String model,
    long inputTokens,
    long outputTokens,
    Long costMicros) {}
