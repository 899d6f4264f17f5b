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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

  /** A finding that just opened or entered a new period, with its key. */
  public record Raised(AuditKey key, Finding finding) {}

  /** Queues the alerts of a finding that just opened or entered a new period. */
  public Uni<Void> raise(AuditKey key, Finding finding) {
    return raiseAll(List.of(new Raised(key, finding)));
  }

  /**
   * Queues the alerts of many findings at once: one read of the accounts' settings and one insert
   * per {@value #ROWS_PER_INSERT} deliveries, whatever the number of findings (a sweep that opens
   * thousands of findings must not make a round trip per finding and channel).
   */
  public Uni<Void> raiseAll(List<Raised> raised) {
    if (raised.isEmpty()) {
      return Uni.createFrom().voidItem();
    }
    return Uni.createFrom()
        .deferred(
            () -> {
              Set<String> accounts = new HashSet<>();
              raised.forEach(r -> accounts.add(r.key().account));
              return AlertSettings.<AlertSettings>list("account in ?1", List.copyOf(accounts))
                  .chain(
                      found -> {
                        Map<String, AlertSettings> settings = new HashMap<>();
                        found.forEach(s -> settings.put(s.account, s));
                        List<Row> rows = new ArrayList<>();
                        for (Raised r : raised) {
                          for (Channel c :
                              channels(settings.get(r.key().account), r.finding().type)) {
                            rows.add(
                                new Row(
                                    r.key().keyId,
                                    r.key().keyId,
                                    r.key().account,
                                    r.finding().id,
                                    r.finding().type,
                                    r.finding().period,
                                    c));
                          }
                        }
                        return insert(rows, 0);
                      });
            });
  }

  /** One delivery to queue. */
  record Row(
      String scope,
      String keyId,
      String account,
      UUID findingId,
      String type,
      String period,
      Channel channel) {}

  static final int ROWS_PER_INSERT = 1000;

  private Uni<Void> insert(List<Row> rows, int from) {
    if (from >= rows.size()) {
      return Uni.createFrom().voidItem();
    }
    List<Row> chunk = rows.subList(from, Math.min(rows.size(), from + ROWS_PER_INSERT));
    StringBuilder sql =
        new StringBuilder(
            "insert into alert_deliveries (id, scope, key_id, account, finding_id, finding_type,"
                + " period, channel, status, attempts, next_attempt_at, created_at) values ");
    for (int i = 0; i < chunk.size(); i++) {
      if (i > 0) {
        sql.append(", ");
      }
      sql.append("(:id")
          .append(i)
          .append(", :scope")
          .append(i)
          .append(", ")
          .append(chunk.get(i).keyId() == null ? "null" : ":key" + i)
          .append(", :account")
          .append(i)
          .append(", ")
          .append(chunk.get(i).findingId() == null ? "null" : ":finding" + i)
          .append(", :type")
          .append(i)
          .append(", :period")
          .append(i)
          .append(", :channel")
          .append(i)
          .append(", :status, 0, :now, :now)");
    }
    sql.append(" on conflict on constraint alert_deliveries_once_uq do nothing");
    Instant now = clock.instant();
    return Panache.getSession()
        .chain(
            s -> {
              var q =
                  s.createNativeQuery(sql.toString())
                      .setParameter("status", AlertDelivery.PENDING)
                      .setParameter("now", now);
              for (int i = 0; i < chunk.size(); i++) {
                Row r = chunk.get(i);
                q.setParameter("id" + i, UUID.randomUUID())
                    .setParameter("scope" + i, r.scope())
                    .setParameter("account" + i, r.account())
                    .setParameter("type" + i, r.type())
                    .setParameter("period" + i, r.period())
                    .setParameter("channel" + i, r.channel().wire());
                if (r.keyId() != null) {
                  q.setParameter("key" + i, r.keyId());
                }
                if (r.findingId() != null) {
                  q.setParameter("finding" + i, r.findingId());
                }
              }
              return q.executeUpdate();
            })
        .chain(() -> insert(rows, from + chunk.size()));
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
    return insert(List.of(new Row(scope, keyId, account, findingId, type, period, channel)), 0);
  }
}
