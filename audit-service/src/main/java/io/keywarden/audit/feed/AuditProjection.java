package io.keywarden.audit.feed;

import io.keywarden.audit.domain.AuditKey;
import io.keywarden.audit.findings.FindingEngine;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec.MalformedEventException;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.QuotaThreshold;
import io.keywarden.contracts.events.UsageDenied;
import io.keywarden.contracts.events.UsageRecorded;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.persistence.LockModeType;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Locale;
import java.util.Set;

/**
 * Applies key and usage events to audit-service's projection, each in one transaction with the
 * findings it causes. Key events apply only when newer than what is held (version); usage events
 * apply once per CloudEvent id. The key's row is locked first, so a key event and a usage event of
 * the same key (two topics, two consumers) evaluate one after the other on fresh state.
 */
@ApplicationScoped
public class AuditProjection {
  /** Denial codes that mean a key that must not be used any more is still being tried. */
  static final Set<String> GONE_CODES = Set.of("LEAKED", "REVOKED", "KEY_LEAKED", "KEY_REVOKED");

  private final FindingEngine engine;
  private final Clock clock;

  AuditProjection(FindingEngine engine, Clock clock) {
    this.engine = engine;
    this.clock = clock;
  }

  /** Applies a key snapshot; true when it was newer than the stored version. */
  public Uni<Boolean> applyKey(KeySnapshot k) {
    validate(k);
    return Panache.withTransaction(
        () ->
            AuditKey.<AuditKey>findById(k.keyId(), LockModeType.PESSIMISTIC_WRITE)
                .chain(
                    existing -> {
                      if (existing != null && existing.version >= k.version()) {
                        return Uni.createFrom().item(false);
                      }
                      if (existing != null) {
                        copy(k, existing);
                        return engine.evaluate(existing).replaceWith(true);
                      }
                      AuditKey key = new AuditKey();
                      copy(k, key);
                      return key.persist().chain(() -> engine.evaluateNew(key)).replaceWith(true);
                    }));
  }

  /** Applies a usage event once (by CloudEvent id); false when it was a redelivery. */
  public Uni<Boolean> applyUsage(CloudEvent<?> event) {
    return Panache.withTransaction(
        () ->
            firstTime(event.id())
                .chain(
                    first -> {
                      if (!first) {
                        return Uni.createFrom().item(false);
                      }
                      Uni<AuditKey> applied =
                          switch (event.data()) {
                            case UsageRecorded u -> recorded(u);
                            case UsageDenied d -> denied(d);
                            case QuotaThreshold q -> threshold(q);
                            default -> Uni.createFrom().nullItem();
                          };
                      return applied
                          .chain(k -> k == null ? Uni.createFrom().voidItem() : engine.evaluate(k))
                          .replaceWith(true);
                    }));
  }

  private Uni<Boolean> firstTime(String eventId) {
    return Panache.getSession()
        .chain(
            s ->
                s.createNativeQuery(
                        "insert into processed_events (event_id, processed_at) values (:id, :at)"
                            + " on conflict (event_id) do nothing")
                    .setParameter("id", eventId)
                    .setParameter("at", clock.instant())
                    .executeUpdate())
        .map(n -> n == 1);
  }

  private Uni<AuditKey> recorded(UsageRecorded u) {
    require(u.keyId(), "keyId");
    return keyOrStub(u.keyId(), u.account(), u.windowStart())
        .call(
            key -> {
              if (u.requests() > 0 && u.lastUsedAt() != null) {
                if (key.lastUsedAt == null || u.lastUsedAt().isAfter(key.lastUsedAt)) {
                  key.lastUsedAt = u.lastUsedAt();
                  key.lastClientIp = u.lastClientIp();
                  key.spentMicros = u.keySpentMicros();
                }
              }
              key.totalRequests += u.requests();
              key.totalSpendMicros += u.spendMicros();
              Instant at = u.windowStart() != null ? u.windowStart() : u.lastUsedAt();
              if (at == null || u.requests() <= 0) {
                return Uni.createFrom().voidItem();
              }
              return dailyUsage(u, LocalDate.ofInstant(at, ZoneOffset.UTC));
            });
  }

