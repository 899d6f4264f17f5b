package io.keywarden.key.leak;

import io.keywarden.contracts.KeyFormat;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Handles one GitHub secret-scanning report, without any I/O of its own: authenticate (key id and
 * signature over the raw body), parse, hash the plausible tokens, ask the caller once which hashes
 * are ours, and answer with the feedback for GitHub and the hashes to mark leaked.
 *
 * <p>Order matters: nothing is parsed, hashed or looked up before the signature verifies, so a
 * forged request costs one ECDSA verify and changes nothing. Results and reasons never contain a
 * token.
 *
 * <p>A report may be replayed (GitHub retries; the signature carries no timestamp). That is
 * harmless: marking a key leaked is idempotent, and the caller should emit one event per key state
 * change, not per report.
 */
public final class GithubLeakIntake {
  public static final String HEADER_KEY_ID = "Github-Public-Key-Identifier";
  public static final String HEADER_SIGNATURE = "Github-Public-Key-Signature";

  /** Custom (imported) keys are looked up when at least this long and of {@code [A-Za-z0-9_-]}. */
  public static final int MIN_CUSTOM_KEY_LENGTH = 32;

  public enum Status {
    /** Authenticated and parsed; answer 2xx with {@link Result#feedback()} as the body. */
    OK,
    /** Missing header, unknown key id or bad signature: answer 401, change nothing. */
    UNAUTHORIZED,
    /** Signed but malformed: answer 400 with {@link Result#reason()}, change nothing. */
    BAD_REQUEST
  }

  /**
   * Where a known key was reported, without the token itself: enough for an alert to say where the
   * key leaked.
   */
  public record Sighting(String tokenHash, String type, String url, String source) {}

  /**
   * @param reason why the request was refused; null when OK; never contains a token
   * @param feedback one entry per distinct (token, type) reported, in body order; empty unless OK
   * @param leakedHashes SHA-256 hex hashes of our keys that were reported: mark these leaked
   * @param sightings one per reported occurrence of a known key (hash, type, url, source)
   */
  public record Result(
      Status status,
      String reason,
      List<LeakFeedback> feedback,
      Set<String> leakedHashes,
      List<Sighting> sightings) {
    public Result {
      Objects.requireNonNull(status, "status");
      feedback = List.copyOf(feedback);
      leakedHashes = Set.copyOf(leakedHashes);
      sightings = List.copyOf(sightings);
    }

    static Result refused(Status status, String reason) {
      return new Result(status, reason, List.of(), Set.of(), List.of());
    }

    public boolean ok() {
      return status == Status.OK;
    }
  }

  private final Function<String, Optional<PublicKey>> publicKeys;
  private final GithubSignatureVerifier verifier = new GithubSignatureVerifier();
  private final List<String> prefixes;

  /** With the default key prefix {@link KeyFormat#DEFAULT_PREFIX}. */
  public GithubLeakIntake(Function<String, Optional<PublicKey>> publicKeys) {
    this(publicKeys, List.of(KeyFormat.DEFAULT_PREFIX));
  }

  /**
   * @param publicKeys key id to GitHub public key, normally {@code githubPublicKeys::find}
   * @param prefixes the generated-key prefixes whose checksum is accepted
   */
  public GithubLeakIntake(
      Function<String, Optional<PublicKey>> publicKeys, Collection<String> prefixes) {
    this.publicKeys = Objects.requireNonNull(publicKeys, "publicKeys");
    this.prefixes = List.copyOf(prefixes);
  }

  /**
   * @param keyId the {@value #HEADER_KEY_ID} header, or null when absent
   * @param signature the {@value #HEADER_SIGNATURE} header, or null when absent
   * @param rawBody the request body exactly as received (never re-serialized)
   * @param knownHashes called at most once, with the distinct SHA-256 hex hashes of all plausible
   *     tokens; returns those that belong to stored keys (e.g. one {@code WHERE key_hash =
   *     ANY(?)}). Not called when the request is refused or no token is plausible. Its exceptions
   *     propagate (answer 5xx so GitHub retries).
   */
  public Result handle(
      String keyId,
      String signature,
      byte[] rawBody,
      Function<List<String>, Set<String>> knownHashes) {
    // 1) authenticate before touching the body
    if (keyId == null || keyId.isBlank()) {
      return Result.refused(Status.UNAUTHORIZED, "missing " + HEADER_KEY_ID + " header");
    }
    if (signature == null || signature.isBlank()) {
      return Result.refused(Status.UNAUTHORIZED, "missing " + HEADER_SIGNATURE + " header");
    }
    Optional<PublicKey> key = publicKeys.apply(keyId.strip());
    if (key.isEmpty()) {
      return Result.refused(Status.UNAUTHORIZED, "unknown public key identifier");
    }
    if (!verifier.verify(key.get(), rawBody, signature)) {
      return Result.refused(Status.UNAUTHORIZED, "signature does not verify");
    }

    // 2) parse
    List<ReportedToken> reported;
    try {
      reported = GithubLeakReport.parse(rawBody);
    } catch (IllegalArgumentException e) {
      return Result.refused(Status.BAD_REQUEST, e.getMessage());
    }

    // 3) hash every token (feedback needs it), collect the plausible ones for one batch lookup
    int n = reported.size();
    String[] hashes = new String[n];
    Set<String> candidates = new LinkedHashSet<>();
    for (int i = 0; i < n; i++) {
      String token = reported.get(i).token();
      hashes[i] = KeyFormat.sha256Hex(token);
      if (plausible(token)) {
        candidates.add(hashes[i]);
      }
    }
    Set<String> known = new HashSet<>();
    if (!candidates.isEmpty()) {
      Set<String> answer = knownHashes.apply(List.copyOf(candidates));
      if (answer != null) {
        for (String h : answer) {
          if (candidates.contains(h)) { // ignore anything we did not ask about
            known.add(h);
          }
        }
      }
    }

    Map<String, LeakFeedback> feedback = new LinkedHashMap<>();
    List<Sighting> sightings = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ReportedToken r = reported.get(i);
      boolean ours = known.contains(hashes[i]);
      feedback.putIfAbsent(
          hashes[i] + '\n' + r.type(), LeakFeedback.ofHash(hashes[i], r.type(), ours));
      if (ours) {
        sightings.add(new Sighting(hashes[i], r.type(), r.url(), r.source()));
      }
    }
    return new Result(Status.OK, null, new ArrayList<>(feedback.values()), known, sightings);
  }

  /**
   * A token worth a lookup: a generated key whose checksum matches one of our prefixes, or a custom
   * key (at least {@value #MIN_CUSTOM_KEY_LENGTH} chars of {@code [A-Za-z0-9_-]}).
   */
  boolean plausible(String token) {
    for (String prefix : prefixes) {
      if (KeyFormat.hasValidChecksum(token, prefix)) {
        return true;
      }
    }
    return isCustomKeyShape(token);
  }

  static boolean isCustomKeyShape(String token) {
    if (token.length() < MIN_CUSTOM_KEY_LENGTH) {
      return false;
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '_'
              || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }
}
