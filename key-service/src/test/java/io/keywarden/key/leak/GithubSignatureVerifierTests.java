package io.keywarden.key.leak;

import static io.keywarden.key.leak.LeakTestSupport.KAT_BODY;
import static io.keywarden.key.leak.LeakTestSupport.KAT_PEM;
import static io.keywarden.key.leak.LeakTestSupport.KAT_SIGNATURE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class GithubSignatureVerifierTests {
  private final GithubSignatureVerifier verifier = new GithubSignatureVerifier();

  @Test
  void githubDocsKnownAnswerVectorVerifies() {
    PublicKey key = GithubSignatureVerifier.parsePem(KAT_PEM);
    assertThat(verifier.verify(key, KAT_BODY, KAT_SIGNATURE)).isTrue();
  }

  @Test
  void knownAnswerVectorFailsWithOneAddedSpace() {
    PublicKey key = GithubSignatureVerifier.parsePem(KAT_PEM);
    byte[] spaced =
        "[{\"token\":\"some_token\", \"type\":\"some_type\",\"url\":\"some_url\"}]"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(spaced).hasSize(KAT_BODY.length + 1);
    assertThat(verifier.verify(key, spaced, KAT_SIGNATURE)).isFalse();
  }

  @Test
  void knownAnswerVectorFailsWithTrailingNewline() {
    PublicKey key = GithubSignatureVerifier.parsePem(KAT_PEM);
    byte[] withNewline = (new String(KAT_BODY, StandardCharsets.UTF_8) + "\n").getBytes();
    assertThat(verifier.verify(key, withNewline, KAT_SIGNATURE)).isFalse();
  }

  @Test
  void ownP256PairSignatureVerifies() {
    KeyPair pair = LeakTestSupport.newP256Pair();
    byte[] body =
        "[{\"token\":\"abc\",\"type\":\"t\",\"url\":\"\",\"source\":\"commit\"}]".getBytes();
    String sig = LeakTestSupport.sign(pair.getPrivate(), body);
    assertThat(verifier.verify(pair.getPublic(), body, sig)).isTrue();
  }

  @Test
  void ownPairPemRoundTripsThroughParsePem() {
    KeyPair pair = LeakTestSupport.newP256Pair();
    PublicKey parsed = GithubSignatureVerifier.parsePem(LeakTestSupport.pem(pair.getPublic()));
    assertThat(parsed.getEncoded()).isEqualTo(pair.getPublic().getEncoded());
  }

  @Test
  void everySingleTamperedByteFailsVerification() {
    KeyPair pair = LeakTestSupport.newP256Pair();
    byte[] body = "[{\"token\":\"abc\",\"type\":\"t\",\"url\":\"u\"}]".getBytes();
    String sig = LeakTestSupport.sign(pair.getPrivate(), body);
    for (int i = 0; i < body.length; i++) {
      byte[] tampered = body.clone();
      tampered[i] ^= 0x01;
      assertThat(verifier.verify(pair.getPublic(), tampered, sig)).as("byte %d", i).isFalse();
    }
  }

  @Test
  void signatureFromAnotherKeyFails() {
    KeyPair signer = LeakTestSupport.newP256Pair();
    KeyPair other = LeakTestSupport.newP256Pair();
    byte[] body = "[]".getBytes();
    assertThat(
            verifier.verify(
                other.getPublic(), body, LeakTestSupport.sign(signer.getPrivate(), body)))
        .isFalse();
  }

  @Test
  void badBase64EmptyBlankAndNullReturnFalseWithoutThrowing() {
    PublicKey key = GithubSignatureVerifier.parsePem(KAT_PEM);
    assertThat(verifier.verify(key, KAT_BODY, "not base64 !!!")).isFalse();
    assertThat(verifier.verify(key, KAT_BODY, "MEUCIQ=A")).isFalse();
    assertThat(verifier.verify(key, KAT_BODY, "")).isFalse();
    assertThat(verifier.verify(key, KAT_BODY, "   ")).isFalse();
    assertThat(verifier.verify(key, KAT_BODY, null)).isFalse();
    assertThat(verifier.verify(null, KAT_BODY, KAT_SIGNATURE)).isFalse();
    assertThat(verifier.verify(key, null, KAT_SIGNATURE)).isFalse();
    assertThat(verifier.verify(key, KAT_BODY, "A".repeat(10_000))).isFalse();
  }

  @Test
  void validBase64ButBadDerReturnsFalseWithoutThrowing() {
    PublicKey key = GithubSignatureVerifier.parsePem(KAT_PEM);
    String garbage = Base64.getEncoder().encodeToString("definitely not DER".getBytes());
    assertThat(verifier.verify(key, KAT_BODY, garbage)).isFalse();
    // the right signature with a trailing byte appended is not valid DER either
    byte[] der = Base64.getDecoder().decode(KAT_SIGNATURE);
    byte[] longer = java.util.Arrays.copyOf(der, der.length + 1);
    assertThat(verifier.verify(key, KAT_BODY, Base64.getEncoder().encodeToString(longer)))
        .isFalse();
    // truncated
    byte[] shorter = java.util.Arrays.copyOf(der, der.length - 1);
    assertThat(verifier.verify(key, KAT_BODY, Base64.getEncoder().encodeToString(shorter)))
        .isFalse();
  }

  @Test
  void rsaKeyIsRejectedAsFalseNotException() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    PublicKey rsa = g.generateKeyPair().getPublic();
    assertThat(verifier.verify(rsa, KAT_BODY, KAT_SIGNATURE)).isFalse();
  }

  @Test
  void parsePemRejectsGarbageRsaAndOtherCurves() throws Exception {
    assertThatThrownBy(() -> GithubSignatureVerifier.parsePem("hello"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                GithubSignatureVerifier.parsePem(
                    "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----"))
        .isInstanceOf(IllegalArgumentException.class);
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    assertThatThrownBy(
            () ->
                GithubSignatureVerifier.parsePem(
                    LeakTestSupport.pem(rsa.generateKeyPair().getPublic())))
        .isInstanceOf(IllegalArgumentException.class);
    KeyPairGenerator p384 = KeyPairGenerator.getInstance("EC");
    p384.initialize(new ECGenParameterSpec("secp384r1"));
    assertThatThrownBy(
            () ->
                GithubSignatureVerifier.parsePem(
                    LeakTestSupport.pem(p384.generateKeyPair().getPublic())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("P-256");
  }
}
