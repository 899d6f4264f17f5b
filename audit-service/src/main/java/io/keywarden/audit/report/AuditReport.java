package io.keywarden.audit.report;

import io.keywarden.audit.domain.AuditKey;
import io.keywarden.audit.domain.Finding;
import io.keywarden.audit.findings.FindingType;
import io.keywarden.contracts.Money;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

@io.quarkus.qute.TemplateData
/** The audit report: one row per key (AWS credential report, adapted) plus summary counts. */
public record AuditReport(
    Instant generatedAt,
    String account,
    int accounts,
    Map<String, Integer> keysByStatus,
    Map<String, Integer> findingsByType,
    List<Row> keys) {

  public static final List<String> CSV_HEADER =
      List.of(
          "key_id",
          "name",
          "account",
          "group",
          "status",
          "created",
          "last_used",
          "last_client_ip",
          "days_since_use",
          "expires",
          "age_days",
          "spend_usd",
          "quota_usd",
          "open_findings");

  /** One open finding as people read it. */
  @io.quarkus.qute.TemplateData
  public record OpenFinding(String id, String type, String explanation, String action) {}

  /** One key. */
  @io.quarkus.qute.TemplateData
  public record Row(
      String keyId,
      String name,
      String account,
      String group,
      String status,
      Instant created,
      Instant lastUsed,
      String lastClientIp,
      Long daysSinceUse,
      Instant expires,
      long ageDays,
      String spendUsd,
      String quotaUsd,
      List<OpenFinding> openFindings) {
    public List<String> csv() {
      return List.of(
          keyId,
          name,
          account,
          group == null ? "" : group,
          status,
          String.valueOf(created),
          lastUsed == null ? "never" : lastUsed.toString(),
          lastClientIp == null ? "" : lastClientIp,
          daysSinceUse == null ? "" : daysSinceUse.toString(),
          expires == null ? "" : expires.toString(),
          Long.toString(ageDays),
          spendUsd,
          quotaUsd,
          String.join(" ", openFindings.stream().map(OpenFinding::type).toList()));
    }
  }

  public static AuditReport build(
      Instant now, String account, List<AuditKey> keys, List<Finding> openFindings) {
    Map<String, List<OpenFinding>> byKey = new TreeMap<>();
    Map<String, Integer> byType = new TreeMap<>();
    for (FindingType t : FindingType.values()) {
      byType.put(t.name(), 0);
    }
    for (Finding f : openFindings) {
      byKey
          .computeIfAbsent(f.keyId, x -> new ArrayList<>())
          .add(
              new OpenFinding(
                  f.id.toString(), f.type, f.detail, FindingType.valueOf(f.type).action()));
      byType.merge(f.type, 1, Integer::sum);
    }
    Map<String, Integer> byStatus = new TreeMap<>();
    for (String s : List.of("active", "disabled", "expired", "revoked", "leaked")) {
      byStatus.put(s, 0);
    }
    List<Row> rows = new ArrayList<>();
    java.util.Set<String> accounts = new java.util.HashSet<>();
    for (AuditKey k : keys) {
      accounts.add(k.account);
      String status =
          "active".equals(k.status) && k.expiresAt != null && !now.isBefore(k.expiresAt)
              ? "expired"
              : k.status;
      byStatus.merge(status, 1, Integer::sum);
      Instant base = k.rotatedAt != null ? k.rotatedAt : k.createdAt;
      rows.add(
          new Row(
              k.keyId,
              k.name,
              k.account,
              k.group,
              status,
              k.createdAt,
              k.lastUsedAt,
              k.lastClientIp,
              k.lastUsedAt == null ? null : Duration.between(k.lastUsedAt, now).toDays(),
              k.expiresAt,
              Duration.between(base, now).toDays(),
              Money.formatUsd(k.totalSpendMicros),
              k.quotaMicros == 0 ? "unlimited" : Money.formatUsd(k.quotaMicros),
              byKey.getOrDefault(k.keyId, List.of())));
    }
    return new AuditReport(now, account, accounts.size(), byStatus, byType, rows);
  }

  public String csv() {
    StringBuilder sb = new StringBuilder(Csv.row(CSV_HEADER));
    for (Row r : keys) {
      sb.append(Csv.row(r.csv()));
    }
    return sb.toString();
  }
}
