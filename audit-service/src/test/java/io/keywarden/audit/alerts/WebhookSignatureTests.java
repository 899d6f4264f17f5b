package io.keywarden.audit.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WebhookSignatureTests {
  @Test
  void signatureIsHmacSha256OverTimestampDotBody() {
    // openssl: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
    assertThat(WebhookSignature.sign("secret", 1700000000L, "{\"a\":1}"))
        .isEqualTo("sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686");
  }

  @Test
  void aChangedBodyOrTimestampFailsVerification() {
    String sig = WebhookSignature.sign("secret", 1700000000L, "{\"a\":1}");
    assertThat(WebhookSignature.verify("secret", "1700000000", "{\"a\":1}", sig)).isTrue();
    assertThat(WebhookSignature.verify("secret", "1700000000", "{\"a\":2}", sig)).isFalse();
    assertThat(WebhookSignature.verify("secret", "1700000001", "{\"a\":1}", sig)).isFalse();
    assertThat(WebhookSignature.verify("other", "1700000000", "{\"a\":1}", sig)).isFalse();
  }
}
