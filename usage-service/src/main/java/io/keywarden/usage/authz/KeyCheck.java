package io.keywarden.usage.authz;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.usage.projection.KeyProjection;
import io.keywarden.usage.projection.KeyProjection.GroupEntry;
import io.keywarden.usage.projection.KeyProjection.KeyEntry;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The static part of authorization, from the in-memory projection only: key format, lookup, status,
 * expiry, client IP, group and model. Limits and money come after it.
 */
@ApplicationScoped
public class KeyCheck {
  /**
   * The outcome; entry and group are set when the key was found, retryAfterSeconds when the client
   * address is blocked ({@link InvalidKeyGuard}).
   */
  public record Result(
      DecisionCode code, KeyEntry entry, GroupEntry group, Integer retryAfterSeconds) {
    public Result(DecisionCode code, KeyEntry entry, GroupEntry group) {
      this(code, entry, group, null);
    }

    public KeyEntry key() {
      return entry;
    }
  }

  private final KeyProjection projection;
  private final io.keywarden.usage.projection.Freshness freshness;
  private final Clock clock;
  private final InvalidKeyGuard guard;
  private final String prefix;

  KeyCheck(
      KeyProjection projection,
      io.keywarden.usage.projection.Freshness freshness,
      Clock clock,
      InvalidKeyGuard guard,
      @ConfigProperty(name = "kw.keys.prefix") String prefix) {
    this.projection = projection;
    this.freshness = freshness;
    this.clock = clock;
    this.guard = guard;
    this.prefix = prefix;
  }

  /** Cheap offline test: a generated key with a good checksum, or a plausible custom key. */
  public boolean plausible(String secret) {
    if (secret == null) {
      return false;
    }
    if (secret.startsWith(prefix)
        && secret.length() == prefix.length() + KeyFormat.RANDOM_CHARS + KeyFormat.CHECKSUM_CHARS) {
      return KeyFormat.hasValidChecksum(secret, prefix);
    }
    int n = secret.length();
    if (n < 32 || n > 128) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = secret.charAt(i);
      if (!(c >= 'a' && c <= 'z'
          || c >= 'A' && c <= 'Z'
          || c >= '0' && c <= '9'
          || c == '_'
          || c == '-')) {
        return false;
      }
    }
    return true;
  }

  /**
   * Checks a secret; a bad checksum is refused before any lookup, and an address that sent too many
   * invalid keys before any check ({@link InvalidKeyGuard}).
   */
  public Result checkSecret(String secret, String clientIp, String model) {
    Result blocked = blocked(clientIp);
    if (blocked != null) {
      return blocked;
    }
    if (!plausible(secret)) {
      guard.invalid(clientIp);
      return new Result(DecisionCode.INVALID_KEY, null, null);
    }
    return check(KeyProjection.Hash.of(KeyFormat.sha256(secret)), clientIp, model);
  }

  public Result checkHash(String hash, String clientIp, String model) {
    Result blocked = blocked(clientIp);
    return blocked != null ? blocked : check(KeyProjection.Hash.parse(hash), clientIp, model);
  }

  /** RATE_LIMITED with its Retry-After when the address is blocked ({@link InvalidKeyGuard}). */
  private Result blocked(String clientIp) {
    int seconds = guard.blockedFor(clientIp);
    return seconds > 0 ? new Result(DecisionCode.RATE_LIMITED, null, null, seconds) : null;
  }

  private Result check(KeyProjection.Hash hash, String clientIp, String model) {
    if (!freshness.isFresh()) {
      // paused and maybe behind on revocations: allow nothing until caught up (M6)
      return new Result(DecisionCode.UNAVAILABLE, null, null);
    }
    Instant now = clock.instant();
    Optional<KeyProjection.Match> m =
        hash == null ? Optional.empty() : projection.byHash(hash, now);
    if (m.isEmpty()) {
      guard.invalid(clientIp);
      return new Result(DecisionCode.INVALID_KEY, null, null);
    }
    KeyEntry e = m.get().entry();
    KeyEntry k = e;
    GroupEntry g = projection.group(k.group()).orElse(null);
    DecisionCode code = statusCode(k, now);
    if (code == DecisionCode.VALID && clientIp != null && !e.allowList().allows(clientIp)) {
      code = DecisionCode.IP_NOT_ALLOWED;
    } else if (code == DecisionCode.VALID && !e.allowList().isEmpty() && clientIp == null) {
      code = DecisionCode.IP_NOT_ALLOWED;
    }
    if (code == DecisionCode.VALID && (g == null || !g.group().enabled() || g.group().deleted())) {
      code = DecisionCode.GROUP_DISABLED;
    }
    if (code == DecisionCode.VALID && model != null && !g.models().containsKey(model)) {
      code = DecisionCode.MODEL_NOT_ALLOWED;
    }
    return new Result(code, e, g);
  }

  static DecisionCode statusCode(KeyEntry k, Instant now) {
    KeyStatus s = k.status();
    if (s == KeyStatus.REVOKED) return DecisionCode.REVOKED;
    if (s == KeyStatus.LEAKED) return DecisionCode.LEAKED;
    if (s == KeyStatus.EXPIRED || (k.expiresAt() != null && !now.isBefore(k.expiresAt()))) {
      return DecisionCode.EXPIRED;
    }
    if (s == KeyStatus.DISABLED) return DecisionCode.DISABLED;
    return DecisionCode.VALID;
  }
}
