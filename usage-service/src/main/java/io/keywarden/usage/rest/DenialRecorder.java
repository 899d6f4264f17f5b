package io.keywarden.usage.rest;

import io.keywarden.usage.authz.KeyCheck;
import io.keywarden.usage.events.UsageEvents;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;

/**
 * Notes refused requests of known keys: counted in the key's roll-up and sent as {@code
 * keywarden.usage.denied} (audit's leaked-or-revoked-key-still-used rule relies on it). An unknown
 * key has no owner to tell, so it is not recorded.
 */
@ApplicationScoped
public class DenialRecorder {
  private final UsageEvents events;
  private final Clock clock;

  DenialRecorder(UsageEvents events, Clock clock) {
    this.events = events;
    this.clock = clock;
  }

  public void denied(KeyCheck.Result r, String clientIp, String userAgent) {
    if (r.key() != null) {
      events.denied(r.key(), r.code().name(), clientIp, userAgent, clock.instant());
    }
  }
}
