package io.keywarden.audit.findings;

import io.keywarden.contracts.events.KeyStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.List;

/**
 * Which findings hold for a key at a moment: pure, so the whole rule set is tested without a
 * database or a clock of its own.
 */
public final class FindingRules {
  private final Thresholds t;

  public FindingRules(Thresholds thresholds) {
    this.t = thresholds;
  }

  /** The findings that hold for {@code key} at {@code now}, at most one per type. */
  public List<Desired> evaluate(KeyFacts key, Instant now) {
    List<Desired> out = new ArrayList<>();
    leakedStillUsed(key, now, out);
    boolean usable =
        key.status() == KeyStatus.ACTIVE
            && (key.expiresAt() == null || now.isBefore(key.expiresAt()));
    if (!usable) {
      return out;
    }
    Instant created = key.createdAt();
    Instant sinceRotation = key.rotatedAt() != null ? key.rotatedAt() : created;
    if (key.lastUsedAt() == null && olderThan(sinceRotation, now, t.neverUsedAfter())) {
      out.add(
          new Desired(
              FindingType.NEVER_USED,
              "since:" + day(sinceRotation),
              FindingType.NEVER_USED.explain(days(t.neverUsedAfter()))));
    }
    Instant lastSign = latest(key.lastUsedAt(), sinceRotation);
    if (olderThan(lastSign, now, t.staleAfter())) {
      out.add(
          new Desired(
              FindingType.STALE,
              "since:" + day(lastSign),
              FindingType.STALE.explain(days(t.staleAfter()))));
    } else if (olderThan(lastSign, now, t.unusedAfter())) {
      out.add(
          new Desired(
              FindingType.UNUSED,
              "since:" + day(lastSign),
              FindingType.UNUSED.explain(days(t.unusedAfter()))));
    }
    if (key.expiresAt() != null) {
      Duration left = Duration.between(now, key.expiresAt());
      Integer bucket = null;
      for (int d : t.expiringDays()) {
        if (left.compareTo(Duration.ofDays(d)) <= 0 && (bucket == null || d < bucket)) {
          bucket = d;
        }
      }
      if (bucket != null) {
        out.add(
            new Desired(
                FindingType.EXPIRING,
                bucket + "d:" + day(key.expiresAt()),
                FindingType.EXPIRING.explain(bucket + (bucket == 1 ? " day" : " days"))));
      }
    }
    if (olderThan(sinceRotation, now, t.oldAfter())) {
      out.add(
          new Desired(
              FindingType.OLD,
              "since:" + day(sinceRotation),
              FindingType.OLD.explain(days(t.oldAfter()))));
    }
    overShared(key, now, out);
    quotaNear(key, now, out);
    return out;
  }

  private void leakedStillUsed(KeyFacts key, Instant now, List<Desired> out) {
    boolean gone = key.status() == KeyStatus.LEAKED || key.status() == KeyStatus.REVOKED;
    if (gone
        && key.lastDeniedAt() != null
        && !olderThan(key.lastDeniedAt(), now, t.leakedQuietAfter())) {
      String from = key.lastDeniedIp() == null ? "" : " (last from " + key.lastDeniedIp() + ")";
      out.add(
          new Desired(
              FindingType.LEAKED_STILL_USED,
              day(key.lastDeniedAt()),
              FindingType.LEAKED_STILL_USED.explain(from)));
    }
  }

  private void overShared(KeyFacts key, Instant now, List<Desired> out) {
    LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
    if (key.usageDay() == null || !key.usageDay().equals(today)) {
      return;
    }
    boolean ips = key.distinctIps() > t.overSharedIps();
    boolean agents = key.distinctAgents() > t.overSharedAgents();
    if (ips || agents) {
      String figure =
          ips && agents
              ? key.distinctIps() + " client IPs and " + key.distinctAgents() + " user agents"
              : ips
                  ? key.distinctIps() + " client IPs (more than " + t.overSharedIps() + ")"
                  : key.distinctAgents() + " user agents (more than " + t.overSharedAgents() + ")";
      out.add(
          new Desired(
              FindingType.OVER_SHARED, today.toString(), FindingType.OVER_SHARED.explain(figure)));
    }
  }

  private void quotaNear(KeyFacts key, Instant now, List<Desired> out) {
    Desired best = null;
    int bestPercent = 0;
    if (key.quotaMicros() > 0) {
      long percent = Math.min(1000, key.spentMicros() * 100 / key.quotaMicros());
      int crossed = highestCrossed((int) percent);
      if (crossed > 0) {
        bestPercent = crossed;
        best =
            new Desired(
                FindingType.QUOTA_NEAR,
                "key:" + crossed + ":" + quotaPeriod(key.quotaReset(), now),
                FindingType.QUOTA_NEAR.explain(
                    "This key has spent "
                        + percent
                        + " % of its quota (threshold "
                        + crossed
                        + " %)"));
      }
    }
    // usage-service's own threshold events (the account balance above all) hold for a day
    if (key.quotaEventPercent() != null
        && key.quotaEventAt() != null
        && !olderThan(key.quotaEventAt(), now, Duration.ofDays(1))) {
      int crossed = highestCrossed(key.quotaEventPercent());
      if (crossed > bestPercent) {
        String scope = "account".equals(key.quotaEventScope()) ? "account" : "key";
        best =
            new Desired(
                FindingType.QUOTA_NEAR,
                scope + ":" + crossed + ":" + key.quotaEventPeriod(),
                FindingType.QUOTA_NEAR.explain(
                    ("account".equals(scope) ? "The account has spent " : "This key has spent ")
                        + key.quotaEventPercent()
                        + " % of its "
                        + ("account".equals(scope) ? "balance" : "quota")));
      }
    }
    if (best != null) {
      out.add(best);
    }
  }

  private int highestCrossed(int percent) {
    int crossed = 0;
    for (int p : t.quotaPercents()) {
      if (percent >= p && p > crossed) {
        crossed = p;
      }
    }
    return crossed;
  }

  static String quotaPeriod(String reset, Instant now) {
    LocalDate d = LocalDate.ofInstant(now, ZoneOffset.UTC);
    return switch (reset == null ? "none" : reset) {
      case "daily" -> d.toString();
      case "weekly" -> d.getYear() + "-W" + d.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR);
      case "monthly" -> d.toString().substring(0, 7);
      default -> "none";
    };
  }

  private static boolean olderThan(Instant t0, Instant now, Duration age) {
    return t0 != null && Duration.between(t0, now).compareTo(age) > 0;
  }

  private static Instant latest(Instant a, Instant b) {
    if (a == null) {
      return b;
    }
    return b == null || a.isAfter(b) ? a : b;
  }

  private static String day(Instant i) {
    return LocalDate.ofInstant(i, ZoneOffset.UTC).toString();
  }

  private static String days(Duration d) {
    long n = d.toDays();
    return n >= 1 ? n + (n == 1 ? " day" : " days") : d.toHours() + " hours";
  }

  /** A finding that should be open: its type, which occurrence it is, and its sentence. */
  public record Desired(FindingType type, String period, String detail) {}
}
