package io.keywarden.audit.findings;

import io.keywarden.audit.alerts.AlertPlanner;
import io.keywarden.audit.config.AuditConfig;
import io.keywarden.audit.domain.AuditKey;
import io.keywarden.audit.domain.Finding;
import io.keywarden.audit.findings.Reconciliation.Change;
import io.keywarden.audit.findings.Reconciliation.Existing;
import io.keywarden.audit.findings.Reconciliation.Open;
import io.keywarden.audit.findings.Reconciliation.Resolve;
import io.keywarden.audit.findings.Reconciliation.Update;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Evaluates the rules for keys and stores the result: opens, updates and resolves findings, and
 * asks the {@link AlertPlanner} for alerts. Runs inside the caller's transaction.
 */
@ApplicationScoped
public class FindingEngine {
  private final FindingRules rules;
  private final AlertPlanner alerts;
  private final Clock clock;

  FindingEngine(AuditConfig config, AlertPlanner alerts, Clock clock) {
    this.rules = new FindingRules(config.thresholds());
    this.alerts = alerts;
    this.clock = clock;
  }

  /** Re-evaluates one key (after an event). */
  public Uni<Void> evaluate(AuditKey key) {
    return evaluate(List.of(key));
  }

  /**
   * Evaluates a key whose row this transaction has just inserted: it can have neither findings nor
   * usage rows yet (usage of an unknown key creates the row first, and rows are never deleted; a
   * concurrent insert of the same row makes this transaction fail and the event is retried), so the
   * two reads of {@link #evaluate(List)} are skipped.
   */
  public Uni<Void> evaluateNew(AuditKey key) {
    Instant now = clock.instant();
    LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    return apply(key, rules.evaluate(key.facts(today, 0, 0), now), List.of(), now);
  }

  /** Re-evaluates a batch of keys in the current transaction. */
  public Uni<Void> evaluate(List<AuditKey> keys) {
    if (keys.isEmpty()) {
      return Uni.createFrom().voidItem();
    }
    Instant now = clock.instant();
    LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    List<String> ids = keys.stream().map(k -> k.keyId).toList();
    Uni<List<Finding>> open =
        Finding.<Finding>list("keyId in ?1 and status <> ?2", ids, Finding.RESOLVED);
    return open.chain(
        findings ->
            dailyUsage(ids, today)
                .chain(
                    usage -> {
                      Map<String, List<Finding>> byKey = new HashMap<>();
                      for (Finding f : findings) {
                        byKey.computeIfAbsent(f.keyId, x -> new ArrayList<>()).add(f);
                      }
                      List<Uni<Void>> work = new ArrayList<>();
                      for (AuditKey k : keys) {
                        int[] u = usage.getOrDefault(k.keyId, new int[] {0, 0});
                        KeyFacts facts = k.facts(today, u[0], u[1]);
                        List<Finding> existing = byKey.getOrDefault(k.keyId, List.of());
                        work.add(apply(k, rules.evaluate(facts, now), existing, now));
                      }
                      return sequentially(work);
                    }));
  }

  private Uni<Void> apply(
      AuditKey key, List<FindingRules.Desired> desired, List<Finding> existing, Instant now) {
    Map<UUID, Finding> byId = new HashMap<>();
    List<Existing> current = new ArrayList<>();
    for (Finding f : existing) {
      byId.put(f.id, f);
      current.add(new Existing(f.id, FindingType.valueOf(f.type), f.period, f.detail));
    }
    List<Change> changes = Reconciliation.plan(desired, current);
    List<Uni<Void>> work = new ArrayList<>();
    for (Change c : changes) {
      switch (c) {
        case Open o -> {
          Finding f = new Finding();
          f.id = UUID.randomUUID();
          f.keyId = key.keyId;
          f.account = key.account;
          f.type = o.desired().type().name();
          f.status = Finding.OPEN;
          f.period = o.desired().period();
          f.detail = o.desired().detail();
          f.openedAt = now;
          f.updatedAt = now;
          work.add(f.persist().chain(x -> alerts.raise(key, f)));
        }
        case Update u -> {
          Finding f = byId.get(u.id());
          f.period = u.desired().period();
          f.detail = u.desired().detail();
          f.updatedAt = now;
          if (u.periodChanged()) {
            // a new occurrence: an acknowledgement silenced only the previous one
            f.status = Finding.OPEN;
            f.ackedAt = null;
            work.add(alerts.raise(key, f));
          }
        }
        case Resolve r -> {
          Finding f = byId.get(r.id());
          f.status = Finding.RESOLVED;
          f.resolvedAt = now;
          f.updatedAt = now;
        }
      }
    }
    return sequentially(work);
  }

  /** Distinct client IPs and user agents of today per key. */
  private Uni<Map<String, int[]>> dailyUsage(List<String> ids, LocalDate day) {
    return Panache.getSession()
        .chain(
            s ->
                s.createNativeQuery(
                        "select u.key_id, greatest(u.max_window_ips, coalesce(i.n, 0)),"
                            + " u.max_window_agents from key_daily_usage u left join (select"
                            + " key_id, count(*) as n from key_daily_ips where day = :day and"
                            + " key_id in (:ids) group by key_id) i on i.key_id = u.key_id where"
                            + " u.day = :day and u.key_id in (:ids)",
                        Object[].class)
                    .setParameter("day", day)
                    .setParameter("ids", ids)
                    .getResultList())
        .map(
            rows -> {
              Map<String, int[]> out = new HashMap<>();
              for (Object[] r : rows) {
                out.put(
                    (String) r[0],
                    new int[] {((Number) r[1]).intValue(), ((Number) r[2]).intValue()});
              }
              return out;
            });
  }

  static Uni<Void> sequentially(List<Uni<Void>> work) {
    Uni<Void> chain = Uni.createFrom().voidItem();
    for (Uni<Void> w : work) {
      chain = chain.chain(() -> w);
    }
    return chain;
  }
}
