package io.keywarden.key.rest;

import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.rest.KeyRequests.UseKeySecret;
import io.keywarden.key.rest.KeysResource.Ids;
import io.keywarden.key.service.KeyService;
import io.keywarden.key.usekey.CcSwitchApp;
import io.keywarden.key.usekey.TargetOs;
import io.keywarden.key.usekey.UseKeyClient;
import io.keywarden.key.usekey.UseKeyConfig;
import io.keywarden.key.usekey.UseKeyRenderer;
import io.keywarden.key.usekey.UseKeyRequest;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * "Use key": the exact setup of a key for Codex, Claude Code, Cursor, Cherry Studio and CC Switch.
 * Only the hash is kept, so GET renders a placeholder; POST renders the real key when the caller
 * supplies it (checked against the hash, never stored or logged).
 */
@Path("/api/keys/{id}/use")
@RolesAllowed("user")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "keys")
public class UseKeyEndpoint {
  private final KeyService keys;
  private final Caller caller;
  private final UseKeyRenderer renderer;
  private final String baseUrl;

  UseKeyEndpoint(
      KeyService keys,
      Caller caller,
      UseKeyRenderer renderer,
      @ConfigProperty(name = "kw.usage.base-url") String baseUrl) {
    this.keys = keys;
    this.caller = caller;
    this.renderer = renderer;
    this.baseUrl = baseUrl;
  }

  @GET
  @Operation(summary = "Client setup with a placeholder instead of the secret")
  public Uni<Object> placeholder(
      @PathParam("id") String id,
      @QueryParam("client") String client,
      @QueryParam("os") String os,
      @QueryParam("model") String model,
      @QueryParam("app") String app) {
    return render(id, client, os, model, app, null);
  }

  @POST
  @Consumes(MediaType.APPLICATION_JSON)
  @Operation(summary = "Client setup filled with the secret you supply (checked, never stored)")
  public Uni<Object> filled(
      @PathParam("id") String id,
      @QueryParam("client") String client,
      @QueryParam("os") String os,
      @QueryParam("model") String model,
      @QueryParam("app") String app,
      UseKeySecret body) {
    if (body == null || body.secret() == null || body.secret().isBlank()) {
      throw ApiProblem.badRequest("secret", "is required");
    }
    return render(id, client, os, model, app, body.secret());
  }

  private Uni<Object> render(
      String id, String client, String os, String model, String app, String secret) {
    // parameters first: a bad one is a 400 whatever the key
    List<UseKeyClient> clients =
        client == null
            ? List.of(UseKeyClient.values())
            : List.of(CreateAnswer.param(() -> UseKeyClient.fromWire(client)));
    TargetOs targetOs =
        os == null ? TargetOs.LINUX : CreateAnswer.param(() -> TargetOs.fromWire(os));
    CcSwitchApp ccApp = CreateAnswer.param(() -> CcSwitchApp.fromWire(app));
    return keys.get(caller.account(), Ids.parse(id))
        .chain(
            k -> {
              if (secret != null && !KeyService.secretMatches(k, secret)) {
                throw ApiProblem.badRequest("secret", "does not match this key");
              }
              return CreateAnswer.groupModels(k.group)
                  .map(
                      models -> {
                        Map<String, UseKeyConfig> out = new LinkedHashMap<>();
                        for (UseKeyClient c : clients) {
                          out.put(
                              c.wire(), renderOne(k, c, targetOs, model, ccApp, secret, models));
                        }
                        return client == null ? (Object) out : out.values().iterator().next();
                      });
            });
  }

  private UseKeyConfig renderOne(
      ApiKey k,
      UseKeyClient c,
      TargetOs os,
      String model,
      CcSwitchApp app,
      String secret,
      List<String> models) {
    return CreateAnswer.param(
        () ->
            renderer.render(new UseKeyRequest(c, os, model, baseUrl, secret, k.name, models, app)));
  }
}
