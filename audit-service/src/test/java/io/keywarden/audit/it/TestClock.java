package io.keywarden.audit.it;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** The service's clock in tests: real time plus an offset the test moves forward. */
public class TestClock extends Clock {
  public static final TestClock INSTANCE = new TestClock();
  private volatile Duration offset = Duration.ZERO;

  public static void advance(Duration d) {
    INSTANCE.offset = INSTANCE.offset.plus(d);
  }

  public static Instant now() {
    return INSTANCE.instant();
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

  /** Replaces the service's default clock in every @QuarkusTest of this module. */
  public static class Producer {
    @Produces
    @Singleton
    Clock clock() {
      return INSTANCE;
    }
  }
}
