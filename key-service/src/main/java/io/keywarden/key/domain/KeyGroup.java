package io.keywarden.key.domain;

import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.ModelPrice;
import io.quarkus.hibernate.reactive.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;
import java.util.List;

/** A group: the model route / plan a key belongs to, with its models and prices. */
@Entity
@Table(name = "key_groups")
public class KeyGroup extends PanacheEntityBase {
  @Id public String name;
  public String description;
  public boolean enabled;

  @Column(name = "models_json", columnDefinition = "text")
  public String modelsJson;

  @Column(name = "created_at")
  public Instant createdAt;

  @Column(name = "updated_at")
  public Instant updatedAt;

  public long version;

  public List<ModelPrice> models() {
    return Json.readModels(modelsJson);
  }

  public GroupSnapshot snapshot(boolean deleted) {
    return new GroupSnapshot(
        name, description, enabled, deleted, models(), createdAt, updatedAt, version);
  }
}
