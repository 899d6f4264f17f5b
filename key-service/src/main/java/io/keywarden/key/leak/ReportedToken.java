package io.keywarden.key.leak;

import java.util.Objects;

/**
 * One element of a GitHub secret-scanning report. {@code type}, {@code url} and {@code source} are
 * never null (absent or JSON null becomes {@code ""}); {@code url} may legitimately be empty.
 *
 * <p>{@link #toString()} never prints the token: a report is full of live secrets, and a record's
 * default {@code toString} would put them into any log line or exception that mentions it.
 */
public record ReportedToken(String token, String type, String url, String source) {
  public ReportedToken {
    Objects.requireNonNull(token, "token");
    type = type == null ? "" : type;
    url = url == null ? "" : url;
    source = source == null ? "" : source;
  }

  @Override
  public String toString() {
    return "ReportedToken[token=<redacted "
        + token.length()
        + " chars>, type="
        + type
        + ", url="
        + url
        + ", source="
        + source
        + "]";
  }
}
