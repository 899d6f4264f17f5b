package io.keywarden.audit.alerts;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs webhook bodies: {@code X-Keywarden-Signature: sha256=<hex HMAC-SHA256(secret, timestamp +
 * "." + body)>} with {@code X-Keywarden-Timestamp} (Unix seconds). A receiver recomputes it over
 * the raw body bytes, compares in constant time and rejects timestamps older than 5 minutes.
 */
public final class WebhookSignature {
  public static final String SIGNATURE_HEADER = "X-Keywarden-Signature";
  public static final String TIMESTAMP_HEADER = "X-Keywarden-Timestamp";
  public static final String DELIVERY_HEADER = "X-Keywarden-Delivery";

  private WebhookSignature() {}

  public static String sign(String secret, long timestamp, String body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      mac.update((timestamp + ".").getBytes(StandardCharsets.UTF_8));
      return "sha256="
          + HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** What a receiver does (also the documented verification snippet). */
  public static boolean verify(
      String secret, String timestampHeader, String body, String signature) {
    long ts;
    try {
      ts = Long.parseLong(timestampHeader);
    } catch (NumberFormatException e) {
      return false;
    }
    byte[] expected = sign(secret, ts, body).getBytes(StandardCharsets.UTF_8);
    return signature != null
        && MessageDigest.isEqual(expected, signature.getBytes(StandardCharsets.UTF_8));
  }
}
