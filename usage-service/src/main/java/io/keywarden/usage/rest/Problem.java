package io.keywarden.usage.rest;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import jakarta.ws.rs.core.Response;

/** RFC 9457 problem+json for bad input, naming the field. Never echoes a submitted value. */
public final class Problem {
  private Problem() {}

  /** Thrown by the parsers; turned into a 400. */
  public static final class BadInput extends RuntimeException {
    private final String field;

    public BadInput(String field, String detail) {
      super(detail, null, false, false);
      this.field = field;
    }

    public String field() {
      return field;
    }

    public Response response() {
      return badRequest(field, getMessage());
    }
  }

  public static Response badRequest(String field, String detail) {
    return Response.status(400).type(TYPE).entity(json(field, detail)).build();
  }

  public static final String TYPE = "application/problem+json";

  private static final java.util.regex.Pattern KEY_SHAPED =
      java.util.regex.Pattern.compile("[A-Za-z0-9_-]{32,}");
  private static final java.util.regex.Pattern UUID_SHAPED =
      java.util.regex.Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  /**
   * A field name is the client's text too (an unknown field): a secret pasted there must not come
   * back (S6). Any run shaped like a key (32+ of [A-Za-z0-9_-]) other than a UUID is withheld, as
   * the other services' problem mappers do.
   */
  static String withhold(String text) {
    if (text == null || text.length() < 32) {
      return text;
    }
    java.util.regex.Matcher m = KEY_SHAPED.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String run = m.group();
      m.appendReplacement(
          out, UUID_SHAPED.matcher(run).matches() ? run : "(withheld: looks like a key)");
    }
    m.appendTail(out);
    return out.toString();
  }

  /** The 400 body: {@code type, title, status, detail ("field: problem"), field}. */
  public static String json(String field, String detail) {
    field = withhold(field);
    detail = withhold(detail);
    StringBuilder b = new StringBuilder(160);
    b.append("{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,\"detail\":");
    string(b, field + ": " + detail);
    b.append(",\"field\":");
    string(b, field);
    return b.append('}').toString();
  }

  /** A JSON string value (escaped as Jackson does), or null. */
  private static void string(StringBuilder b, String value) {
    if (value == null) {
      b.append("null");
      return;
    }
    b.append('"');
    JsonStringEncoder.getInstance().quoteAsString(value, b);
    b.append('"');
  }
}
