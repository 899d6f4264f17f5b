package io.keywarden.usage.rest;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.Money;
import io.keywarden.usage.authz.Authorizer;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/**
 * {@code POST /api/authorize} for gateways (role gateway): one decision per request, always 200
 * with {@code allowed} and one {@code code}; 400 problem+json naming the field for bad input.
 */
@Path("/api/authorize")
@RolesAllowed("gateway")
public class AuthorizeResource {
  private final Authorizer authorizer;
  private final ObjectMapper mapper;

  AuthorizeResource(Authorizer authorizer, ObjectMapper mapper) {
    this.authorizer = authorizer;
    this.mapper = mapper;
  }

  @POST
  @Consumes(MediaType.WILDCARD)
  @Produces(MediaType.APPLICATION_JSON)
  public Uni<Response> authorize(byte[] body) {
    Authorizer.Ask ask;
    try {
      ask = AuthorizeRequest.parse(mapper, body);
    } catch (Problem.BadInput e) {
      return Uni.createFrom().item(e.response());
    }
    return authorizer.authorize(ask).map(AuthorizeResource::answer);
  }

  /**
   * The answer, written straight into a string: this runs on every gateway request, and a map
   * serialised by Jackson cost about as much as the decision itself.
   */
  static Response answer(Authorizer.Decision d) {
    Response.ResponseBuilder r = Response.ok(json(d), MediaType.APPLICATION_JSON_TYPE);
    if (d.retryAfterSeconds() != null) {
      r.header("Retry-After", d.retryAfterSeconds());
    }
    return r.build();
  }

  /** The answer's JSON. */
  static String json(Authorizer.Decision d) {
    var key = d.key();
    StringBuilder b = new StringBuilder(320);
    b.append("{\"allowed\":").append(d.allowed());
    b.append(",\"code\":\"").append(d.code().name()).append('"');
    b.append(",\"keyId\":");
    string(b, key == null ? null : key.keyId());
    b.append(",\"account\":");
    string(b, key == null ? null : key.account());
    b.append(",\"group\":");
    string(b, key == null ? null : key.group());
    b.append(",\"remaining\":{\"quotaUsd\":");
    string(
        b,
        d.quotaRemainingMicros() == null
            ? null
            : Money.formatUsd(Math.max(0, d.quotaRemainingMicros())));
    b.append(",\"balanceUsd\":");
    string(b, d.balanceMicros() == null ? null : formatSigned(d.balanceMicros()));
    b.append(",\"requestsThisMinute\":").append(d.requestsRemaining());
    b.append("},\"retryAfterSeconds\":").append(d.retryAfterSeconds()).append('}');
    return b.toString();
  }

  /** A JSON string value (escaped as Jackson does), or null. */
  static void string(StringBuilder b, String value) {
    if (value == null) {
      b.append("null");
      return;
    }
    b.append('"');
    JsonStringEncoder.getInstance().quoteAsString(value, b);
    b.append('"');
  }

  static String formatSigned(long micros) {
    return micros < 0 ? "-" + Money.formatUsd(-micros) : Money.formatUsd(micros);
  }
}
