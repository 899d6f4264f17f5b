package io.keywarden.audit.alerts;

import io.keywarden.audit.config.AuditConfig;
import io.keywarden.audit.domain.AlertDelivery;
import io.keywarden.audit.domain.AlertSettings;
import io.keywarden.audit.domain.AuditKey;
import io.keywarden.audit.domain.Finding;
import io.keywarden.audit.findings.FindingType;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * Decides which channels a new finding goes to and queues one delivery per channel. The unique
 * constraint on (scope, finding type, period, channel) makes a second queueing a no-op, across
 * restarts and redelivered events.
 */
@ApplicationScoped
public class AlertPlanner {
  public static final String DIGEST = "DIGEST";

  private final AuditConfig config;
  private final Clock clock;

  AlertPlanner(AuditConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
  }

  /** Queues the alerts of a finding that just opened or entered a new period. */
  public Uni<Void> raise(AuditKey key, Finding finding) {
    return Uni.createFrom()
        .deferred(
            () ->
                AlertSettings.<AlertSettings>findById(key.account)
                    .chain(
                        settings -> {
                          List<Channel> channels = channels(settings, finding.type);
                          Uni<Void> chain = Uni.createFrom().voidItem();
                          for (Channel c : channels) {
                            chain =
                                chain.chain(
                                    () ->
                                        queue(
                                            key.keyId,
                                            key.keyId,
                                            key.account,
                                            finding.id,
                                            finding.type,
                                            finding.period,
                                            c));
                          }
                          return chain;
                        }));
  }

  /** The channels of an immediate alert for a finding type under an account's settings. */
  public List<Channel> channels(AlertSettings settings, String type) {
    List<Channel> out = new ArrayList<>();
    if (config.alerts().kafka()) {
      out.add(Channel.KAFKA);
    }
    if (settings == null || !wants(settings, type)) {
      return out;
    }
    if (AlertSettings.IMMEDIATE.equals(settings.mode)) {
      if (settings.webhookUrl != null) {
        out.add(Channel.WEBHOOK);
      }
      if (settings.email != null) {
        out.add(Channel.EMAIL);
      }
    }
    if (FindingType.STALE.name().equals(type)
        && settings.autoDisableStale
        && config.staleAutoDisable()) {
      out.add(Channel.DISABLE);
    }
    return out;
  }

  static boolean wants(AlertSettings settings, String type) {
    return settings.findingTypes == null
        || settings.findingTypes.isBlank()
        || Arrays.asList(settings.findingTypes.split(",")).contains(type);
  }

  /** Queues one delivery unless the same (scope, type, period, channel) exists. */
  public Uni<Void> queue(
      String scope,
      String keyId,
      String account,
      UUID findingId,
      String type,
      String period,
      Channel channel) {
    Instant now = clock.instant();
    String sql =
        "insert into alert_deliveries (id, scope, key_id, account, finding_id, finding_type,"
            + " period, channel, status, attempts, next_attempt_at, created_at) values (:id,"
            + " :scope, "
            + (keyId == null ? "null" : ":keyId")
            + ", :account, "
            + (findingId == null ? "null" : ":findingId")
            + ", :type, :period, :channel, :status, 0, :now, :now) on conflict on constraint"
            + " alert_deliveries_once_uq do nothing";
    return Panache.getSession()
        .chain(
            s -> {
              var q =
                  s.createNativeQuery(sql)
                      .setParameter("id", UUID.randomUUID())
                      .setParameter("scope", scope)
                      .setParameter("account", account)
                      .setParameter("type", type)
                      .setParameter("period", period)
                      .setParameter("channel", channel.wire())
                      .setParameter("status", AlertDelivery.PENDING)
                      .setParameter("now", now);
              if (keyId != null) {
                q.setParameter("keyId", keyId);
              }
              if (findingId != null) {
                q.setParameter("findingId", findingId);
              }
              return q.executeUpdate();
            })
        .replaceWithVoid();
  }
}
