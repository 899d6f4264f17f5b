package io.keywarden.key.service;

import io.keywarden.contracts.Money;
import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.domain.Json;
import io.keywarden.key.domain.KeyGroup;
import io.keywarden.key.outbox.Outbox;
import io.keywarden.key.outbox.OutboxRelay;
import io.keywarden.support.rest.ApiProblem;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.hibernate.reactive.panache.common.WithSession;
import io.quarkus.panache.common.Sort;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Admin CRUD of groups; every change is published on keywarden.groups through the outbox. */
@ApplicationScoped
public class GroupService {
  public record ModelRequest(
      String id, String ownedBy, String inputUsdPerMillion, String outputUsdPerMillion) {}

  public record GroupRequest(
      String name, String description, Boolean enabled, List<ModelRequest> models) {}

  private final Outbox outbox;
  private final OutboxRelay relay;
  private final Clock clock;

  GroupService(Outbox outbox, OutboxRelay relay, Clock clock) {
    this.outbox = outbox;
    this.relay = relay;
    this.clock = clock;
  }

  @WithSession
  public Uni<List<KeyGroup>> list(boolean enabledOnly) {
    return enabledOnly
        ? KeyGroup.list("enabled = true", Sort.ascending("name"))
        : KeyGroup.listAll(Sort.ascending("name"));
  }

  public Uni<KeyGroup> create(GroupRequest req) {
    if (req == null) {
      throw ApiProblem.badRequest(null, "a JSON body is required");
    }
    String name = groupName(req.name());
    List<ModelPrice> models = models(req.models());
    Instant now = clock.instant();
    return Panache.withTransaction(
            () ->
                KeyGroup.<KeyGroup>findById(name)
                    .chain(
                        existing -> {
                          if (existing != null) {
                            throw ApiProblem.conflict("name", "is already a group");
                          }
                          KeyGroup g = new KeyGroup();
                          g.name = name;
                          g.description = description(req.description());
                          g.enabled = req.enabled() == null || req.enabled();
                          g.modelsJson = Json.write(models);
                          g.createdAt = now;
                          g.updatedAt = now;
                          g.version = 1;
                          return g.<KeyGroup>persist()
                              .call(saved -> outbox.groupEvent(saved, false));
                        }))
        .invoke(relay::wake);
  }

  public Uni<KeyGroup> update(String name, GroupRequest req) {
    if (req == null) {
      throw ApiProblem.badRequest(null, "a JSON body is required");
    }
    if (req.name() != null && !req.name().equals(name)) {
      throw ApiProblem.badRequest("name", "cannot be changed; create a new group instead");
    }
    List<ModelPrice> models = req.models() == null ? null : models(req.models());
    Instant now = clock.instant();
    return Panache.withTransaction(
            () ->
                KeyGroup.<KeyGroup>findById(name)
                    .chain(
                        g -> {
                          if (g == null) {
                            throw ApiProblem.notFound("group " + KeyService.safe(name));
                          }
                          if (req.description() != null)
                            g.description = description(req.description());
                          if (req.enabled() != null) g.enabled = req.enabled();
                          if (models != null) g.modelsJson = Json.write(models);
                          g.updatedAt = now;
                          g.version++;
                          return outbox.groupEvent(g, false).replaceWith(g);
                        }))
        .invoke(relay::wake);
  }

  public Uni<Void> delete(String name) {
    return Panache.withTransaction(
            () ->
                KeyGroup.<KeyGroup>findById(name)
                    .chain(
                        g -> {
                          if (g == null) {
                            throw ApiProblem.notFound("group " + KeyService.safe(name));
                          }
                          return ApiKey.count("group = ?1", name)
                              .chain(
                                  n -> {
                                    if (n > 0) {
                                      throw ApiProblem.conflict(
                                          "name",
                                          "is used by "
                                              + n
                                              + " keys; disable the group instead, or move the keys");
                                    }
                                    g.version++;
                                    g.updatedAt = clock.instant();
                                    return outbox.groupEvent(g, true).chain(() -> g.delete());
                                  });
                        }))
        .invoke(relay::wake);
  }

  private static String groupName(String raw) {
    if (raw == null || raw.isBlank()) {
      throw ApiProblem.badRequest("name", "is required");
    }
    if (!raw.matches("[a-z0-9][a-z0-9._-]{0,63}")) {
      throw ApiProblem.badRequest(
          "name",
          "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
    }
    return raw;
  }

  private static String description(String raw) {
    if (raw == null) {
      return "";
    }
    if (raw.length() > 500) {
      throw ApiProblem.badRequest("description", "must be at most 500 characters");
    }
    return raw.strip();
  }

  private static List<ModelPrice> models(List<ModelRequest> raw) {
    if (raw == null || raw.isEmpty()) {
      throw ApiProblem.badRequest("models", "must list at least one model");
    }
    if (raw.size() > 500) {
      throw ApiProblem.badRequest("models", "must list at most 500 models");
    }
    Set<String> seen = new HashSet<>();
    List<ModelPrice> out = new ArrayList<>();
    for (int i = 0; i < raw.size(); i++) {
      ModelRequest m = raw.get(i);
      String f = "models[" + i + "]";
      if (m == null || m.id() == null || !m.id().matches("[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}")) {
        throw ApiProblem.badRequest(
            f + ".id", "must be 1-128 characters of letters, digits, '.', '_', ':', '/' or '-'");
      }
      if (!seen.add(m.id())) {
        throw ApiProblem.badRequest(f + ".id", "is listed twice");
      }
      out.add(
          new ModelPrice(
              m.id(),
              m.ownedBy() == null ? "keywarden" : m.ownedBy(),
              price(f + ".inputUsdPerMillion", m.inputUsdPerMillion()),
              price(f + ".outputUsdPerMillion", m.outputUsdPerMillion())));
    }
    return out;
  }

  private static long price(String field, String v) {
    if (v == null) {
      throw ApiProblem.badRequest(field, "is required");
    }
    try {
      return Money.parseUsd(v);
    } catch (IllegalArgumentException e) {
      throw ApiProblem.badRequest(field, e.getMessage());
    }
  }
}
