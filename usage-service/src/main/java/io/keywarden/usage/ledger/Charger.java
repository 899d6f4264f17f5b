package io.keywarden.usage.ledger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.usage.events.UsageEvents;
import io.keywarden.usage.limits.RateLimiter;
import io.keywarden.usage.projection.KeyProjection;
import io.keywarden.usage.projection.KeyProjection.KeyEntry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Charges usage records with group commit: the records that arrived while a writer's previous
 * transaction was in flight (plus, when {@code kw.usage.group-commit-micros} is set, those arriving
 * within that window; default 0: no wait) are applied in one PostgreSQL transaction by one of
 * {@code kw.usage.writers} writer threads (default 2), each owning the accounts whose hash falls to
 * it:
 *
 * <ol>
 *   <li>(one round trip, with BEGIN) the batch's holds read {@code FOR UPDATE}; its key budgets and
 *       accounts created when missing ({@code ON CONFLICT DO NOTHING}), then read {@code FOR
 *       UPDATE} in sorted order, which locks them without writing them;
 *   <li>each record decided in arrival order against those locked values;
 *   <li>(one round trip, with COMMIT) the ledger rows inserted with their final answers (a plain
 *       INSERT); the settled holds deleted; one guarded UPDATE per key and per account with the
 *       batch's accepted sum ({@code limit = 0 OR spent + reserved + add <= limit}, the spend of an
 *       earlier UTC period counting as zero; the key's limit, reset and period written with it),
 *       ({@code balance - reserved - add >= 0}); the threshold marks. A request id the ledger holds
 *       already fails the insert (unique index): the transaction rolls back, the replays are looked
 *       up and the batch is decided again without them (they get their stored answers). A guard
 *       refusing raises ({@code kw_require}), so the pipelined COMMIT runs as a ROLLBACK and
 *       nothing is acknowledged;
 *   <li>once the COMMIT's answer is in, the callers are answered.
 * </ol>
 *
 * Nothing is acknowledged before the commit. A full queue answers 503 (back-pressure, no loss).
 */
@ApplicationScoped
public class Charger {
  private static final Logger LOG = Logger.getLogger(Charger.class);

  private record Pending(UsageRecord record, CompletableFuture<Result> answer) {}

  /** The answer plus whether it was a replay of an earlier request. */
  public record Result(ChargeOutcome outcome, boolean replay) {}

  /** The answer as JSON (written when the answer is sent, after the commit). */
  public String json(Result r) {
    return write(r.outcome());
  }

  private final Pool pool;
  private final KeyProjection projection;
  private final BudgetView view;
  private final RateLimiter limiter;
  private final UsageEvents events;
  private final ThresholdRelay relay;
  private final Clock clock;
  private final ObjectMapper json;
  private final long windowMicros;
  private final int maxBatch;

  /**
   * One queue per writer; each writer charges the accounts of its partition (the account's hash
   * modulo the writers), so two writers of this instance never lock the same key or account rows
   * and work side by side, and one account's records are charged in arrival order by one writer (a
   * request's records of one account stay together, in order: its later records never commit before
   * its earlier ones and take the quota those should have had). One element per submission and
   * partition. Capacity is counted in records by {@link #queued}.
   */
  private final List<BlockingQueue<List<Pending>>> queues = new ArrayList<>();

  private final AtomicInteger queued = new AtomicInteger();
  private final int capacity;
  private final int writers;
  private volatile boolean running = true;
  private final List<Thread> threads = new ArrayList<>();

  Charger(
      Pool pool,
      KeyProjection projection,
      BudgetView view,
      RateLimiter limiter,
      UsageEvents events,
      ThresholdRelay relay,
      Clock clock,
      ObjectMapper json,
      @ConfigProperty(name = "kw.usage.group-commit-micros", defaultValue = "0") long windowMicros,
      @ConfigProperty(name = "kw.usage.max-batch", defaultValue = "2000") int maxBatch,
      @ConfigProperty(name = "kw.usage.queue-capacity", defaultValue = "20000") int capacity,
      @ConfigProperty(name = "kw.usage.writers", defaultValue = "2") int writers) {
    this.pool = pool;
    this.projection = projection;
    this.view = view;
    this.limiter = limiter;
    this.events = events;
    this.relay = relay;
    this.clock = clock;
    this.json = json;
    this.windowMicros = windowMicros;
    this.maxBatch = maxBatch;
    this.capacity = capacity;
    this.writers = Math.max(1, writers);
    for (int i = 0; i < this.writers; i++) {
      queues.add(new LinkedBlockingQueue<>());
    }
  }

