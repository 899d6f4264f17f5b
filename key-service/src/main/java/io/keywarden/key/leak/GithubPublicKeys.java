package io.keywarden.key.leak;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * GitHub's secret-scanning signing keys, fetched from {@code /meta/public_keys/secret_scanning}
 * (rate-limited by GitHub, so cached).
 *
 * <ul>
 *   <li>The set is cached for {@link #TTL} (1 h) from the last successful fetch.
 *   <li>A failed fetch (network error, timeout, non-200, unparsable or empty set) keeps the last
 *       good set (stale fallback) and is not retried for {@link #MIN_FETCH_INTERVAL}.
 *   <li>An unknown key id triggers a re-fetch at most once per {@link #MIN_FETCH_INTERVAL} (1 min)
 *       in total, so a flood of made-up ids costs GitHub at most one request a minute.
 *   <li>Every key in the list is accepted, current or not ({@code is_current} marks the key GitHub
 *       signs new messages with; older keys stay listed during a rotation).
 * </ul>
 *
 * Thread-safe: reads are lock-free on an immutable snapshot; fetches are serialized, and a thread
 * that waited for another's fetch re-checks instead of fetching again. Time comes only from the
 * injected {@link Clock}.
 */
public final class GithubPublicKeys {
  public static final URI DEFAULT_URL =
      URI.create("https://api.github.com/meta/public_keys/secret_scanning");
  public static final Duration TTL = Duration.ofHours(1);
  public static final Duration MIN_FETCH_INTERVAL = Duration.ofMinutes(1);
  public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

  /** The key list is a few hundred bytes; refuse to buffer anything absurd. */
  static final int MAX_RESPONSE_BYTES = 1 << 20;

  private static final System.Logger LOG = System.getLogger(GithubPublicKeys.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Snapshot(Map<String, PublicKey> keys, Instant fetchedAt) {}

  private final URI url;
  private final HttpClient http;
  private final Clock clock;
  private final String bearerToken;
  private final ReentrantLock fetchLock = new ReentrantLock();

  private volatile Snapshot snapshot; // null until the first successful fetch
  private volatile Instant lastAttempt; // null until the first attempt

  public GithubPublicKeys(URI url, HttpClient http, Clock clock) {
    this(url, http, clock, null);
  }

  /**
   * @param bearerToken optional GitHub token (no scopes needed) sent as {@code Authorization:
   *     Bearer ...} to raise GitHub's rate limit; null or blank for none
   */
  public GithubPublicKeys(URI url, HttpClient http, Clock clock, String bearerToken) {
    this.url = java.util.Objects.requireNonNull(url, "url");
    this.http = java.util.Objects.requireNonNull(http, "http");
    this.clock = java.util.Objects.requireNonNull(clock, "clock");
    this.bearerToken = bearerToken == null || bearerToken.isBlank() ? null : bearerToken.strip();
  }

  /** An HttpClient suited to this class: 5 s connect timeout, no redirects. */
  public static HttpClient defaultHttpClient() {
    return HttpClient.newBuilder()
        .connectTimeout(REQUEST_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  /**
   * The key with this identifier, fetching or re-fetching the list when the cache is empty,
   * expired, or (at most once a minute) does not know the id. Empty for an unknown id, and when
   * GitHub cannot be reached and no set was ever fetched.
   */
  public Optional<PublicKey> find(String keyIdentifier) {
    if (keyIdentifier == null || keyIdentifier.isBlank()) {
      return Optional.empty();
    }
    Snapshot s = snapshot;
    if (s == null || expired(s)) {
      refresh(false);
      s = snapshot;
    }
    PublicKey key = s == null ? null : s.keys().get(keyIdentifier);
    if (key != null) {
      return Optional.of(key);
    }
    // unknown id: maybe GitHub rotated keys; ask again, but at most once per MIN_FETCH_INTERVAL
    refresh(true);
    s = snapshot;
    return s == null ? Optional.empty() : Optional.ofNullable(s.keys().get(keyIdentifier));
  }

  /** When the current set was fetched; empty before the first successful fetch. */
  public Optional<Instant> fetchedAt() {
    Snapshot s = snapshot;
    return s == null ? Optional.empty() : Optional.of(s.fetchedAt());
  }

  private boolean expired(Snapshot s) {
    return !clock.instant().isBefore(s.fetchedAt().plus(TTL));
  }

  private boolean throttled() {
    Instant last = lastAttempt;
    return last != null && clock.instant().isBefore(last.plus(MIN_FETCH_INTERVAL));
  }

  /**
   * Fetches unless another thread just did or a fetch was attempted within the last minute.
   *
   * @param unknownId true for a re-fetch caused by an unknown id (only throttling applies); false
   *     for an empty or expired cache (skipped if another thread already refreshed it)
   */
  private void refresh(boolean unknownId) {
    if (throttled()) {
      return;
    }
    fetchLock.lock();
    try {
      if (throttled()) {
        return; // another thread fetched while we waited
      }
      if (!unknownId) {
        Snapshot s = snapshot;
        if (s != null && !expired(s)) {
          return;
        }
      }
      lastAttempt = clock.instant();
      Map<String, PublicKey> keys = fetch();
      if (keys != null) {
        snapshot = new Snapshot(Map.copyOf(keys), clock.instant());
      }
    } finally {
      fetchLock.unlock();
    }
  }

  /** The parsed key set, or null on any failure (logged without the bearer token). */
  private Map<String, PublicKey> fetch() {
    HttpRequest.Builder req =
        HttpRequest.newBuilder(url)
            .timeout(REQUEST_TIMEOUT)
            .header("Accept", "application/json")
            .GET();
    if (bearerToken != null) {
      req.header("Authorization", "Bearer " + bearerToken);
    }
    try {
      HttpResponse<InputStream> resp =
          http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
      byte[] body;
      try (InputStream in = resp.body()) {
        body = in.readNBytes(MAX_RESPONSE_BYTES + 1);
      }
      if (resp.statusCode() != 200) {
        LOG.log(
            System.Logger.Level.WARNING,
            "GitHub public keys fetch: HTTP {0}; keeping the last set",
            resp.statusCode());
        return null;
      }
      if (body.length > MAX_RESPONSE_BYTES) {
        LOG.log(
            System.Logger.Level.WARNING,
            "GitHub public keys fetch: response too large; keeping the last set");
        return null;
      }
      return parseKeys(body);
    } catch (IOException e) {
      LOG.log(
          System.Logger.Level.WARNING,
          "GitHub public keys fetch failed ({0}); keeping the last set",
          e.getClass().getSimpleName());
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * {@code {"public_keys":[{"key_identifier","key","is_current"}]}}; entries whose PEM does not
   * parse are skipped. Null when no usable key is present, so an odd answer never replaces a good
   * set.
   */
  static Map<String, PublicKey> parseKeys(byte[] body) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "GitHub public keys: response is not JSON");
      return null;
    }
    JsonNode list = root == null ? null : root.get("public_keys");
    if (list == null || !list.isArray()) {
      LOG.log(System.Logger.Level.WARNING, "GitHub public keys: no public_keys array");
      return null;
    }
    Map<String, PublicKey> keys = new HashMap<>();
    for (JsonNode entry : list) {
      JsonNode id = entry.get("key_identifier");
      JsonNode pem = entry.get("key");
      if (id == null || !id.isTextual() || pem == null || !pem.isTextual()) {
        continue;
      }
      try {
        keys.put(id.asText(), GithubSignatureVerifier.parsePem(pem.asText()));
      } catch (IllegalArgumentException e) {
        LOG.log(
            System.Logger.Level.WARNING,
            "GitHub public keys: skipping key {0}: {1}",
            id.asText(),
            e.getMessage());
      }
    }
    return keys.isEmpty() ? null : keys;
  }
}
