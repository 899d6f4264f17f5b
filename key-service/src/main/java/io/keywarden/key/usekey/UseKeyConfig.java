package io.keywarden.key.usekey;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.List;

/**
 * A rendered client configuration: the body of {@code GET/POST /api/keys/{id}/use}.
 *
 * <p>Every field but {@code client}, {@code os}, {@code model} and {@code baseUrl} may carry the
 * secret, so {@link #toString()} of this record and its parts leaves them out.
 *
 * @param client the client it is for
 * @param os the operating system it is for
 * @param model the model id configured
 * @param baseUrl the base URL this client wants: {@code BASE/v1} for Codex and Cursor (and CC
 *     Switch's codex app), the bare {@code BASE} for Claude Code, Cherry Studio and CC Switch's
 *     claude app
 * @param files the files to write, with their OS-specific paths; empty for link and manual clients
 * @param shell environment variable lines, or {@code null} when the client has no such variant
 * @param importLink the one-click deep link (Cherry Studio, CC Switch), else {@code null}
 * @param steps ordered instructions for a human
 * @param testCommand a call that proves the key and base URL work
 * @param notes caveats worth reading before relying on the configuration
 */
public record UseKeyConfig(
    UseKeyClient client,
    TargetOs os,
    String model,
    String baseUrl,
    List<ConfigFile> files,
    Shell shell,
    String importLink,
    List<String> steps,
    TestCommand testCommand,
    List<String> notes) {

  public UseKeyConfig {
    files = List.copyOf(files);
    steps = List.copyOf(steps);
    notes = List.copyOf(notes);
  }

  @Override
  public String toString() {
    return "UseKeyConfig[client=%s, os=%s, model=%s, baseUrl=%s, files=%s]"
        .formatted(client, os, model, baseUrl, files);
  }

  /** The syntax of a {@link ConfigFile}. */
  public enum FileFormat {
    TOML("toml"),
    JSON("json");

    private final String wire;

    FileFormat(String wire) {
      this.wire = wire;
    }

    @JsonValue
    public String wire() {
      return wire;
    }

    @Override
    public String toString() {
      return wire;
    }
  }

  /**
   * A file to write.
   *
   * @param path where the client reads it, in the target OS's notation ({@code ~/...} or {@code
   *     %USERPROFILE%\...})
   * @param format its syntax
   * @param content the whole file, ending in a newline
   */
  public record ConfigFile(String path, FileFormat format, String content) {
    @Override
    public String toString() {
      return "ConfigFile[path=%s, format=%s]".formatted(path, format);
    }
  }

  /**
   * Environment variable lines, one command per line.
   *
   * @param bash for bash and zsh ({@code export NAME="value"})
   * @param powershell for PowerShell ({@code $env:NAME = "value"})
   */
  public record Shell(List<String> bash, List<String> powershell) {
    public Shell {
      bash = List.copyOf(bash);
      powershell = List.copyOf(powershell);
    }

    @Override
    public String toString() {
      return "Shell[bash=%d lines, powershell=%d lines]".formatted(bash.size(), powershell.size());
    }
  }

  /**
   * {@code GET BASE/v1/models} with the key as Bearer token.
   *
   * @param bash a {@code curl} command line
   * @param powershell an {@code Invoke-RestMethod} command line
   */
  public record TestCommand(String bash, String powershell) {
    @Override
    public String toString() {
      return "TestCommand[...]";
    }
  }
}
