package io.keywarden.key.usekey;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** A client application the "Use key" page renders a configuration for. */
public enum UseKeyClient {
  CODEX("codex"),
  CLAUDE_CODE("claude-code"),
  CURSOR("cursor"),
  CHERRY_STUDIO("cherry-studio"),
  CC_SWITCH("cc-switch");

  private final String wire;

  UseKeyClient(String wire) {
    this.wire = wire;
  }

  /** The name used in URLs and JSON, e.g. {@code claude-code}. */
  @JsonValue
  public String wire() {
    return wire;
  }

  /**
   * The client with this wire name.
   *
   * @throws IllegalArgumentException naming the field {@code client} and the accepted values
   */
  @JsonCreator
  public static UseKeyClient fromWire(String value) {
    return WireNames.parse("client", value, values(), UseKeyClient::wire);
  }

  @Override
  public String toString() {
    return wire;
  }
}
