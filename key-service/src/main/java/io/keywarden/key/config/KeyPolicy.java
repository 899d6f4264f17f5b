package io.keywarden.key.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** Operator-set rules for keys (env vars KW_KEYS_...). */
@ConfigMapping(prefix = "kw.keys")
public interface KeyPolicy {
  /** Identifiable prefix of generated keys, so scanners can recognise them. */
  @WithDefault("sk-kw-")
  String prefix();

  /** Keys that are not revoked or leaked, per account. */
  @WithDefault("100")
  int maxLiveKeysPerAccount();

  /** Upper bound of a key's quota in USD; absent = none. */
  Optional<String> maxQuotaUsd();

  /** Longest lifetime a key may be given; absent = keys may never expire. */
  Optional<Duration> maxLifetime();

  /** Lifetime given when the request sets none; absent = no expiry. */
  Optional<Duration> defaultLifetime();

  /** Longest overlap of the old secret after a rotation. */
  @WithDefault("P30D")
  Duration maxRotationOverlap();
}
