package io.keywarden.audit.findings;

import io.keywarden.contracts.events.KeyStatus;
import java.time.Instant;
import java.time.LocalDate;

/** What audit-service knows about one key, the input of {@link FindingRules}. */
public record KeyFacts(
    String keyId,
    String account,
    KeyStatus status,
    Instant createdAt,
    Instant rotatedAt,
    Instant expiresAt,
    Instant lastUsedAt,
    Instant lastDeniedAt,
    String lastDeniedIp,
    long quotaMicros,
    String quotaReset,
    long spentMicros,
    LocalDate usageDay,
    int distinctIps,
    int distinctAgents,
    String quotaEventScope,
    Integer quotaEventPercent,
    String quotaEventPeriod,
    Instant quotaEventAt) {}
