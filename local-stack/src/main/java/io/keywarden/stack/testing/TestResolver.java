package io.keywarden.stack.testing;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * The JVM's name resolver for a module's tests, which cannot change DNS: it records every name
 * looked up ({@link #LOOKUPS}: proof that user input was not resolved), answers names given {@link
 * #fix fixed addresses}, and asks the JDK's own resolver for everything else. A module turns it on
 * with {@code src/test/resources/META-INF/services/java.net.spi.InetAddressResolverProvider} naming
 * this class; nothing else in the JVM changes.
 */
public final class TestResolver extends InetAddressResolverProvider {
  /** Every name looked up since the JVM started (or the test cleared it), in order. */
  public static final List<String> LOOKUPS = new CopyOnWriteArrayList<>();

  private static final String FIXED = "kw.test.resolve.";

  /** From now on {@code host} resolves to these address literals (IPv4 or IPv6), in this order. */
  public static void fix(String host, String... addresses) {
    System.setProperty(FIXED + host.toLowerCase(Locale.ROOT), String.join(",", addresses));
  }

  @Override
  public InetAddressResolver get(Configuration configuration) {
    InetAddressResolver builtin = configuration.builtinResolver();
    return new InetAddressResolver() {
      @Override
      public Stream<InetAddress> lookupByName(String host, LookupPolicy policy)
          throws UnknownHostException {
        LOOKUPS.add(host);
        String fixed = System.getProperty(FIXED + host.toLowerCase(Locale.ROOT));
        if (fixed == null) {
          return builtin.lookupByName(host, policy);
        }
        String[] literals = fixed.split(",");
        InetAddress[] out = new InetAddress[literals.length];
        for (int i = 0; i < out.length; i++) {
          // literals: parsed, never looked up (no recursion into this resolver)
          out[i] = InetAddress.getByName(literals[i]);
        }
        return Stream.of(out);
      }

      @Override
      public String lookupByAddress(byte[] addr) throws UnknownHostException {
        return builtin.lookupByAddress(addr);
      }
    };
  }

  @Override
  public String name() {
    return "keywarden-test-resolver";
  }
}
