package io.keywarden.key.leak;

import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * Verifies the {@code Github-Public-Key-Signature} header of a secret-scanning report: a base64 DER
 * ECDSA P-256 / SHA-256 signature over the <b>raw</b> request body bytes (never a re-serialized
 * JSON). Stateless and thread-safe; a fresh {@link Signature} is made per call.
 */
public final class GithubSignatureVerifier {
  /** The JCA name: SHA-256 digest, ECDSA, signature as a DER SEQUENCE of (r, s). */
  public static final String ALGORITHM = "SHA256withECDSA";

  /**
   * A DER P-256 signature is at most 72 bytes (96 base64 chars); anything much longer is refused
   * before decoding.
   */
  static final int MAX_SIGNATURE_CHARS = 256;

  /**
   * True only when {@code signatureBase64} is a valid signature of {@code rawBody} by {@code key}.
   * Any bad input (null, blank, bad base64, bad DER, a non-EC key) gives false, never an exception.
   */
  public boolean verify(PublicKey key, byte[] rawBody, String signatureBase64) {
    if (key == null || rawBody == null || signatureBase64 == null) {
      return false;
    }
    String trimmed = signatureBase64.strip();
    if (trimmed.isEmpty() || trimmed.length() > MAX_SIGNATURE_CHARS) {
      return false;
    }
    byte[] der;
    try {
      der = Base64.getDecoder().decode(trimmed);
    } catch (IllegalArgumentException e) {
      return false;
    }
    if (der.length == 0) {
      return false;
    }
    try {
      Signature verifier = Signature.getInstance(ALGORITHM);
      verifier.initVerify(key);
      verifier.update(rawBody);
      return verifier.verify(der);
    } catch (SignatureException | InvalidKeyException e) {
      // bad DER, trailing bytes, wrong key type: an unauthenticated request, not a server error
      return false;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(ALGORITHM + " missing from the JDK", e);
    } catch (RuntimeException e) {
      // defensive: providers have thrown unchecked exceptions on malformed encodings
      return false;
    }
  }

  /**
   * Parses a {@code -----BEGIN PUBLIC KEY-----} PEM (X.509 SubjectPublicKeyInfo) holding a P-256
   * key, as served by {@code /meta/public_keys/secret_scanning}.
   *
   * @throws IllegalArgumentException if it is not a PEM EC public key on a 256-bit curve
   */
  public static PublicKey parsePem(String pem) {
    if (pem == null) {
      throw new IllegalArgumentException("PEM is null");
    }
    String begin = "-----BEGIN PUBLIC KEY-----";
    String end = "-----END PUBLIC KEY-----";
    int b = pem.indexOf(begin);
    int e = pem.indexOf(end);
    if (b < 0 || e < b) {
      throw new IllegalArgumentException("not a PEM public key");
    }
    String body = pem.substring(b + begin.length(), e).replaceAll("\\s+", "");
    byte[] der;
    try {
      der = Base64.getDecoder().decode(body);
    } catch (IllegalArgumentException ex) {
      throw new IllegalArgumentException("PEM body is not base64", ex);
    }
    PublicKey key;
    try {
      key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException ex) {
      throw new IllegalArgumentException("PEM is not an EC public key", ex);
    }
    if (!(key instanceof ECPublicKey ec)
        || !ec.getParams().getCurve().equals(P256.getCurve())
        || !ec.getParams().getOrder().equals(P256.getOrder())) {
      throw new IllegalArgumentException("PEM key is not a P-256 key");
    }
    return key;
  }

  private static final ECParameterSpec P256 = p256();

  private static ECParameterSpec p256() {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec("secp256r1"));
      return params.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("secp256r1 missing from the JDK", e);
    }
  }
}
