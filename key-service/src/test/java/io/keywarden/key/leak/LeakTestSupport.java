package io.keywarden.key.leak;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Base64;

/** Shared fixtures: the GitHub docs known-answer vector, own P-256 pairs, a settable clock. */
final class LeakTestSupport {
  private LeakTestSupport() {}

  /**
   * Known-answer vector from the GitHub docs secret-scanning partner page (github/docs PR #18776
   * era, key id 90a42116...). The PEM is the key GitHub published under that id at
   * /meta/public_keys/secret_scanning (as recorded in octokit/octokit.net MetaPublicKeysTests).
   * Cross-checked here with {@code openssl dgst -sha256 -verify}.
   */
  static final String KAT_KEY_ID =
      "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a";

  static final String KAT_PEM =
      """
      -----BEGIN PUBLIC KEY-----
      MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq
      kCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==
      -----END PUBLIC KEY-----
      """;

  static final byte[] KAT_BODY =
      "[{\"token\":\"some_token\",\"type\":\"some_type\",\"url\":\"some_url\"}]"
          .getBytes(StandardCharsets.UTF_8);

  static final String KAT_SIGNATURE =
      "MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=";

  static KeyPair newP256Pair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  static String sign(PrivateKey key, byte[] body) {
    try {
      Signature s = Signature.getInstance("SHA256withECDSA");
      s.initSign(key);
      s.update(body);
      return Base64.getEncoder().encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  static String pem(PublicKey key) {
    String b64 =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(key.getEncoded());
    return "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n";
  }

  static String keysJson(String keyId, PublicKey key) {
    return "{\"public_keys\":[{\"key_identifier\":\""
        + keyId
        + "\",\"key\":\""
        + pem(key).replace("\n", "\\n")
        + "\",\"is_current\":true}]}";
  }

  /** A clock the test moves by hand. */
  static final class MutableClock extends Clock {
    private volatile Instant now;

    MutableClock(Instant start) {
      this.now = start;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
