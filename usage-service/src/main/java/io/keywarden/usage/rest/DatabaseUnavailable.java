package io.keywarden.usage.rest;

import io.vertx.core.VertxException;
import io.vertx.sqlclient.DatabaseException;
import jakarta.ws.rs.core.Response;
import java.util.concurrent.CompletionException;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * E8: PostgreSQL unreachable (a connection closed or reset under a request, one that could not be
 * opened, or an error the server sent) is a 503 problem+json with Retry-After, never a 500 or a
 * stack trace: the REST resources (authorize with a hold, accounts, credits) through these mappers,
 * the Vert.x gateway routes ({@link AuthorizeRoute}, {@link ForwardAuth}) through {@link
 * #unreachable}. Anything else these exception types carry is a 500 problem+json without details.
 * The same cause walk as service-support's ProblemMappers (usage-service does not use that module).
 */
public class DatabaseUnavailable {
  private static final Logger LOG = Logger.getLogger(DatabaseUnavailable.class);

  /** The 503 body (problem+json); it names no connection, host or statement. */
  public static final String BODY =
      "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,"
          + "\"detail\":\"the database is unavailable; retry later\"}";

  /** The 500 body (problem+json) of an unexpected failure; no details. */
  public static final String INTERNAL =
      "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\",\"status\":500,"
          + "\"detail\":\"the request could not be completed\"}";

  /**
   * Whether the failure, or one it wraps, says the database could not be reached or answered with
   * an error of its own. The SQL client reports a connection found closed when a query is sent on
   * it only by its message ("Connection is not active now, ..."), so that one is told by it.
   */
  public static boolean unreachable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof io.vertx.sqlclient.ClosedConnectionException
          || t instanceof DatabaseException
          || t instanceof java.net.SocketException
          || t instanceof java.net.ConnectException
          || t instanceof java.nio.channels.ClosedChannelException
          || (t instanceof VertxException
                  || t.getClass().getName().equals("io.vertx.core.impl.NoStackTraceThrowable"))
              && t.getMessage() != null
              && t.getMessage().startsWith("Connection")) {
        return true;
      }
    }
    return false;
  }

  /** The answer for a failure: 503 when the database is unreachable, else a bare 500. */
  public static Response response(Throwable e) {
    if (unreachable(e)) {
      LOG.warnf("database unreachable: %s", e.getClass().getSimpleName());
      return Response.status(503).type(Problem.TYPE).header("Retry-After", 1).entity(BODY).build();
    }
    LOG.errorf("request failed: %s", e.getClass().getName());
    return Response.status(500).type(Problem.TYPE).entity(INTERNAL).build();
  }

  @ServerExceptionMapper
  public Response vertx(VertxException e) {
    return response(e);
  }

  @ServerExceptionMapper
  public Response database(DatabaseException e) {
    return response(e);
  }

  @ServerExceptionMapper
  public Response wrapped(CompletionException e) {
    return response(e);
  }

  @ServerExceptionMapper
  public Response noStackTrace(io.vertx.core.impl.NoStackTraceThrowable e) {
    return response(e);
  }

  @ServerExceptionMapper
  public Response socket(java.net.SocketException e) {
    return response(e);
  }
}
