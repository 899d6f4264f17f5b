package io.keywarden.audit.report;

import io.keywarden.audit.findings.FindingType;
import io.keywarden.contracts.Money;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

@io.quarkus.qute.TemplateData
/**
 * The audit report: one row per key (AWS credential report, adapted) plus summary counts. {@link
 * ReportResource} streams it page by page; this record (with no keys) is its JSON head.
 */
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

  /** The report's status of a key: an active key past its expiry is "expired". */
  public static String status(Instant now, String status, Instant expiresAt) {
    return "active".equals(status) && expiresAt != null && !now.isBefore(expiresAt)
        ? "expired"
        : status;
  }

  /** The statuses always counted (0 when no key has them), in the report's order. */
  public static Map<String, Integer> emptyStatusCounts() {
    Map<String, Integer> byStatus = new TreeMap<>();
    for (String s : List.of("active", "disabled", "expired", "revoked", "leaked")) {
      byStatus.put(s, 0);
    }
    return byStatus;
  }

  /** Every finding type (0 when none is open), in the report's order. */
  public static Map<String, Integer> emptyTypeCounts() {
    Map<String, Integer> byType = new TreeMap<>();
    for (FindingType t : FindingType.values()) {
      byType.put(t.name(), 0);
    }
    return byType;
  }

  /** One key's row, as of {@code now}, with its open findings (ordered by type). */
  public static Row row(
      Instant now,
      String keyId,
      String name,
      String account,
      String group,
      String status,
      Instant createdAt,
      Instant lastUsedAt,
      String lastClientIp,
      Instant expiresAt,
      Instant rotatedAt,
      long totalSpendMicros,
      long quotaMicros,
      List<OpenFinding> openFindings) {
    Instant base = rotatedAt != null ? rotatedAt : createdAt;
    return new Row(
        keyId,
        name,
        account,
        group,
        status(now, status, expiresAt),
        createdAt,
        lastUsedAt,
        lastClientIp,
        lastUsedAt == null ? null : Duration.between(lastUsedAt, now).toDays(),
        expiresAt,
        Duration.between(base, now).toDays(),
        Money.formatUsd(totalSpendMicros),
        quotaMicros == 0 ? "unlimited" : Money.formatUsd(quotaMicros),
        openFindings);
  }

  /** An open finding as the report shows it. */
  public static OpenFinding openFinding(String id, String type, String detail) {
    return new OpenFinding(id, type, detail, FindingType.valueOf(type).action());
  }
}
