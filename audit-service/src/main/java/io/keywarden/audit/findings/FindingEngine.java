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
    Batch batch = new Batch();
    batch.plan(key, rules.evaluate(key.facts(today, 0, 0), now), List.of(), now);
    return batch.write(now);
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
                      Batch batch = new Batch();
                      for (AuditKey k : keys) {
                        int[] u = usage.getOrDefault(k.keyId, new int[] {0, 0});
                        KeyFacts facts = k.facts(today, u[0], u[1]);
                        List<Finding> existing = byKey.getOrDefault(k.keyId, List.of());
                        batch.plan(k, rules.evaluate(facts, now), existing, now);
                      }
                      return batch.write(now);
                    }));
  }

  /**
   * The changes of a batch of keys, written together: the new findings in one insert per {@value
   * #ROWS_PER_INSERT}, their alerts through {@link AlertPlanner#raiseAll}; updated and resolved
   * findings are managed entities, flushed with the transaction. A page of a sweep costs a few
   * statements, not a few per finding.
   */
  final class Batch {
    final List<Finding> opened = new ArrayList<>();
    final List<AlertPlanner.Raised> raised = new ArrayList<>();

    void plan(
        AuditKey key, List<FindingRules.Desired> desired, List<Finding> existing, Instant now) {
      Map<UUID, Finding> byId = new HashMap<>();
      List<Existing> current = new ArrayList<>();
      for (Finding f : existing) {
        byId.put(f.id, f);
        current.add(new Existing(f.id, FindingType.valueOf(f.type), f.period, f.detail));
      }
      for (Change c : Reconciliation.plan(desired, current)) {
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
            opened.add(f);
            raised.add(new AlertPlanner.Raised(key, f));
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
              raised.add(new AlertPlanner.Raised(key, f));
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
    }

    Uni<Void> write(Instant now) {
      return insertFindings(opened, 0, now).chain(() -> alerts.raiseAll(raised));
    }
  }

  static final int ROWS_PER_INSERT = 1000;

  private static Uni<Void> insertFindings(List<Finding> findings, int from, Instant now) {
    if (from >= findings.size()) {
      return Uni.createFrom().voidItem();
    }
    List<Finding> chunk = findings.subList(from, Math.min(findings.size(), from + ROWS_PER_INSERT));
    StringBuilder sql =
        new StringBuilder(
            "insert into findings (id, key_id, account, type, status, period, detail, opened_at,"
                + " updated_at) values ");
    for (int i = 0; i < chunk.size(); i++) {
      sql.append(i == 0 ? "" : ", ")
          .append("(:id")
          .append(i)
          .append(", :key")
          .append(i)
          .append(", :account")
          .append(i)
          .append(", :type")
          .append(i)
          .append(", :open, :period")
          .append(i)
          .append(", :detail")
          .append(i)
          .append(", :now, :now)");
    }
    return Panache.getSession()
        .chain(
            s -> {
              var q =
                  s.createNativeQuery(sql.toString())
                      .setParameter("open", Finding.OPEN)
                      .setParameter("now", now);
              for (int i = 0; i < chunk.size(); i++) {
                Finding f = chunk.get(i);
                q.setParameter("id" + i, f.id)
                    .setParameter("key" + i, f.keyId)
                    .setParameter("account" + i, f.account)
                    .setParameter("type" + i, f.type)
                    .setParameter("period" + i, f.period)
                    .setParameter("detail" + i, f.detail);
              }
              return q.executeUpdate();
            })
        .chain(() -> insertFindings(findings, from + chunk.size(), now));
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
}
