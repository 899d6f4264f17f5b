package io.keywarden.audit.rest;

import io.keywarden.audit.domain.AlertDelivery;
import io.keywarden.audit.domain.AuditKey;
import io.keywarden.audit.domain.Finding;
import io.keywarden.audit.findings.FindingType;
import io.keywarden.contracts.Money;
import java.time.Instant;
import java.util.UUID;

/** What the REST API shows: never a secret, never a hash. */
public final class Views {
  private Views() {}

  public record KeyView(
      String id,
      String account,
      String name,
      String group,
      String status,
      Instant createdAt,
      Instant lastUsedAt,
      Instant expiresAt,
      Instant rotatedAt,
      String spendUsd,
      String quotaUsd,
      long version) {
    public static KeyView of(AuditKey k) {
      return new KeyView(
          k.keyId,
          k.account,
          k.name,
          k.group,
          k.status,
          k.createdAt,
          k.lastUsedAt,
          k.expiresAt,
          k.rotatedAt,
          Money.formatUsd(k.totalSpendMicros),
          Money.formatUsd(k.quotaMicros),
          k.version);
    }
  }

  public record FindingView(
      UUID id,
      String keyId,
      String account,
      String type,
      String status,
      String period,
      String detail,
      String action,
      Instant openedAt,
      Instant updatedAt,
      Instant ackedAt,
      Instant resolvedAt) {
    public static FindingView of(Finding f) {
      return new FindingView(
          f.id,
          f.keyId,
          f.account,
          f.type,
          f.status,
          f.period,
          f.detail,
          FindingType.valueOf(f.type).action(),
          f.openedAt,
          f.updatedAt,
          f.ackedAt,
          f.resolvedAt);
    }
  }

  public record DeliveryView(
      UUID id,
      String keyId,
      String account,
      UUID findingId,
      String findingType,
      String period,
      String channel,
      String status,
      int attempts,
      String lastError,
      Instant createdAt,
      Instant deliveredAt,
      Instant nextAttemptAt) {
    public static DeliveryView of(AlertDelivery d) {
      return new DeliveryView(
          d.id,
          d.keyId,
          d.account,
          d.findingId,
          d.findingType,
          d.period,
          d.channel,
          d.status,
          d.attempts,
          d.lastError,
          d.createdAt,
          d.deliveredAt,
          AlertDelivery.PENDING.equals(d.status) ? d.nextAttemptAt : null);
    }
  }
}
