package io.keywarden.contracts.events;

import java.util.Arrays;
import java.util.Optional;

/** CloudEvent types on {@code keywarden.key-events}; each carries a {@link KeySnapshot}. */
public enum KeyEventType {
  CREATED("keywarden.key.created"),
  UPDATED("keywarden.key.updated"),
  DISABLED("keywarden.key.disabled"),
  ENABLED("keywarden.key.enabled"),
  REVOKED("keywarden.key.revoked"),
  LEAKED("keywarden.key.leaked"),
  ROTATED("keywarden.key.rotated");

  private final String type;

  KeyEventType(String type) {
    this.type = type;
  }

  public String type() {
    return type;
  }

  public static Optional<KeyEventType> of(String type) {
    return Arrays.stream(values()).filter(t -> t.type.equals(type)).findFirst();
  }
}
