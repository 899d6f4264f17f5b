package io.keywarden.support.rest;

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
    Object claim = jwt.getClaim("account");
    if (claim != null && !claim.toString().isBlank()) {
      return claim.toString();
    }
    return jwt.getSubject();
  }

  public boolean isAdmin() {
    return identity.hasRole("admin");
  }
}
