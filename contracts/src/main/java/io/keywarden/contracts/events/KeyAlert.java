package io.keywarden.contracts.events;

import java.time.Instant;

/** A finding about a key sent to people, on {@code keywarden.key-alerts}. */
public record KeyAlert(
    String findingId,
    String keyId,
    String account,
    String keyName,
    String findingType,
    String period,
    String message,
    String action,
    Instant at) {
  public static final String TYPE = "keywarden.alert.raised";
}
