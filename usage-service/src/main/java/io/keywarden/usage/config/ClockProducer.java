package io.keywarden.usage.config;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Time comes from an injected clock so tests can move it. {@code kw.clock.offset} (default 0)
 * shifts it, for drills of period boundaries on several instances at once (M5: two replicas
 * crossing UTC midnight together); never set it in production.
 */
public class ClockProducer {
  @Produces
  @Singleton
  @DefaultBean
  Clock clock(@ConfigProperty(name = "kw.clock.offset", defaultValue = "PT0S") Duration offset) {
    return offset.isZero() ? Clock.systemUTC() : Clock.offset(Clock.systemUTC(), offset);
  }
}