  private Uni<Void> dailyUsage(UsageRecorded u, LocalDate day) {
    return Panache.getSession()
        .chain(
            s ->
                s.createNativeQuery(
                        "insert into key_daily_usage (key_id, day, max_window_ips,"
                            + " max_window_agents) values (:k, :d, :ips, :agents) on conflict"
                            + " (key_id, day) do update set max_window_ips ="
                            + " greatest(key_daily_usage.max_window_ips, excluded.max_window_ips),"
                            + " max_window_agents = greatest(key_daily_usage.max_window_agents,"
                            + " excluded.max_window_agents)")
                    .setParameter("k", u.keyId())
                    .setParameter("d", day)
                    .setParameter("ips", u.distinctClientIps())
                    .setParameter("agents", u.distinctUserAgents())
                    .executeUpdate()
                    .chain(
                        () ->
                            u.lastClientIp() == null
                                ? Uni.createFrom().item(0)
                                : s.createNativeQuery(
                                        "insert into key_daily_ips (key_id, day, ip) values (:k,"
                                            + " :d, :ip) on conflict do nothing")
                                    .setParameter("k", u.keyId())
                                    .setParameter("d", day)
                                    .setParameter("ip", truncate(u.lastClientIp(), 64))
                                    .executeUpdate()))
        .replaceWithVoid();
  }

  private Uni<AuditKey> denied(UsageDenied d) {
    require(d.keyId(), "keyId");
    String code = d.code() == null ? "" : d.code().toUpperCase(Locale.ROOT);
    return keyOrStub(d.keyId(), d.account(), d.at())
        .invoke(
            key -> {
              boolean gone =
                  GONE_CODES.contains(code)
                      || "leaked".equals(key.status)
                      || "revoked".equals(key.status);
              Instant at = d.at() != null ? d.at() : clock.instant();
              if (gone && (key.lastDeniedAt == null || at.isAfter(key.lastDeniedAt))) {
                key.lastDeniedAt = at;
                key.lastDeniedIp = truncate(d.clientIp(), 64);
              }
            });
  }

  private Uni<AuditKey> threshold(QuotaThreshold q) {
    require(q.keyId(), "keyId");
    return keyOrStub(q.keyId(), q.account(), q.at())
        .invoke(
            key -> {
              Instant at = q.at() != null ? q.at() : clock.instant();
              if (key.quotaEventAt == null || !at.isBefore(key.quotaEventAt)) {
                key.quotaEventScope = q.scope();
                key.quotaEventPercent = q.percent();
                key.quotaEventPeriod = truncate(q.period() == null ? "none" : q.period(), 64);
                key.quotaEventAt = at;
              }
            });
  }

  /** Usage may arrive before the key's first event: hold it on a stub of version 0. */
  private Uni<AuditKey> keyOrStub(String keyId, String account, Instant at) {
    return AuditKey.<AuditKey>findById(keyId, LockModeType.PESSIMISTIC_WRITE)
        .chain(
            existing -> {
              if (existing != null) {
                return Uni.createFrom().item(existing);
              }
              require(account, "account");
              AuditKey stub = new AuditKey();
              stub.keyId = keyId;
              stub.account = account;
              stub.name = "";
              stub.status = "active";
              stub.quotaReset = "none";
              stub.createdAt = at != null ? at : clock.instant();
              stub.version = 0;
              return stub.<AuditKey>persist();
            });
  }

  private static void copy(KeySnapshot k, AuditKey key) {
    key.keyId = k.keyId();
    key.account = k.account();
    key.name = truncate(k.name() == null ? "" : k.name(), 255);
    key.group = k.group();
    key.status = k.status().wire();
    key.quotaMicros = k.quotaMicros();
    key.quotaReset = k.quotaReset().wire();
    key.expiresAt = k.expiresAt();
    key.createdAt = k.createdAt();
    key.updatedAt = k.updatedAt();
    key.rotatedAt = k.rotatedAt();
    key.version = k.version();
  }

  private static void validate(KeySnapshot k) {
    require(k.keyId(), "keyId");
    require(k.account(), "account");
    if (k.status() == null || k.createdAt() == null || k.version() < 1 || k.keyId().length() > 64) {
      throw new MalformedEventException("key snapshot lacks status, createdAt or version");
    }
  }

  private static void require(String value, String field) {
    if (value == null || value.isBlank()) {
      throw new MalformedEventException("event data lacks " + field);
    }
  }

  private static String truncate(String s, int max) {
    return s == null || s.length() <= max ? s : s.substring(0, max);
  }
}
