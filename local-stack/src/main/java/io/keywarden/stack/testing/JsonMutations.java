package io.keywarden.stack.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * What the services' S9 "any JSON body" tests share to make bodies: any JSON value (strings,
 * numbers, literals, arrays, objects), nesting past any sane depth, byte mutations (truncation,
 * invalid UTF-8, a byte overwritten) and JSON text. Each test keeps its endpoints' plausible
 * bodies, its mix of mutations and the strings and numbers of its domain (from its jqwik
 * arbitraries: this module has no jqwik). Every choice comes from the one seeded {@link Random}, so
 * a seed replays the same bodies.
 */
public final class JsonMutations {
  private final Random random;
  private final Supplier<String> strings;
  private final Supplier<String> numbers;
  private final List<String> unknownNames;
  private final List<String> knownNames;

  /**
   * @param random the seeded source of every choice
   * @param strings string contents (unquoted) for {@link #anyValue}
   * @param numbers JSON number literals for {@link #anyValue}
   * @param unknownNames field names the endpoints do not take
   * @param knownNames field names they do take (the members of {@link #anyValue}'s objects are
   *     either, half and half)
   */
  public JsonMutations(
      Random random,
      Supplier<String> strings,
      Supplier<String> numbers,
      List<String> unknownNames,
      List<String> knownNames) {
    this.random = random;
    this.strings = strings;
    this.numbers = numbers;
    this.unknownNames = List.copyOf(unknownNames);
    this.knownNames = List.copyOf(knownNames);
  }

  public String pick(String... options) {
    return options[random.nextInt(options.length)];
  }

  public int pick(int... options) {
    return options[random.nextInt(options.length)];
  }

  public <T> T pick(List<T> options) {
    return options.get(random.nextInt(options.size()));
  }

  /** Removes one of the fields, if there are any. */
  public void removeOne(Map<String, String> fields) {
    if (!fields.isEmpty()) {
      fields.remove(pick(new ArrayList<>(fields.keySet())));
    }
  }

  /** Any JSON value up to this depth: strings, numbers, literals, arrays, objects. */
  public String anyValue(int depth) {
    int kind = random.nextInt(depth > 0 ? 8 : 5);
    return switch (kind) {
      case 0, 1 -> quote(strings.get());
      case 2 -> numbers.get();
      case 3 -> pick("true", "false", "null");
      case 4 -> pick("\"\"", "[]", "{}", "null");
      case 5 -> {
        StringBuilder b = new StringBuilder("[");
        int n = random.nextInt(4);
        for (int i = 0; i < n; i++) {
          b.append(i == 0 ? "" : ",").append(anyValue(depth - 1));
        }
        yield b.append(']').toString();
      }
      default -> {
        Map<String, String> o = new LinkedHashMap<>();
        int n = random.nextInt(4);
        for (int i = 0; i < n; i++) {
          o.put(random.nextBoolean() ? pick(unknownNames) : pick(knownNames), anyValue(depth - 1));
        }
        yield object(o, List.of());
      }
    };
  }

  /**
   * Nesting past any sane depth (Jackson's own limit is 1,000): arrays, or objects of {@code
   * field}; bare, or between {@code before} and {@code after} (e.g. {@code {"name":} and {@code
   * ,"group":"default"}}).
   */
  public String deep(String field, String before, String after) {
    int depth = pick(200, 1_500, 5_000);
    boolean arrays = random.nextBoolean();
    String open = arrays ? "[" : "{" + quote(field) + ":";
    String close = arrays ? "]" : "}";
    String inner = open.repeat(depth) + "1" + close.repeat(depth);
    return random.nextBoolean() ? inner : before + inner + after;
  }

  /** The JSON text's UTF-8 bytes; one time in eight given a {@link #bytesMutation}. */
  public byte[] bytes(String json) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    if (random.nextInt(8) == 0) {
      return bytesMutation(bytes);
    }
    return bytes;
  }

  /** Truncated, an invalid UTF-8 sequence inserted, or a random byte overwritten. */
  public byte[] bytesMutation(byte[] bytes) {
    int at = bytes.length == 0 ? 0 : random.nextInt(bytes.length);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    switch (random.nextInt(3)) {
      case 0 -> out.write(bytes, 0, at);
      case 1 -> {
        out.write(bytes, 0, at);
        byte[][] bad = {
          {(byte) 0xC3, (byte) 0x28},
          {(byte) 0xFF},
          {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
          {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
          {(byte) 0xE2, (byte) 0x82}
        };
        out.writeBytes(bad[random.nextInt(bad.length)]);
        out.write(bytes, at, bytes.length - at);
      }
      default -> {
        out.writeBytes(bytes);
        byte[] b = out.toByteArray();
        if (b.length > 0) {
          b[at] = (byte) random.nextInt(256);
        }
        return b;
      }
    }
    return out.toByteArray();
  }

  /** A JSON object of these members (values are JSON text), then the extra members' text. */
  public static String object(Map<String, String> fields, List<String> extra) {
    StringBuilder b = new StringBuilder("{");
    boolean first = true;
    for (var e : fields.entrySet()) {
      b.append(first ? "" : ",").append(quote(e.getKey())).append(':').append(e.getValue());
      first = false;
    }
    for (String x : extra) {
      b.append(first ? "" : ",").append(x);
      first = false;
    }
    return b.append('}').toString();
  }

  /**
   * A JSON string literal (lone surrogates and controls written as \\u escapes, as JSON allows).
   */
  public static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (ch < 0x20 || Character.isSurrogate(ch)) {
            b.append(String.format("\\u%04x", (int) ch));
          } else {
            b.append(ch);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  /** An answer's text, cut to 300 characters for a failure message. */
  public static String clip(String s) {
    return s.length() > 300 ? s.substring(0, 300) + "…" : s;
  }

  /** A body for a failure message: its start and end when it is long. */
  public static String show(byte[] body) {
    String s = new String(body, StandardCharsets.UTF_8);
    return s.length() > 400
        ? s.substring(0, 300) + "…(" + body.length + " bytes)…" + s.substring(s.length() - 60)
        : s;
  }
}
