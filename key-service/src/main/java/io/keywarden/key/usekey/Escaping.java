package io.keywarden.key.usekey;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Quoting for the four syntaxes a rendered configuration embeds values in. Key names come from
 * users and model ids from the catalogue, so neither may break out of its string.
 */
final class Escaping {
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  /** Characters JavaScript's {@code encodeURIComponent} leaves alone. */
  private static final String URI_COMPONENT_UNRESERVED = "-_.!~*'()";

  private Escaping() {}

  /** A TOML basic string, quotes included (TOML 1.0 §String). */
  static String tomlString(String value) {
    StringBuilder out = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\b' -> out.append("\\b");
        case '\t' -> out.append("\\t");
        case '\n' -> out.append("\\n");
        case '\f' -> out.append("\\f");
        case '\r' -> out.append("\\r");
        default -> {
          if (c < 0x20 || c == 0x7F) {
            out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }

  /** A bash/zsh double-quoted string, quotes included: no expansion happens inside it. */
  static String bashDoubleQuoted(String value) {
    StringBuilder out = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\' || c == '$' || c == '`') {
        out.append('\\');
      }
      out.append(c);
    }
    return out.append('"').toString();
  }

  /**
   * A PowerShell double-quoted string, quotes included. PowerShell also treats typographic double
   * quotes as quotes, so they are escaped too.
   */
  static String powershellDoubleQuoted(String value) {
    StringBuilder out = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '`' || c == '$' || c == '\u201C' || c == '\u201D' || c == '\u201E') {
        out.append('`');
      }
      out.append(c);
    }
    return out.append('"').toString();
  }

  /** A PowerShell single-quoted string, quotes included. */
  static String powershellSingleQuoted(String value) {
    return "'"
        + value
            .replace("'", "''")
            .replace("\u2018", "\u2018\u2018")
            .replace("\u2019", "\u2019\u2019")
        + "'";
  }

  /** JavaScript's {@code encodeURIComponent} over UTF-8. */
  static String encodeUriComponent(String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length * 3);
    for (byte b : bytes) {
      int c = b & 0xFF;
      if ((c >= 'A' && c <= 'Z')
          || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || URI_COMPONENT_UNRESERVED.indexOf(c) >= 0) {
        out.append((char) c);
      } else {
        out.append('%').append(HEX[c >> 4]).append(HEX[c & 0xF]);
      }
    }
    return out.toString();
  }

  /**
   * What {@code new URLSearchParams(params).toString()} gives: form-urlencoded, space as {@code +},
   * a literal {@code +} as {@code %2B}. {@link URLEncoder} implements the same WHATWG serializer
   * (it leaves only {@code A-Za-z0-9*-._} unencoded).
   */
  static String formUrlEncoded(Map<String, String> params) {
    return params.entrySet().stream()
        .map(
            e ->
                URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                    + "="
                    + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
        .collect(Collectors.joining("&"));
  }
}
