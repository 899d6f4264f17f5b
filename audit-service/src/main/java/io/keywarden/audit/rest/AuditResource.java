package io.keywarden.audit.rest;

import io.keywarden.audit.domain.AuditKey;
import io.keywarden.audit.domain.Finding;
import io.keywarden.audit.findings.FindingSweep;
import io.keywarden.audit.findings.FindingType;
import io.keywarden.audit.rest.Views.FindingView;
import io.keywarden.audit.rest.Views.KeyView;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/** The keys audit-service knows and the findings about them. */
@Path("/api/audit")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "audit")
public class AuditResource {
  private static final Set<String> STATUSES =
      Set.of(Finding.OPEN, Finding.ACKNOWLEDGED, Finding.RESOLVED);
  private static final int MAX_LIMIT = 1000;
  private static final int MAX_OFFSET = 1_000_000;
  static final int MAX_ACCOUNT = 255; // the column's width
  static final int MAX_KEY_ID = 64;

  /** What PostgreSQL's timestamptz and every sensible query can hold. */
  static final Instant EARLIEST = Instant.parse("1970-01-01T00:00:00Z");

  static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  private final Caller caller;
  private final Clock clock;
  private final FindingSweep sweep;

  AuditResource(Caller caller, Clock clock, FindingSweep sweep) {
    this.caller = caller;
    this.clock = clock;
    this.sweep = sweep;
  }

  @GET
  @Path("keys")
  @RolesAllowed("admin")
  @Operation(summary = "Every key audit-service knows (admin), optionally of one account")
  public Uni<List<KeyView>> keys(@QueryParam("account") String account) {
    checkLength("account", account, MAX_ACCOUNT);
    return Panache.withSession(
        () -> {
          Uni<List<AuditKey>> keys =
              account == null || account.isBlank()
                  ? AuditKey.listAll(Sort.by("createdAt").and("keyId"))
                  : AuditKey.list("account", Sort.by("createdAt").and("keyId"), account);
          return keys.map(l -> l.stream().map(KeyView::of).toList());
        });
  }

  @GET
  @Path("findings")
  @RolesAllowed({"user", "admin"})
  @Operation(
      summary =
          "Findings (filters: type, status, account, key, since); a user sees only their account")
  public Uni<List<FindingView>> findings(
      @QueryParam("type") String type,
      @QueryParam("status") String status,
      @QueryParam("account") String account,
      @QueryParam("key") String key,
      @QueryParam("since") String since,
      @QueryParam("limit") String limit,
      @QueryParam("offset") String offset) {
    List<String> where = new ArrayList<>();
    Map<String, Object> params = new HashMap<>();
    String scope = scopeAccount(checkLength("account", account, MAX_ACCOUNT));
    checkLength("key", key, MAX_KEY_ID);
    checkLength("type", type, 64);
    checkLength("status", status, 64);
    checkLength("since", since, 64);
    if (scope != null) {
      where.add("account = :account");
      params.put("account", scope);
    }
    if (type != null && !type.isBlank()) {
      String t = type.trim().toUpperCase(Locale.ROOT);
      try {
        FindingType.valueOf(t);
      } catch (IllegalArgumentException e) {
        throw ApiProblem.badRequest("type", "must be one of " + List.of(FindingType.values()));
      }
      where.add("type = :type");
      params.put("type", t);
    }
    if (status != null && !status.isBlank()) {
      String s = status.trim().toLowerCase(Locale.ROOT);
      if (!STATUSES.contains(s)) {
        throw ApiProblem.badRequest("status", "must be one of " + STATUSES);
      }
      where.add("status = :status");
      params.put("status", s);
    }
    if (key != null && !key.isBlank()) {
      where.add("keyId = :key");
      params.put("key", key.trim());
    }
    if (since != null && !since.isBlank()) {
      params.put("since", parseInstant("since", since));
      where.add("updatedAt >= :since");
    }
    int max = parseLimit(limit);
    int first = parseOffset(offset);
    String query = where.isEmpty() ? "" : String.join(" and ", where);
    return Panache.withSession(
        () ->
            Finding.<Finding>find(query, Sort.by("updatedAt").descending().and("id"), params)
                .range(first, first + max - 1)
                .list()
                .map(l -> l.stream().map(FindingView::of).toList()));
  }

