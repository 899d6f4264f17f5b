package io.keywarden.audit.alerts;

/** Where an alert goes; {@code DISABLE} is the STALE opt-in that disables the key. */
public enum Channel {
  KAFKA,
  WEBHOOK,
  EMAIL,
  DISABLE;

  public String wire() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  public static Channel fromWire(String s) {
    return valueOf(s.toUpperCase(java.util.Locale.ROOT));
  }
}
