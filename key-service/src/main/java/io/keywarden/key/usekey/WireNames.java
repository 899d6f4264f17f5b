package io.keywarden.key.usekey;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Parses the lower-case wire names of the Use-key enums, with errors that name the field. */
final class WireNames {
  /** Echoed input is cut so a hostile value cannot flood an error response. */
  private static final int MAX_ECHOED_CHARS = 40;

  private WireNames() {}

  static <E extends Enum<E>> E parse(
      String field, String value, E[] constants, Function<E, String> wire) {
    if (value != null) {
      String wanted = value.trim().toLowerCase(Locale.ROOT);
      for (E constant : constants) {
        if (wire.apply(constant).equals(wanted)) {
          return constant;
        }
      }
    }
    String accepted = Arrays.stream(constants).map(wire).collect(Collectors.joining(", "));
    String got = value == null ? "missing" : "unknown value '" + echo(value) + "'";
    throw new IllegalArgumentException(field + ": " + got + "; accepted values: " + accepted);
  }

  private static String echo(String value) {
    String cut =
        value.length() > MAX_ECHOED_CHARS ? value.substring(0, MAX_ECHOED_CHARS) + "…" : value;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }
}