  void start(@Observes StartupEvent e) {
    // a writer per partition of the accounts; their transactions lock keys, then accounts, each in
    // sorted order, like two instances do
    for (int i = 0; i < writers; i++) {
      BlockingQueue<List<Pending>> q = queues.get(i);
      threads.add(
          Thread.ofPlatform().name("usage-group-commit-" + i).daemon().start(() -> loop(q)));
    }
  }

  void stop(@Observes ShutdownEvent e) {
    running = false;
    threads.forEach(Thread::interrupt);
  }

  /**
   * Queues records for charging; the future completes after the commit. Fails at once with {@link
   * Overloaded} when the queue is full.
   */
  public CompletableFuture<List<Result>> submit(List<UsageRecord> records) {
    List<CompletableFuture<Result>> answers = new ArrayList<>(records.size());
    List<Pending> pending = new ArrayList<>(records.size());
    for (UsageRecord r : records) {
      CompletableFuture<Result> f = new CompletableFuture<>();
      answers.add(f);
      pending.add(new Pending(r, f));
    }
    if (queued.addAndGet(pending.size()) > capacity) {
      queued.addAndGet(-pending.size());
      return CompletableFuture.failedFuture(new Overloaded());
    }
    List<List<Pending>> parts = new ArrayList<>(writers);
    for (int i = 0; i < writers; i++) {
      parts.add(new ArrayList<>());
    }
    for (Pending p : pending) {
      parts.get(partition(p.record())).add(p);
    }
    for (int i = 0; i < writers; i++) {
      if (!parts.get(i).isEmpty()) {
        queues.get(i).add(parts.get(i));
      }
    }
    return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
        .thenApply(v -> answers.stream().map(CompletableFuture::join).toList());
  }

  /**
   * The writer of the record's account (an unknown key's record: of its key id). The key is looked
   * up again when its batch is decided: that later entry is the one charged against.
   */
  private int partition(UsageRecord r) {
    if (writers == 1) {
      return 0;
    }
    String account = projection.byId(r.keyId()).map(KeyEntry::account).orElse(r.keyId());
    return Math.floorMod(account.hashCode(), writers);
  }

  /** The queue is full: answer 503 with Retry-After, never drop a record silently. */
  public static final class Overloaded extends RuntimeException {
    Overloaded() {
      super("usage queue full", null, false, false);
    }
  }

  private void take(List<Pending> batch, List<Pending> submission) {
    batch.addAll(submission);
    queued.addAndGet(-submission.size());
  }

