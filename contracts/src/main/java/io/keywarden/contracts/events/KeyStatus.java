package io.keywarden.contracts.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Lifecycle status of a key. {@code revoked} and {@code leaked} are final. */
public enum KeyStatus {
  ACTIVE,
  DISABLED,
  EXPIRED,
  REVOKED,
  LEAKED;

  @JsonValue
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static KeyStatus fromWire(String s) {
    return valueOf(s.toUpperCase(Locale.ROOT));
  }

  public boolean isFinal() {
    return this == REVOKED || this == LEAKED;
  }
}
