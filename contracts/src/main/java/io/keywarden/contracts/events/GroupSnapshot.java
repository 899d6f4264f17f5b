package io.keywarden.contracts.events;

import java.time.Instant;
import java.util.List;

/**
 * A group (the model route / plan of a key) as published on {@code keywarden.groups}, keyed by its
 * name. {@code deleted} tombstones it.
 */
public record GroupSnapshot(
    String name,
    String description,
    boolean enabled,
    boolean deleted,
    List<ModelPrice> models,
    Instant createdAt,
    Instant updatedAt,
    long version) {
  public static final String TYPE = "keywarden.group.changed";

  public GroupSnapshot {
    models = models == null ? List.of() : List.copyOf(models);
  }
}
