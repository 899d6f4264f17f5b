package io.keywarden.support.rest;

/**
 * A client error with the field at fault, rendered as RFC 9457 problem+json. Messages never contain
 * a secret or a hash.
 */
public class ApiProblem extends RuntimeException {
  private final int status;
  private final String title;
  private final String field;

  public ApiProblem(int status, String title, String field, String detail) {
    super(detail, null, false, false);
    this.status = status;
    this.title = title;
    this.field = field;
  }

  public static ApiProblem badRequest(String field, String detail) {
    return new ApiProblem(
        400, "Invalid request", field, field == null ? detail : field + " " + detail);
  }

  public static ApiProblem notFound(String what) {
    return new ApiProblem(404, "Not found", null, what + " not found");
  }

  public static ApiProblem conflict(String field, String detail) {
    return new ApiProblem(409, "Conflict", field, field == null ? detail : field + " " + detail);
  }

  public int status() {
    return status;
  }

  public String title() {
    return title;
  }

  public String field() {
    return field;
  }
}
