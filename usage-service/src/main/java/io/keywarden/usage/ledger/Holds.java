package io.keywarden.usage.ledger;

import io.keywarden.usage.authz.DecisionCode;
import io.keywarden.usage.projection.KeyProjection.KeyEntry;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Reservations: an authorize with a requestId and estimatedCostUsd reserves the estimate on the key
 * and the account by guarded UPDATEs (spend + reservations never exceed the quota or the balance);
 * the usage record settles it ({@link Charger}); the sweeper releases holds older than {@code
 * kw.holds.ttl} (default 10 minutes).
 */
@ApplicationScoped
public class Holds {
  private static final Logger LOG = Logger.getLogger(Holds.class);

  /** Rolls the transaction back with the refusing code. */
  static final class Refused extends RuntimeException {
    final DecisionCode code;

    Refused(DecisionCode code) {
      super(code.name(), null, false, false);
      this.code = code;
    }
  }

  private final Pool pool;
  private final BudgetView view;
  private final Clock clock;
  private final Duration ttl;

  Holds(
      Pool pool,
      BudgetView view,
      Clock clock,
      @ConfigProperty(name = "kw.holds.ttl", defaultValue = "10m") Duration ttl) {
    this.pool = pool;
    this.view = view;
    this.clock = clock;
    this.ttl = ttl;
  }

  /** Reserves {@code micros} for the request: VALID, KEY_QUOTA_EXCEEDED or BALANCE_EXHAUSTED. */
  public Uni<DecisionCode> reserve(KeyEntry k, String requestId, long micros, Instant now) {
    var expires = now.plus(ttl).atOffset(ZoneOffset.UTC);
    String period = Periods.current(k.quotaReset(), now);
    return pool.withTransaction(
            conn ->
                conn.preparedQuery(
                        "insert into holds (request_id, key_id, account, amount_micros, expires_at)"
                            + " values ($1, $2, $3, $4, $5) on conflict do nothing returning request_id")
                    .execute(Tuple.of(requestId, k.keyId(), k.account(), micros, expires))
                    .flatMap(
                        rs -> {
                          if (rs.rowCount() == 0) {
                            // the same request authorized again: already held
                            return Uni.createFrom().item(DecisionCode.VALID);
                          }
                          return reserveBudgets(conn, k, micros, period);
                        }))
        .onFailure(Refused.class)
        .recoverWithItem(e -> ((Refused) e).code);
  }

  private Uni<DecisionCode> reserveBudgets(
      SqlConnection conn, KeyEntry k, long micros, String period) {
    return conn.preparedQuery(
            "insert into key_budgets (key_id, account, limit_micros, quota_reset, period)"
                + " values ($1, $2, $3, $4, $5) on conflict (key_id) do update set"
                + " limit_micros = excluded.limit_micros, quota_reset = excluded.quota_reset,"
                + " spent_micros = case when key_budgets.period <> excluded.period then 0"
                + " else key_budgets.spent_micros end, period = excluded.period")
        .execute(Tuple.of(k.keyId(), k.account(), k.quotaMicros(), k.quotaReset().wire(), period))
        .flatMap(
            x ->
                conn.preparedQuery(
                        "update key_budgets set reserved_micros = reserved_micros + $2, updated_at = now()"
                            + " where key_id = $1 and (limit_micros = 0"
                            + " or spent_micros + reserved_micros + $2 <= limit_micros)"
                            + " returning limit_micros, period, spent_micros, reserved_micros")
                    .execute(Tuple.of(k.keyId(), micros)))
        .flatMap(
            rs -> {
              if (rs.rowCount() == 0) {
                throw new Refused(DecisionCode.KEY_QUOTA_EXCEEDED);
              }
              Row r = rs.iterator().next();
              BudgetView.KeyBudget kb =
                  new BudgetView.KeyBudget(
                      r.getLong(0), r.getString(1), r.getLong(2), r.getLong(3));
              return conn.preparedQuery(
                      "update accounts set reserved_micros = reserved_micros + $2, updated_at = now()"
                          + " where account = $1 and balance_micros - reserved_micros - $2 >= 0"
                          + " returning balance_micros, reserved_micros")
                  .execute(Tuple.of(k.account(), micros))
                  .map(
                      ars -> {
                        if (ars.rowCount() == 0) {
                          throw new Refused(DecisionCode.BALANCE_EXHAUSTED);
                        }
                        Row a = ars.iterator().next();
                        view.putKey(k.keyId(), kb);
                        view.putAccount(
                            k.account(), new BudgetView.AccountBalance(a.getLong(0), a.getLong(1)));
                        return DecisionCode.VALID;
                      });
            });
  }

  @Scheduled(
      every = "${kw.holds.sweep:30s}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void sweep() {
    try {
      long n = expire(clock.instant());
      if (n > 0) {
        LOG.infof("released %d expired holds", n);
      }
    } catch (RuntimeException e) {
      LOG.warnf("hold sweep failed: %s", e.getMessage());
    }
  }

  /** Releases holds that expired before {@code now}; returns how many. */
  public long expire(Instant now) {
    Row r =
        pool.preparedQuery(
                "with d as (delete from holds where expires_at < $1"
                    + " returning key_id, account, amount_micros),"
                    + " k as (update key_budgets b set reserved_micros = b.reserved_micros - s.amt,"
                    + " updated_at = now() from (select key_id, sum(amount_micros) amt from d"
                    + " group by key_id) s where b.key_id = s.key_id returning 1),"
                    + " a as (update accounts x set reserved_micros = x.reserved_micros - s.amt,"
                    + " updated_at = now() from (select account, sum(amount_micros) amt from d"
                    + " group by account) s where x.account = s.account returning 1)"
                    + " select (select count(*) from d), (select count(*) from k), (select count(*) from a)")
            .execute(Tuple.of(now.atOffset(ZoneOffset.UTC)))
            .await()
            .indefinitely()
            .iterator()
            .next();
    long n = r.getLong(0);
    if (n > 0) {
      view.refreshNow();
    }
    return n;
  }
}
