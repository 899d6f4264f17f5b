package io.keywarden.usage.rest;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.usage.authz.KeyCheck;
import io.keywarden.usage.events.UsageEvents;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Notes refused requests of known keys: counted in the key's roll-up and sent as {@code
 * keywarden.usage.denied} (audit's leaked-or-revoked-key-still-used rule relies on it). An unknown
 * key has no owner to tell, so it is not recorded. A key the client put into its user agent is
 * withheld from the event (S6: a secret reaches no topic).
 */
@ApplicationScoped
public class DenialRecorder {
  private final UsageEvents events;
  private final Clock clock;
  private final String keyPrefix;

  DenialRecorder(
      UsageEvents events, Clock clock, @ConfigProperty(name = "kw.keys.prefix") String keyPrefix) {
    this.events = events;
    this.clock = clock;
    this.keyPrefix = keyPrefix;
  }

  public void denied(KeyCheck.Result r, String clientIp, String userAgent) {
    if (r.key() != null) {
      events.denied(
          r.key(),
          r.code().name(),
          clientIp,
          KeyFormat.withholdKeys(userAgent, keyPrefix),
          clock.instant());
    }
  }
}
