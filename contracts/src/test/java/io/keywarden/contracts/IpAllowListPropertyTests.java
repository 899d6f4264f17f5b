package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/** jqwik: allow-list normalisation and matching, against a BigInteger reference. */
class IpAllowListPropertyTests {

  /** An address or block as generated: its bytes, prefix, and one of its textual forms. */
  record Entry(byte[] address, int prefix, boolean withPrefix, String text) {
    int bits() {
      return address.length * 8;
    }

    boolean covers(byte[] other) {
      if (other.length != address.length) {
        return false;
      }
      return network(address, prefix).equals(network(other, prefix));
    }

    /** The same entry in another textual form. */
    Entry respelled(long seed) {
      return new Entry(address, prefix, withPrefix, render(address, prefix, withPrefix, seed));
    }

    @Override
    public String toString() {
      return text;
    }
  }

  @Property(tries = 500)
  void normaliseIsIdempotent(@ForAll @Size(max = 20) List<@From("entries") Entry> entries) {
    List<String> once = IpAllowList.normalise(texts(entries));
    assertThat(IpAllowList.normalise(once)).isEqualTo(once);
  }

  @Property(tries = 500)
  void dedupIsOrderIndependent(
      @ForAll @Size(max = 20) List<@From("entries") Entry> entries, @ForAll long seed) {
    List<String> once = IpAllowList.normalise(texts(entries));
    List<Entry> shuffled = new ArrayList<>(entries);
    Collections.shuffle(shuffled, new Random(seed));
    List<String> again = IpAllowList.normalise(texts(shuffled));
    assertThat(once).doesNotHaveDuplicates();
    assertThat(again).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(once);
  }

  /** The same networks written differently, and each twice, normalise to the same list. */
  @Property(tries = 500)
  void spellingAndRepetitionDoNotMatter(
      @ForAll @Size(max = 20) List<@From("entries") Entry> entries, @ForAll long seed) {
    List<Entry> respelled = new ArrayList<>();
    for (Entry e : entries) {
      respelled.add(e.respelled(seed++));
      respelled.add(e.respelled(seed++));
    }
    assertThat(IpAllowList.normalise(texts(respelled)))
        .isEqualTo(IpAllowList.normalise(texts(entries)));
    // one entry per distinct network
    assertThat(IpAllowList.normalise(texts(entries))).hasSize(distinctNetworks(entries));
  }

  /** The matcher admits an address exactly when one of the blocks covers it. */
  @Property(tries = 1000)
  void allowsExactlyWhatTheBlocksCover(
      @ForAll @Size(min = 1, max = 10) List<@From("entries") Entry> entries,
      @ForAll("entries") Entry probe,
      @ForAll("smallInts") int near) {
    IpAllowList list = IpAllowList.of(IpAllowList.normalise(texts(entries)));
    // probe a random address, and one made close to a listed block (same first bytes)
    List<byte[]> probes = new ArrayList<>();
    probes.add(probe.address());
    Entry base = entries.get(Math.floorMod(near, entries.size()));
    byte[] close = base.address().clone();
    close[close.length - 1] ^= (byte) near;
    probes.add(close);
    for (byte[] p : probes) {
      boolean expected = entries.stream().anyMatch(e -> e.covers(p));
      String text = render(p, p.length * 8, false, near);
      assertThat(list.allows(text)).as("%s in %s", text, entries).isEqualTo(expected);
    }
  }

  @Provide
  Arbitrary<Integer> smallInts() {
    return Arbitraries.integers().between(0, 255);
  }

  @Provide
  Arbitrary<Entry> entries() {
    Arbitrary<byte[]> v4 = Arbitraries.bytes().array(byte[].class).ofSize(4);
    // IPv6 groups drawn so that runs of zeros (and so "::") are common
    Arbitrary<Integer> group =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(4, Arbitraries.just(0)),
            net.jqwik.api.Tuple.of(1, Arbitraries.just(1)),
            net.jqwik.api.Tuple.of(4, Arbitraries.integers().between(0, 0xffff)));
    Arbitrary<byte[]> v6 =
        group
            .list()
            .ofSize(8)
            .map(
                gs -> {
                  byte[] b = new byte[16];
                  for (int i = 0; i < 8; i++) {
                    b[2 * i] = (byte) (gs.get(i) >> 8);
                    b[2 * i + 1] = (byte) (int) gs.get(i);
                  }
                  return b;
                })
            // IPv4-mapped and IPv4-compatible forms are IPv4 to the JDK: kept out of the v6 pool
            .filter(b -> !isMappedOrCompatible(b));
    Arbitrary<byte[]> address = Arbitraries.oneOf(v4, v6);
    return Combinators.combine(
            address,
            Arbitraries.integers().between(0, 128),
            Arbitraries.of(true, false),
            Arbitraries.longs())
        .as(
            (a, p, withPrefix, seed) -> {
              int prefix = withPrefix ? Math.min(p, a.length * 8) : a.length * 8;
              return new Entry(a, prefix, withPrefix, render(a, prefix, withPrefix, seed));
            });
  }

  static boolean isMappedOrCompatible(byte[] b) {
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return (b[10] == (byte) 0xff && b[11] == (byte) 0xff) || (b[10] == 0 && b[11] == 0);
  }

  static List<String> texts(List<Entry> entries) {
    return entries.stream().map(Entry::text).toList();
  }

  static int distinctNetworks(List<Entry> entries) {
    var seen = new HashSet<String>();
    for (Entry e : entries) {
      seen.add(e.address().length + "/" + e.prefix() + "/" + network(e.address(), e.prefix()));
    }
    return seen.size();
  }

  static BigInteger network(byte[] a, int prefix) {
    int bits = a.length * 8;
    BigInteger v = new BigInteger(1, a);
    return v.shiftRight(bits - prefix);
  }

  /** One of several spellings: v4 dotted; v6 full, zero-padded, upper-case or with "::". */
  static String render(byte[] a, int prefix, boolean withPrefix, long seed) {
    Random r = new Random(seed);
    String addr;
    if (a.length == 4) {
      addr = (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
    } else {
      String[] g = new String[8];
      int style = r.nextInt(3);
      for (int i = 0; i < 8; i++) {
        int v = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
        g[i] = style == 0 ? String.format("%04x", v) : Integer.toHexString(v);
        if (r.nextBoolean()) {
          g[i] = g[i].toUpperCase(Locale.ROOT);
        }
      }
      addr = style == 2 ? compressFirstZeroRun(g) : String.join(":", g);
    }
    String spaced = r.nextInt(4) == 0 ? " " + addr + " " : addr;
    // the host bits of a CIDR may be set: "10.1.2.3/8" is 10.0.0.0/8
    return withPrefix ? spaced.strip() + "/" + prefix : spaced;
  }

  private static String compressFirstZeroRun(String[] g) {
    int start = -1;
    int len = 0;
    for (int i = 0; i < 8; i++) {
      if (g[i].equals("0")) {
        int j = i;
        while (j < 8 && g[j].equals("0")) {
          j++;
        }
        if (j - i > len) {
          start = i;
          len = j - i;
        }
        i = j;
      }
    }
    if (len < 2) {
      return String.join(":", g);
    }
    return String.join(":", java.util.Arrays.copyOfRange(g, 0, start))
        + "::"
        + String.join(":", java.util.Arrays.copyOfRange(g, start + len, 8));
  }
}
