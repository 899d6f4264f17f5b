package io.keywarden.contracts;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * An allow-list of IPv4/IPv6 addresses and CIDR blocks. Parsing accepts only literal addresses
 * (never a host name: no DNS lookup happens) and normalises each entry to its network form, so
 * {@code 10.1.2.3/8} becomes {@code 10.0.0.0/8} and {@code 2001:DB8::1} becomes {@code
 * 2001:db8:0:0:0:0:0:1/128}... written back in the shortest form.
 */
public final class IpAllowList {
  public static final int MAX_ENTRIES = 64;

  private final List<Block> blocks;

  private IpAllowList(List<Block> blocks) {
    this.blocks = blocks;
  }

  private record Block(byte[] network, int prefix, String text) {}

  /**
   * Parses and normalises entries, dropping duplicates.
   *
   * @throws IllegalArgumentException naming the bad entry by index
   */
  public static List<String> normalise(List<String> entries) {
    if (entries == null) {
      return List.of();
    }
    if (entries.size() > MAX_ENTRIES) {
      throw new IllegalArgumentException(
          "has " + entries.size() + " entries; at most " + MAX_ENTRIES + " are allowed");
    }
    Set<String> out = new LinkedHashSet<>();
    for (int i = 0; i < entries.size(); i++) {
      String e = entries.get(i);
      try {
        out.add(parse(e).text());
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException("[" + i + "] " + ex.getMessage());
      }
    }
    return List.copyOf(out);
  }

  /** Builds a matcher from entries that {@link #normalise} accepted. */
  public static IpAllowList of(List<String> normalised) {
    List<Block> blocks = new ArrayList<>();
    for (String e : normalised) {
      blocks.add(parse(e));
    }
    return new IpAllowList(List.copyOf(blocks));
  }

  public boolean isEmpty() {
    return blocks.isEmpty();
  }

  /** True when the list is empty (no restriction) or one block holds the address. */
  public boolean allows(String address) {
    if (blocks.isEmpty()) {
      return true;
    }
    byte[] a = literal(address);
    if (a == null) {
      return false;
    }
    for (Block b : blocks) {
      if (b.network.length == a.length && samePrefix(b.network, a, b.prefix)) {
        return true;
      }
    }
    return false;
  }

  private static Block parse(String entry) {
    if (entry == null || entry.isBlank()) {
      throw new IllegalArgumentException("is empty");
    }
    String s = entry.trim();
    if (s.length() > 64) {
      throw new IllegalArgumentException("is too long to be an address or CIDR");
    }
    int slash = s.indexOf('/');
    String addr = slash < 0 ? s : s.substring(0, slash);
    byte[] bytes = literal(addr);
    if (bytes == null) {
      throw new IllegalArgumentException("is not an IPv4 or IPv6 address or CIDR");
    }
    int max = bytes.length * 8;
    int prefix = max;
    if (slash >= 0) {
      String p = s.substring(slash + 1);
      if (!p.matches("\\d{1,3}")) {
        throw new IllegalArgumentException("has a bad prefix length");
      }
      prefix = Integer.parseInt(p);
      if (bytes.length == 4 && addr.contains(":")) {
        // an IPv4-mapped IPv6 address (::ffff:a.b.c.d), which the JDK hands back as IPv4: its
        // prefix length counts IPv6 bits, /104 being the IPv4 /8; under /96 it is no IPv4 block
        if (prefix < 96 || prefix > 128) {
          throw new IllegalArgumentException(
              "is an IPv4-mapped IPv6 address: its prefix length must be 96 to 128");
        }
        prefix -= 96;
      } else if (prefix > max) {
        throw new IllegalArgumentException("has a prefix length over " + max);
      }
    }
    byte[] net = mask(bytes, prefix);
    String text = format(net) + (prefix == max ? "" : "/" + prefix);
    return new Block(net, prefix, text);
  }

  /** Parses a literal IPv4 or IPv6 address without any DNS lookup; null when it is not one. */
  static byte[] literal(String s) {
    if (s == null || s.isEmpty() || s.length() > 45) {
      return null;
    }
    String t = s.trim();
    if (t.startsWith("[") && t.endsWith("]")) {
      t = t.substring(1, t.length() - 1);
    }
    if (t.contains(":")) {
      // the JDK parses a text as a literal only when it starts with a hex digit or ':'; anything
      // else (".1:2") it sends to the name service: a DNS query for user input
      if (!t.matches("[0-9A-Fa-f:][0-9A-Fa-f:.]*")) {
        return null;
      }
    } else if (!t.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      return null;
    } else {
      for (String part : t.split("\\.")) {
        if (Integer.parseInt(part) > 255 || (part.length() > 1 && part.startsWith("0"))) {
          return null;
        }
      }
    }
    try {
      // a literal never triggers a lookup; the checks above guarantee one (and the tests install
      // a resolver that records any lookup)
      return InetAddress.getByName(t).getAddress();
    } catch (UnknownHostException | SecurityException e) {
      return null;
    }
  }

  private static byte[] mask(byte[] addr, int prefix) {
    byte[] out = addr.clone();
    for (int i = 0; i < out.length; i++) {
      int bits = Math.max(0, Math.min(8, prefix - i * 8));
      out[i] = (byte) (out[i] & (0xFF << (8 - bits)));
    }
    return out;
  }

  private static boolean samePrefix(byte[] net, byte[] a, int prefix) {
    return java.util.Arrays.equals(mask(a, prefix), net);
  }

  private static String format(byte[] b) {
    try {
      if (b.length == 16) {
        // Inet6Address directly: InetAddress.getByAddress turns an IPv4-mapped network into IPv4
        // text, which compress cannot read
        return compress(
            Inet6Address.getByAddress(null, b, -1).getHostAddress().toLowerCase(Locale.ROOT));
      }
      return InetAddress.getByAddress(b).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** RFC 5952 shortest form of an expanded IPv6 text. */
  private static String compress(String expanded) {
    String[] parts = expanded.split(":");
    StringBuilder full = new StringBuilder();
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) {
        full.append(':');
      }
      full.append(new BigInteger(parts[i], 16).toString(16));
    }
    String[] groups = full.toString().split(":");
    int bestStart = -1;
    int bestLen = 1;
    for (int i = 0; i < groups.length; ) {
      if (groups[i].equals("0")) {
        int j = i;
        while (j < groups.length && groups[j].equals("0")) {
          j++;
        }
        if (j - i > bestLen) {
          bestStart = i;
          bestLen = j - i;
        }
        i = j;
      } else {
        i++;
      }
    }
    if (bestStart < 0) {
      return String.join(":", groups);
    }
    String left = String.join(":", java.util.Arrays.copyOfRange(groups, 0, bestStart));
    String right =
        String.join(":", java.util.Arrays.copyOfRange(groups, bestStart + bestLen, groups.length));
    return left + "::" + right;
  }
}
