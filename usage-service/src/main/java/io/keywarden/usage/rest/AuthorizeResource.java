package io.keywarden.usage.rest;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code POST /api/authorize} for gateways (role gateway): one decision per request, always 200
 * with {@code allowed} and one {@code code}; 400 problem+json naming the field for bad input.
 */
@Path("/api/authorize")
@RolesAllowed("gateway")
public class AuthorizeResource {
  private static final Set<String> FIELDS =
      Set.of("key", "keyHash", "clientIp", "model", "requestId", "estimatedCostUsd", "userAgent");
  private static final Pattern HASH = Pattern.compile("[0-9a-f]{64}");

  private final Authorizer authorizer;
  private final ObjectMapper mapper;

  AuthorizeResource(Authorizer authorizer, ObjectMapper mapper) {
    this.authorizer = authorizer;
    this.mapper = mapper;
  }

  @POST
  @Consumes(MediaType.WILDCARD)
  @Produces(MediaType.APPLICATION_JSON)
  public Uni<Response> authorize(String body) {
    Authorizer.Ask ask;
    try {
      ask = parse(Json.parse(mapper, body));
    } catch (Problem.BadInput e) {
      return Uni.createFrom().item(e.response());
    }
    return authorizer.authorize(ask).map(AuthorizeResource::answer);
  }

  static Authorizer.Ask parse(JsonNode o) {
    Json.onlyFields(o, "", FIELDS);
    String key = Json.text(o, "key", "", false, 256);
    String hash = Json.text(o, "keyHash", "", false, 64);
    if ((key == null) == (hash == null)) {
      throw new Problem.BadInput("key", "send exactly one of key and keyHash");
    }
    if (hash != null && !HASH.matcher(hash).matches()) {
      throw new Problem.BadInput("keyHash", "must be 64 lower-case hex characters (SHA-256)");
    }
    String ip = Json.ip(o, "clientIp");
    String model = Json.text(o, "model", "", false, 128);
    String requestId = Json.requestId(o, "", false);
    Long est = Json.usd(o, "estimatedCostUsd", "");
    String ua = Json.text(o, "userAgent", "", false, 512);
    return new Authorizer.Ask(key, hash, ip, model, requestId, est == null ? 0 : est, ua);
  }

  /**
   * The answer, written straight into a string: this runs on every gateway request, and a map
   * serialised by Jackson cost about as much as the decision itself.
   */
  static Response answer(Authorizer.Decision d) {
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
    Response.ResponseBuilder r = Response.ok(b.toString(), MediaType.APPLICATION_JSON_TYPE);
    if (d.retryAfterSeconds() != null) {
      r.header("Retry-After", d.retryAfterSeconds());
    }
    return r.build();
  }

  /** A JSON string value (escaped as Jackson does), or null. */
  private static void string(StringBuilder b, String value) {
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
