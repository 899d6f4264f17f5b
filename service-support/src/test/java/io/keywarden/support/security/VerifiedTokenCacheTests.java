package io.keywarden.support.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.junit.jupiter.api.Test;

class VerifiedTokenCacheTests {
  static final Instant T0 = Instant.parse("2026-11-23T10:00:00Z");

  /** A clock the test moves. */
  static final class MovingClock extends Clock {
    Instant now = T0;

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  record Jwt(String name, Map<String, Object> claims) implements JsonWebToken {
    @Override
    public String getName() {
      return name;
    }

    @Override
    public Set<String> getClaimNames() {
      return claims.keySet();
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getClaim(String claimName) {
      return (T) claims.get(claimName);
    }
  }

  static SecurityIdentity identity(String token, String user, Instant exp, String... roles) {
    Map<String, Object> claims =
        exp == null ? Map.of("sub", user) : Map.of("sub", user, "exp", exp.getEpochSecond());
    return QuarkusSecurityIdentity.builder()
        .setPrincipal(new Jwt(user, claims))
        .addCredential(new AccessTokenCredential(token))
        .addRoles(Set.of(roles))
        .build();
  }

  @Test
  void aVerifiedTokenIsFoundUntilItsExpiryAndNeverAfter() {
    MovingClock clock = new MovingClock();
    VerifiedTokenCache cache = new VerifiedTokenCache(100, clock);
    cache
        .augment(identity("tok-a", "alice", T0.plusSeconds(300), "user"), null)
        .await()
        .indefinitely();

    SecurityIdentity found = cache.lookup("tok-a", null);
    assertThat(found).isNotNull();
    assertThat(found.getPrincipal().getName()).isEqualTo("alice");
    assertThat(found.getRoles()).containsExactly("user");
    assertThat(cache.lookup("tok-b", null)).isNull();
    assertThat(cache.lookup("tok-", null)).isNull();

    clock.now = T0.plusSeconds(299);
    assertThat(cache.lookup("tok-a", null)).isNotNull();
    clock.now = T0.plusSeconds(300);
    assertThat(cache.lookup("tok-a", null)).isNull();
    assertThat(cache.size()).isZero();
    assertThat(cache.hits()).isEqualTo(2);
  }

  @Test
  void tokensWithoutExpiryOrAlreadyExpiredOrAnonymousAreNotKept() {
    MovingClock clock = new MovingClock();
    VerifiedTokenCache cache = new VerifiedTokenCache(100, clock);
    cache.augment(identity("no-exp", "alice", null), null).await().indefinitely();
    cache.augment(identity("old", "alice", T0.minusSeconds(1)), null).await().indefinitely();
    cache
        .augment(QuarkusSecurityIdentity.builder().setAnonymous(true).build(), null)
        .await()
        .indefinitely();
    assertThat(cache.size()).isZero();
    assertThat(cache.lookup("no-exp", null)).isNull();
    assertThat(cache.lookup("old", null)).isNull();
  }

  @Test
  void aFullCacheSweepsExpiredEntriesThenStartsOver() {
    MovingClock clock = new MovingClock();
    VerifiedTokenCache cache = new VerifiedTokenCache(3, clock);
    cache.augment(identity("short", "a", T0.plusSeconds(10)), null).await().indefinitely();
    cache.augment(identity("long1", "b", T0.plusSeconds(600)), null).await().indefinitely();
    cache.augment(identity("long2", "c", T0.plusSeconds(600)), null).await().indefinitely();
    clock.now = T0.plusSeconds(20);
    cache.augment(identity("new", "d", T0.plusSeconds(600)), null).await().indefinitely();
    assertThat(cache.size()).isEqualTo(3); // "short" swept, the rest kept
    assertThat(cache.lookup("long1", null)).isNotNull();
    cache.augment(identity("newer", "e", T0.plusSeconds(600)), null).await().indefinitely();
    assertThat(cache.size()).isEqualTo(1); // nothing expired: started over
    assertThat(cache.lookup("newer", null).getPrincipal().getName()).isEqualTo("e");
  }

  @Test
  void sizeZeroTurnsTheCacheOff() {
    VerifiedTokenCache cache = new VerifiedTokenCache(0, new MovingClock());
    cache.augment(identity("tok", "alice", T0.plusSeconds(300)), null).await().indefinitely();
    assertThat(cache.lookup("tok", null)).isNull();
  }
}
