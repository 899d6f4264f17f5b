package io.keywarden.support.rest;

import io.keywarden.contracts.Unicode;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Path and query parameters are request text too: one that cannot be stored ({@code %00}, the NUL
 * character, or a lone surrogate; {@link Unicode#problem}) is a 400 naming the parameter before any
 * resource runs, not a database error (503) when it reaches PostgreSQL.
 */
public class StorableParameters {
  @ServerRequestFilter
  public Response check(ContainerRequestContext ctx) {
    UriInfo uri = ctx.getUriInfo();
    String[] bad = Unicode.problemIn(uri.getPathParameters(), uri.getQueryParameters());
    return bad == null
        ? null
        : ProblemMappers.problem(400, "Invalid request", bad[0] + " " + bad[1], bad[0]);
  }
}
