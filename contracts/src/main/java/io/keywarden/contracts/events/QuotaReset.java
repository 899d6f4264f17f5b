package io.keywarden.contracts.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** When a key's spend starts again from zero (UTC; weeks start on Monday). */
public enum QuotaReset {
  NONE,
  DAILY,
  WEEKLY,
  MONTHLY;

  @JsonValue
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static QuotaReset fromWire(String s) {
    return valueOf(s.toUpperCase(Locale.ROOT));
  }
}
