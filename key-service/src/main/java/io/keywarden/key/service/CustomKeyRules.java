package io.keywarden.key.service;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Rules for a key chosen by the user. A generated key is safer; a custom one must at least not be
 * guessable. Each rule returns the reason it refuses, phrased for a 400.
 */
public final class CustomKeyRules {
  public static final int MIN_LENGTH = 32;
  public static final int MAX_LENGTH = 128;
  static final int MIN_DISTINCT = 12;
  static final int MAX_RUN = 4;

  private static final List<String> KNOWN_EXAMPLES =
      List.of(
          "example",
          "password",
          "passw0rd",
          "changeme",
          "secret",
          "your-api-key",
          "yourapikey",
          "api_key",
          "apikey",
          "placeholder",
          "qwerty",
          "letmein",
          "abcdef",
          "123456",
          "xxxxxx",
          "test-key",
          "testkey",
          "dummy",
          "sample",
          "lorem");

  private CustomKeyRules() {}

  /** The reason the key is refused, or empty when it is acceptable. Never echoes the key. */
  public static Optional<String> check(String key) {
    if (key.length() < MIN_LENGTH || key.length() > MAX_LENGTH) {
      return Optional.of("must be " + MIN_LENGTH + " to " + MAX_LENGTH + " characters long");
    }
    if (!key.matches("[A-Za-z0-9_-]+")) {
      return Optional.of("may only contain letters, digits, '_' and '-'");
    }
    if (key.chars().distinct().count() < MIN_DISTINCT) {
      return Optional.of(
          "is too weak: it uses fewer than " + MIN_DISTINCT + " distinct characters");
    }
    if (hasRun(key)) {
      return Optional.of(
          "is too weak: it contains a run of "
              + MAX_RUN
              + " or more repeated or consecutive characters");
    }
    if (isRepeat(key)) {
      return Optional.of("is too weak: it repeats a shorter pattern");
    }
    String lower = key.toLowerCase(Locale.ROOT);
    for (String known : KNOWN_EXAMPLES) {
      if (lower.contains(known)) {
        return Optional.of("is too weak: it contains a well-known example string");
      }
    }
    return Optional.empty();
  }

  /** MAX_RUN equal characters, or MAX_RUN ascending/descending ones (aaaa, 1234, dcba). */
  static boolean hasRun(String s) {
    int same = 1;
    int up = 1;
    int down = 1;
    for (int i = 1; i < s.length(); i++) {
      int d = s.charAt(i) - s.charAt(i - 1);
      same = d == 0 ? same + 1 : 1;
      up = d == 1 ? up + 1 : 1;
      down = d == -1 ? down + 1 : 1;
      if (same >= MAX_RUN || up >= MAX_RUN || down >= MAX_RUN) {
        return true;
      }
    }
    return false;
  }

  /** The key is made of a shorter block (up to half its length) repeated. */
  static boolean isRepeat(String s) {
    for (int p = 1; p <= s.length() / 2; p++) {
      boolean repeats = true;
      for (int i = p; i < s.length() && repeats; i++) {
        repeats = s.charAt(i) == s.charAt(i - p);
      }
      if (repeats) {
        return true;
      }
    }
    return false;
  }
}
