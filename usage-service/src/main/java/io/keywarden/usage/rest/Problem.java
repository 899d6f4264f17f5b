package io.keywarden.usage.rest;

import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;

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
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", "about:blank");
    body.put("title", "Bad Request");
    body.put("status", 400);
    body.put("detail", field + ": " + detail);
    body.put("field", field);
    return Response.status(400).type("application/problem+json").entity(body).build();
  }
}
