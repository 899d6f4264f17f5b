package io.keywarden.audit.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.audit.rest.AlertsResource;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** Which resolved addresses a webhook may be sent to. */
class WebhookAddressTests {
  private static String why(String literal) throws Exception {
    return AlertsResource.refusedAddress(InetAddress.getByName(literal));
  }

  @Test
  void linkLocalUnspecifiedAndMulticastAddressesAreRefusedIpv4MappedToo() throws Exception {
    assertThat(why("169.254.169.254")).isEqualTo("a link-local");
    assertThat(why("fe80::1")).isEqualTo("a link-local");
    assertThat(why("::ffff:169.254.169.254")).isEqualTo("a link-local");
    assertThat(why("::169.254.169.254")).isEqualTo("a link-local");
    assertThat(why("0.0.0.0")).isEqualTo("an unspecified");
    assertThat(why("::")).isEqualTo("an unspecified");
    assertThat(why("224.0.0.1")).isEqualTo("a multicast");
    assertThat(why("ff02::1")).isEqualTo("a multicast");
  }

  @Test
  void loopbackPrivateAndPublicAddressesAreAllowed() throws Exception {
    for (String ok : new String[] {"127.0.0.1", "::1", "10.1.2.3", "192.168.1.1", "203.0.113.9"}) {
      assertThat(why(ok)).as(ok).isNull();
    }
  }
}
