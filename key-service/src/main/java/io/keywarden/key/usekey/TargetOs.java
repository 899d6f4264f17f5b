package io.keywarden.key.usekey;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The operating system the user runs the client on; it decides file paths and notes. */
public enum TargetOs {
  MACOS("macos"),
  LINUX("linux"),
  WINDOWS("windows"),
  /**
   * A client installed inside WSL: a Linux binary that reads the Linux home, not the Windows one.
   */
  WSL("wsl");

  private final String wire;

  TargetOs(String wire) {
    this.wire = wire;
  }

  /** The name used in URLs and JSON, e.g. {@code macos}. */
  @JsonValue
  public String wire() {
    return wire;
  }

  /**
   * The operating system with this wire name.
   *
   * @throws IllegalArgumentException naming the field {@code os} and the accepted values
   */
  @JsonCreator
  public static TargetOs fromWire(String value) {
    return WireNames.parse("os", value, values(), TargetOs::wire);
  }

  @Override
  public String toString() {
    return wire;
  }
}
