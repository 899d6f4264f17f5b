package io.keywarden.contracts.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.time.Instant;
import java.util.Map;

/** Encodes and decodes the CloudEvents of every topic. Unknown fields are ignored (forward). */
public final class EventCodec {
  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .setSerializationInclusion(JsonInclude.Include.NON_NULL);

  private static final Map<String, Class<?>> DATA_TYPES =
      Map.ofEntries(
          Map.entry(KeyEventType.CREATED.type(), KeySnapshot.class),
          Map.entry(KeyEventType.UPDATED.type(), KeySnapshot.class),
          Map.entry(KeyEventType.DISABLED.type(), KeySnapshot.class),
          Map.entry(KeyEventType.ENABLED.type(), KeySnapshot.class),
          Map.entry(KeyEventType.REVOKED.type(), KeySnapshot.class),
          Map.entry(KeyEventType.LEAKED.type(), KeySnapshot.class),
          Map.entry(KeyEventType.ROTATED.type(), KeySnapshot.class),
          Map.entry(GroupSnapshot.TYPE, GroupSnapshot.class),
          Map.entry(UsageRecorded.TYPE, UsageRecorded.class),
          Map.entry(UsageDenied.TYPE, UsageDenied.class),
          Map.entry(QuotaThreshold.TYPE, QuotaThreshold.class),
          Map.entry(QuotaThreshold.EXHAUSTED, QuotaThreshold.class),
          Map.entry(KeyAlert.TYPE, KeyAlert.class));

  /**
   * Reads a record strictly: one JSON value and nothing after it, no member named twice (a record
   * such as {@code {...} junk} or one with two "type" members is poison, not an event).
   */
  private static final ObjectReader STRICT_READER =
      MAPPER
          .reader()
          .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION);

  private EventCodec() {}

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  public static String encode(CloudEvent<?> event) {
    try {
      return MAPPER.writeValueAsString(event);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot encode event " + event.type(), e);
    }
  }

  /**
   * Decodes a CloudEvent whose type is known to this contract.
   *
   * @throws MalformedEventException when the JSON is bad, required attributes are missing or the
   *     type is unknown: the consumer sends such a record to its dead-letter topic
   */
  public static CloudEvent<?> decode(String json) {
    if (json == null) {
      throw new MalformedEventException("empty record");
    }
    JsonNode root;
    try {
      root = STRICT_READER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new MalformedEventException("not JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new MalformedEventException("not a JSON object");
    }
    String specversion = text(root, "specversion");
    if (!CloudEvent.SPEC_VERSION.equals(specversion)) {
      throw new MalformedEventException("unsupported CloudEvents specversion " + specversion);
    }
    String type = text(root, "type");
    String id = text(root, "id");
    Class<?> dataType = DATA_TYPES.get(type);
    if (dataType == null) {
      throw new MalformedEventException("unknown event type " + type);
    }
    JsonNode data = root.get("data");
    if (data == null || !data.isObject()) {
      throw new MalformedEventException("event " + id + " has no data object");
    }
    try {
      Object payload = MAPPER.treeToValue(data, dataType);
      Instant time = root.hasNonNull("time") ? Instant.parse(root.get("time").asText()) : null;
      return new CloudEvent<>(
          specversion,
          id,
          type,
          text(root, "source"),
          time,
          root.hasNonNull("subject") ? root.get("subject").asText() : null,
          root.hasNonNull("datacontenttype") ? root.get("datacontenttype").asText() : null,
          payload);
    } catch (JsonProcessingException | RuntimeException e) {
      throw new MalformedEventException("event " + id + " of type " + type + " is malformed");
    }
  }

  private static String text(JsonNode root, String field) {
    JsonNode n = root.get(field);
    if (n == null || !n.isTextual() || n.asText().isBlank()) {
      throw new MalformedEventException("missing CloudEvent attribute " + field);
    }
    return n.asText();
  }

  /** A record that is not a valid event of this contract. */
  public static final class MalformedEventException extends RuntimeException {
    public MalformedEventException(String message) {
      super(message, null, false, false);
    }
  }
}
