package io.keywarden.key.rest;

import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.rest.KeysResource.Ids;
import io.keywarden.key.rest.KeysResource.Page;
import io.keywarden.key.service.KeyService;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.time.Clock;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** The operator's view: the same reads and state changes across accounts. */
@Path("/api/admin/keys")
@RolesAllowed("admin")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "admin")
public class AdminKeysResource {
  private final KeyService keys;
  private final Clock clock;

  AdminKeysResource(KeyService keys, Clock clock) {
    this.keys = keys;
    this.clock = clock;
  }

  @GET
  public Uni<Page> list(
      @QueryParam("account") String account,
      @QueryParam("status") String status,
      @QueryParam("group") String group,
      @QueryParam("q") String q,
      @QueryParam("sort") String sort,
      @QueryParam("page") String page,
      @QueryParam("size") String size) {
    return keys.list(Page.query(account, status, group, q, sort, page, size))
        .map(l -> Page.of(l, this::view));
  }

  @GET
  @Path("{id}")
  public Uni<KeyView> get(@PathParam("id") String id) {
    return keys.get(null, Ids.parse(id)).map(this::view);
  }

  @POST
  @Path("{id}/disable")
  @Consumes(MediaType.WILDCARD)
  public Uni<KeyView> disable(@PathParam("id") String id) {
    return keys.disable(null, Ids.parse(id)).map(this::view);
  }

  @POST
  @Path("{id}/enable")
  @Consumes(MediaType.WILDCARD)
  public Uni<KeyView> enable(@PathParam("id") String id) {
    return keys.enable(null, Ids.parse(id)).map(this::view);
  }

  @POST
  @Path("{id}/leaked")
  @Consumes(MediaType.WILDCARD)
  public Uni<KeyView> leaked(@PathParam("id") String id) {
    return keys.reportLeaked(null, Ids.parse(id)).map(this::view);
  }

  @DELETE
  @Path("{id}")
  public Uni<KeyView> revoke(@PathParam("id") String id) {
    return keys.revoke(null, Ids.parse(id)).map(this::view);
  }

  private KeyView view(ApiKey k) {
    return KeyView.of(k, clock.instant(), "/api/keys/" + k.id + "/use", null, null);
  }
}
