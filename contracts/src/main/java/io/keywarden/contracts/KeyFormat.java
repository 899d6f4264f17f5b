package io.keywarden.contracts;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * The API key format: {@code <prefix><32 base62 random chars><6 base62 CRC32 chars>}.
 *
 * <p>32 base62 characters carry 190.5 bits; we use 33 so the random part holds at least 192 bits
 * (33 * log2(62) = 196.5). The checksum lets a scanner or the request path reject a mistyped or
 * made-up key without any lookup, the scheme GitHub uses for its tokens.
 */
public final class KeyFormat {
  public static final String DEFAULT_PREFIX = "sk-kw-";
  public static final int RANDOM_CHARS = 33;
  public static final int CHECKSUM_CHARS = 6;
  static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  private static final SecureRandom RANDOM = new SecureRandom();

  private KeyFormat() {}

  /** A new generated secret with the given prefix. */
  public static String generate(String prefix) {
    StringBuilder sb = new StringBuilder(prefix.length() + RANDOM_CHARS + CHECKSUM_CHARS);
    sb.append(prefix);
    for (int i = 0; i < RANDOM_CHARS; i++) {
      sb.append(ALPHABET.charAt(RANDOM.nextInt(62)));
    }
    String body = sb.substring(prefix.length());
    sb.append(checksum(body));
    return sb.toString();
  }

  /** Base62 CRC32 of the random part, left-padded with '0' to 6 characters. */
  static String checksum(String body) {
    CRC32 crc = new CRC32();
    crc.update(body.getBytes(StandardCharsets.US_ASCII));
    long v = crc.getValue();
    char[] out = new char[CHECKSUM_CHARS];
    for (int i = CHECKSUM_CHARS - 1; i >= 0; i--) {
      out[i] = ALPHABET.charAt((int) (v % 62));
      v /= 62;
    }
    return new String(out);
  }

  /**
   * True when {@code secret} is a generated key of this prefix whose checksum matches. Runs in time
   * independent of any stored secret: nothing is looked up.
   */
  public static boolean hasValidChecksum(String secret, String prefix) {
    if (secret == null
        || secret.length() != prefix.length() + RANDOM_CHARS + CHECKSUM_CHARS
        || !secret.startsWith(prefix)) {
      return false;
    }
    // on every authorize call: the CRC runs over the chars in place and the check digits are
    // compared one by one, so nothing is copied or allocated
    int bodyEnd = prefix.length() + RANDOM_CHARS;
    CRC32 crc = new CRC32();
    for (int i = prefix.length(); i < secret.length(); i++) {
      char c = secret.charAt(i);
      if (ALPHABET.indexOf(c) < 0) {
        return false;
      }
      if (i < bodyEnd) {
        crc.update(c); // base62 chars are ASCII: the char is its byte
      }
    }
    long v = crc.getValue();
    for (int i = secret.length() - 1; i >= bodyEnd; i--) {
      if (secret.charAt(i) != ALPHABET.charAt((int) (v % 62))) {
        return false;
      }
      v /= 62;
    }
    return true;
  }

  /** Marker that replaces a key found inside free text by {@link #withholdKeys}. */
  public static final String WITHHELD = "(withheld: an API key)";

  /**
   * {@code text} with every generated key of this prefix in it (checksum verified, so nothing else
   * is touched) replaced by {@link #WITHHELD}; the same string when it holds none. For free text a
   * client controls (a user agent, a model name) that is kept or sent on.
   */
  public static String withholdKeys(String text, String prefix) {
    if (text == null || prefix == null || prefix.isEmpty()) {
      return text;
    }
    int length = prefix.length() + RANDOM_CHARS + CHECKSUM_CHARS;
    int at = text.indexOf(prefix);
    if (at < 0) {
      return text;
    }
    StringBuilder out = null;
    int copied = 0;
    while (at >= 0 && at + length <= text.length()) {
      if (hasValidChecksum(text.substring(at, at + length), prefix)) {
        if (out == null) {
          out = new StringBuilder(text.length());
        }
        out.append(text, copied, at).append(WITHHELD);
        copied = at + length;
        at = text.indexOf(prefix, copied);
      } else {
        at = text.indexOf(prefix, at + 1);
      }
    }
    if (out == null) {
      return text;
    }
    return out.append(text, copied, text.length()).toString();
  }

  /** Whether {@code text} holds a generated key of this prefix (see {@link #withholdKeys}). */
  public static boolean containsKey(String text, String prefix) {
    return text != null && !withholdKeys(text, prefix).equals(text);
  }

  /** Lower-case hex SHA-256 of the secret: the only form in which a key is stored or sent. */
  public static String sha256Hex(String secret) {
    return HexFormat.of().formatHex(sha256(secret));
  }

  public static byte[] sha256(String secret) {
    // one digest per thread: this runs on every authorize call, and getInstance looks up the
    // provider and allocates a fresh digest state each time
    return SHA256.get().digest(secret.getBytes(StandardCharsets.UTF_8));
  }

  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("SHA-256 missing from the JDK", e);
            }
          });

  /** Compares two hex hashes in time that depends only on their length. */
  public static boolean hashesEqual(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    return MessageDigest.isEqual(
        a.getBytes(StandardCharsets.US_ASCII), b.getBytes(StandardCharsets.US_ASCII));
  }

  /** Display mask such as {@code sk-kw-Ab3d…x9Qz}: enough to recognise a key, useless to use it. */
  public static String mask(String secret) {
    // counted in code points, not chars: a cut between the two halves of a surrogate pair left a
    // lone surrogate, which is not text (UTF-8 encoders replace or refuse it)
    int prefixEnd = secret.startsWith(DEFAULT_PREFIX) ? DEFAULT_PREFIX.length() : 0;
    int points = secret.codePointCount(prefixEnd, secret.length());
    if (points < 12) {
      return secret.substring(0, secret.offsetByCodePoints(prefixEnd, Math.min(points, 2))) + "…";
    }
    return secret.substring(0, secret.offsetByCodePoints(prefixEnd, 4))
        + "…"
        + secret.substring(secret.offsetByCodePoints(secret.length(), -4));
  }
}
