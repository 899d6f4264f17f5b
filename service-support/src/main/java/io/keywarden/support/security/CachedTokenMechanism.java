package io.keywarden.support.security;

import io.quarkus.security.identity.IdentityProviderManager;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.request.AuthenticationRequest;
import io.quarkus.vertx.http.runtime.security.ChallengeData;
import io.quarkus.vertx.http.runtime.security.HttpAuthenticationMechanism;
import io.smallrye.mutiny.Uni;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Set;

/**
 * Runs before quarkus-oidc's bearer mechanism: a bearer token that quarkus-oidc already verified
 * and that has not expired is answered from {@link VerifiedTokenCache}; anything else (no header,
 * unknown, expired, malformed) yields no identity here, so quarkus-oidc verifies it as usual and
 * owns every failure and challenge.
 */
@ApplicationScoped
public class CachedTokenMechanism implements HttpAuthenticationMechanism {
  private static final String BEARER = "Bearer ";
  private final VerifiedTokenCache cache;

  CachedTokenMechanism(VerifiedTokenCache cache) {
    this.cache = cache;
  }

  @Override
  public Uni<SecurityIdentity> authenticate(
      RoutingContext context, IdentityProviderManager identityProviderManager) {
    String header = context.request().getHeader("Authorization");
    if (header == null
        || header.length() <= BEARER.length()
        || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return Uni.createFrom().nullItem();
    }
    String token = header.substring(BEARER.length()).trim();
    return Uni.createFrom().item(cache.lookup(token, context));
  }

  @Override
  public Uni<ChallengeData> getChallenge(RoutingContext context) {
    return Uni.createFrom().nullItem();
  }

  @Override
  public Set<Class<? extends AuthenticationRequest>> getCredentialTypes() {
    return Set.of();
  }

  @Override
  public int getPriority() {
    return DEFAULT_PRIORITY + 100; // ahead of quarkus-oidc (DEFAULT_PRIORITY + 1)
  }
}
