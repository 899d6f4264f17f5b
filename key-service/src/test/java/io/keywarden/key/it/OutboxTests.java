package io.keywarden.key.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** The transactional outbox under concurrency: every change published, per-key order kept. */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class OutboxTests {
  @jakarta.inject.Inject io.keywarden.key.outbox.Outbox outbox;
  @jakarta.inject.Inject io.keywarden.key.outbox.OutboxRelay relay;

  /** An outbox row as the create path writes it, claimed by a writer that then never sent it. */
  String claimedRow(java.time.Instant claimedUntil) throws Exception {
    io.keywarden.key.domain.ApiKey k = testKey();
    insertRow(k, io.keywarden.contracts.events.KeyEventType.CREATED, claimedUntil);
    return k.id.toString();
  }

  static io.keywarden.key.domain.ApiKey testKey() {
    java.time.Instant now = java.time.Instant.now();
    io.keywarden.key.domain.ApiKey k = new io.keywarden.key.domain.ApiKey();
    k.id = java.util.UUID.randomUUID();
    k.account = "claim-test";
    k.name = "claimed " + k.id;
    k.group = "default";
    k.status = "active";
    k.keyHash = "0".repeat(63) + "1";
    k.mask = "sk-kw-Ab...Cd";
    k.createdAt = now;
    k.updatedAt = now;
    k.version = 1;
    return k;
  }

  /** An outbox row of this key's state; claimed by its writer until then, or not (null). */
  void insertRow(
      io.keywarden.key.domain.ApiKey k,
      io.keywarden.contracts.events.KeyEventType type,
      java.time.Instant claimedUntil)
      throws Exception {
    var ev = outbox.pendingKeyEvent(type, k, java.time.Instant.now());
    try (var c = Kw.db();
        var ps =
            c.prepareStatement(
                "insert into outbox (event_id, topic, record_key, event_type, payload, created_at,"
                    + " claimed_until) values (?, ?, ?, ?, ?, now(), ?)")) {
      ps.setObject(1, ev.eventId());
      ps.setString(2, ev.topic());
      ps.setString(3, ev.recordKey());
      ps.setString(4, ev.type());
      ps.setString(5, ev.payload());
      ps.setObject(
          6, claimedUntil == null ? null : claimedUntil.atOffset(java.time.ZoneOffset.UTC));
      ps.executeUpdate();
    }
  }

  /**
   * A create whose writer has not sent its row (the fast-path send failed, the claim still runs)
   * and a later change of the same key: the relay holds the change back until the created row goes
   * first, or consumers would see "disabled" before "created" (OutboxTests' 200-create test saw
   * exactly that after a broker hang, session 8).
   */
  @Test
  void aLaterChangeOfAKeyWaitsUntilItsCreatedRowIsPublishedFirst() throws Exception {
    io.keywarden.key.domain.ApiKey k = testKey();
    String id = k.id.toString();
    insertRow(
        k,
        io.keywarden.contracts.events.KeyEventType.CREATED,
        java.time.Instant.now().plusSeconds(6));
    k.version = 2;
    k.status = "disabled";
    insertRow(k, io.keywarden.contracts.events.KeyEventType.DISABLED, null);
    String published =
        "select count(*) from outbox where published_at is not null and record_key = '" + id + "'";
    Awaitility.await()
        .during(Duration.ofSeconds(2))
        .atMost(Duration.ofSeconds(4))
        .until(() -> Kw.longQuery(published) == 0);
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> Kw.longQuery(published) == 2);
    List<String> types =
        Stack.records(
                Topics.KEY_EVENTS,
                l -> l.stream().filter(r -> id.equals(r.key())).count() >= 2,
                Duration.ofSeconds(15))
            .stream()
            .filter(r -> id.equals(r.key()))
            .map(r -> EventCodec.decode(r.value()).type())
            .toList();
    assertThat(types).containsExactly("keywarden.key.created", "keywarden.key.disabled");
  }

  @Test
  void aRowWhoseWriterNeverSentItIsPublishedByTheRelayOnlyOnceItsClaimLapses() throws Exception {
    String lapsed = claimedRow(java.time.Instant.now().minusSeconds(1));
    String held = claimedRow(java.time.Instant.now().plusSeconds(4));
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Kw.published(lapsed));
    // the relay polls every 200 ms here: a claimed row is left to its writer meanwhile
    Awaitility.await()
        .during(Duration.ofMillis(1500))
        .atMost(Duration.ofSeconds(3))
        .until(() -> !Kw.published(held));
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Kw.published(held));
    List<ConsumerRecord<String, String>> rs =
        Stack.records(
            Topics.KEY_EVENTS,
            l ->
                l.stream().filter(r -> r.key().equals(lapsed) || r.key().equals(held)).count() >= 2,
            Duration.ofSeconds(10));
    assertThat(rs.stream().filter(r -> r.key().equals(lapsed))).hasSize(1);
    assertThat(rs.stream().filter(r -> r.key().equals(held))).hasSize(1);
  }

  static void signal(long pid, String sig) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
    assertThat(p.waitFor()).as("kill -%s %d", sig, pid).isZero();
  }

  /**
   * E2: the broker hangs (SIGSTOP) while keys are created. Creates do not wait for Kafka, no row is
   * marked published without an ack, and everything is published once the broker is back.
   */
  @Test
  void aHungBrokerDelaysNoCreateAndNothingIsMarkedPublishedUntilItAcknowledges() throws Exception {
    long kafka = KeywardenStackResource.stack().mainPids().get("kafka");
    String warm = Kw.createNamed("bob", "e2 warm").path("id");
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Kw.published(warm));

    List<String> ids = Collections.synchronizedList(new ArrayList<>());
    List<Long> millis = Collections.synchronizedList(new ArrayList<>());
    signal(kafka, "STOP");
    try {
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
          fs.add(
              pool.submit(
                  () -> {
                    long t0 = System.nanoTime();
                    Response r = Kw.createNamed("bob", "e2");
                    millis.add((System.nanoTime() - t0) / 1_000_000);
                    assertThat(r.statusCode()).isEqualTo(201);
                    ids.add(r.path("id"));
                    return null;
                  }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      // held for a while with the broker still stopped: no row may be marked published
      Awaitility.await()
          .during(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(5))
          .until(() -> ids.stream().noneMatch(Kw::published));
    } finally {
      signal(kafka, "CONT");
    }
    assertThat(ids).hasSize(40);
    // a create that waited for the stopped broker would take the whole stop (3 s and more)
    assertThat(Collections.max(millis))
        .as("slowest create while the broker hung, ms")
        .isLessThan(2000);
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> ids.stream().allMatch(Kw::published));
    assertThat(Stack.keysOnTopic(Topics.KEY_EVENTS, new HashSet<>(ids), Duration.ofSeconds(30)))
        .hasSize(40);
  }

  @jakarta.inject.Inject io.keywarden.key.outbox.OutboxRetention retention;

  static void setPublishedAt(String recordKey, String sqlTime) throws Exception {
    try (var c = Kw.db();
        var ps =
            c.prepareStatement(
                "update outbox set published_at = " + sqlTime + " where record_key = ?")) {
      ps.setString(1, recordKey);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
  }

  static long rows(String recordKey) throws Exception {
    try (var c = Kw.db();
        var ps = c.prepareStatement("select count(*) from outbox where record_key = ?")) {
      ps.setString(1, recordKey);
      try (var rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * The relay's pass stays cheap however many published rows wait for a vacuum. 100,000 rows are
   * written and published in one transaction (the fast path's insert then mark: one dead entry each
   * in outbox_unpublished_ix), then the relay's claim query runs twice as the relay runs it, under
   * both plan cache modes a pooled connection can be in. The second pass must not visit the dead
   * rows again. Without the relay's setting PostgreSQL picked a bitmap scan, which marks no entry
   * dead: every pass visited every dead row (the key-create bench's F1 run, p99 104 ms).
   */
  @Test
  void theRelaysPassDoesNotRevisitPublishedRowsWaitingForAVacuum() throws Exception {
    String tag = "dead-" + java.util.UUID.randomUUID();
    try (var c = Kw.db();
        var st = c.createStatement()) {
      c.setAutoCommit(false);
      st.execute(
          "insert into outbox (event_id, topic, record_key, event_type, payload, created_at,"
              + " claimed_until) select gen_random_uuid(), '"
              + tag
              + "', '"
              + tag
              + "-' || i, 'created', 'x', now(), now() + interval '1 hour'"
              + " from generate_series(1, 100000) i");
      st.execute("update outbox set published_at = now() where topic = '" + tag + "'");
      c.commit();
      try {
        for (String mode : List.of("force_custom_plan", "force_generic_plan")) {
          st.execute("set local plan_cache_mode = " + mode);
          st.execute(io.keywarden.key.outbox.OutboxRelay.PLAIN_INDEX_SCANS);
          st.execute(
              "prepare relay_poll(int, timestamptz) as "
                  + io.keywarden.key.outbox.OutboxRelay.POLL);
          long first = Kw.buffers(st, "execute relay_poll(500, now())");
          long second = Kw.buffers(st, "execute relay_poll(500, now())");
          // the first pass visits each dead row once (~100,000 buffer hits); then only the
          // index's ~250 pages remain: a bitmap scan touched ~2,300 pages on every pass
          assertThat(second)
              .as(
                  () ->
                      mode
                          + ": buffers of the second pass (first: "
                          + first
                          + "), plan: "
                          + Kw.plan(st, "execute relay_poll(500, now())"))
              .isLessThan(1_000);
          st.execute("deallocate relay_poll");
          c.rollback();
        }
      } finally {
        c.rollback();
        st.execute("delete from outbox where topic = '" + tag + "'");
        c.commit();
      }
    }
  }

  @Test
  void publishedRowsOlderThanTheRetentionAreDeletedAndNothingElse() throws Exception {
    // claimed far ahead so the relay leaves the unpublished one alone during the test
    String old = claimedRow(java.time.Instant.now().plusSeconds(600));
    String recent = claimedRow(java.time.Instant.now().plusSeconds(600));
    String unsent = claimedRow(java.time.Instant.now().plusSeconds(600));
    setPublishedAt(old, "now() - interval '8 days'");
    setPublishedAt(recent, "now() - interval '6 days'");
    try (var c = Kw.db();
        var ps =
            c.prepareStatement(
                "update outbox set created_at = created_at - interval '30 days'"
                    + " where record_key = ?")) {
      ps.setString(1, unsent);
      ps.executeUpdate();
    }
    long deleted = retention.purge().await().atMost(Duration.ofSeconds(30));
    assertThat(deleted).isGreaterThanOrEqualTo(1);
    assertThat(rows(old)).isZero();
    assertThat(rows(recent)).isEqualTo(1);
    assertThat(rows(unsent)).isEqualTo(1);
    // let the relay publish the unsent one so the other tests see a drained outbox
    try (var c = Kw.db();
        var ps =
            c.prepareStatement(
                "update outbox set claimed_until = now() - interval '1 second'"
                    + " where record_key = ?")) {
      ps.setString(1, unsent);
      ps.executeUpdate();
    }
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Kw.published(unsent));
  }

  @Test
  void createsArePublishedByTheirWriterRightAfterTheCommit() {
    long before = relay.fastPublished();
    String id = Kw.createNamed("alice", "fast path").path("id");
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Kw.published(id));
    assertThat(relay.fastPublished()).isGreaterThan(before);
    assertThat(Stack.keyEvents(id, 1)).hasSize(1);
  }

  @Test
  void theGroupCatalogueIsPublishedAtStart() {
    // the seeded group 'default' only reaches the topic through the start-up republish
    List<ConsumerRecord<String, String>> rs =
        Stack.records(
            Topics.GROUPS,
            l -> l.stream().anyMatch(r -> "default".equals(r.key())),
            Duration.ofSeconds(10));
    assertThat(rs).anyMatch(r -> "default".equals(r.key()) && r.value().contains("gpt-5.5"));
  }

  @Test
  void twoHundredConcurrentCreatesPublishTwoHundredCreatedEventsInPerKeyVersionOrder()
      throws Exception {
    List<String> users = List.of("alice", "bob", "carol");
    users.forEach(Stack::as); // tokens cached before the clock starts
    Kw.policy("{\"maxLiveKeysPerAccount\":100000}");
    Set<String> ids = Collections.synchronizedSet(new HashSet<>());
    ExecutorService pool = Executors.newFixedThreadPool(32);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<Integer>> fs = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        String user = users.get(i % users.size());
        fs.add(
            pool.submit(
                () -> {
                  go.await();
                  Response r = Kw.createNamed(user, "outbox");
                  if (r.statusCode() == 201) {
                    String id = r.path("id");
                    ids.add(id);
                    // a second change on some keys, so order within a key is tested too
                    if (id.hashCode() % 3 == 0) {
                      Stack.as(user).post("/api/keys/" + id + "/disable").then().statusCode(200);
                      Stack.as(user).post("/api/keys/" + id + "/enable").then().statusCode(200);
                    }
                  }
                  return r.statusCode();
                }));
      }
      go.countDown();
      for (Future<Integer> f : fs) {
        assertThat(f.get()).isEqualTo(201);
      }
    } finally {
      pool.shutdownNow();
      Kw.clearPolicy();
    }
    assertThat(ids).hasSize(200);

    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> Kw.unpublishedOutboxRows() == 0);

    List<ConsumerRecord<String, String>> records =
        Stack.records(
            Topics.KEY_EVENTS,
            rs -> {
              Set<String> seen = new HashSet<>();
              for (var r : rs) {
                if (ids.contains(r.key()) && r.value().contains("keywarden.key.created")) {
                  seen.add(r.key());
                }
              }
              return seen.size() == ids.size();
            },
            Duration.ofSeconds(30));
    Map<String, List<CloudEvent<?>>> byKey = new HashMap<>();
    Set<String> eventIds = new HashSet<>();
    int duplicates = 0;
    for (var r : records) {
      CloudEvent<?> e = EventCodec.decode(r.value());
      assertThat(e.subject()).isEqualTo(r.key());
      if (!eventIds.add(e.id())) {
        if (ids.contains(r.key())) {
          duplicates++; // (other tests crash the broker on purpose: their re-sends are theirs)
        }
        continue;
      }
      byKey.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(e);
    }
    assertThat(duplicates).as("re-sent events (allowed, but not in a healthy run)").isZero();
    for (String id : ids) {
      List<CloudEvent<?>> es = byKey.get(id);
      assertThat(es).as(id).isNotNull();
      assertThat(es.stream().filter(e -> e.type().equals("keywarden.key.created")).count())
          .as("created events of %s", id)
          .isEqualTo(1);
      assertThat(es.get(0).type()).isEqualTo("keywarden.key.created");
    }
    // every key on the topic (not only ours): versions strictly increase in partition order
    for (var e : byKey.entrySet()) {
      long last = 0;
      for (CloudEvent<?> ev : e.getValue()) {
        if (ev.data() instanceof KeySnapshot k) {
          assertThat(k.version()).as("version order of %s", e.getKey()).isGreaterThan(last);
          last = k.version();
        }
      }
    }
    long twice = ids.stream().filter(id -> byKey.get(id).size() == 3).count();
    System.out.printf(
        "outbox: %d keys, %d of them with disable+enable, %d records read%n",
        ids.size(), twice, records.size());
    assertThat(Kw.unpublishedOutboxRows()).isZero();
  }
}
