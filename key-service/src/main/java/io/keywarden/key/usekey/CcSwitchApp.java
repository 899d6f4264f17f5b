package io.keywarden.key.usekey;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The application a CC Switch import link configures (its {@code app} parameter). */
public enum CcSwitchApp {
  CLAUDE("claude"),
  CODEX("codex");

  private final String wire;

  CcSwitchApp(String wire) {
    this.wire = wire;
  }

  /** The value of CC Switch's {@code app} parameter and of our wire format. */
  @JsonValue
  public String wire() {
    return wire;
  }

  /**
   * The app with this wire name; {@code null} or blank means {@link #CLAUDE}.
   *
   * @throws IllegalArgumentException naming the field {@code ccSwitchApp} and the accepted values
   */
  @JsonCreator
  public static CcSwitchApp fromWire(String value) {
    if (value == null || value.isBlank()) {
      return CLAUDE;
    }
    return WireNames.parse("ccSwitchApp", value, values(), CcSwitchApp::wire);
  }

  @Override
  public String toString() {
    return wire;
  }
}
