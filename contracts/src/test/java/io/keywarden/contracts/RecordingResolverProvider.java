package io.keywarden.contracts;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

/**
 * The JVM's host name resolver in contracts' tests (registered in META-INF/services): it records
 * every name looked up, then asks the built-in resolver. A parser of literal addresses must never
 * cause a lookup (a DNS query for user input is slow and leaks it to the resolver). The module's
 * surefire run turns the JDK's host name cache off (no-dns-cache.security), so a repeated lookup is
 * seen too, whichever test made it first.
 */
public final class RecordingResolverProvider extends InetAddressResolverProvider {
  static final List<String> LOOKUPS = new CopyOnWriteArrayList<>();

  @Override
  public InetAddressResolver get(Configuration configuration) {
    InetAddressResolver builtin = configuration.builtinResolver();
    return new InetAddressResolver() {
      @Override
      public Stream<InetAddress> lookupByName(String host, LookupPolicy policy)
          throws UnknownHostException {
        LOOKUPS.add(host);
        return builtin.lookupByName(host, policy);
      }

      @Override
      public String lookupByAddress(byte[] addr) throws UnknownHostException {
        LOOKUPS.add("reverse:" + java.util.HexFormat.of().formatHex(addr));
        return builtin.lookupByAddress(addr);
      }
    };
  }

  @Override
  public String name() {
    return "keywarden-recording";
  }
}
