package io.keywarden.usage.security;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.IdentityProviderManager;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.request.AuthenticationRequest;
import io.quarkus.security.runtime.QuarkusPrincipal;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.quarkus.vertx.http.runtime.security.ChallengeData;
import io.quarkus.vertx.http.runtime.security.HttpAuthenticationMechanism;
import io.quarkus.vertx.http.runtime.security.HttpCredentialTransport;
import io.smallrye.mutiny.Uni;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.Set;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * A gateway may also authenticate to {@code /api/authorize} and {@code /api/usage} with the static
 * shared secret of forward-auth ({@code X-Keywarden-Gateway-Secret}, property {@code
 * kw.gateway.shared-secret}): it gets role {@code gateway} only. Verifying a JWT signature on every
 * authorize costs more than the decision itself; a wrong secret is a 401, a missing one falls back
 * to OIDC bearer tokens.
 */
@ApplicationScoped
public class GatewaySecretAuthentication implements HttpAuthenticationMechanism {
  public static final String HEADER = "X-Keywarden-Gateway-Secret";
  private final byte[] secret;

  GatewaySecretAuthentication(
      @ConfigProperty(name = "kw.gateway.shared-secret") Optional<String> secret) {
    this.secret =
        secret.filter(s -> !s.isBlank()).map(s -> s.getBytes(StandardCharsets.UTF_8)).orElse(null);
  }

  /** Whether a shared secret is configured (else the header is ignored). */
  public boolean configured() {
    return secret != null;
  }

  /**
   * Checks a presented secret in time that depends on the length of what was presented, never on
   * the configured secret's content ({@link MessageDigest#isEqual} walks all of its first
   * argument).
   */
  public boolean matches(String given) {
    return secret != null
        && given != null
        && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), secret);
  }

  @Override
  public Uni<SecurityIdentity> authenticate(RoutingContext context, IdentityProviderManager ipm) {
    String given = context.request().getHeader(HEADER);
    if (given == null || secret == null) {
      return Uni.createFrom().nullItem();
    }
    if (!matches(given)) {
      return Uni.createFrom().failure(new AuthenticationFailedException());
    }
    return Uni.createFrom()
        .item(
            QuarkusSecurityIdentity.builder()
                .setPrincipal(new QuarkusPrincipal("gateway-shared-secret"))
                .addRole("gateway")
                .build());
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
  public Uni<HttpCredentialTransport> getCredentialTransport(RoutingContext context) {
    return Uni.createFrom()
        .item(new HttpCredentialTransport(HttpCredentialTransport.Type.OTHER_HEADER, HEADER));
  }

  @Override
  public int getPriority() {
    return 2000;
  }
}
