package io.keywarden.key.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.contracts.Topics;
import io.keywarden.key.outbox.OutboxRelay;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * E2 at full length: the broker hangs (SIGSTOP) for 60 s while keys are created at a steady rate.
 * The writers' sends and the polling relay's re-sends time out again and again meanwhile (request 3
 * s, delivery 4 s, claim 5 s in tests): creates must not slow down, no row may be marked published
 * without an ack, and once the broker is back everything is published by the same process, without
 * a restart.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class BrokerHangTests {
  static final Duration STOP = Duration.ofSeconds(60);
  static final Duration BASELINE = Duration.ofSeconds(10);
  static final long PERIOD_MS = 200; // 5 creates a second

  @Inject OutboxRelay relay;

  /** One create: when it was sent, how long it took, its status and key id. */
  record Sample(long startNanos, long millis, int status, String id) {}

  @Test
  void aBrokerHungFor60sSlowsNoCreateMarksNothingPublishedAndEverythingIsPublishedAfter()
      throws Exception {
    long kafka = KeywardenStackResource.stack().mainPids().get("kafka");
    Kw.policy("{\"maxLiveKeysPerAccount\":100000}");
    List<String> users = List.of("alice", "bob");
    users.forEach(Stack::as); // tokens fetched before the clock starts
    String warm = Kw.createNamed("alice", "e2long warm").path("id");
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> Kw.published(warm));

    List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
    Map<String, Integer> healthDuringStop = new ConcurrentHashMap<>();
    AtomicInteger n = new AtomicInteger();
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
    ExecutorService workers = Executors.newFixedThreadPool(16);
    List<Future<?>> calls = Collections.synchronizedList(new ArrayList<>());
    long stopNanos;
    long contNanos;
    Instant stopAt;
    Instant contAt;
    boolean stopped = false;
    try {
      // open loop: a slow create does not hold back the next one
      ticker.scheduleAtFixedRate(
          () ->
              calls.add(
                  workers.submit(
                      () -> {
                        String user = users.get(n.getAndIncrement() % 2);
                        long t0 = System.nanoTime();
                        Response r = Kw.createNamed(user, "e2long");
                        long ms = (System.nanoTime() - t0) / 1_000_000;
                        samples.add(
                            new Sample(
                                t0,
                                ms,
                                r.statusCode(),
                                r.statusCode() == 201 ? r.path("id") : null));
                        return null;
                      })),
          0,
          PERIOD_MS,
          TimeUnit.MILLISECONDS);
      Awaitility.await().pollDelay(BASELINE).atMost(BASELINE.plusSeconds(1)).until(() -> true);

      stopAt = Instant.now();
      stopNanos = System.nanoTime();
      OutboxTests.signal(kafka, "STOP");
      stopped = true;
      // during the stop: readiness and liveness are sampled; key-service still answers every
      // call, so it must stay ready (the outbox holds the changes)
      Awaitility.await()
          .pollInterval(Duration.ofSeconds(5))
          .atMost(STOP.plusSeconds(5))
          .until(
              () -> {
                healthDuringStop.merge(
                    "ready " + given().get("/q/health/ready").statusCode(), 1, Integer::sum);
                healthDuringStop.merge(
                    "live " + given().get("/q/health/live").statusCode(), 1, Integer::sum);
                return System.nanoTime() - stopNanos >= STOP.toNanos();
              });
      ticker.shutdown();
      assertThat(ticker.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      // every create sent during the stop has answered, still with the broker stopped
      for (Future<?> f : new ArrayList<>(calls)) {
        f.get(30, TimeUnit.SECONDS);
      }
      contAt = Instant.now();
      contNanos = System.nanoTime();
    } finally {
      ticker.shutdownNow();
      workers.shutdownNow();
      if (stopped) {
        OutboxTests.signal(kafka, "CONT");
      }
    }

    List<Sample> all = new ArrayList<>(samples);
    assertThat(all).allSatisfy(s -> assertThat(s.status()).as("create status").isEqualTo(201));
    List<Long> baseline =
        all.stream().filter(s -> s.startNanos() < stopNanos).map(Sample::millis).toList();
    List<Long> during =
        all.stream()
            .filter(s -> s.startNanos() >= stopNanos && s.startNanos() < contNanos)
            .map(Sample::millis)
            .toList();
    Set<String> ids = new HashSet<>();
    all.forEach(s -> ids.add(s.id()));
    Set<String> createdDuringStop = new HashSet<>();
    all.stream()
        .filter(s -> s.startNanos() >= stopNanos)
        .forEach(s -> createdDuringStop.add(s.id()));
    assertThat(baseline.size()).as("creates before the stop").isGreaterThan(10);
    assertThat(during.size()).as("creates during the stop").isGreaterThan(100);

    // nothing was marked published while the broker was stopped (a second of grace after the
    // STOP for acks that were already on their way), and no key created meanwhile was published
    long markedDuring =
        count(
            "select count(*) from outbox where published_at > ? and published_at < ?",
            utc(stopAt.plusSeconds(1)),
            utc(contAt));
    assertThat(markedDuring).as("rows marked published while the broker was stopped").isZero();
    long recoverStart = System.nanoTime();

    // the relay recovers in the same process: every row of ours is published
    Awaitility.await().atMost(Duration.ofSeconds(120)).until(() -> unpublished(ids) == 0);
    double drainSeconds = (System.nanoTime() - recoverStart) / 1e9;
    long publishedBeforeCont =
        count(
            "select count(*) from outbox where record_key = any(?) and published_at < ?",
            createdDuringStop.toArray(String[]::new),
            utc(contAt));
    assertThat(publishedBeforeCont)
        .as("keys created during the stop whose row was marked published before SIGCONT")
        .isZero();

    Set<String> onTopic = Stack.keysOnTopic(Topics.KEY_EVENTS, ids, Duration.ofSeconds(60));
    assertThat(ids).as("keys whose created event is missing from Kafka").isSubsetOf(onTopic);

    // and the fast path works again: a new create is published by its writer, not the relay
    long fastBefore = relay.fastPublished();
    String after =
        Kw.createNamed("alice", "e2long after").then().statusCode(201).extract().path("id");
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> Kw.published(after));
    assertThat(relay.fastPublished())
        .as("fast-path publishes after recovery")
        .isGreaterThan(fastBefore);
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () -> given().get("/q/health").then().statusCode(200).body("status", equalTo("UP")));

    long p50b = percentile(baseline, 50);
    long p99b = percentile(baseline, 99);
    long p50d = percentile(during, 50);
    long p99d = percentile(during, 99);
    System.out.printf(
        "E2 (60 s SIGSTOP): %d creates before (p50 %d ms, p99 %d ms), %d during the stop (p50 %d"
            + " ms, p99 %d ms, max %d ms), all 201; rows marked published during the stop %d;"
            + " health during the stop %s; every row published %.1f s after SIGCONT; %d/%d keys"
            + " on the topic%n",
        baseline.size(),
        p50b,
        p99b,
        during.size(),
        p50d,
        p99d,
        Collections.max(during),
        markedDuring,
        healthDuringStop,
        drainSeconds,
        ids.stream().filter(onTopic::contains).count(),
        ids.size());
    // the bound is generous (a shared 2-CPU machine): a create waiting on the broker would take
    // the request or delivery timeout (3-4 s) or the whole stop
    assertThat(p99d).as("p99 create ms while the broker is stopped").isLessThan(1000);
    assertThat(healthDuringStop.keySet())
        .as("readiness and liveness while the broker is stopped")
        .containsExactlyInAnyOrder("ready 200", "live 200");
  }

  static java.time.OffsetDateTime utc(Instant i) {
    return i.atOffset(java.time.ZoneOffset.UTC);
  }

  static long percentile(List<Long> values, int p) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(i, sorted.size() - 1)));
  }

  static long unpublished(Set<String> ids) throws Exception {
    return count(
        "select count(*) from outbox where record_key = any(?) and published_at is null",
        (Object) ids.toArray(String[]::new));
  }

  static long count(String sql, Object... params) throws Exception {
    try (Connection c = Kw.db();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        if (params[i] instanceof String[] a) {
          ps.setArray(i + 1, c.createArrayOf("text", a));
        } else {
          ps.setObject(i + 1, params[i]);
        }
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** The other test classes share alice's and bob's accounts and their cap of 100 live keys. */
  @AfterEach
  void revokeWhatThisTestCreated() {
    Kw.sql(
        "update api_keys set status = 'revoked', revoked_at = now() where status = 'active'"
            + " and name like 'e2long %'");
    Kw.clearPolicy();
  }
}
