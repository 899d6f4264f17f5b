package io.keywarden.usage;

import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * The service's clock in tests: system time shifted by an offset a test may move, or stopped at an
 * instant ({@link #freeze}) when a test needs the exact millisecond a decision is made at.
 */
@Singleton
public class TestClock extends Clock {
  private volatile Duration offset = Duration.ZERO;
  private volatile Instant frozen;

  public void shift(Duration d) {
    frozen = null;
    offset = d;
  }

  /**
   * Stops the clock at {@code at}: every now() returns exactly it until the next freeze, setNow or
   * reset. A running clock moves on while a request travels, so a boundary check at "T minus 1 ms"
   * could be decided after T.
   */
  public void freeze(Instant at) {
    frozen = at;
  }

  /** Makes now() land on {@code at} (then time runs on from there). */
  public void setNow(Instant at) {
    frozen = null;
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
    frozen = null;
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
    Instant f = frozen;
    return f != null ? f : Instant.now().plus(offset);
  }
}
