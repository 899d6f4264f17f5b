package io.keywarden.support.rest;

import io.quarkus.oidc.runtime.OidcJwtCallerPrincipal;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.enterprise.context.RequestScoped;
import org.eclipse.microprofile.jwt.JsonWebToken;

/** Who is calling: the account is the token's {@code account} claim, else its subject. */
@RequestScoped
public class Caller {
  private final JsonWebToken jwt;
  private final SecurityIdentity identity;

  Caller(JsonWebToken jwt, SecurityIdentity identity) {
    this.jwt = jwt;
    this.identity = identity;
  }

  public String account() {
    // the identity's principal is the token itself; the injected JsonWebToken is a CDI proxy
    return account(identity.getPrincipal() instanceof JsonWebToken token ? token : jwt);
  }

  /**
   * The token's {@code account} claim when present and not blank, else its subject. The claim is
   * asked for only when present: smallrye-jwt throws (and catches) an exception for every name it
   * does not know, and listing the claim names copies them all.
   */
  public static String account(JsonWebToken jwt) {
    boolean present =
        jwt instanceof OidcJwtCallerPrincipal oidc
            ? oidc.getClaims().hasClaim("account")
            : jwt.containsClaim("account");
    Object claim = present ? jwt.getClaim("account") : null;
    if (claim != null && !claim.toString().isBlank()) {
      return claim.toString();
    }
    return jwt.getSubject();
  }

  public boolean isAdmin() {
    return identity.hasRole("admin");
  }
}
