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

  /** The 400 body: {@code type, title, status, detail ("field: problem"), field}. */
  public static String json(String field, String detail) {
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
