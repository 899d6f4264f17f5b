package io.keywarden.contracts;

/**
 * Whether text from a request is well-formed Unicode. JSON lets a body carry a lone UTF-16
 * surrogate ({@code "\udbe5"}); Jackson reads it into a Java string as it is, but it has no UTF-8
 * form, so PostgreSQL refused the row (SQLSTATE 22021) and the request was answered 503. Every
 * string read from a request body is checked here first and refused with a 400 naming the field.
 */
public final class Unicode {
  /** The 400's wording (the caller names the field). */
  public static final String PROBLEM =
      "is not valid Unicode text: it holds an unpaired UTF-16 surrogate";

  private Unicode() {}

  /** The index of the first surrogate without its partner, or -1 when the text is well-formed. */
  public static int unpairedSurrogate(CharSequence s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < Character.MIN_SURROGATE || c > Character.MAX_SURROGATE) {
        continue;
      }
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
        continue;
      }
      return i;
    }
    return -1;
  }

  public static boolean wellFormed(CharSequence s) {
    return unpairedSurrogate(s) < 0;
  }
}
