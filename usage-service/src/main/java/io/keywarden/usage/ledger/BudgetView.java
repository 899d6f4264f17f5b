package io.keywarden.usage.ledger;

import io.quarkus.scheduler.Scheduled;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * The request path's view of spend: each key's budget and each account's balance, refreshed from
 * the ledger after every commit of this instance and every second from rows other instances
 * changed. It is a fast pre-check only; the exact guard is the guarded UPDATE at charge time.
 */
@ApplicationScoped
public class BudgetView {
  private static final Logger LOG = Logger.getLogger(BudgetView.class);

  /** A key's spend in {@code period}. */
  public record KeyBudget(long limitMicros, String period, long spentMicros, long reservedMicros) {}

  /** An account's balance and open reservations. */
  public record AccountBalance(long balanceMicros, long reservedMicros) {
    public long availableMicros() {
      return balanceMicros - reservedMicros;
    }
  }

  private final Map<String, KeyBudget> keys = new ConcurrentHashMap<>();
  private final Map<String, AccountBalance> accounts = new ConcurrentHashMap<>();
  private final Pool pool;
  private volatile OffsetDateTime watermark = OffsetDateTime.parse("1970-01-01T00:00:00Z");

  BudgetView(Pool pool) {
    this.pool = pool;
  }

  public KeyBudget key(String keyId) {
    return keys.get(keyId);
  }

  public AccountBalance account(String account) {
    AccountBalance a = accounts.get(account);
    return a == null ? new AccountBalance(0, 0) : a;
  }

  public void putKey(String keyId, KeyBudget b) {
    keys.put(keyId, b);
  }

  public void putAccount(String account, AccountBalance b) {
    accounts.put(account, b);
  }

  /** Spend of the key in {@code currentPeriod} (0 when the stored spend is of an older period). */
  public long spentIn(String keyId, String currentPeriod) {
    KeyBudget b = keys.get(keyId);
    if (b == null) {
      return 0;
    }
    return currentPeriod.equals(b.period()) ? b.spentMicros() : 0;
  }

  public long reserved(String keyId) {
    KeyBudget b = keys.get(keyId);
    return b == null ? 0 : b.reservedMicros();
  }

  @Scheduled(
      every = "${kw.budget.refresh:1s}",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void refresh() {
    try {
      refreshNow();
    } catch (RuntimeException e) {
      LOG.debugf("budget refresh failed: %s", e.getMessage());
    }
  }

  /** Loads rows changed since the last refresh (with a margin for in-flight transactions). */
  public synchronized void refreshNow() {
    OffsetDateTime since = watermark.minusSeconds(5);
    OffsetDateTime newest = watermark;
    for (Row r :
        pool.preparedQuery(
                "select key_id, limit_micros, period, spent_micros, reserved_micros, updated_at"
                    + " from key_budgets where updated_at > $1")
            .execute(Tuple.of(since))
            .await()
            .indefinitely()) {
      keys.put(
          r.getString(0), new KeyBudget(r.getLong(1), r.getString(2), r.getLong(3), r.getLong(4)));
      OffsetDateTime u = r.getOffsetDateTime(5);
      if (u.isAfter(newest)) {
        newest = u;
      }
    }
    for (Row r :
        pool.preparedQuery(
                "select account, balance_micros, reserved_micros, updated_at from accounts"
                    + " where updated_at > $1")
            .execute(Tuple.of(since))
            .await()
            .indefinitely()) {
      accounts.put(r.getString(0), new AccountBalance(r.getLong(1), r.getLong(2)));
      OffsetDateTime u = r.getOffsetDateTime(3);
      if (u.isAfter(newest)) {
        newest = u;
      }
    }
    watermark = newest;
  }
}
