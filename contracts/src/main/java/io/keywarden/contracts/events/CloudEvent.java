package io.keywarden.contracts.events;

import java.time.Instant;
import java.util.UUID;

/**
 * A structured-mode JSON CloudEvent 1.0. {@code id} is what consumers de-duplicate on; {@code
 * subject} is the key id (or group name); the Kafka record key is the same value.
 */
public record CloudEvent<T>(
    String specversion,
    String id,
    String type,
    String source,
    Instant time,
    String subject,
    String datacontenttype,
    T data) {
  /** The only specversion this contract reads and writes; any other is a poison record. */
  public static final String SPEC_VERSION = "1.0";

  public static final String CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8";

  public static <T> CloudEvent<T> of(
      String type, String source, String subject, Instant time, T data) {
    return new CloudEvent<>(
        SPEC_VERSION,
        UUID.randomUUID().toString(),
        type,
        source,
        time,
        subject,
        "application/json",
        data);
  }
}
