package io.keywarden.usage.rest;

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
import java.util.LinkedHashMap;
import java.util.Map;
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

  static Response answer(Authorizer.Decision d) {
    Map<String, Object> remaining = new LinkedHashMap<>();
    remaining.put(
        "quotaUsd",
        d.quotaRemainingMicros() == null
            ? null
            : Money.formatUsd(Math.max(0, d.quotaRemainingMicros())));
    remaining.put("balanceUsd", d.balanceMicros() == null ? null : formatSigned(d.balanceMicros()));
    remaining.put("requestsThisMinute", d.requestsRemaining());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("allowed", d.allowed());
    out.put("code", d.code().name());
    out.put("keyId", d.key() == null ? null : d.key().keyId());
    out.put("account", d.key() == null ? null : d.key().account());
    out.put("group", d.key() == null ? null : d.key().group());
    out.put("remaining", remaining);
    out.put("retryAfterSeconds", d.retryAfterSeconds());
    Response.ResponseBuilder b = Response.ok(out);
    if (d.retryAfterSeconds() != null) {
      b.header("Retry-After", d.retryAfterSeconds());
    }
    return b.build();
  }

  static String formatSigned(long micros) {
    return micros < 0 ? "-" + Money.formatUsd(-micros) : Money.formatUsd(micros);
  }
}
