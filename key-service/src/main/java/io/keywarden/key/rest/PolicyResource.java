package io.keywarden.key.rest;

import com.fasterxml.jackson.databind.JsonNode;
import io.keywarden.contracts.Money;
import io.keywarden.key.domain.KeyPolicyRow;
import io.keywarden.key.service.EffectivePolicy;
import io.keywarden.key.service.KeyService;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.time.Clock;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.Set;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

/**
 * Operator caps and defaults for keys: live keys per account, max quota, max lifetime, default
 * lifetime. A null value falls back to the service configuration (kw.keys.*).
 */
@Path("/api/admin/policy")
@RolesAllowed("admin")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
@Tag(name = "admin")
public class PolicyResource {
  static final Set<String> FIELDS =
      Set.of("maxLiveKeysPerAccount", "maxQuotaUsd", "maxLifetime", "defaultLifetime");

  public record PolicyView(
      int maxLiveKeysPerAccount, String maxQuotaUsd, String maxLifetime, String defaultLifetime) {
    static PolicyView of(EffectivePolicy p) {
      return new PolicyView(
          p.maxLiveKeysPerAccount(),
          p.maxQuotaMicros().map(Money::formatUsd).orElse(null),
          p.maxLifetime().map(Duration::toString).orElse(null),
          p.defaultLifetime().map(Duration::toString).orElse(null));
    }
  }

  private final KeyService keys;
  private final Caller caller;
  private final Clock clock;

  PolicyResource(KeyService keys, Caller caller, Clock clock) {
    this.keys = keys;
    this.caller = caller;
    this.clock = clock;
  }

  @GET
  public Uni<PolicyView> get() {
    return keys.policy().map(PolicyView::of);
  }

  @PUT
  @Operation(summary = "Set caps and defaults; fields left out keep their value, null clears")
  public Uni<PolicyView> put(JsonNode body) {
    if (body == null || !body.isObject()) {
      throw ApiProblem.badRequest(null, "the body must be a JSON object");
    }
    Iterator<String> names = body.fieldNames();
    while (names.hasNext()) {
      String f = names.next();
      if (!FIELDS.contains(f)) {
        throw ApiProblem.badRequest(
            f,
            "is not a policy setting; settings are "
                + String.join(", ", FIELDS.stream().sorted().toList()));
      }
    }
    Integer maxLive = null;
    if (body.has("maxLiveKeysPerAccount") && !body.get("maxLiveKeysPerAccount").isNull()) {
      JsonNode n = body.get("maxLiveKeysPerAccount");
      if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 1 || n.asInt() > 100_000) {
        throw ApiProblem.badRequest("maxLiveKeysPerAccount", "must be an integer from 1 to 100000");
      }
      maxLive = n.asInt();
    }
    Long maxQuota = null;
    if (body.has("maxQuotaUsd") && !body.get("maxQuotaUsd").isNull()) {
      try {
        maxQuota = Money.parseUsd(body.get("maxQuotaUsd").asText());
      } catch (IllegalArgumentException e) {
        throw ApiProblem.badRequest("maxQuotaUsd", e.getMessage());
      }
      if (maxQuota == 0) {
        throw ApiProblem.badRequest("maxQuotaUsd", "must be positive; use null for no cap");
      }
    }
    Long maxLifetime = seconds(body, "maxLifetime");
    Long defaultLifetime = seconds(body, "defaultLifetime");
    Integer fMaxLive = maxLive;
    Long fMaxQuota = maxQuota;
    return Panache.withTransaction(
            () ->
                KeyPolicyRow.<KeyPolicyRow>findById(1)
                    .invoke(
                        row -> {
                          if (body.has("maxLiveKeysPerAccount"))
                            row.maxLiveKeysPerAccount = fMaxLive;
                          if (body.has("maxQuotaUsd")) row.maxQuotaMicros = fMaxQuota;
                          if (body.has("maxLifetime")) row.maxLifetimeSeconds = maxLifetime;
                          if (body.has("defaultLifetime"))
                            row.defaultLifetimeSeconds = defaultLifetime;
                          Long max = row.maxLifetimeSeconds;
                          Long dflt = row.defaultLifetimeSeconds;
                          if (max != null && dflt != null && dflt > max) {
                            throw ApiProblem.badRequest(
                                "defaultLifetime", "must not exceed maxLifetime");
                          }
                          row.updatedAt = clock.instant();
                          row.updatedBy = caller.account();
                        }))
        .chain(row -> keys.policy())
        .map(PolicyView::of);
  }

  private static Long seconds(JsonNode body, String field) {
    if (!body.has(field) || body.get(field).isNull()) {
      return null;
    }
    try {
      Duration d = Duration.parse(body.get(field).asText());
      if (d.isNegative() || d.isZero() || d.toDays() > 36_500) {
        throw ApiProblem.badRequest(
            field, "must be a positive ISO-8601 duration of at most 100 years");
      }
      return d.getSeconds();
    } catch (DateTimeParseException e) {
      throw ApiProblem.badRequest(field, "must be an ISO-8601 duration such as P90D");
    }
  }
}
