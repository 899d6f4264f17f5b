package io.keywarden.key.leak;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GithubPublicKeysTests {
  private HttpServer server;
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger status = new AtomicInteger(200);
  private final AtomicReference<String> body = new AtomicReference<>();
  private final AtomicReference<String> lastAuthorization = new AtomicReference<>();
  private final LeakTestSupport.MutableClock clock =
      new LeakTestSupport.MutableClock(Instant.parse("2026-11-23T10:00:00Z"));
  private final KeyPair pairA = LeakTestSupport.newP256Pair();
  private URI url;

  @BeforeEach
  void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/meta/public_keys/secret_scanning",
        exchange -> {
          requests.incrementAndGet();
          lastAuthorization.set(exchange.getRequestHeaders().getFirst("Authorization"));
          byte[] out = body.get().getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(status.get(), out.length);
          try (OutputStream os = exchange.getResponseBody()) {
            os.write(out);
          }
        });
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
    url =
        URI.create(
            "http://127.0.0.1:"
                + server.getAddress().getPort()
                + "/meta/public_keys/secret_scanning");
    body.set(LeakTestSupport.keysJson("key-a", pairA.getPublic()));
  }

  @AfterEach
  void stopServer() {
    server.stop(0);
  }

  private GithubPublicKeys keys() {
    return new GithubPublicKeys(url, GithubPublicKeys.defaultHttpClient(), clock);
  }

  @Test
  void manyFindsWithinTheHourCauseOneFetch() {
    GithubPublicKeys keys = keys();
    for (int i = 0; i < 1000; i++) {
      assertThat(keys.find("key-a")).contains(pairA.getPublic());
      clock.advance(Duration.ofSeconds(3)); // 50 minutes in total
    }
    assertThat(requests.get()).isEqualTo(1);
  }

  @Test
  void knownAnswerPemServedAsJsonIsUsable() {
    body.set(
        "{\"public_keys\":[{\"key_identifier\":\""
            + LeakTestSupport.KAT_KEY_ID
            + "\",\"key\":\""
            + LeakTestSupport.KAT_PEM.replace("\n", "\\n")
            + "\",\"is_current\":false}]}");
    GithubPublicKeys keys = keys();
    assertThat(keys.find(LeakTestSupport.KAT_KEY_ID)).isPresent();
    assertThat(
            new GithubSignatureVerifier()
                .verify(
                    keys.find(LeakTestSupport.KAT_KEY_ID).orElseThrow(),
                    LeakTestSupport.KAT_BODY,
                    LeakTestSupport.KAT_SIGNATURE))
        .isTrue();
  }

  @Test
  void refetchesAfterOneHour() {
    GithubPublicKeys keys = keys();
    keys.find("key-a");
    clock.advance(Duration.ofMinutes(59).plusSeconds(59));
    keys.find("key-a");
    assertThat(requests.get()).isEqualTo(1);
    clock.advance(Duration.ofSeconds(1));
    keys.find("key-a");
    assertThat(requests.get()).isEqualTo(2);
    assertThat(keys.fetchedAt()).contains(clock.instant());
  }

  @Test
  void rotatedKeyAppearsAfterTheHourlyRefetch() {
    GithubPublicKeys keys = keys();
    assertThat(keys.find("key-a")).isPresent();
    KeyPair pairB = LeakTestSupport.newP256Pair();
    body.set(LeakTestSupport.keysJson("key-b", pairB.getPublic()));
    clock.advance(Duration.ofHours(1));
    assertThat(keys.find("key-b")).contains(pairB.getPublic());
    assertThat(keys.find("key-a")).isEmpty();
  }

  @Test
  void keepsTheStaleSetWhenTheServerAnswers500() {
    GithubPublicKeys keys = keys();
    assertThat(keys.find("key-a")).isPresent();
    status.set(500);
    body.set("{\"message\":\"boom\"}");
    clock.advance(Duration.ofHours(2));
    assertThat(keys.find("key-a")).contains(pairA.getPublic());
    assertThat(requests.get()).isEqualTo(2);
    // a failed refresh is not retried on every request either: at most once a minute
    for (int i = 0; i < 100; i++) {
      assertThat(keys.find("key-a")).isPresent();
    }
    assertThat(requests.get()).isEqualTo(2);
    clock.advance(Duration.ofMinutes(1));
    assertThat(keys.find("key-a")).isPresent();
    assertThat(requests.get()).isEqualTo(3);
  }

  @Test
  void keepsTheStaleSetWhenTheServerAnswersGarbageOrNoKeys() {
    GithubPublicKeys keys = keys();
    assertThat(keys.find("key-a")).isPresent();
    clock.advance(Duration.ofHours(1));
    body.set("not json");
    assertThat(keys.find("key-a")).isPresent();
    clock.advance(Duration.ofHours(1));
    body.set("{\"public_keys\":[]}");
    assertThat(keys.find("key-a")).isPresent();
    clock.advance(Duration.ofHours(1));
    body.set("{\"public_keys\":[{\"key_identifier\":\"x\",\"key\":\"not a pem\"}]}");
    assertThat(keys.find("key-a")).isPresent();
    assertThat(keys.find("x")).isEmpty();
  }

  @Test
  void keepsTheStaleSetWhenTheServerIsGone() {
    GithubPublicKeys keys = keys();
    assertThat(keys.find("key-a")).isPresent();
    server.stop(0);
    clock.advance(Duration.ofHours(1));
    assertThat(keys.find("key-a")).contains(pairA.getPublic());
  }

  @Test
  void unknownKeyIdRefetchesAtMostOncePerMinute() {
    GithubPublicKeys keys = keys();
    keys.find("key-a");
    assertThat(requests.get()).isEqualTo(1);
    clock.advance(Duration.ofMinutes(1));
    for (int i = 0; i < 1000; i++) {
      assertThat(keys.find("unknown-" + i)).isEmpty();
    }
    assertThat(requests.get()).isEqualTo(2);
    clock.advance(Duration.ofSeconds(59));
    assertThat(keys.find("unknown-x")).isEmpty();
    assertThat(requests.get()).isEqualTo(2);
    clock.advance(Duration.ofSeconds(1));
    assertThat(keys.find("unknown-y")).isEmpty();
    assertThat(requests.get()).isEqualTo(3);
    // the known key keeps working throughout, without extra fetches
    assertThat(keys.find("key-a")).isPresent();
    assertThat(requests.get()).isEqualTo(3);
  }

  @Test
  void unknownIdRightAfterTheFirstFetchDoesNotFetchTwice() {
    GithubPublicKeys keys = keys();
    assertThat(keys.find("nope")).isEmpty();
    assertThat(requests.get()).isEqualTo(1);
  }

  @Test
  void newKeyIsFoundByTheUnknownIdRefetch() {
    GithubPublicKeys keys = keys();
    keys.find("key-a");
    KeyPair pairB = LeakTestSupport.newP256Pair();
    body.set(LeakTestSupport.keysJson("key-b", pairB.getPublic()));
    clock.advance(Duration.ofMinutes(1));
    assertThat(keys.find("key-b")).contains(pairB.getPublic());
    assertThat(requests.get()).isEqualTo(2);
  }

  @Test
  void concurrentUnknownIdFloodCausesOneFetch() throws Exception {
    GithubPublicKeys keys = keys();
    keys.find("key-a");
    clock.advance(Duration.ofMinutes(5));
    ExecutorService pool = Executors.newFixedThreadPool(16);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < 16; t++) {
      int id = t;
      futures.add(
          pool.submit(
              () -> {
                start.await();
                for (int i = 0; i < 200; i++) {
                  keys.find("forged-" + id + "-" + i);
                  keys.find("key-a");
                }
                return null;
              }));
    }
    start.countDown();
    for (Future<?> f : futures) {
      f.get();
    }
    pool.shutdown();
    assertThat(requests.get()).isEqualTo(2);
  }

  @Test
  void noServerAndNoCacheMeansEmptyNotException() {
    server.stop(0);
    assertThat(keys().find("key-a")).isEmpty();
  }

  @Test
  void sendsBearerTokenOnlyWhenConfigured() {
    keys().find("key-a");
    assertThat(lastAuthorization.get()).isNull();
    new GithubPublicKeys(url, GithubPublicKeys.defaultHttpClient(), clock, "ghp_test")
        .find("key-a");
    assertThat(lastAuthorization.get()).isEqualTo("Bearer ghp_test");
  }

  @Test
  void blankOrNullKeyIdFindsNothingAndFetchesNothing() {
    GithubPublicKeys keys = keys();
    assertThat(keys.find(null)).isEmpty();
    assertThat(keys.find(" ")).isEmpty();
    assertThat(requests.get()).isZero();
  }
}