  @POST
  @Path("findings/{id}/ack")
  @RolesAllowed({"user", "admin"})
  @Operation(summary = "Acknowledge a finding: no more alerts until it changes")
  public Uni<FindingView> ack(@PathParam("id") String id) {
    UUID uuid;
    try {
      uuid = UUID.fromString(id);
    } catch (IllegalArgumentException e) {
      throw ApiProblem.badRequest("id", "must be a finding id (UUID)");
    }
    return Panache.withTransaction(
        () ->
            Finding.<Finding>findById(uuid)
                .map(
                    f -> {
                      if (f == null || (!caller.isAdmin() && !f.account.equals(caller.account()))) {
                        throw ApiProblem.notFound("finding " + id);
                      }
                      if (Finding.OPEN.equals(f.status)) {
                        f.status = Finding.ACKNOWLEDGED;
                        f.ackedAt = clock.instant();
                        f.updatedAt = f.ackedAt;
                      }
                      return FindingView.of(f);
                    }));
  }

  @POST
  @Path("sweep")
  @RolesAllowed("admin")
  @Operation(summary = "Run the time-based rules now over every key (admin)")
  public Uni<FindingSweep.Result> sweepNow() {
    return sweep.run();
  }

  /**
   * The account a caller may read: an admin any (null = all), a user only their own. A user asking
   * for another account gets a 404, as for anything they may not see.
   */
  String scopeAccount(String requested) {
    if (caller.isAdmin()) {
      return requested == null || requested.isBlank() ? null : requested.trim();
    }
    String own = caller.account();
    if (requested != null && !requested.isBlank() && !requested.trim().equals(own)) {
      throw ApiProblem.notFound("account " + requested.trim());
    }
    return own;
  }

  /** A filter value longer than the column can hold matches nothing: a 400 naming it. */
  public static String checkLength(String name, String value, int max) {
    if (value != null && value.length() > max) {
      throw ApiProblem.badRequest(name, "must be at most " + max + " characters");
    }
    return value;
  }

  /** An ISO-8601 instant between 1970 and 9999 (beyond that the database cannot store it). */
  static Instant parseInstant(String name, String value) {
    Instant at;
    try {
      at = Instant.parse(value.trim());
    } catch (DateTimeParseException e) {
      throw ApiProblem.badRequest(name, "must be an ISO-8601 instant such as 2026-11-23T00:00:00Z");
    }
    if (at.isBefore(EARLIEST) || at.isAfter(LATEST)) {
      throw ApiProblem.badRequest(
          name, "must be between " + EARLIEST + " and " + LATEST + ", was " + value.trim());
    }
    return at;
  }

  static int parseOffset(String offset) {
    if (offset == null || offset.isBlank()) {
      return 0;
    }
    try {
      int n = Integer.parseInt(offset.trim());
      if (n < 0 || n > MAX_OFFSET) {
        throw ApiProblem.badRequest("offset", "must be between 0 and " + MAX_OFFSET);
      }
      return n;
    } catch (NumberFormatException e) {
      throw ApiProblem.badRequest("offset", "must be a whole number between 0 and " + MAX_OFFSET);
    }
  }

  static int parseLimit(String limit) {
    if (limit == null || limit.isBlank()) {
      return 200;
    }
    try {
      int n = Integer.parseInt(limit.trim());
      if (n < 1 || n > MAX_LIMIT) {
        throw ApiProblem.badRequest("limit", "must be between 1 and " + MAX_LIMIT);
      }
      return n;
    } catch (NumberFormatException e) {
      throw ApiProblem.badRequest("limit", "must be a whole number between 1 and " + MAX_LIMIT);
    }
  }
}
