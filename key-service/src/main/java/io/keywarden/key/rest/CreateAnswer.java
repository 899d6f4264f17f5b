package io.keywarden.key.rest;

import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.domain.KeyGroup;
import io.keywarden.key.service.KeyService.WithSecret;
import io.keywarden.key.usekey.CcSwitchApp;
import io.keywarden.key.usekey.TargetOs;
import io.keywarden.key.usekey.UseKeyJson;
import io.keywarden.support.rest.ApiProblem;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.List;
import java.util.function.Supplier;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The answers that carry a secret: the key with its secret and the five Use-key configs filled with
 * it (create and rotate). A plain bean, not a resource, so both the REST resource and the create
 * route ({@link CreateKeyRoute}) use it without a second security check per call.
 */
@ApplicationScoped
public class CreateAnswer {
  private final UseKeyJson fast;
  private final String baseUrl;
  private final Clock clock;

  CreateAnswer(
      UseKeyJson fast, Clock clock, @ConfigProperty(name = "kw.usage.base-url") String baseUrl) {
    this.fast = fast;
    this.clock = clock;
    this.baseUrl = baseUrl;
  }

  /** The body of the 201 answer to a create, as UTF-8 JSON bytes. */
  public byte[] created(WithSecret ks) {
    return KeyViewJson.write(
        view(ks.key(), ks.secret(), embedded(ks.key(), ks.secret(), ks.groupModels())));
  }

  /** The path of a key, as the create answer's Location names it (before it is made absolute). */
  public static String location(ApiKey k) {
    return "/api/keys/" + k.id;
  }

  KeyView view(ApiKey k, String secret, RawJson configs) {
    return KeyView.of(k, clock.instant(), "/api/keys/" + k.id + "/use", secret, configs);
  }

  /** Configs for all five clients (Linux/macOS paths), embedded in create and rotate answers. */
  public Uni<RawJson> embedded(ApiKey key, String secret) {
    return groupModels(key.group).map(models -> embedded(key, secret, models));
  }

  /**
   * The same, when the group's models are already known (the create path reads them): the JSON of a
   * map of client wire name to UseKeyConfig, filled from templates ({@link UseKeyJson}).
   */
  public RawJson embedded(ApiKey key, String secret, List<String> models) {
    return new RawJson(
        param(
            () ->
                fast.allClients(
                    TargetOs.LINUX, baseUrl, secret, key.name, models, CcSwitchApp.CLAUDE)));
  }

  static Uni<List<String>> groupModels(String group) {
    return Panache.withSession(() -> KeyGroup.<KeyGroup>findById(group))
        .map(g -> g == null ? List.<String>of() : g.models().stream().map(ModelPrice::id).toList());
  }

  /** The usekey package reports bad values as "field: reason". */
  static <T> T param(Supplier<T> f) {
    try {
      return f.get();
    } catch (IllegalArgumentException e) {
      String m = e.getMessage() == null ? "invalid" : e.getMessage();
      int colon = m.indexOf(':');
      String field = colon > 0 && colon < 20 ? m.substring(0, colon) : null;
      String detail = colon > 0 && colon < 20 ? m.substring(colon + 1).trim() : m;
      throw ApiProblem.badRequest(field, detail);
    }
  }
}
