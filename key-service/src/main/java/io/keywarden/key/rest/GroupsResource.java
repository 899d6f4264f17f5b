package io.keywarden.key.rest;

import io.keywarden.contracts.Money;
import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.key.domain.KeyGroup;
import io.keywarden.key.service.GroupService;
import io.keywarden.key.service.GroupService.GroupRequest;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** The groups catalogue: users see enabled groups; admins manage them. */
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
@Tag(name = "groups")
@Path("/api")
public class GroupsResource {
  /** A model with its prices in USD per million tokens. */
  public record ModelView(
      String id, String ownedBy, String inputUsdPerMillion, String outputUsdPerMillion) {}

  public record GroupView(
      String name,
      String description,
      boolean enabled,
      List<ModelView> models,
      Instant createdAt,
      Instant updatedAt) {
    static GroupView of(KeyGroup g) {
      return new GroupView(
          g.name,
          g.description,
          g.enabled,
          g.models().stream().map(GroupsResource::model).toList(),
          g.createdAt,
          g.updatedAt);
    }
  }

  static ModelView model(ModelPrice m) {
    return new ModelView(
        m.id(),
        m.ownedBy(),
        Money.formatUsd(m.inputMicrosPerMillion()),
        Money.formatUsd(m.outputMicrosPerMillion()));
  }

  private final GroupService groups;

  GroupsResource(GroupService groups) {
    this.groups = groups;
  }

  @GET
  @Path("groups")
  @RolesAllowed({"user", "admin"})
  public Uni<List<GroupView>> enabled() {
    return groups.list(true).map(l -> l.stream().map(GroupView::of).toList());
  }

  @GET
  @Path("admin/groups")
  @RolesAllowed("admin")
  public Uni<List<GroupView>> all() {
    return groups.list(false).map(l -> l.stream().map(GroupView::of).toList());
  }

  @POST
  @Path("admin/groups")
  @RolesAllowed("admin")
  public Uni<Response> create(GroupRequest body) {
    return groups
        .create(body)
        .map(
            g ->
                Response.created(URI.create("/api/admin/groups/" + g.name))
                    .entity(GroupView.of(g))
                    .build());
  }

  @PUT
  @Path("admin/groups/{name}")
  @RolesAllowed("admin")
  public Uni<GroupView> update(@PathParam("name") String name, GroupRequest body) {
    return groups.update(name, body).map(GroupView::of);
  }

  @DELETE
  @Path("admin/groups/{name}")
  @RolesAllowed("admin")
  public Uni<Response> delete(@PathParam("name") String name) {
    return groups.delete(name).map(v -> Response.noContent().build());
  }
}
