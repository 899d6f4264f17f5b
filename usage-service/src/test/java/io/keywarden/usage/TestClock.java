package io.keywarden.usage;

import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** The service's clock in tests: system time shifted by an offset a test may move. */
@Singleton
public class TestClock extends Clock {
  private volatile Duration offset = Duration.ZERO;

  public void shift(Duration d) {
    offset = d;
  }

  /** Makes now() land on {@code at} (then time runs on from there). */
  public void setNow(Instant at) {
    offset = Duration.between(Instant.now(), at);
  }

  /**
   * Makes now() land 100 ms into a minute that has not started yet, so a test of per-minute limits
   * runs inside one fixed window instead of failing when it happens to cross a minute boundary.
   */
  public void startOfAMinute() {
    setNow(
        Instant.now()
            .truncatedTo(java.time.temporal.ChronoUnit.MINUTES)
            .plusSeconds(120)
            .plusMillis(100));
  }

  public void reset() {
    offset = Duration.ZERO;
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }

  @Override
  public Instant instant() {
    return Instant.now().plus(offset);
  }
}
