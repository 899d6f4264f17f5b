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
}
