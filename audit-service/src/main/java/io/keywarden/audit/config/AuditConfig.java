package io.keywarden.audit.config;

import io.keywarden.audit.findings.Thresholds;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;

/** Thresholds of the finding rules and how alerts are sent ({@code kw.audit.*}). */
@ConfigMapping(prefix = "kw.audit")
public interface AuditConfig {
  /** NEVER_USED: created (or rotated) longer ago than this and never used. */
  @WithDefault("7d")
  Duration neverUsedAfter();

  @WithDefault("45d")
  Duration unusedAfter();

  @WithDefault("90d")
  Duration staleAfter();

  /** EXPIRING: days before expiry at which a new alert goes out. */
  @WithDefault("7,3,1")
  List<Integer> expiringDays();

  /** OLD: older than this without rotation. */
  @WithDefault("90d")
  Duration oldAfter();

  /** LEAKED_STILL_USED resolves after this long without a denied attempt. */
  @WithDefault("7d")
  Duration leakedQuietAfter();

  /** OVER_SHARED: more distinct client IPs in one UTC day than this. */
  @WithDefault("20")
  int overSharedIps();

  /** OVER_SHARED: more distinct user agents in one UTC day than this. */
  @WithDefault("10")
  int overSharedAgents();

  @WithDefault("80,95")
  List<Integer> quotaPercents();

  /**
   * STALE keys of accounts that opted in are disabled through key-service; false stops that for
   * every account.
   */
  @WithDefault("true")
  boolean staleAutoDisable();

  /** Keys per transaction in the sweep. */
  @WithDefault("1000")
  int sweepPageSize();

  /** UTC hour from which the daily digest of an account goes out. */
  @WithDefault("8")
  int digestHour();

  /** How often the sweep evaluates the time-based rules (used by FindingSweep). */
  @WithDefault("15m")
  String sweepEvery();

  /** How often due alert deliveries are sent (used by DeliveryWorker). */
  @WithDefault("1s")
  String deliveryEvery();

  /** audit-service's own OIDC client (client credentials), for key-service's admin API. */
  @WithDefault("keywarden-audit")
  String clientId();

  @WithDefault("audit-secret")
  String clientSecret();

  Alerts alerts();

  Report report();

  /**
   * The streamed audit report: each report reads one snapshot in one read-only transaction, on a
   * connection of its own held for as long as it streams.
   */
  interface Report {
    /**
     * Reports streaming at once; one more is answered 503 with Retry-After. Well under the reactive
     * pool's size, so reports can never take every connection from the rest of the service.
     */
    @WithDefault("4")
    int maxConcurrent();

    /**
     * The longest a report's transaction may wait for its client to take the next page (PostgreSQL
     * {@code idle_in_transaction_session_timeout}): a client that stops reading loses its report
     * and the connection is freed.
     */
    @WithDefault("60s")
    Duration idleTimeout();

    /** The longest a report may stream in all; then it is cut off and its connection freed. */
    @WithDefault("15m")
    Duration maxDuration();
  }

  /** Alert channels. */
  interface Alerts {
    /** Publish every alert on keywarden.key-alerts. */
    @WithDefault("true")
    boolean kafka();

    /** Attempts of one webhook delivery (and email) before it is shown as failed. */
    @WithDefault("6")
    int maxAttempts();

    /** First retry delay; doubled after each failed attempt. */
    @WithDefault("2s")
    Duration backoff();

    @WithDefault("10s")
    Duration timeout();

    /**
     * Deliveries sent at once (each its own lane, transaction and connection): a receiver that
     * hangs until the timeout holds up one lane, not every alert.
     */
    @WithDefault("4")
    int concurrency();

    @WithDefault("keywarden-audit@localhost")
    String mailFrom();
  }

  default Thresholds thresholds() {
    return new Thresholds(
        neverUsedAfter(),
        unusedAfter(),
        staleAfter(),
        expiringDays(),
        oldAfter(),
        leakedQuietAfter(),
        overSharedIps(),
        overSharedAgents(),
        quotaPercents());
  }
}
