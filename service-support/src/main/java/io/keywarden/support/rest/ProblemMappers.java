package io.keywarden.support.rest;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.keywarden.support.config.MalformedText;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.hibernate.HibernateException;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Maps every failure once to problem+json: the field at fault, no stack trace, no secret. */
public class ProblemMappers {
  private static final Logger LOG = Logger.getLogger(ProblemMappers.class);

  public static Response problem(int status, String title, String detail, String field) {
    return Response.status(status)
        .type(Problem.MEDIA_TYPE)
        .entity(new Problem("about:blank", title, status, withhold(detail), withhold(field)))
        .build();
  }

  private static final Pattern KEY_SHAPED = Pattern.compile("[A-Za-z0-9_-]{32,}");
  private static final Pattern UUID_SHAPED =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  /**
   * Errors echo user input (a field name, a group name); a secret pasted into the wrong place must
   * not come back in an error body. Any run shaped like a key (32+ of [A-Za-z0-9_-]) other than a
   * UUID is withheld.
   */
  public static String withhold(String text) {
    if (text == null || text.length() < 32) {
      return text;
    }
    Matcher m = KEY_SHAPED.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String run = m.group();
      m.appendReplacement(
          out, UUID_SHAPED.matcher(run).matches() ? run : "(withheld: looks like a key)");
    }
    m.appendTail(out);
    return out.toString();
  }

  @ServerExceptionMapper
  public Response apiProblem(ApiProblem p) {
    return problem(p.status(), p.title(), p.getMessage(), p.field());
  }

  @ServerExceptionMapper
  public Response unrecognized(UnrecognizedPropertyException e) {
    String field = path(e);
    return problem(400, "Invalid request", field + " is not a field that can be set here", field);
  }

  @ServerExceptionMapper
  public Response mapping(JsonMappingException e) {
    String field = path(e);
    if (e instanceof MalformedText m) {
      return problem(400, "Invalid request", field + " " + m.problem(), field);
    }
    if (field.isEmpty()) {
      return problem(400, "Invalid request", "the body is not the expected JSON object", null);
    }
    return problem(400, "Invalid request", field + " has the wrong type or format", field);
  }

  /**
   * A value of the wrong shape (an object where a string goes, an array where an object goes).
   * Without this mapper Quarkus REST's own one for this type answers (a 400 that is no problem and
   * names no field).
   */
  @ServerExceptionMapper
  public Response mismatched(MismatchedInputException e) {
    return mapping(e);
  }

  @ServerExceptionMapper
  public Response parse(JsonParseException e) {
    String message = e.getOriginalMessage();
    if (message != null && message.startsWith("Duplicate field") && e.getProcessor() != null) {
      String field = path(e.getProcessor());
      return problem(400, "Invalid request", field + " is given more than once", field);
    }
    return problem(400, "Invalid request", "the body is not valid JSON", null);
  }

  /** A number too large for its field, and other read failures that are not a syntax error. */
  @ServerExceptionMapper
  public Response streamRead(StreamReadException e) {
    String field = e.getProcessor() == null ? "" : path(e.getProcessor());
    if (field.isEmpty()) {
      return problem(400, "Invalid request", "the body is not valid JSON", null);
    }
    return problem(400, "Invalid request", field + " has the wrong type or format", field);
  }

  /** Nesting deeper than Jackson reads, or a number or string longer than it reads. */
  @ServerExceptionMapper
  public Response constraints(StreamConstraintsException e) {
    return problem(
        400,
        "Invalid request",
        "the body is nested too deeply or holds a number or string that is too long",
        null);
  }

  @ServerExceptionMapper
  public Response unauthorized(UnauthorizedException e) {
    return problem(401, "Unauthorized", "a valid bearer token is required", null);
  }

  @ServerExceptionMapper
  public Response authFailed(AuthenticationFailedException e) {
    return problem(401, "Unauthorized", "a valid bearer token is required", null);
  }

  @ServerExceptionMapper
  public Response forbidden(ForbiddenException e) {
    return problem(403, "Forbidden", "your role does not allow this", null);
  }

  @ServerExceptionMapper
  public Response web(WebApplicationException e) {
    int status = e.getResponse().getStatus();
    if (status == 400) {
      // Quarkus REST's JSON reader wraps what the parser throws (a field given twice, a number
      // over its type, nesting too deep): answered as the parser's own failure, naming the field
      switch (e.getCause()) {
        case StreamConstraintsException c -> {
          return constraints(c);
        }
        case JsonParseException p -> {
          return parse(p);
        }
        case StreamReadException r -> {
          return streamRead(r);
        }
        case JsonMappingException m -> {
          return mapping(m);
        }
        case null, default -> {}
      }
    }
    if (status >= 500) {
      LOG.errorf("request failed: %s", e.getClass().getSimpleName());
      return problem(500, "Internal error", "the request could not be completed", null);
    }
    String reason = e.getResponse().getStatusInfo().getReasonPhrase();
    return problem(status, reason, reason, null);
  }

  @ServerExceptionMapper
  public Response database(PgException e) {
    if ("23505".equals(e.getSqlState())) {
      // a unique index caught a race the checks before it could not see
      return problem(409, "Conflict", "conflicts with an existing record; retry", null);
    }
    LOG.errorf("database error %s", e.getSqlState());
    return unavailable();
  }

  @ServerExceptionMapper
  public Response hibernate(HibernateException e) {
    LOG.errorf("persistence error %s", e.getClass().getSimpleName());
    return unavailable();
  }

  @ServerExceptionMapper(priority = 10_000)
  public Response any(Throwable e) {
    if (databaseUnreachable(e)) {
      // a connection closed or reset mid-request, or a database error wrapped on its way (a
      // CompletionException, a Hibernate session): the same 503
      LOG.errorf("database unreachable: %s", e.getClass().getSimpleName());
      return unavailable();
    }
    // our own exceptions never carry secrets; body-parsing ones are mapped above, unlogged
    LOG.error("unexpected failure", e);
    return problem(500, "Internal error", "the request could not be completed", null);
  }

  private static Response unavailable() {
    return problem(503, "Service unavailable", "the database is unavailable; retry later", null);
  }

  /**
   * Whether the failure, or one it wraps, says the database could not be reached: a connection it
   * closed or reset, one that could not be opened, or its own error (never a bug of ours: 503,
   * retry). The SQL client reports a connection found closed when a query is sent on it only as a
   * message ("Connection is not active now, ..."), so that one is told by its message.
   */
  public static boolean databaseUnreachable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ClosedConnectionException
          || t instanceof java.net.SocketException
          || t instanceof java.nio.channels.ClosedChannelException
          || (t instanceof PgException pg && !"23505".equals(pg.getSqlState()))
          || (t instanceof io.vertx.core.VertxException || isNoStackTrace(t))
              && t.getMessage() != null
              && t.getMessage().startsWith("Connection")) {
        return true;
      }
    }
    return false;
  }

  private static boolean isNoStackTrace(Throwable t) {
    return t.getClass().getName().equals("io.vertx.core.impl.NoStackTraceThrowable");
  }

  /** The field being read when the parser failed, as a path (rateLimit.requestsPerMinute). */
  private static String path(JsonParser p) {
    java.util.Deque<String> names = new java.util.ArrayDeque<>();
    for (JsonStreamContext c = p.getParsingContext(); c != null; c = c.getParent()) {
      if (c.inObject() && c.getCurrentName() != null) {
        names.addFirst(c.getCurrentName());
      } else if (c.inArray()) {
        names.addFirst("[" + Math.max(0, c.getCurrentIndex()) + "]");
      }
    }
    return String.join(".", names).replace(".[", "[");
  }

  private static String path(JsonMappingException e) {
    return e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining("."))
        .replace(".[", "[");
  }
}
