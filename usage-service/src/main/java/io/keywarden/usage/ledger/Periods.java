package io.keywarden.usage.ledger;

import io.keywarden.contracts.events.QuotaReset;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.TemporalAdjusters;

/** Quota periods in UTC: daily, weekly (from Monday), monthly; 'none' for a key without reset. */
public final class Periods {
  private Periods() {}

  public static String current(QuotaReset reset, Instant now) {
    LocalDate d = LocalDate.ofInstant(now, ZoneOffset.UTC);
    return switch (reset == null ? QuotaReset.NONE : reset) {
      case NONE -> "none";
      case DAILY -> d.toString();
      case WEEKLY -> "week-" + d.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
      case MONTHLY -> d.toString().substring(0, 7);
    };
  }

  /** Start of the current UTC day. */
  public static Instant startOfDay(Instant now) {
    return LocalDate.ofInstant(now, ZoneOffset.UTC).atStartOfDay().toInstant(ZoneOffset.UTC);
  }

  /** Start of the current UTC month. */
  public static Instant startOfMonth(Instant now) {
    return LocalDate.ofInstant(now, ZoneOffset.UTC)
        .withDayOfMonth(1)
        .atStartOfDay()
        .toInstant(ZoneOffset.UTC);
  }
}
