package io.keywarden.key.leak;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.key.leak.GithubLeakIntake.Result;
import io.keywarden.key.leak.GithubLeakIntake.Status;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class GithubLeakIntakeTests {
  private static final String KEY_ID = "own-key";
  private final KeyPair pair = LeakTestSupport.newP256Pair();
  private final Map<String, PublicKey> githubKeys =
      Map.of(
          KEY_ID,
          pair.getPublic(),
          LeakTestSupport.KAT_KEY_ID,
          GithubSignatureVerifier.parsePem(LeakTestSupport.KAT_PEM));
  private final GithubLeakIntake intake =
      new GithubLeakIntake(id -> Optional.ofNullable(githubKeys.get(id)));

  /** A stand-in for the database: counts calls, answers from a fixed set of stored hashes. */
  private static final class FakeDb implements Function<List<String>, Set<String>> {
    final Set<String> stored = new HashSet<>();
    final AtomicInteger calls = new AtomicInteger();
    final List<List<String>> asked = new ArrayList<>();

    FakeDb(String... rawKeys) {
      for (String k : rawKeys) {
        stored.add(KeyFormat.sha256Hex(k));
      }
    }

    @Override
    public Set<String> apply(List<String> hashes) {
      calls.incrementAndGet();
      asked.add(hashes);
      Set<String> out = new HashSet<>();
      for (String h : hashes) {
        if (stored.contains(h)) {
          out.add(h);
        }
      }
      return out;
    }
  }

  private static byte[] report(String... tokens) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < tokens.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append("{\"token\":\"")
          .append(tokens[i])
          .append("\",\"type\":\"keywarden_api_key\",\"url\":\"https://github.com/o/r/blob/x/f")
          .append(i)
          .append("\",\"source\":\"commit\"}");
    }
    return sb.append(']').toString().getBytes(StandardCharsets.UTF_8);
  }

  private String sign(byte[] body) {
    return LeakTestSupport.sign(pair.getPrivate(), body);
  }

  @Test
  void knownAnswerVectorIsAcceptedAndClassified() {
    FakeDb db = new FakeDb();
    Result r =
        intake.handle(
            LeakTestSupport.KAT_KEY_ID,
            LeakTestSupport.KAT_SIGNATURE,
            LeakTestSupport.KAT_BODY,
            db);
    assertThat(r.status()).isEqualTo(Status.OK);
    // "some_token" is neither a checksummed key nor custom-key shaped: no lookup at all
    assertThat(db.calls).hasValue(0);
    assertThat(r.feedback())
        .containsExactly(
            new LeakFeedback(KeyFormat.sha256Hex("some_token"), "some_type", "false_positive"));
    assertThat(r.leakedHashes()).isEmpty();
  }

  @Test
  void ownPairSignedReportMarksKnownKeysAndGivesFeedback() {
    String ours = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String oursCustom = "custom_Key-0123456789abcdefghijklmnopqrstuv";
    String notOurs = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    byte[] body = report(ours, notOurs, oursCustom, "short");
    FakeDb db = new FakeDb(ours, oursCustom);

    Result r = intake.handle(KEY_ID, sign(body), body, db);

    assertThat(r.ok()).isTrue();
    assertThat(r.reason()).isNull();
    assertThat(db.calls).hasValue(1);
    assertThat(db.asked.get(0))
        .containsExactly(
            KeyFormat.sha256Hex(ours),
            KeyFormat.sha256Hex(notOurs),
            KeyFormat.sha256Hex(oursCustom));
    assertThat(r.leakedHashes())
        .containsExactlyInAnyOrder(KeyFormat.sha256Hex(ours), KeyFormat.sha256Hex(oursCustom));
    assertThat(r.feedback())
        .extracting(LeakFeedback::label)
        .containsExactly("true_positive", "false_positive", "true_positive", "false_positive");
    assertThat(r.sightings())
        .extracting(GithubLeakIntake.Sighting::url)
        .containsExactly("https://github.com/o/r/blob/x/f0", "https://github.com/o/r/blob/x/f2");
    assertThat(r.toString()).doesNotContain(ours).doesNotContain(oursCustom);
  }

  @Test
  void duplicateTokensAreLookedUpOnceAndGetOneFeedback() {
    String ours = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    byte[] body = report(ours, ours, ours);
    FakeDb db = new FakeDb(ours);
    Result r = intake.handle(KEY_ID, sign(body), body, db);
    assertThat(db.asked.get(0)).hasSize(1);
    assertThat(r.feedback()).hasSize(1);
    assertThat(r.leakedHashes()).hasSize(1);
    assertThat(r.sightings()).hasSize(3);
  }

  @Test
  void dbAnswerIsIntersectedWithWhatWasAsked() {
    String ours = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    byte[] body = report(ours);
    Result r =
        intake.handle(KEY_ID, sign(body), body, hashes -> Set.of(hashes.get(0), "f".repeat(64)));
    assertThat(r.leakedHashes()).containsExactly(KeyFormat.sha256Hex(ours));
  }

  @Test
  void tamperedByteIsUnauthorizedAndNothingIsLookedUp() {
    String ours = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    byte[] body = report(ours);
    String sig = sign(body);
    byte[] tampered = body.clone();
    tampered[tampered.length - 3] ^= 0x01;
    FakeDb db = new FakeDb(ours);
    Result r = intake.handle(KEY_ID, sig, tampered, db);
    assertThat(r.status()).isEqualTo(Status.UNAUTHORIZED);
    assertThat(r.reason()).isEqualTo("signature does not verify");
    assertUnchanged(r, db);
  }

  @Test
  void unknownKeyIdIsUnauthorized() {
    byte[] body = report("x");
    FakeDb db = new FakeDb();
    Result r = intake.handle("someone-elses-key", sign(body), body, db);
    assertThat(r.status()).isEqualTo(Status.UNAUTHORIZED);
    assertThat(r.reason()).isEqualTo("unknown public key identifier").doesNotContain("someone");
    assertUnchanged(r, db);
  }

  @Test
  void badBase64SignatureIsUnauthorized() {
    byte[] body = report("x");
    FakeDb db = new FakeDb();
    Result r = intake.handle(KEY_ID, "%%%not-base64%%%", body, db);
    assertThat(r.status()).isEqualTo(Status.UNAUTHORIZED);
    assertUnchanged(r, db);
  }

  @Test
  void emptySignatureIsUnauthorized() {
    byte[] body = report("x");
    FakeDb db = new FakeDb();
    Result r = intake.handle(KEY_ID, "", body, db);
    assertThat(r.status()).isEqualTo(Status.UNAUTHORIZED);
    assertThat(r.reason()).contains("Github-Public-Key-Signature");
    assertUnchanged(r, db);
  }

  @Test
  void missingHeadersAreUnauthorizedAndKeysAreNotEvenFetched() {
    AtomicInteger keyLookups = new AtomicInteger();
    GithubLeakIntake counting =
        new GithubLeakIntake(
            id -> {
              keyLookups.incrementAndGet();
              return Optional.ofNullable(githubKeys.get(id));
            });
    byte[] body = report("x");
    FakeDb db = new FakeDb();
    Result noId = counting.handle(null, sign(body), body, db);
    Result noSig = counting.handle(KEY_ID, null, body, db);
    assertThat(noId.status()).isEqualTo(Status.UNAUTHORIZED);
    assertThat(noId.reason()).contains("Github-Public-Key-Identifier");
    assertThat(noSig.status()).isEqualTo(Status.UNAUTHORIZED);
    assertThat(noSig.reason()).contains("Github-Public-Key-Signature");
    assertThat(keyLookups).hasValue(0);
    assertUnchanged(noId, db);
    assertUnchanged(noSig, db);
  }

  @Test
  void signedButMalformedBodyIsBadRequestWithoutTheToken() {
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    byte[] body =
        ("[{\"token\":\"" + secret + "\"},{\"type\":\"t\"}]").getBytes(StandardCharsets.UTF_8);
    FakeDb db = new FakeDb(secret);
    Result r = intake.handle(KEY_ID, sign(body), body, db);
    assertThat(r.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(r.reason()).isEqualTo("body[1].token is missing").doesNotContain(secret);
    assertUnchanged(r, db);

    byte[] broken = ("[{\"token\":" + secret + "}]").getBytes(StandardCharsets.UTF_8);
    Result r2 = intake.handle(KEY_ID, sign(broken), broken, db);
    assertThat(r2.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(r2.reason()).doesNotContain(secret);
    assertUnchanged(r2, db);
  }

  @Test
  void replayedReportGivesTheSameResult() {
    String ours = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    byte[] body = report(ours);
    String sig = sign(body);
    FakeDb db = new FakeDb(ours);
    Result first = intake.handle(KEY_ID, sig, body, db);
    Result again = intake.handle(KEY_ID, sig, body, db);
    assertThat(again).isEqualTo(first);
  }

  @Test
  void tenThousandTokenBatchIsClassifiedWellUnderASecond() {
    int n = 10_000;
    String[] tokens = new String[n];
    List<String> ours = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      tokens[i] = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
      if (i % 10 == 0) {
        ours.add(tokens[i]);
      }
    }
    byte[] body = report(tokens);
    String sig = sign(body);
    FakeDb db = new FakeDb(ours.toArray(String[]::new));
    long cold = System.nanoTime();
    intake.handle(KEY_ID, sig, body, db); // first run: class loading, interpreter
    long coldMs = (System.nanoTime() - cold) / 1_000_000;
    db.calls.set(0);

    long start = System.nanoTime();
    Result r = intake.handle(KEY_ID, sig, body, db);
    long ms = (System.nanoTime() - start) / 1_000_000;
    System.out.printf(
        "[S7] 10,000-token GitHub batch (%d bytes): verified, parsed and classified in %d ms"
            + " (first, cold run: %d ms)%n",
        body.length, ms, coldMs);

    assertThat(r.ok()).isTrue();
    assertThat(db.calls).hasValue(1);
    assertThat(r.feedback()).hasSize(n);
    assertThat(r.leakedHashes()).hasSize(1000);
    assertThat(r.feedback().stream().filter(f -> f.label().equals("true_positive"))).hasSize(1000);
    assertThat(ms).isLessThan(1000);
  }

  @Test
  void customKeyShapeNeeds32CharsOfTheUrlSafeAlphabet() {
    assertThat(GithubLeakIntake.isCustomKeyShape("a".repeat(32))).isTrue();
    assertThat(GithubLeakIntake.isCustomKeyShape("a".repeat(31))).isFalse();
    assertThat(GithubLeakIntake.isCustomKeyShape("a".repeat(31) + " ")).isFalse();
    assertThat(GithubLeakIntake.isCustomKeyShape("a".repeat(31) + "=")).isFalse();
    assertThat(GithubLeakIntake.isCustomKeyShape("Az09_-".repeat(6))).isTrue();
    assertThat(intake.plausible(KeyFormat.generate(KeyFormat.DEFAULT_PREFIX))).isTrue();
  }

  @Test
  void checksummedKeysOfOtherConfiguredPrefixesAreLookedUpEvenWhenNotCustomShaped() {
    // "kw." contains a '.', so such a key fails the custom-key rule: only the checksum admits it
    String dotted = KeyFormat.generate("kw.");
    assertThat(GithubLeakIntake.isCustomKeyShape(dotted)).isFalse();
    assertThat(intake.plausible(dotted)).isFalse();
    GithubLeakIntake multi =
        new GithubLeakIntake(
            id -> Optional.ofNullable(githubKeys.get(id)),
            List.of(KeyFormat.DEFAULT_PREFIX, "kw."));
    assertThat(multi.plausible(dotted)).isTrue();
    String broken = dotted.substring(0, dotted.length() - 1) + (dotted.endsWith("A") ? "B" : "A");
    assertThat(multi.plausible(broken)).as("bad checksum").isFalse();
  }

  private static void assertUnchanged(Result r, FakeDb db) {
    assertThat(db.calls).as("database lookups").hasValue(0);
    assertThat(r.feedback()).isEmpty();
    assertThat(r.leakedHashes()).isEmpty();
    assertThat(r.sightings()).isEmpty();
  }
}
