package io.keywarden.audit.findings;

import java.time.Duration;
import java.util.List;

/** The limits of the finding rules; defaults follow AWS / CIS practice (see AuditConfig). */
public record Thresholds(
    Duration neverUsedAfter,
    Duration unusedAfter,
    Duration staleAfter,
    List<Integer> expiringDays,
    Duration oldAfter,
    Duration leakedQuietAfter,
    int overSharedIps,
    int overSharedAgents,
    List<Integer> quotaPercents) {

  public static Thresholds defaults() {
    return new Thresholds(
        Duration.ofDays(7),
        Duration.ofDays(45),
        Duration.ofDays(90),
        List.of(7, 3, 1),
        Duration.ofDays(90),
        Duration.ofDays(7),
        20,
        10,
        List.of(80, 95));
  }
}
