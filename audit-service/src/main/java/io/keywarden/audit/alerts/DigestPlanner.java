package io.keywarden.audit.alerts;

import io.keywarden.audit.config.AuditConfig;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;

/**
 * Queues the daily digest of each account in {@code daily} mode that has open findings: one per
 * account, channel and UTC day, by the same unique constraint as every alert.
 */
@ApplicationScoped
public class DigestPlanner {
  private final AuditConfig config;
  private final Clock clock;

  DigestPlanner(AuditConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
  }

  public Uni<Integer> queueDue() {
    Instant now = clock.instant();
    if (now.atZone(ZoneOffset.UTC).getHour() < config.digestHour()) {
      return Uni.createFrom().item(0);
    }
    String day = LocalDate.ofInstant(now, ZoneOffset.UTC).toString();
    return Panache.withTransaction(
        () ->
            insert(Channel.WEBHOOK, "webhook_url", day, now)
                .chain(a -> insert(Channel.EMAIL, "email", day, now).map(b -> a + b)));
  }

  private Uni<Integer> insert(Channel channel, String column, String day, Instant now) {
    return Panache.getSession()
        .chain(
            s ->
                s.createNativeQuery(
                        "insert into alert_deliveries (id, scope, key_id, account, finding_id,"
                            + " finding_type, period, channel, status, attempts, next_attempt_at,"
                            + " created_at) select gen_random_uuid(), 'account:' || s.account,"
                            + " null, s.account, null, :type, :day, :channel, 'pending', 0, :now,"
                            + " :now from alert_settings s where s.mode = 'daily' and s."
                            + column
                            + " is not null and exists (select 1 from findings f where f.account"
                            + " = s.account and f.status = 'open') on conflict on constraint"
                            + " alert_deliveries_once_uq do nothing")
                    .setParameter("type", AlertPlanner.DIGEST)
                    .setParameter("day", day)
                    .setParameter("channel", channel.wire())
                    .setParameter("now", now)
                    .executeUpdate());
  }
}
