package io.keywarden.key.rest;

import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.domain.KeyGroup;
import io.keywarden.key.rest.KeyRequests.UseKeySecret;
import io.keywarden.key.rest.KeysResource.Ids;
import io.keywarden.key.service.KeyService;
import io.keywarden.key.usekey.CcSwitchApp;
import io.keywarden.key.usekey.TargetOs;
import io.keywarden.key.usekey.UseKeyClient;
import io.keywarden.key.usekey.UseKeyConfig;
import io.keywarden.key.usekey.UseKeyJson;
import io.keywarden.key.usekey.UseKeyRenderer;
import io.keywarden.key.usekey.UseKeyRequest;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.quarkus.hibernate.reactive.panache.Panache;
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
  private final UseKeyJson fast;
  private final String baseUrl;

  UseKeyEndpoint(
      KeyService keys,
      Caller caller,
      UseKeyRenderer renderer,
      UseKeyJson fast,
      @ConfigProperty(name = "kw.usage.base-url") String baseUrl) {
    this.keys = keys;
    this.caller = caller;
    this.renderer = renderer;
    this.fast = fast;
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
            : List.of(param(() -> UseKeyClient.fromWire(client)));
    TargetOs targetOs = os == null ? TargetOs.LINUX : param(() -> TargetOs.fromWire(os));
    CcSwitchApp ccApp = param(() -> CcSwitchApp.fromWire(app));
    return keys.get(caller.account(), Ids.parse(id))
        .chain(
            k -> {
              if (secret != null && !KeyService.secretMatches(k, secret)) {
                throw ApiProblem.badRequest("secret", "does not match this key");
              }
              return groupModels(k.group)
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

  /** Configs for all five clients (Linux/macOS paths), embedded in create and rotate answers. */
  public Uni<RawJson> embedded(ApiKey key, String secret) {
    return groupModels(key.group).map(models -> embedded(key, secret, models));
  }

  /**
   * The same, when the group's models are already known (the create path reads them): the JSON of a
   * map of client wire name to {@link UseKeyConfig}, filled from templates ({@link UseKeyJson}).
   */
  public RawJson embedded(ApiKey key, String secret, List<String> models) {
    return new RawJson(
        param(
            () ->
                fast.allClients(
                    TargetOs.LINUX, baseUrl, secret, key.name, models, CcSwitchApp.CLAUDE)));
  }

  private UseKeyConfig renderOne(
      ApiKey k,
      UseKeyClient c,
      TargetOs os,
      String model,
      CcSwitchApp app,
      String secret,
      List<String> models) {
    return param(
        () ->
            renderer.render(new UseKeyRequest(c, os, model, baseUrl, secret, k.name, models, app)));
  }

  Uni<List<String>> groupModels(String group) {
    return Panache.withSession(() -> KeyGroup.<KeyGroup>findById(group))
        .map(g -> g == null ? List.<String>of() : g.models().stream().map(ModelPrice::id).toList());
  }

  /** The usekey package reports bad values as "field: reason". */
  private static <T> T param(java.util.function.Supplier<T> f) {
    try {
      return f.get();
    } catch (IllegalArgumentException e) {
      String m = e.getMessage() == null ? "invalid" : e.getMessage();
      int colon = m.indexOf(':');
      String field = colon > 0 && colon < 20 ? m.substring(0, colon) : null;
      String detail = colon > 0 && colon < 20 ? m.substring(colon + 1).trim() : m;
      throw ApiProblem.badRequest(field, detail);
    }
  }
}
