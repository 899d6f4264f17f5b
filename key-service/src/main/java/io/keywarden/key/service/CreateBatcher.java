package io.keywarden.key.service;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Group commit of key creates: the {@code kw_create_key} calls (V3) waiting while earlier ones are
 * on their way go to PostgreSQL together, as one pipelined batch (Bind/Execute per create, one
 * Sync): one round trip, one implicit transaction, one commit for the whole batch. No waiting
 * window: a batch is whatever queued up while at most {@code kw.create-batch.in-flight} (default 2;
 * at most {@code kw.create-batch.max-size} = 64 creates each) batches were in flight, so a lone
 * create goes alone and at once.
 *
 * <p>Results stay exact per request: every call returns its own outcome row (ok, name, hash, live,
 * group, policy) as it does alone, and a refusal is a row, not an error, so it does not disturb the
 * others. Each statement of the function takes a fresh snapshot and sees the earlier creates of the
 * same transaction, so two creates of one account with the same name in one batch give one ok and
 * one 'name', the live-key cap counts the batch's own keys, and the per-account advisory lock is
 * re-entrant within the transaction. Calls are ordered by account (arrival order kept within an
 * account), so two batches in flight take their account locks in the same order.
 *
 * <p>Should the batch fail as a whole (an error in any call rolls back the implicit transaction:
 * nothing of it is written), each of its creates is run again alone, so each gets the answer or the
 * error it would have got on its own, and none fails for another's fault.
 */
@ApplicationScoped
public class CreateBatcher {
  private static final Logger LOG = Logger.getLogger(CreateBatcher.class);

  static final String CREATE_CALL =
      "select outcome, live, models_json, max_live_keys_per_account, max_quota_micros,"
          + " max_lifetime_seconds, default_lifetime_seconds, outbox_seq"
          + " from kw_create_key($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
          + " $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)";

  private record Item(String account, Tuple args, UniEmitter<? super Row> answer, Context ctx) {}

  private final Pool pool;
  private final int maxBatch;
  private final int maxInFlight;
  private final ConcurrentLinkedQueue<Item> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong batched = new AtomicLong();
  private final AtomicLong fallbacks = new AtomicLong();

  CreateBatcher(
      Pool pool,
      @ConfigProperty(name = "kw.create-batch.max-size", defaultValue = "64") int maxBatch,
      @ConfigProperty(name = "kw.create-batch.in-flight", defaultValue = "2") int maxInFlight) {
    this.pool = pool;
    this.maxBatch = Math.max(1, maxBatch);
    this.maxInFlight = Math.max(1, maxInFlight);
  }

  /** Runs one {@code kw_create_key} call (its 29 arguments) with others; its outcome row. */
  public Uni<Row> create(String account, Tuple args) {
    return Uni.createFrom()
        .emitter(
            em -> {
              queue.add(new Item(account, args, em, Vertx.currentContext()));
              kick();
            });
  }

  /**
   * Queues several calls at once, so they go in one batch when no batch is in flight; one answer
   * each, in order (tests: the exactness of results inside one batch).
   */
  public List<Uni<Row>> createTogether(List<String> accounts, List<Tuple> args) {
    List<Uni<Row>> answers = new ArrayList<>();
    List<Item> items = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String account = accounts.get(i);
      Tuple a = args.get(i);
      Uni<Row> u =
          Uni.createFrom()
              .<Row>emitter(em -> items.add(new Item(account, a, em, Vertx.currentContext())))
              .memoize()
              .indefinitely();
      u.subscribe().with(r -> {}, e -> {}); // registers the item
      answers.add(u);
    }
    queue.addAll(items);
    kick();
    return answers;
  }

  void onStop(@jakarta.enterprise.event.Observes io.quarkus.runtime.ShutdownEvent ev) {
    long b = batches.get();
    LOG.infof(
        "create batches: %d batches of 2 or more, %d creates in them (%.1f per batch), %d re-run"
            + " one by one",
        b, batched.get(), b == 0 ? 0.0 : batched.get() / (double) b, fallbacks.get());
  }

  /** Batches sent, creates sent in batches of two or more, batches re-run one by one. */
  public long[] stats() {
    return new long[] {batches.get(), batched.get(), fallbacks.get()};
  }

  private void kick() {
    while (!queue.isEmpty()) {
      int n = inFlight.get();
      if (n >= maxInFlight) {
        return; // the batch in flight starts the next one when it ends
      }
      if (inFlight.compareAndSet(n, n + 1)) {
        send();
      }
    }
  }

  private void done() {
    inFlight.decrementAndGet();
    kick();
  }

  private void send() {
    List<Item> batch = new ArrayList<>();
    Item it;
    while (batch.size() < maxBatch && (it = queue.poll()) != null) {
      batch.add(it);
    }
    if (batch.isEmpty()) {
      done();
      return;
    }
    if (batch.size() == 1) {
      Item one = batch.get(0);
      single(one).subscribe().with(ok -> done(), e -> done());
      return;
    }
    batch.sort(Comparator.comparing(Item::account)); // stable: arrival order within an account
    batches.incrementAndGet();
    batched.addAndGet(batch.size());
    List<Tuple> args = new ArrayList<>(batch.size());
    for (Item i : batch) {
      args.add(i.args());
    }
    pool.preparedQuery(CREATE_CALL)
        .executeBatch(args)
        .subscribe()
        .with(
            rows -> {
              RowSet<Row> rs = rows;
              for (Item i : batch) {
                Row r = rs == null ? null : first(rs);
                if (r == null) {
                  answer(i, null, new IllegalStateException("kw_create_key: no outcome row"));
                } else {
                  answer(i, r, null);
                }
                rs = rs == null ? null : rs.next();
              }
              done();
            },
            e -> {
              // nothing of the batch was written: each create on its own, for its own answer
              fallbacks.incrementAndGet();
              LOG.debugf("a batch of %d creates failed, run one by one: %s", batch.size(), e);
              List<Uni<Row>> alone = new ArrayList<>(batch.size());
              for (Item i : batch) {
                alone.add(single(i).onFailure().recoverWithNull());
              }
              Uni.join().all(alone).andCollectFailures().subscribe().with(x -> done(), x -> done());
            });
  }

  private static Row first(RowSet<Row> rs) {
    var iter = rs.iterator();
    return iter.hasNext() ? iter.next() : null;
  }

  private Uni<Row> single(Item i) {
    return pool.preparedQuery(CREATE_CALL)
        .execute(i.args())
        .map(CreateBatcher::first)
        .invoke(
            r ->
                answer(
                    i,
                    r,
                    r == null ? new IllegalStateException("kw_create_key: no outcome row") : null))
        .onFailure()
        .invoke(e -> answer(i, null, e));
  }

  /** Completes a create on its caller's Vert.x context, as the SQL client itself does. */
  private static void answer(Item i, Row r, Throwable e) {
    Runnable complete =
        () -> {
          if (e != null) {
            i.answer().fail(e);
          } else {
            i.answer().complete(r);
          }
        };
    Context ctx = i.ctx();
    if (ctx == null || ctx == Vertx.currentContext()) {
      complete.run();
    } else {
      ctx.runOnContext(v -> complete.run());
    }
  }
}
