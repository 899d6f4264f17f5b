package io.keywarden.usage.rest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import io.keywarden.contracts.Money;
import io.keywarden.contracts.Unicode;
import java.io.IOException;
import java.util.Iterator;
import java.util.Set;
import java.util.regex.Pattern;

/** Strict, field-naming parsing of request bodies. Submitted values never reach a message. */
final class Json {
  static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:\\-]{1,128}");

  private Json() {}

  /**
   * The body as one JSON value read from its bytes: invalid UTF-8, content after the value and a
   * field given twice are refused (400 naming the body or the repeated field), not read as "the
   * last one wins" (S9). Jackson's own limits (nesting 1,000, numbers of 1,000 digits) hold.
   */
  static JsonNode parse(ObjectMapper mapper, String body) {
    return parse(
        mapper, body == null ? null : body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  static JsonNode parse(ObjectMapper mapper, byte[] body) {
    return parse(mapper, body, 0, body == null ? 0 : body.length);
  }

  static JsonNode parse(ObjectMapper mapper, byte[] body, int offset, int length) {
    if (body == null || blank(body, offset, length)) {
      throw new Problem.BadInput("body", "a JSON body is required");
    }
    try {
      return reader(mapper).readTree(body, offset, length);
    } catch (StreamReadException e) {
      String twice = duplicate(e);
      if (twice != null) {
        throw new Problem.BadInput(twice, "appears more than once");
      }
      throw new Problem.BadInput("body", "is not valid JSON");
    } catch (IOException | RuntimeException e) {
      throw new Problem.BadInput("body", "is not valid JSON");
    }
  }

  private static boolean blank(byte[] b, int offset, int length) {
    for (int i = offset; i < offset + length; i++) {
      byte c = b[i];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return false;
      }
    }
    return true;
  }

  private record Strict(ObjectMapper mapper, ObjectReader reader) {}

  private static volatile Strict strict;

  /** The mapper's tree reader with the strict features (one per mapper, made once). */
  private static ObjectReader reader(ObjectMapper mapper) {
    Strict s = strict;
    if (s == null || s.mapper() != mapper) {
      s =
          new Strict(
              mapper,
              mapper
                  .reader()
                  .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                  .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS));
      strict = s;
    }
    return s.reader();
  }

  /**
   * The repeated field's path ("costUsd", "[3].costUsd") when Jackson refused a field given twice;
   * else null.
   */
  private static String duplicate(StreamReadException e) {
    String m = e.getOriginalMessage();
    if (m == null
        || !m.startsWith("Duplicate field '")
        || !(e.getProcessor() instanceof JsonParser p)) {
      return null;
    }
    int end = m.lastIndexOf('\'');
    String name = end > 17 ? m.substring(17, end) : m.substring(17);
    StringBuilder path = new StringBuilder();
    for (JsonStreamContext c = p.getParsingContext().getParent(); c != null && !c.inRoot(); ) {
      JsonStreamContext parent = c.getParent();
      if (c.inArray()) {
        path.insert(0, "[" + c.getCurrentIndex() + "].");
      } else if (c.inObject() && c.getCurrentName() != null) {
        path.insert(0, c.getCurrentName() + ".");
      }
      c = parent;
    }
    return path + name;
  }

  static void onlyFields(JsonNode o, String prefix, Set<String> allowed) {
    if (o == null || !o.isObject()) {
      throw new Problem.BadInput(prefix.isEmpty() ? "body" : prefix, "must be a JSON object");
    }
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        throw new Problem.BadInput(prefix + f, "is not a known field");
      }
    }
  }

  static String text(JsonNode o, String field, String prefix, boolean required, int maxLen) {
    String s = string(o, field, prefix);
    if (s == null && required) {
      throw new Problem.BadInput(prefix + field, "is required");
    }
    return length(s, field, prefix, maxLen);
  }

  /** The field's string value, null when absent or JSON null; 400 when it is not a string. */
  static String string(JsonNode o, String field, String prefix) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      throw new Problem.BadInput(prefix + field, "must be a string");
    }
    String s = n.asText();
    String problem = Unicode.problem(s);
    if (problem != null) {
      throw new Problem.BadInput(prefix + field, problem);
    }
    return s;
  }

  /** {@code s} itself (null stays null) when it has 1 to {@code maxLen} characters; else 400. */
  static String length(String s, String field, String prefix, int maxLen) {
    if (s != null && (s.isEmpty() || s.length() > maxLen)) {
      throw new Problem.BadInput(prefix + field, "must be 1 to " + maxLen + " characters");
    }
    return s;
  }

  /** {@link #REQUEST_ID} without the regex engine (it is checked for every usage record). */
  static boolean validRequestId(String s) {
    int n = s.length();
    if (n < 1 || n > 128) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (!(c >= 'a' && c <= 'z'
          || c >= 'A' && c <= 'Z'
          || c >= '0' && c <= '9'
          || c == '.'
          || c == '_'
          || c == ':'
          || c == '-')) {
        return false;
      }
    }
    return true;
  }

  static String requestId(JsonNode o, String prefix, boolean required) {
    String s = text(o, "requestId", prefix, required, 128);
    if (s != null && !validRequestId(s)) {
      throw new Problem.BadInput(prefix + "requestId", "may hold only letters, digits and . _ : -");
    }
    return s;
  }

  /** A USD amount as "12.50" (or a JSON number), as micro-dollars; null when absent. */
  static Long usd(JsonNode o, String field, String prefix) {
    return usd(usdText(o, field, prefix), field, prefix);
  }

  /** The amount as text (a JSON number as its plain decimal form), null when absent. */
  static String usdText(JsonNode o, String field, String prefix) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual() && !n.isNumber()) {
      throw new Problem.BadInput(prefix + field, "must be a decimal string such as \"12.50\"");
    }
    if (n.isTextual()) {
      return n.asText();
    }
    if ((n.isDouble() || n.isFloat()) && !Double.isFinite(n.doubleValue())) {
      // 1e400 is read as Infinity, which has no decimal value (it was a 500)
      throw new Problem.BadInput(prefix + field, "is not a valid amount");
    }
    return n.decimalValue().toPlainString();
  }

  /** A USD amount in text as micro-dollars; null stays null. */
  static Long usd(String text, String field, String prefix) {
    if (text == null) {
      return null;
    }
    try {
      return Money.parseUsd(text);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new Problem.BadInput(
          prefix + field, e.getMessage() == null ? "is not a valid amount" : e.getMessage());
    }
  }

  static long count(JsonNode o, String field, String prefix) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return 0;
    }
    if (!n.canConvertToLong()
        || !n.isIntegralNumber()
        || n.asLong() < 0
        || n.asLong() > 1_000_000_000_000L) {
      throw new Problem.BadInput(prefix + field, "must be a whole number from 0 to 10^12");
    }
    return n.asLong();
  }

  static String ip(JsonNode o, String field) {
    String s = text(o, field, "", false, 64);
    if (s != null && !isIpLiteral(s)) {
      throw new Problem.BadInput(field, "must be an IPv4 or IPv6 address");
    }
    return s;
  }

  // the JDK reads a text as a literal only when it starts with a hex digit or ':'; anything else
  // (".1:2") it sends to the name service: a DNS query for user input
  private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:][0-9A-Fa-f:.]{1,44}");

  static boolean isIpLiteral(String s) {
    if (s.indexOf(':') >= 0) {
      if (!IPV6_CHARS.matcher(s).matches()) {
        return false;
      }
      try {
        // only a literal reaches here (checked above), so no name lookup happens
        java.net.InetAddress.getByName(s);
        return true;
      } catch (java.net.UnknownHostException | RuntimeException e) {
        return false;
      }
    }
    return isIpv4(s);
  }

  /**
   * Four dot-separated groups of 1-3 ASCII digits, each at most 255 (leading zeros allowed): the
   * pattern {@code \d{1,3}(\.\d{1,3}){3}} plus the range check, without the regex engine (this runs
   * for every authorize call that names a client IP).
   */
  static boolean isIpv4(String s) {
    int n = s.length();
    int groups = 0;
    int i = 0;
    while (true) {
      int value = 0;
      int digits = 0;
      while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
        value = value * 10 + (s.charAt(i) - '0');
        digits++;
        i++;
        if (digits > 3) {
          return false;
        }
      }
      if (digits == 0 || value > 255) {
        return false;
      }
      groups++;
      if (i == n) {
        return groups == 4;
      }
      if (s.charAt(i) != '.' || groups == 4) {
        return false;
      }
      i++;
    }
  }
}
