package io.keywarden.usage.rest;

import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.usage.authz.DecisionCode;
import io.keywarden.usage.authz.KeyCheck;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;

/** OpenAI-compatible model listing: what users call to test a key. Authenticated by the key. */
@Path("/v1/models")
@Produces(MediaType.APPLICATION_JSON)
public class ModelsResource {
  public record Model(String id, String object, long created, String owned_by) {}

  public record ModelList(String object, List<Model> data) {}

  private final KeyCheck check;
  private final DenialRecorder denials;

  ModelsResource(KeyCheck check, DenialRecorder denials) {
    this.check = check;
    this.denials = denials;
  }

  @GET
  public Response list(
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("x-api-key") String apiKey,
      @HeaderParam("User-Agent") String userAgent,
      @Context HttpServerRequest request) {
    KeyCheck.Result r =
        check.checkSecret(ApiKeys.fromHeaders(authorization, apiKey), ip(request), null);
    if (r.code() != DecisionCode.VALID) {
      denials.denied(r, ip(request), userAgent);
      return OpenAiError.response(r);
    }
    long created =
        r.group().group().createdAt() == null ? 0 : r.group().group().createdAt().getEpochSecond();
    List<Model> models = r.group().group().models().stream().map(m -> toModel(m, created)).toList();
    return Response.ok(new ModelList("list", models)).build();
  }

  @GET
  @Path("{model}")
  public Response get(
      @PathParam("model") String model,
      @HeaderParam("Authorization") String authorization,
      @HeaderParam("x-api-key") String apiKey,
      @HeaderParam("User-Agent") String userAgent,
      @Context HttpServerRequest request) {
    KeyCheck.Result r =
        check.checkSecret(ApiKeys.fromHeaders(authorization, apiKey), ip(request), null);
    if (r.code() != DecisionCode.VALID) {
      denials.denied(r, ip(request), userAgent);
      return OpenAiError.response(r);
    }
    ModelPrice m = r.group().models().get(model);
    if (m == null) {
      return OpenAiError.response(
          404,
          "The model does not exist or this key's group does not include it.",
          "invalid_request_error",
          "model_not_found");
    }
    long created =
        r.group().group().createdAt() == null ? 0 : r.group().group().createdAt().getEpochSecond();
    return Response.ok(toModel(m, created)).build();
  }

  private static Model toModel(ModelPrice m, long created) {
    return new Model(m.id(), "model", created, m.ownedBy() == null ? "keywarden" : m.ownedBy());
  }

  private static String ip(HttpServerRequest request) {
    return request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
  }
}
