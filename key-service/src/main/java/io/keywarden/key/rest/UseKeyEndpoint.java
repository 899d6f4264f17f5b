package io.keywarden.key.rest;

import io.keywarden.key.domain.ApiKey;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;

/** Renders the Use-key configs of a key (wired to the renderer in usekey/). */
@ApplicationScoped
public class UseKeyEndpoint {
  public Uni<Map<String, Object>> embedded(ApiKey key, String secret) {
    return Uni.createFrom().item(Map.of());
  }
}
