package io.keywarden.support.security;

import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.SecurityIdentityAugmentor;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.quarkus.vertx.http.runtime.security.HttpSecurityUtils;
import io.smallrye.mutiny.Uni;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.jwt.JsonWebToken;

/**
 * Identities of bearer tokens that quarkus-oidc has already verified (signature, issuer, expiry,
 * roles), kept until the token's own {@code exp}. A token is immutable, so the same string always
 * yields the same identity until it expires; verifying it again on every request cost about a
 * quarter of key-service's CPU per key create (JSON parsing of the token, RSA, identity building).
 *
 * <p>Filled by the augmentor step after quarkus-oidc verified a token; read by {@link
 * CachedTokenMechanism} before quarkus-oidc runs. A token never verified is never in here; an
 * expired one is dropped on read. Bounded: when full, expired entries are swept and, if that frees
 * nothing, the cache starts over (every entry can be re-verified). {@code
 * kw.auth.token-cache.max-size=0} turns it off.
 *
 * <p>What this trades: a signing key removed from the realm keeps accepting tokens it already
 * signed here until they expire (minutes with Keycloak's defaults); quarkus-oidc without this cache
 * would refuse them after its next JWKS refresh.
 */
@ApplicationScoped
public class VerifiedTokenCache implements SecurityIdentityAugmentor {
  private record Entry(SecurityIdentity identity, long expiresAtMillis) {}

  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
  private final int maxSize;
  private final Clock clock;
  private final AtomicLong hits = new AtomicLong();

  VerifiedTokenCache(
      @ConfigProperty(name = "kw.auth.token-cache.max-size", defaultValue = "4096") int maxSize,
      Clock clock) {
    this.maxSize = maxSize;
    this.clock = clock;
  }

  /** The identity of an already verified, unexpired token, with this request's routing context. */
  SecurityIdentity lookup(String token, RoutingContext ctx) {
    if (maxSize <= 0) {
      return null;
    }
    Entry e = entries.get(token);
    if (e == null) {
      return null;
    }
    if (clock.millis() >= e.expiresAtMillis()) {
      entries.remove(token, e);
      return null;
    }
    hits.incrementAndGet();
    return QuarkusSecurityIdentity.builder(e.identity())
        .addAttribute(HttpSecurityUtils.ROUTING_CONTEXT_ATTRIBUTE, ctx)
        .addAttribute(RoutingContext.class.getName(), ctx)
        .build();
  }

  /** Requests answered from the cache since start (tests and diagnostics). */
  public long hits() {
    return hits.get();
  }

  public int size() {
    return entries.size();
  }

  @Override
  public int priority() {
    return Integer.MIN_VALUE; // after every other augmentor: cache the final identity
  }

  @Override
  public Uni<SecurityIdentity> augment(
      SecurityIdentity identity, AuthenticationRequestContext context) {
    remember(identity);
    return Uni.createFrom().item(identity);
  }

  private void remember(SecurityIdentity identity) {
    if (maxSize <= 0 || identity.isAnonymous()) {
      return;
    }
    AccessTokenCredential credential = identity.getCredential(AccessTokenCredential.class);
    if (credential == null
        || credential.getToken() == null
        || !(identity.getPrincipal() instanceof JsonWebToken jwt)) {
      return;
    }
    Object expClaim = jwt.getClaim("exp");
    long exp = expClaim instanceof Number n ? n.longValue() : 0;
    if (exp <= 0) {
      return; // no expiry: always verify
    }
    long expiresAt = exp * 1000;
    if (expiresAt <= clock.millis()) {
      return;
    }
    if (entries.size() >= maxSize) {
      long now = clock.millis();
      entries.values().removeIf(e -> e.expiresAtMillis() <= now);
      if (entries.size() >= maxSize) {
        entries.clear();
      }
    }
    // kept without the first request's routing context (it would pin that request in memory)
    SecurityIdentity template =
        QuarkusSecurityIdentity.builder(identity)
            .addAttribute(HttpSecurityUtils.ROUTING_CONTEXT_ATTRIBUTE, null)
            .addAttribute(RoutingContext.class.getName(), null)
            .build();
    entries.put(credential.getToken(), new Entry(template, expiresAt));
  }
}
