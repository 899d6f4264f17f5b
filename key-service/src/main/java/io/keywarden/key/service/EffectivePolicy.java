package io.keywarden.key.service;

import io.keywarden.contracts.Money;
import io.keywarden.key.config.KeyPolicy;
import io.keywarden.key.domain.KeyPolicyRow;
import java.time.Duration;
import java.util.Optional;

/** The caps and defaults in force: the operator's row over the configuration. */
public record EffectivePolicy(
    int maxLiveKeysPerAccount,
    Optional<Long> maxQuotaMicros,
    Optional<Duration> maxLifetime,
    Optional<Duration> defaultLifetime) {

  static EffectivePolicy of(KeyPolicy config, KeyPolicyRow row) {
    return new EffectivePolicy(
        row != null && row.maxLiveKeysPerAccount != null
            ? row.maxLiveKeysPerAccount
            : config.maxLiveKeysPerAccount(),
        row != null && row.maxQuotaMicros != null
            ? Optional.of(row.maxQuotaMicros)
            : config.maxQuotaUsd().map(Money::parseUsd),
        row != null && row.maxLifetimeSeconds != null
            ? Optional.of(Duration.ofSeconds(row.maxLifetimeSeconds))
            : config.maxLifetime(),
        row != null && row.defaultLifetimeSeconds != null
            ? Optional.of(Duration.ofSeconds(row.defaultLifetimeSeconds))
            : config.defaultLifetime());
  }
}
