package io.keywarden.support.rest;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.oidc.runtime.OidcJwtCallerPrincipal;
import io.smallrye.jwt.auth.principal.DefaultJWTCallerPrincipal;
import org.jose4j.jwt.JwtClaims;
import org.junit.jupiter.api.Test;

class CallerTests {
  private static JwtClaims claims(String subject, String account) {
    JwtClaims c = new JwtClaims();
    c.setSubject(subject);
    if (account != null) {
      c.setClaim("account", account);
    }
    return c;
  }

  @Test
  void theAccountClaimWinsOverTheSubjectWhenPresentAndNotBlank() {
    assertThat(Caller.account(new OidcJwtCallerPrincipal(claims("sub-1", "acme"), null)))
        .isEqualTo("acme");
    assertThat(Caller.account(new OidcJwtCallerPrincipal(claims("sub-1", null), null)))
        .isEqualTo("sub-1");
    assertThat(Caller.account(new OidcJwtCallerPrincipal(claims("sub-1", "  "), null)))
        .isEqualTo("sub-1");
  }

  @Test
  void anyOtherJsonWebTokenIsReadTheSameWay() {
    assertThat(Caller.account(new DefaultJWTCallerPrincipal(claims("sub-2", "acme"))))
        .isEqualTo("acme");
    assertThat(Caller.account(new DefaultJWTCallerPrincipal(claims("sub-2", null))))
        .isEqualTo("sub-2");
  }
}
