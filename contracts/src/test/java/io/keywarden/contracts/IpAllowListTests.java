package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class IpAllowListTests {

  @Test
  void normalisesCidrsToTheirNetworkAndDeduplicates() {
    assertThat(
            IpAllowList.normalise(
                List.of(
                    "10.1.2.3/8",
                    "10.0.0.0/8",
                    " 192.168.1.7 ",
                    "2001:DB8:0:0:0:0:0:1",
                    "2001:db8::/32")))
        .containsExactly("10.0.0.0/8", "192.168.1.7", "2001:db8::1", "2001:db8::/32");
  }

  @Test
  void matchesAddressesInsideBlocksOnly() {
    IpAllowList list =
        IpAllowList.of(IpAllowList.normalise(List.of("10.0.0.0/8", "2001:db8::/32")));
    assertThat(list.allows("10.200.3.4")).isTrue();
    assertThat(list.allows("11.0.0.1")).isFalse();
    assertThat(list.allows("2001:db8:ffff::1")).isTrue();
    assertThat(list.allows("2001:db9::1")).isFalse();
    assertThat(list.allows("not-an-ip")).isFalse();
    assertThat(list.allows(null)).isFalse();
    assertThat(IpAllowList.of(List.of()).allows("1.2.3.4")).isTrue();
  }

  @Test
  void refusesHostNamesBadPrefixesAndTooManyEntriesNamingTheIndex() {
    assertThatThrownBy(() -> IpAllowList.normalise(List.of("1.2.3.4", "example.com")))
        .hasMessageStartingWith("[1]");
    assertThatThrownBy(() -> IpAllowList.normalise(List.of("1.2.3.4/33")))
        .hasMessageContaining("prefix");
    assertThatThrownBy(() -> IpAllowList.normalise(List.of("256.1.1.1")))
        .hasMessageStartingWith("[0]");
    assertThatThrownBy(() -> IpAllowList.normalise(List.of(""))).hasMessageContaining("empty");
    assertThatThrownBy(() -> IpAllowList.normalise(Collections.nCopies(65, "1.1.1.1")))
        .hasMessageContaining("at most 64");
  }

  /**
   * Found by IpAllowListFuzzTests: a text with a ':' that starts with neither a hex digit nor ':'
   * went to the JDK's name service, a DNS query for user input. {@link RecordingResolverProvider}
   * sees every lookup in this module's tests.
   */
  @Test
  void neverLooksUpAHostName() {
    int before = RecordingResolverProvider.LOOKUPS.size();
    for (String bad : List.of(".2.3.:14", ".1:2", "[.1:2]", "..:", ".::1/64", "g::1", ":")) {
      assertThatThrownBy(() -> IpAllowList.normalise(List.of(bad)))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("[0] is not an IPv4 or IPv6 address or CIDR");
      assertThat(IpAllowList.of(List.of("10.0.0.0/8")).allows(bad)).isFalse();
    }
    assertThat(
            RecordingResolverProvider.LOOKUPS.subList(
                before, RecordingResolverProvider.LOOKUPS.size()))
        .isEmpty();
  }

  /** An IPv4-mapped address counts its prefix in IPv6 bits: ::ffff:10.0.0.0/104 is 10.0.0.0/8. */
  @Test
  void ipv4MappedPrefixesCountIpv6Bits() {
    assertThat(
            IpAllowList.normalise(
                List.of("::ffff:10.1.2.3/104", "::FFFF:192.168.1.7", "::ffff:c0a8:107/128")))
        .containsExactly("10.0.0.0/8", "192.168.1.7");
    assertThatThrownBy(() -> IpAllowList.normalise(List.of("::ffff:10.0.0.0/8")))
        .hasMessage("[0] is an IPv4-mapped IPv6 address: its prefix length must be 96 to 128");
    assertThatThrownBy(() -> IpAllowList.normalise(List.of("::ffff:10.0.0.0/129")))
        .hasMessageContaining("96 to 128");
    IpAllowList list = IpAllowList.of(IpAllowList.normalise(List.of("::ffff:10.0.0.0/104")));
    assertThat(list.allows("10.9.9.9")).isTrue();
    assertThat(list.allows("::ffff:10.9.9.9")).isTrue();
    assertThat(list.allows("11.0.0.1")).isFalse();
  }
}