  private void loop(BlockingQueue<List<Pending>> queue) {
    List<Pending> batch = new ArrayList<>();
    while (running) {
      try {
        List<Pending> first = queue.poll(1, TimeUnit.SECONDS);
        if (first == null) {
          continue;
        }
        take(batch, first);
        long deadline = System.nanoTime() + windowMicros * 1000;
        // whole submissions only (one holds at most 1,000 records, so a batch may pass maxBatch
        // by less than that)
        while (batch.size() < maxBatch) {
          long left = deadline - System.nanoTime();
          List<Pending> next = left <= 0 ? queue.poll() : queue.poll(left, TimeUnit.NANOSECONDS);
          if (next == null) {
            break;
          }
          take(batch, next);
        }
        process(batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        LOG.errorf("usage batch of %d failed: %s", batch.size(), e.toString());
        for (Pending p : batch) {
          p.answer.completeExceptionally(e);
        }
      } finally {
        batch.clear();
      }
    }
  }

  /** A record of the batch, with what the projection says about its key. */
  private static final class Item {
    final Pending pending;
    final KeyEntry key;
    final long cost;
    final List<Pending> duplicates = new ArrayList<>();
    // found in the ledger already (a conflict on its request id): answered from the stored outcome
    boolean replay;
    boolean fresh;
    long released;
    ChargeOutcome outcome;
    // the answer as stored in the ledger (ChargeOutcome.stored)
    String stored;

    Item(Pending pending, KeyEntry key, long cost) {
      this.pending = pending;
      this.key = key;
      this.cost = cost;
    }
  }

  private void process(List<Pending> batch) {
    Instant now = clock.instant();
    Map<String, Item> items = new LinkedHashMap<>();
    for (Pending p : batch) {
      Item same = items.get(p.record.requestId());
      if (same != null) {
        same.duplicates.add(p);
        continue;
      }
      KeyEntry k = projection.byId(p.record.keyId()).orElse(null);
      if (k == null) {
        p.answer.complete(
            new Result(
                new ChargeOutcome(
                    p.record.requestId(),
                    false,
                    "INVALID_KEY",
                    p.record.keyId(),
                    null,
                    "0.00",
                    null,
                    null,
                    null),
                false));
        continue;
      }
      items.put(p.record.requestId(), new Item(p, k, cost(p.record, k)));
    }
    if (items.isEmpty()) {
      return;
    }
    int attempt = 0;
    while (true) {
      try {
        apply(items, now);
        break;
      } catch (ReplaysFound r) {
        // rolled back; again without them (each round marks at least one, so this ends; a
        // conflict whose writer is not found any more counts as a failed attempt)
        Set<String> found = inLedger(items.values().stream().filter(it -> !it.replay).toList());
        if (found.isEmpty() && ++attempt >= 3) {
          throw new IllegalStateException("request id conflict without a ledger row");
        }
        for (String id : found) {
          items.get(id).replay = true;
        }
        for (Item it : items.values()) {
          it.fresh = false;
          it.released = 0;
          it.outcome = null;
        }
      } catch (RuntimeException e) {
        if (++attempt >= 3) {
          throw e;
        }
        LOG.warnf("usage batch retry %d after %s", attempt, e.getMessage());
        for (Item it : items.values()) {
          it.fresh = false;
          it.released = 0;
          it.outcome = null;
        }
      }
    }
  }

  /** The largest cost a record may name (costUsd at most 10^12 USD), in micro-dollars. */
  static final long MAX_COST_MICROS = 1_000_000_000_000_000_000L;

  private long cost(UsageRecord r, KeyEntry k) {
    if (r.costMicros() != null) {
      return r.costMicros();
    }
    // a record without a model: the models map is immutable and refuses get(null), an NPE that
    // failed the whole batch, answered 503 for ever (S9)
    ModelPrice price =
        r.model() == null
            ? null
            : projection.group(k.group()).map(g -> g.models().get(r.model())).orElse(null);
    if (price == null) {
      return 0;
    }
    // micro-dollars per million tokens; rounded up so nothing is given away
    try {
      long num =
          Math.addExact(
              Math.multiplyExact(r.inputTokens(), price.inputMicrosPerMillion()),
              Math.multiplyExact(r.outputTokens(), price.outputMicrosPerMillion()));
      return Math.min(MAX_COST_MICROS, (num + 999_999) / 1_000_000);
    } catch (ArithmeticException e) {
      // 10^12 tokens of a dear model: more than any amount (it failed the batch: 503 for ever);
      // charged as the largest amount a record may name, which no quota or balance covers
      return MAX_COST_MICROS;
    }
  }

  /**
   * The ledger insert met a request id the ledger holds already (a unique violation on {@code
   * ledger_request_uq}): the batch is rolled back, the replays are looked up and the batch decided
   * again without them. A plain insert, not {@code ON CONFLICT DO NOTHING}: replays are rare, and
   * the speculative insertion cost about 30 % of the insert's CPU on every batch.
   */
  private static boolean isRequestIdConflict(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof io.vertx.pgclient.PgException pg
          && "23505".equals(pg.getSqlState())
          && "ledger_request_uq".equals(pg.getConstraint())) {
        return true;
      }
    }
    return false;
  }

  /** The request ids of these items that the ledger holds already. */
  private Set<String> inLedger(List<Item> items) {
    String[] ids = items.stream().map(it -> it.pending.record().requestId()).toArray(String[]::new);
    Set<String> found = new HashSet<>();
    for (Row r :
        pool.preparedQuery("select request_id from ledger where request_id = any($1)")
            .execute(Tuple.of(ids))
            .await()
            .indefinitely()) {
      found.add(r.getString(0));
    }
    return found;
  }

  /** Records of the batch whose request id the ledger holds already: the batch is rolled back. */
  private static final class ReplaysFound extends RuntimeException {
    ReplaysFound() {
      super("replays in the batch", null, false, false);
    }
  }

  private void apply(Map<String, Item> items, Instant now) {
    var ts = now.atOffset(ZoneOffset.UTC);
    SqlConnection conn = pool.getConnection().await().indefinitely();
    List<Runnable> afterCommit = new ArrayList<>();
    try {
      // arrival order, for the decisions
      List<Item> candidates = items.values().stream().filter(it -> !it.replay).toList();
      if (!candidates.isEmpty()) {
        // BEGIN goes out pipelined with the first statements (one round trip for all of them)
        // plain BEGIN / COMMIT statements, not the client's Transaction (which holds COMMIT back
        // until every answer is in): COMMIT goes out with the second round trip's statements
        Uni<RowSet<Row>> begin = conn.query("BEGIN").execute().memoize().indefinitely();
        begin.subscribe().with(t -> {}, f -> {});
        try {
          charge(conn, begin, candidates, now, ts, afterCommit);
        } catch (RuntimeException e) {
          try {
            // after an error PostgreSQL turned the pipelined COMMIT into a ROLLBACK already; this
            // ends a transaction that failed before it
            conn.query("ROLLBACK").execute().await().indefinitely();
          } catch (RuntimeException ignored) {
            // the connection is closed below
          }
          throw e;
        }
        candidates.forEach(it -> it.fresh = true);
      }
      // replays: the first answer, committed before our insert could conflict with it
      List<String> replays =
          items.values().stream()
              .filter(it -> !it.fresh)
              .map(it -> it.pending.record().requestId())
              .toList();
      Map<String, ChargeOutcome> stored = new HashMap<>();
      if (!replays.isEmpty()) {
        for (Row r :
            conn.preparedQuery(
                    "select request_id, outcome, key_id, account, amount_micros from ledger"
                        + " where request_id = any($1)")
                .execute(Tuple.of(replays.toArray(String[]::new)))
                .await()
                .indefinitely()) {
          ChargeOutcome o =
              ChargeOutcome.fromStored(
                  r.getString(1),
                  r.getString(0),
                  r.getString(2),
                  r.getString(3),
                  r.getLong(4),
                  this::read);
          if (o != null) {
            stored.put(r.getString(0), o);
          }
        }
      }
      for (Runnable r : afterCommit) {
        try {
          r.run();
        } catch (RuntimeException e) {
          LOG.warnf("after-commit hook failed: %s", e.toString());
        }
      }
      for (Item it : items.values()) {
        Result res;
        if (it.fresh) {
          // its JSON is written when the answer is (json(Result)), not while the locks are held
          res = new Result(it.outcome, false);
        } else {
          // a replay frees the request's concurrency slot too: when the first answer was lost
          // with its connection after the COMMIT (E8), the after-commit hook never ran
          limiter.release(it.key.keyId(), it.pending.record().requestId());
          ChargeOutcome o = stored.get(it.pending.record().requestId());
          res =
              o == null
                  ? new Result(
                      new ChargeOutcome(
                          it.pending.record().requestId(),
                          false,
                          "UNAVAILABLE",
                          it.key.keyId(),
                          null,
                          null,
                          null,
                          null,
                          null),
                      false)
                  : new Result(o, true);
        }
        it.pending.answer().complete(res);
        for (Pending d : it.duplicates) {
          d.answer().complete(new Result(res.outcome(), true));
        }
      }
    } finally {
      conn.closeAndForget();
    }
  }

  /**
   * One transaction in two round trips, the COMMIT in the second, each ledger row written once with
   * its final answer:
   *
   * <ol>
   *   <li>(pipelined with BEGIN) the batch's holds read and locked, its missing key budgets and
   *       accounts created, then all of them read and locked in sorted order;
   *   <li>every record decided in arrival order against those locked values;
   *   <li>(pipelined) the ledger rows inserted with their answers, the holds deleted, one guarded
   *       UPDATE per key and per account, the threshold marks. A request id already in the ledger
   *       fails the insert: the whole transaction rolls back and the batch is decided again without
   *       the replays ({@link ReplaysFound}). A guard refusing raises and rolls it back too. Then
   *       COMMIT, pipelined with them.
   * </ol>
   */
  private void charge(
      SqlConnection conn,
      Uni<RowSet<Row>> begin,
      List<Item> fresh,
      Instant now,
      java.time.OffsetDateTime ts,
      List<Runnable> afterCommit) {
    String[] reqIds = new String[fresh.size()];
    Map<String, Item> byReq = new HashMap<>();
    for (int i = 0; i < reqIds.length; i++) {
      Item it = fresh.get(i);
      reqIds[i] = it.pending.record().requestId();
      byReq.put(reqIds[i], it);
    }
    TreeMap<String, KeyEntry> keys = new TreeMap<>();
    TreeMap<String, Boolean> accounts = new TreeMap<>();
    for (Item it : fresh) {
      keys.put(it.key.keyId(), it.key);
      accounts.put(it.key.account(), true);
    }
    int nk = keys.size();
    String[] kIds = new String[nk];
    String[] kAcc = new String[nk];
    int j = 0;
    for (KeyEntry k : keys.values()) {
      kIds[j] = k.keyId();
      kAcc[j] = k.account();
      j++;
    }
    // 1. holds, then keys, then accounts (the order every writer locks in), with BEGIN
    Uni<RowSet<Row>> holdRows =
        conn.preparedQuery(
                "select request_id, amount_micros from holds where request_id = any($1)"
                    + " order by request_id for update")
            .execute(Tuple.of(reqIds));
    // the rows missing (a key's or an account's first charge) are created first, with defaults:
    // the guarded update below writes the key's limit, reset and period before anyone else can
    // see the row. The batch's rows are then locked and read without writing them: a row is
    // written once per batch, by its guarded update (each write of these rows is a new version
    // with index entries, as updated_at is indexed for the other replicas' polling)
    Uni<RowSet<Row>> keyInsert =
        conn.preparedQuery(
                "insert into key_budgets (key_id, account)"
                    + " select * from unnest($1::varchar[], $2::varchar[]) order by 1"
                    + " on conflict (key_id) do nothing")
            .execute(Tuple.of(kIds, kAcc));
    Uni<RowSet<Row>> keyRows =
        conn.preparedQuery(
                "select key_id, spent_micros, reserved_micros, period from key_budgets"
                    + " where key_id = any($1) order by key_id for update")
            .execute(Tuple.of(kIds));
    String[] accIds = accounts.keySet().toArray(String[]::new);
    Uni<RowSet<Row>> accountInsert =
        conn.preparedQuery(
                "insert into accounts (account) select * from unnest($1::varchar[]) order by 1"
                    + " on conflict (account) do nothing")
            .execute(Tuple.of(accIds));
    Uni<RowSet<Row>> accountRows =
        conn.preparedQuery(
                "select account, balance_micros, reserved_micros, credited_micros from accounts"
                    + " where account = any($1) order by account for update")
            .execute(Tuple.of(accIds));
    Decided d = new Decided();
    List<RowSet<Row>> done;
    try {
      done =
          Uni.combine()
              .all()
              .unis(begin, holdRows, keyInsert, keyRows, accountInsert, accountRows)
              .asTuple()
              // decided and sent on the connection's event loop as soon as the locked values
              // arrive: no hand-off to this thread and back while the batch holds its locks, and
              // the second round trip's statements leave together
              .onItem()
              .transformToUni(
                  locked ->
                      decideAndSend(
                          conn,
                          locked.getItem2(),
                          locked.getItem4(),
                          locked.getItem6(),
                          keys,
                          fresh,
                          byReq,
                          now,
                          ts,
                          d))
              .await()
              .indefinitely();
    } catch (RuntimeException e) {
      if (isRequestIdConflict(e)) {
        // which of the batch's request ids are replays is looked up after the rollback
        throw new ReplaysFound();
      }
      throw e;
    }
    int m = d.m;
    int na = d.na;
    int marksAt = d.marksAt;
    Map<String, BudgetView.KeyBudget> newBudgets = new HashMap<>();
    for (Row r : done.get(1)) {
      newBudgets.put(
          r.getString(0),
          new BudgetView.KeyBudget(r.getLong(1), r.getString(2), r.getLong(3), r.getLong(4)));
    }
    if (newBudgets.size() != m) {
      throw new IllegalStateException("key guard refused a batch total; rolled back");
    }
    Map<String, BudgetView.AccountBalance> newBalances = new HashMap<>();
    for (Row r : done.get(2)) {
      newBalances.put(r.getString(0), new BudgetView.AccountBalance(r.getLong(1), r.getLong(2)));
    }
    if (newBalances.size() != na) {
      throw new IllegalStateException("account guard refused a batch total; rolled back");
    }
    List<Object[]> crossed = new ArrayList<>();
    if (done.size() > marksAt) {
      for (Row r : done.get(marksAt)) {
        crossed.add(
            new Object[] {
              r.getString(0), r.getInteger(1), r.getString(2), r.getString(3), r.getString(4)
            });
      }
    }
    afterCommit.add(
        () -> {
          newBudgets.forEach(view::putKey);
          newBalances.forEach(view::putAccount);
          Set<String> seen = new HashSet<>();
          for (Item it : fresh) {
            UsageRecord r = it.pending.record();
            limiter.release(it.key.keyId(), r.requestId());
            if (it.outcome.accepted()) {
              limiter.addTokens(it.key.keyId(), r.inputTokens() + r.outputTokens(), now);
            }
            BudgetView.KeyBudget kb = newBudgets.get(it.key.keyId());
            events.charged(
                it.key,
                it.outcome.accepted() ? it.cost : 0,
                it.outcome.accepted() ? r.inputTokens() : 0,
                it.outcome.accepted() ? r.outputTokens() : 0,
                kb == null ? 0 : kb.spentMicros(),
                it.outcome.accepted() ? null : it.outcome.code(),
                now);
            seen.add(it.key.keyId());
          }
          // the threshold events stored with their marks: sent now, cleared when acknowledged
          // (a kill -9 before that leaves them to the relay)
          for (Object[] c : crossed) {
            relay.send((String) c[3], (String) c[0], (Integer) c[1], (String) c[2], (String) c[4]);
          }
        });
  }

  /** What deciding a batch leaves for after its commit. */
  private static final class Decided {
    int m;
    int na;
    int marksAt;
    Map<String, Long> credited;
    Map<String, KeyEntry> lastKeyOf;
  }

  /**
   * Steps 4-7 on the connection's event loop: every record decided against the locked values, then
   * the ledger rows, the guarded updates, the threshold marks and COMMIT sent in one go.
   */
  private Uni<List<RowSet<Row>>> decideAndSend(
      SqlConnection conn,
      RowSet<Row> lockedHolds,
      RowSet<Row> lockedKeys,
      RowSet<Row> lockedAccounts,
      Map<String, KeyEntry> keys,
      List<Item> fresh,
      Map<String, Item> byReq,
      Instant now,
      java.time.OffsetDateTime ts,
      Decided d) {
    List<String> heldIds = new ArrayList<>();
    for (Row r : lockedHolds) {
      byReq.get(r.getString(0)).released = r.getLong(1);
      heldIds.add(r.getString(0));
    }
    // the key's limit and period are the projection's (the guarded update writes them); a spend
    // of an earlier period counts as zero (the update starts the new period from zero)
    Map<String, long[]> budget = new HashMap<>(); // limit, spent, reserved
    Map<String, String> periodOf = new HashMap<>();
    for (Row r : lockedKeys) {
      KeyEntry k = keys.get(r.getString(0));
      String period = Periods.current(k.quotaReset(), now);
      long spent = period.equals(r.getString(3)) ? r.getLong(1) : 0L;
      budget.put(r.getString(0), new long[] {k.quotaMicros(), spent, r.getLong(2)});
      periodOf.put(r.getString(0), period);
    }
    if (budget.size() != keys.size()) {
      throw new IllegalStateException("a key budget row of the batch was not found");
    }
    Map<String, long[]> balance = new HashMap<>(); // balance, reserved
    Map<String, Long> credited = new HashMap<>();
    for (Row r : lockedAccounts) {
      balance.put(r.getString(0), new long[] {r.getLong(1), r.getLong(2)});
      credited.put(r.getString(0), r.getLong(3));
    }
    // 4. decide in arrival order against the locked values
    Map<String, long[]> keyDelta = new TreeMap<>(); // add, released
    Map<String, long[]> accDelta = new TreeMap<>();
    for (Item it : fresh) {
      keyDelta.computeIfAbsent(it.key.keyId(), x -> new long[2])[1] += it.released;
      accDelta.computeIfAbsent(it.key.account(), x -> new long[2])[1] += it.released;
    }
    for (Item it : fresh) {
      long[] b = budget.get(it.key.keyId());
      long[] a = balance.get(it.key.account());
      long[] kd = keyDelta.get(it.key.keyId());
      long[] ad = accDelta.get(it.key.account());
      long keyReserved = b[2] - kd[1];
      long accReserved = a[1] - ad[1];
      String code;
      if (b[0] != 0 && b[1] + kd[0] + keyReserved + it.cost > b[0]) {
        code = "KEY_QUOTA_EXCEEDED";
      } else if (it.cost > 0 && a[0] - ad[0] - accReserved - it.cost < 0) {
        code = "BALANCE_EXHAUSTED";
      } else {
        code = "VALID";
        kd[0] += it.cost;
        ad[0] += it.cost;
      }
      boolean ok = code.equals("VALID");
      it.outcome =
          ChargeOutcome.of(
              it.pending.record().requestId(),
              ok,
              code,
              it.key.keyId(),
              it.key.account(),
              ok ? it.cost : 0,
              b[1] + kd[0],
              b[0],
              a[0] - ad[0]);
      it.stored = ChargeOutcome.stored(code, b[1] + kd[0], b[0], a[0] - ad[0]);
    }
    // 5.-7. sent together (one round trip): one guarded update per key and per account, the
    // ledger rows' amounts and answers, and the thresholds crossed. The thresholds are decided
    // from the locked values plus the batch's sums - what the guarded updates will return - and
    // if a guard refuses, everything, marks included, is rolled back.
    int m = keyDelta.size();
    String[] uk = new String[m];
    Long[] uAdd = new Long[m];
    Long[] uRel = new Long[m];
    Long[] uLim = new Long[m];
    String[] uReset = new String[m];
    String[] uPeriod = new String[m];
    int q = 0;
    for (var e : keyDelta.entrySet()) {
      KeyEntry k = keys.get(e.getKey());
      uk[q] = e.getKey();
      uAdd[q] = e.getValue()[0];
      uRel[q] = e.getValue()[1];
      uLim[q] = k.quotaMicros();
      uReset[q] = k.quotaReset().wire();
      uPeriod[q] = periodOf.get(e.getKey());
      q++;
    }
    // the spend of the period (zero when the row's period is an earlier one) + the batch's charges
    // within the limit; the row takes the projection's limit, reset and period at the same time
    Uni<RowSet<Row>> keyUpdate =
        conn.preparedQuery(
                "with u as (update key_budgets b set spent_micros = (case when b.period = u.p"
                    + " then b.spent_micros else 0 end) + u.a,"
                    + " reserved_micros = b.reserved_micros - u.r, limit_micros = u.l,"
                    + " quota_reset = u.q, period = u.p, updated_at = now()"
                    + " from unnest($1::varchar[], $2::int8[], $3::int8[], $5::int8[],"
                    + " $6::varchar[], $7::varchar[]) as u(k, a, r, l, q, p)"
                    + " where b.key_id = u.k and (u.a = 0 or u.l = 0"
                    + " or (case when b.period = u.p then b.spent_micros else 0 end)"
                    + " + u.a + b.reserved_micros - u.r <= u.l)"
                    + " returning b.key_id, b.limit_micros, b.period, b.spent_micros,"
                    + " b.reserved_micros)"
                    + " select u.* from (select kw_require(count(*) = $4,"
                    + " 'key guard refused a batch total') as ok from u) c left join u on c.ok")
            .execute(
                Tuple.tuple()
                    .addValue(uk)
                    .addValue(uAdd)
                    .addValue(uRel)
                    .addValue((long) m)
                    .addValue(uLim)
                    .addValue(uReset)
                    .addValue(uPeriod));
    int na = accDelta.size();
    String[] ua = new String[na];
    Long[] aAdd = new Long[na];
    Long[] aRel = new Long[na];
    q = 0;
    for (var e : accDelta.entrySet()) {
      ua[q] = e.getKey();
      aAdd[q] = e.getValue()[0];
      aRel[q] = e.getValue()[1];
      q++;
    }
    Uni<RowSet<Row>> accountUpdate =
        conn.preparedQuery(
                "with u as (update accounts x set balance_micros = x.balance_micros - u.a,"
                    + " reserved_micros = x.reserved_micros - u.r, updated_at = now()"
                    + " from unnest($1::varchar[], $2::int8[], $3::int8[]) as u(k, a, r)"
                    + " where x.account = u.k and (u.a = 0"
                    + " or x.balance_micros - u.a - x.reserved_micros + u.r >= 0)"
                    + " returning x.account, x.balance_micros, x.reserved_micros)"
                    + " select u.* from (select kw_require(count(*) = $4,"
                    + " 'account guard refused a batch total') as ok from u) c left join u on c.ok")
            .execute(Tuple.tuple().addValue(ua).addValue(aAdd).addValue(aRel).addValue((long) na));
    int n = fresh.size();
    String[] lr = new String[n];
    String[] lk = new String[n];
    Long[] la = new Long[n];
    String[] lo = new String[n];
    for (int i = 0; i < n; i++) {
      Item it = fresh.get(i);
      lr[i] = it.pending.record().requestId();
      lk[i] = it.outcome.accepted() ? "charge" : "denied";
      la[i] = it.outcome.accepted() ? -it.cost : 0L;
      lo[i] = it.stored;
    }
    String[] lKey = new String[n];
    String[] lAcc = new String[n];
    String[] lModel = new String[n];
    Long[] lIn = new Long[n];
    Long[] lOut = new Long[n];
    for (int i = 0; i < n; i++) {
      UsageRecord r = fresh.get(i).pending.record();
      lKey[i] = fresh.get(i).key.keyId();
      lAcc[i] = fresh.get(i).key.account();
      lModel[i] = r.model();
      lIn[i] = r.inputTokens();
      lOut[i] = r.outputTokens();
    }
    Uni<RowSet<Row>> ledgerInsert =
        conn.preparedQuery(
                "insert into ledger (request_id, key_id, account, model, input_tokens,"
                    + " output_tokens, kind, amount_micros, outcome, created_at)"
                    + " select r, k, a, m, i, o, kd, am, oc, $10 from unnest($1::varchar[],"
                    + " $2::varchar[], $3::varchar[], $4::varchar[], $5::int8[], $6::int8[],"
                    + " $7::varchar[], $8::int8[], $9::text[]) as u(r, k, a, m, i, o, kd, am, oc)")
            .execute(
                Tuple.tuple()
                    .addValue(lr)
                    .addValue(lKey)
                    .addValue(lAcc)
                    .addValue(lModel)
                    .addValue(lIn)
                    .addValue(lOut)
                    .addValue(lk)
                    .addValue(la)
                    .addValue(lo)
                    .addValue(ts));
    // thresholds crossed (80/95/100 % of a key's quota), decided once per period
    List<String> tScope = new ArrayList<>();
    List<String> tSubject = new ArrayList<>();
    List<Integer> tPercent = new ArrayList<>();
    List<String> tPeriod = new ArrayList<>();
    List<String> tEvent = new ArrayList<>();
    for (var e : keyDelta.entrySet()) {
      long[] b = budget.get(e.getKey());
      long limit = b[0];
      long spent = b[1] + e.getValue()[0];
      if (limit <= 0) {
        continue;
      }
      for (int p : new int[] {80, 95, 100}) {
        if (spent * 100 >= (long) p * limit) {
          tScope.add("key");
          tSubject.add(e.getKey());
          tPercent.add(p);
          tPeriod.add(periodOf.get(e.getKey()));
          tEvent.add(
              UsageEvents.thresholdEvent(
                  keys.get(e.getKey()), "key", p, spent, limit, periodOf.get(e.getKey()), now));
        }
      }
    }
    // ... and of an account's balance: spent = credited - balance, once per credit level; the
    // event names the key whose charge crossed it (the last one of the account in the batch)
    Map<String, KeyEntry> lastKeyOf = new HashMap<>();
    for (Item it : fresh) {
      if (it.outcome.accepted() && it.cost > 0) {
        lastKeyOf.put(it.key.account(), it.key);
      }
    }
    for (var e : lastKeyOf.entrySet()) {
      long limit = credited.getOrDefault(e.getKey(), 0L);
      if (limit <= 0) {
        continue;
      }
      long spent = limit - (balance.get(e.getKey())[0] - accDelta.get(e.getKey())[0]);
      for (int p : new int[] {80, 95, 100}) {
        if (spent * 100 >= (long) p * limit) {
          tScope.add("account");
          tSubject.add(e.getKey());
          tPercent.add(p);
          tPeriod.add("credit-" + limit);
          tEvent.add(
              UsageEvents.thresholdEvent(
                  e.getValue(), "account", p, spent, limit, "credit-" + limit, now));
        }
      }
    }
    // the ledger insert first: a replay waits there for the transaction that wrote it
    List<Uni<RowSet<Row>>> sent = new ArrayList<>(List.of(ledgerInsert, keyUpdate, accountUpdate));
    if (!heldIds.isEmpty()) {
      sent.add(
          conn.preparedQuery("delete from holds where request_id = any($1)")
              .execute(Tuple.of(heldIds.toArray(String[]::new))));
    }
    int marksAt = sent.size();
    if (!tScope.isEmpty()) {
      sent.add(
          conn.preparedQuery(
                  "insert into threshold_marks (scope, subject, percent, period, event,"
                      // the database's clock: the relay compares it with now() (a test's clock may
                      // be moved)
                      + " created_at) select *, now() from unnest($1::varchar[], $2::varchar[],"
                      + " $3::int4[], $4::varchar[], $5::text[])"
                      + " on conflict do nothing returning subject, percent, period, scope, event")
              .execute(
                  Tuple.tuple()
                      .addValue(tScope.toArray(String[]::new))
                      .addValue(tSubject.toArray(String[]::new))
                      .addValue(tPercent.toArray(Integer[]::new))
                      .addValue(tPeriod.toArray(String[]::new))
                      .addValue(tEvent.toArray(String[]::new))));
    }
    // COMMIT in the same round trip: the key and account locks are released one client round
    // trip sooner. It commits only if every statement before it succeeded: after an error
    // (a replay's unique violation, a guard's kw_require) PostgreSQL runs it as a ROLLBACK.
    sent.add(conn.query("COMMIT").execute());
    d.m = m;
    d.na = na;
    d.marksAt = marksAt;
    d.credited = credited;
    d.lastKeyOf = lastKeyOf;
    @SuppressWarnings("unchecked")
    Uni<List<RowSet<Row>>> all =
        Uni.combine()
            .all()
            .unis(sent)
            .with(results -> results.stream().map(r -> (RowSet<Row>) r).toList());
    return all;
  }

  private String write(ChargeOutcome o) {
    try {
      return json.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private ChargeOutcome read(String s) {
    if (s == null) {
      return null;
    }
    try {
      return json.readValue(s, ChargeOutcome.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
