package io.keywarden.key.service;

import io.keywarden.key.domain.KeyGroup;
import io.keywarden.key.outbox.Outbox;
import io.keywarden.key.outbox.OutboxRelay;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.core.runtime.context.VertxContextSafetyToggle;
import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Publishes every group at start, so consumers that joined late (or a wiped topic) still learn the
 * catalogue, including groups seeded by migrations. Consumers ignore versions they already hold.
 */
@ApplicationScoped
public class GroupCatalogPublisher {
  private static final Logger LOG = Logger.getLogger(GroupCatalogPublisher.class);

  void onStart(@Observes StartupEvent ev, Vertx vertx, Outbox outbox, OutboxRelay relay) {
    // Hibernate Reactive Panache refuses a duplicated context not flagged safe
    io.vertx.core.Context ctx = VertxContext.createNewDuplicatedContext(vertx.getOrCreateContext());
    VertxContextSafetyToggle.setContextSafe(ctx, true);
    ctx.runOnContext(
        v ->
            Panache.withTransaction(
                    () ->
                        KeyGroup.<KeyGroup>listAll()
                            .call(
                                (List<KeyGroup> groups) -> {
                                  Uni<Void> chain = Uni.createFrom().voidItem();
                                  for (KeyGroup g : groups) {
                                    chain = chain.chain(() -> outbox.groupEvent(g, false));
                                  }
                                  return chain;
                                }))
                .subscribe()
                .with(
                    groups -> relay.wake(),
                    e -> LOG.warnf("could not publish the group catalogue: %s", e.getMessage())));
  }
}
