package io.keywarden.key.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.rest.KeyRequests.CreateKey;
import io.keywarden.key.rest.KeyRequests.Rotate;
import io.keywarden.key.service.KeyService;
import io.keywarden.key.service.KeyService.ListQuery;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** A user's own keys. Another account's key is a 404, exactly as an unknown id. */
@Path("/api/keys")
@RolesAllowed("user")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
@Tag(name = "keys")
public class KeysResource {
  private final KeyService keys;
  private final Caller caller;
  private final Clock clock;
  private final CreateAnswer answer;

  KeysResource(KeyService keys, Caller caller, Clock clock, CreateAnswer answer) {
    this.keys = keys;
    this.caller = caller;
    this.clock = clock;
    this.answer = answer;
  }

  @POST
  @Operation(summary = "Create a key; the secret is in this answer only")
  public Uni<Response> create(CreateKey body) {
    return keys.create(caller.account(), body)
        .map(
            ks ->
                Response.created(URI.create(CreateAnswer.location(ks.key())))
                    .entity(answer.created(ks))
                    .type(MediaType.APPLICATION_JSON_TYPE)
                    .build());
  }

  @GET
  @Operation(summary = "List your keys (paged; filter by status, group, name)")
  public Uni<Page> list(
      @QueryParam("status") String status,
      @QueryParam("group") String group,
      @QueryParam("q") String q,
      @QueryParam("sort") String sort,
      @QueryParam("page") String page,
      @QueryParam("size") String size) {
    ListQuery query = Page.query(caller.account(), status, group, q, sort, page, size);
    return keys.list(query).map(l -> Page.of(l, k -> view(k, null, null)));
  }

  @GET
  @Path("{id}")
  public Uni<KeyView> get(@PathParam("id") String id) {
    return keys.get(caller.account(), Ids.parse(id)).map(k -> view(k, null, null));
  }

  @PATCH
  @Path("{id}")
  @Operation(summary = "Change name, group, allowedIps, quotaUsd, quotaReset, rateLimit, expiresAt")
  public Uni<KeyView> patch(@PathParam("id") String id, JsonNode body) {
    return keys.patch(caller.account(), Ids.parse(id), body).map(k -> view(k, null, null));
  }

  @POST
  @Path("{id}/disable")
  @Consumes(MediaType.WILDCARD)
  public Uni<KeyView> disable(@PathParam("id") String id) {
    return keys.disable(caller.account(), Ids.parse(id)).map(k -> view(k, null, null));
  }

  @POST
  @Path("{id}/enable")
  @Consumes(MediaType.WILDCARD)
  public Uni<KeyView> enable(@PathParam("id") String id) {
    return keys.enable(caller.account(), Ids.parse(id)).map(k -> view(k, null, null));
  }

  @DELETE
  @Path("{id}")
  @Operation(summary = "Revoke a key (final; the row is kept for audit and the name freed)")
  public Uni<KeyView> revoke(@PathParam("id") String id) {
    return keys.revoke(caller.account(), Ids.parse(id)).map(k -> view(k, null, null));
  }

  @POST
  @Path("{id}/leaked")
  @Consumes(MediaType.WILDCARD)
  @Operation(summary = "Report a key as leaked: final, refused at once")
  public Uni<KeyView> leaked(@PathParam("id") String id) {
    return keys.reportLeaked(caller.account(), Ids.parse(id)).map(k -> view(k, null, null));
  }

  @POST
  @Path("{id}/rotate")
  @Consumes(MediaType.WILDCARD)
  @Operation(summary = "New secret for the same key; the old one works until the overlap ends")
  public Uni<KeyView> rotate(@PathParam("id") String id, Rotate body) {
    return keys.rotate(caller.account(), Ids.parse(id), body == null ? null : body.overlap())
        .chain(
            ks -> answer.embedded(ks.key(), ks.secret()).map(c -> view(ks.key(), ks.secret(), c)));
  }

  KeyView view(ApiKey k, String secret, RawJson configs) {
    return KeyView.of(k, clock.instant(), "/api/keys/" + k.id + "/use", secret, configs);
  }

  /** A page of keys. */
  public record Page(List<KeyView> items, int page, int size, long total) {
    static ListQuery query(
        String account,
        String status,
        String group,
        String q,
        String sort,
        String page,
        String size) {
      int p = Ids.intParam("page", page, 0, 0, 1_000_000);
      int s = Ids.intParam("size", size, 20, 1, 100);
      return new ListQuery(account, status, group, q, sort, p, s);
    }

    static Page of(KeyService.Listing l, java.util.function.Function<ApiKey, KeyView> f) {
      return new Page(l.items().stream().map(f).toList(), l.page(), l.size(), l.total());
    }
  }

  /** Path and query parameter parsing with 4xx naming the parameter. */
  public static final class Ids {
    private Ids() {}

    static UUID parse(String id) {
      try {
        return UUID.fromString(id);
      } catch (IllegalArgumentException e) {
        // not a UUID cannot be a key: same answer as an unknown key
        throw ApiProblem.notFound("key");
      }
    }

    static int intParam(String name, String raw, int dflt, int min, int max) {
      if (raw == null || raw.isBlank()) {
        return dflt;
      }
      try {
        int v = Integer.parseInt(raw.trim());
        if (v < min || v > max) {
          throw ApiProblem.badRequest(name, "must be between " + min + " and " + max);
        }
        return v;
      } catch (NumberFormatException e) {
        throw ApiProblem.badRequest(name, "must be an integer between " + min + " and " + max);
      }
    }
  }
}
