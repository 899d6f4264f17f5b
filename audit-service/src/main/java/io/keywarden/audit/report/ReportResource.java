package io.keywarden.audit.report;

import io.keywarden.audit.domain.AuditKey;
import io.keywarden.audit.domain.Finding;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.panache.common.Sort;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Response;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * {@code GET /api/audit/report}: JSON, CSV or HTML by {@code ?format=} or {@code Accept}. A user
 * sees their account; an admin all accounts or {@code ?account=}.
 */
@Path("/api/audit/report")
@RolesAllowed({"user", "admin"})
@Tag(name = "report")
public class ReportResource {
  private final Caller caller;
  private final Clock clock;
  private final Template report;

  ReportResource(Caller caller, Clock clock, @Location("report.html") Template report) {
    this.caller = caller;
    this.clock = clock;
    this.report = report;
  }

  @GET
  @Produces({"application/json", "text/csv", "text/html"})
  @Operation(summary = "The audit report: one row per key, summary counts, open findings")
  public Uni<Response> get(
      @QueryParam("format") String format,
      @QueryParam("account") String account,
      @HeaderParam("Accept") String accept) {
    String fmt = format(format, accept);
    String scope =
        scope(io.keywarden.audit.rest.AuditResource.checkLength("account", account, 255));
    return Panache.withSession(
            () -> {
              Uni<List<AuditKey>> keys =
                  scope == null
                      ? AuditKey.listAll(Sort.by("account").and("createdAt").and("keyId"))
                      : AuditKey.list("account", Sort.by("createdAt").and("keyId"), scope);
              Uni<List<Finding>> findings =
                  scope == null
                      ? Finding.list("status", Sort.by("type"), Finding.OPEN)
                      : Finding.list(
                          "status = ?1 and account = ?2", Sort.by("type"), Finding.OPEN, scope);
              return keys.chain(
                  k -> findings.map(f -> AuditReport.build(clock.instant(), scope, k, f)));
            })
        .chain(r -> render(r, fmt));
  }

  private Uni<Response> render(AuditReport r, String fmt) {
    return switch (fmt) {
      case "csv" ->
          Uni.createFrom()
              .item(
                  Response.ok(r.csv(), "text/csv; charset=UTF-8; header=present")
                      .header("Content-Disposition", "attachment; filename=\"keywarden-audit.csv\"")
                      .build());
      case "html" ->
          report
              .data("r", r)
              .data("admin", caller.isAdmin())
              .createUni()
              .map(html -> Response.ok(html, "text/html; charset=UTF-8").build());
      default -> Uni.createFrom().item(Response.ok(r, "application/json").build());
    };
  }

  static String format(String format, String accept) {
    if (format != null && !format.isBlank()) {
      String f = format.trim().toLowerCase(Locale.ROOT);
      if (!List.of("json", "csv", "html").contains(f)) {
        throw ApiProblem.badRequest("format", "must be json, csv or html");
      }
      return f;
    }
    if (accept != null) {
      if (accept.contains("text/csv")) {
        return "csv";
      }
      if (accept.contains("text/html")) {
        return "html";
      }
    }
    return "json";
  }

  private String scope(String account) {
    if (caller.isAdmin()) {
      return account == null || account.isBlank() ? null : account.trim();
    }
    String own = caller.account();
    if (account != null && !account.isBlank() && !account.trim().equals(own)) {
      throw ApiProblem.notFound("account " + account.trim());
    }
    return own;
  }
}
