package io.keywarden.usage.rest;

import io.keywarden.usage.authz.DecisionCode;
import io.keywarden.usage.authz.KeyCheck;
import jakarta.ws.rs.core.Response;

/** OpenAI's error shape: {"error":{"message","type","param","code"}}. Never carries the key. */
public record OpenAiError(Body error) {
  public record Body(String message, String type, String param, String code) {}

  public static Response response(DecisionCode code) {
    return Response.status(code.httpStatus())
        .type("application/json")
        .entity(
            new OpenAiError(new Body(code.message(), code.openAiType(), null, code.openAiCode())))
        .build();
  }

  /** A denied key check; a blocked address also gets Retry-After. */
  public static Response response(KeyCheck.Result r) {
    Response base = response(r.code());
    if (r.retryAfterSeconds() == null) {
      return base;
    }
    return Response.fromResponse(base).header("Retry-After", r.retryAfterSeconds()).build();
  }

  public static Response response(int status, String message, String type, String code) {
    return Response.status(status)
        .type("application/json")
        .entity(new OpenAiError(new Body(message, type, null, code)))
        .build();
  }
}
