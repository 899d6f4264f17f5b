package io.keywarden.key.rest;

import io.keywarden.key.leak.GithubLeakIntake;
import io.keywarden.key.leak.GithubPublicKeys;
import io.keywarden.key.leak.LeakFeedback;
import io.keywarden.key.service.KeyService;
import io.keywarden.support.rest.ApiProblem;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.logging.Logger;

/**
 * GitHub secret-scanning partner endpoint. Authenticated by GitHub's ECDSA signature over the raw
 * body (not by OIDC). Every reported token that is one of ours becomes leaked, with one event.
 */
@Path("/api/leaks/github")
@ApplicationScoped
@Tag(name = "leaks")
public class LeaksResource {
  private static final Logger LOG = Logger.getLogger(LeaksResource.class);
  private final GithubLeakIntake intake;
  private final KeyService keys;

  LeaksResource(
      KeyService keys,
      Clock clock,
      @ConfigProperty(
              name = "kw.leaks.github.keys-url",
              defaultValue = "https://api.github.com/meta/public_keys/secret_scanning")
          String url,
      @ConfigProperty(name = "kw.keys.prefix") String prefix) {
    this.keys = keys;
    GithubPublicKeys publicKeys =
        new GithubPublicKeys(URI.create(url), GithubPublicKeys.defaultHttpClient(), clock);
    this.intake = new GithubLeakIntake(publicKeys::find, java.util.List.of(prefix));
  }

  @POST
  @Consumes(MediaType.WILDCARD)
  @Produces(MediaType.APPLICATION_JSON)
  @Operation(summary = "GitHub secret scanning: reported tokens of ours become leaked")
  public Uni<Response> report(
      @HeaderParam(GithubLeakIntake.HEADER_KEY_ID) String keyId,
      @HeaderParam(GithubLeakIntake.HEADER_SIGNATURE) String signature,
      byte[] body) {
    // signature checks and the key fetch may block: off the event loop, then back onto the
    // request's Vert.x context, where Hibernate Reactive must run
    io.vertx.core.Context ctx = io.vertx.core.Vertx.currentContext();
    Executor back = ctx == null ? Runnable::run : r -> ctx.runOnContext(v -> r.run());
    // one pass verifies and parses; the hashes it asks about (plausible tokens only) are looked up
    // afterwards on the Vert.x context, and the feedback is labelled from the answer
    List<String> asked = new ArrayList<>();
    return Uni.createFrom()
        .item(
            () ->
                intake.handle(
                    keyId,
                    signature,
                    body == null ? new byte[0] : body,
                    hashes -> {
                      asked.addAll(hashes);
                      return Set.of();
                    }))
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
        .emitOn(back)
        .chain(
            verified -> {
              if (verified.status() == GithubLeakIntake.Status.UNAUTHORIZED) {
                throw new ApiProblem(
                    401, "Unauthorized", GithubLeakIntake.HEADER_SIGNATURE, verified.reason());
              }
              if (verified.status() == GithubLeakIntake.Status.BAD_REQUEST) {
                throw ApiProblem.badRequest(null, verified.reason());
              }
              return keys.knownHashes(new HashSet<>(asked))
                  .chain(
                      known ->
                          keys.markLeakedByHash(known)
                              .map(
                                  marked -> {
                                    if (!marked.isEmpty()) {
                                      LOG.infof(
                                          "GitHub reported %d of our keys as leaked; marked leaked",
                                          marked.size());
                                    }
                                    List<LeakFeedback> feedback =
                                        verified.feedback().stream()
                                            .map(
                                                f ->
                                                    LeakFeedback.ofHash(
                                                        f.token_hash(),
                                                        f.token_type(),
                                                        known.contains(f.token_hash())))
                                            .toList();
                                    return Response.status(201).entity(feedback).build();
                                  }));
            });
  }
}
