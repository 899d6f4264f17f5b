package io.keywarden.contracts;

/**
 * Whether text from a request can be stored. JSON lets a body carry a lone UTF-16 surrogate ({@code
 * "\udbe5"}) or the NUL character ({@code "\u0000"}); Jackson reads either into a Java string as it
 * is, but a lone surrogate has no UTF-8 form and PostgreSQL's text holds no NUL, so PostgreSQL
 * refused the row (SQLSTATE 22021) and the request was answered 503. Every string read from a
 * request is checked here first ({@link #problem}) and refused with a 400 naming the field.
 */
public final class Unicode {
  /** The 400's wording (the caller names the field). */
  public static final String PROBLEM =
      "is not valid Unicode text: it holds an unpaired UTF-16 surrogate";

  /** The 400's wording for a NUL character (the caller names the field). */
  public static final String NUL =
      "must not hold the NUL character (U+0000): text with it cannot be stored";

  private Unicode() {}

  /**
   * Why the text cannot be stored ({@link #PROBLEM} or {@link #NUL}, for a 400 after the field's
   * name), or null when it can.
   */
  public static String problem(CharSequence s) {
    // one pass (every string of every authorize call comes through here); a lone surrogate is
    // named first wherever it stands
    boolean nul = false;
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (c == '\0') {
        nul = true;
      } else if (Character.isSurrogate(c)) {
        if (!Character.isHighSurrogate(c)
            || i + 1 == n
            || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return PROBLEM;
        }
        i++;
      }
    }
    return nul ? NUL : null;
  }

  /**
   * The first request parameter (path, then query: a name for each list of values) whose value
   * cannot be stored: {@code {name, problem}}, or null when every value can. A percent-encoded
   * {@code %00} arrives decoded, as the NUL character.
   */
  @SafeVarargs
  public static String[] problemIn(
      java.util.Map<String, ? extends java.util.List<String>>... parameters) {
    for (var params : parameters) {
      for (var e : params.entrySet()) {
        for (String v : e.getValue()) {
          String problem = v == null ? null : problem(v);
          if (problem != null) {
            return new String[] {e.getKey(), problem};
          }
        }
      }
    }
    return null;
  }

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
