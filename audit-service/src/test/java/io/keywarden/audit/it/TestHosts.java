package io.keywarden.audit.it;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The JVM's resolver in audit-service's tests (the test cannot change DNS): a few names under
 * {@code .kw.test} with fixed addresses, everything else asked to the JDK's own resolver.
 */
public final class TestHosts extends InetAddressResolverProvider {
  static final Map<String, List<String>> HOSTS =
      Map.of(
          "receiver.kw.test", List.of("127.0.0.1"),
          "metadata-alias.kw.test", List.of("169.254.169.254"),
          "mixed.kw.test", List.of("127.0.0.1", "169.254.169.254"),
          "mapped.kw.test", List.of("::ffff:a9fe:a9fe"),
          "link-local-v6.kw.test", List.of("fe80::1"),
          "unspecified.kw.test", List.of("0.0.0.0"),
          "multicast.kw.test", List.of("224.0.0.1"));

  @Override
  public InetAddressResolver get(Configuration configuration) {
    InetAddressResolver builtin = configuration.builtinResolver();
    return new InetAddressResolver() {
      @Override
      public Stream<InetAddress> lookupByName(String host, LookupPolicy policy)
          throws UnknownHostException {
        List<String> fixed = HOSTS.get(host.toLowerCase(java.util.Locale.ROOT));
        if (fixed == null) {
          return builtin.lookupByName(host, policy);
        }
        InetAddress[] out = new InetAddress[fixed.size()];
        for (int i = 0; i < out.length; i++) {
          // literals: parsed, never looked up (no recursion into this resolver)
          out[i] = InetAddress.getByName(fixed.get(i));
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
    return "keywarden-audit-test-hosts";
  }
}
