package io.keywarden.key.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.outbox.Outbox;
import io.keywarden.key.service.CreateBatcher;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.inject.Inject;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Group commit of creates (CreateBatcher): many kw_create_key calls in one round trip and one
 * transaction, each with exactly the answer it would get alone.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class GroupCommitTests {
  @Inject CreateBatcher batcher;
  @Inject Outbox outbox;

  /** One create call as KeyService makes it, for the stored policy row. */
  private record Call(String account, Tuple args, UUID id) {}

  private Call call(String account, String name, String keyHash, boolean custom, int maxLive)
      throws Exception {
    Object[] policy = new Object[4];
    try (var c = Kw.db();
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "select max_live_keys_per_account, max_quota_micros, max_lifetime_seconds,"
                        + " default_lifetime_seconds from key_policy where id = 1")) {
      rs.next();
      for (int i = 0; i < 4; i++) {
        policy[i] = rs.getObject(i + 1);
      }
    }
    Instant now = Instant.now();
    ApiKey k = new ApiKey();
    k.id = UUID.randomUUID();
    k.account = account;
    k.name = name;
    k.group = "default";
    k.status = "active";
    k.keyHash = keyHash;
    k.mask = "sk-kw-Ab...Cd";
    k.custom = custom;
    k.allowedIpsJson = "[]";
    k.quotaReset = "none";
    k.createdAt = now;
    k.updatedAt = now;
    k.version = 1;
    Outbox.Pending ev = outbox.pendingKeyEvent(KeyEventType.CREATED, k, now);
    OffsetDateTime t = now.atOffset(ZoneOffset.UTC);
    Tuple args =
        Tuple.tuple(
            Arrays.asList(
                policy[0],
                policy[1],
                policy[2],
                policy[3],
                maxLive,
                t,
                name.toLowerCase(Locale.ROOT),
                custom ? keyHash : "",
                k.id,
                account,
                name,
                "default",
                "active",
                keyHash,
                k.mask,
                custom,
                "[]",
                0L,
                "none",
                null,
                null,
                null,
                null,
                ev.eventId(),
                ev.topic(),
                ev.recordKey(),
                ev.type(),
                ev.payload(),
                null));
    return new Call(account, args, k.id);
  }

  private static String randomHash() {
    return KeyFormat.sha256Hex(UUID.randomUUID().toString());
  }

  private static long rows(String table, String column, UUID id) {
    return Kw.longQuery("select count(*) from " + table + " where " + column + " = '" + id + "'");
  }

  /** The calls in one batch; each answer: its outcome row, or the error it failed with. */
  private List<Object> together(List<Call> calls) {
    List<Object> out = new ArrayList<>();
    for (var u :
        batcher.createTogether(
            calls.stream().map(Call::account).toList(), calls.stream().map(Call::args).toList())) {
      out.add(
          u.<Object>map(r -> r)
              .onFailure()
              .recoverWithItem(e -> e)
              .await()
              .atMost(Duration.ofSeconds(20)));
    }
    return out;
  }

  private static String outcome(Object answer) {
    return answer instanceof Row r ? r.getString("outcome") : "error: " + answer;
  }

  @Test
  void oneBatchGivesEachCreateTheOutcomeItWouldGetAlone() throws Exception {
    String a = "gc-2-" + UUID.randomUUID();
    String b = "gc-1-" + UUID.randomUUID(); // sorts before a
    String shared = randomHash();
    List<Call> calls =
        List.of(
            call(a, "Twin", randomHash(), false, 1000),
            call(a, "twin", randomHash(), false, 1000), // same name, other case: taken
            call(b, "twin", randomHash(), false, 1000), // other account: free
            call(a, "other", randomHash(), false, 1000),
            call(b, "custom one", shared, true, 1000),
            call(a, "custom two", shared, true, 1000)); // same custom key: in use
    long[] before = batcher.stats();
    List<Object> out = together(calls);
    long[] after = batcher.stats();
    assertThat(after[0] - before[0]).as("batches").isEqualTo(1);
    assertThat(after[1] - before[1]).as("creates sent in batches").isEqualTo(6);
    assertThat(after[2] - before[2]).as("batches re-run one by one").isZero();
    // sorted by account inside the batch: b's custom key came first, so a's is the one refused
    assertThat(out.stream().map(GroupCommitTests::outcome).toList())
        .containsExactly("ok", "name", "ok", "ok", "ok", "hash");
    for (int i = 0; i < calls.size(); i++) {
      boolean ok = outcome(out.get(i)).equals("ok");
      assertThat(rows("api_keys", "id", calls.get(i).id())).isEqualTo(ok ? 1 : 0);
      assertThat(rows("outbox", "record_key", calls.get(i).id())).isEqualTo(ok ? 1 : 0);
      if (ok) {
        assertThat(((Row) out.get(i)).getLong("outbox_seq")).isNotNull();
      }
    }
    // the live-key counter counts the batch's own keys
    assertThat(Kw.liveKeys(a)).isEqualTo(2);
    assertThat(
            Kw.longQuery(
                "select active_or_disabled from account_key_counts where account = '" + a + "'"))
        .isEqualTo(2);
  }

  @Test
  void theLiveKeyCapCountsTheKeysCreatedEarlierInTheSameBatch() throws Exception {
    String a = "gc-" + UUID.randomUUID();
    List<Call> calls = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      calls.add(call(a, "cap " + i, randomHash(), false, 2));
    }
    List<Object> out = together(calls);
    assertThat(out.stream().map(GroupCommitTests::outcome).toList())
        .containsExactly("ok", "ok", "live", "live", "live");
    assertThat(((Row) out.get(4)).getLong("live")).isEqualTo(2);
    assertThat(Kw.liveKeys(a)).isEqualTo(2);
  }

  @Test
  void aCreateThatFailsInABatchFailsAloneAndTheOthersAreWrittenOnce() throws Exception {
    String a = "gc-" + UUID.randomUUID();
    String b = "gc-" + UUID.randomUUID();
    // a name longer than the column (the REST layer refuses it earlier): the INSERT raises, which
    // rolls the whole batch's transaction back
    List<Call> calls =
        List.of(
            call(a, "first", randomHash(), false, 1000),
            call(a, "x".repeat(80), randomHash(), false, 1000),
            call(b, "second", randomHash(), false, 1000));
    long[] before = batcher.stats();
    List<Object> out = together(calls);
    assertThat(outcome(out.get(0))).isEqualTo("ok");
    assertThat(out.get(1))
        .isInstanceOf(io.vertx.pgclient.PgException.class)
        .asString()
        .contains("22001");
    assertThat(outcome(out.get(2))).isEqualTo("ok");
    assertThat(batcher.stats()[2] - before[2]).as("batches re-run one by one").isEqualTo(1);
    // re-run alone after the rollback: written exactly once, not refused as a duplicate
    assertThat(rows("api_keys", "id", calls.get(0).id())).isEqualTo(1);
    assertThat(rows("api_keys", "id", calls.get(2).id())).isEqualTo(1);
    assertThat(rows("outbox", "record_key", calls.get(0).id())).isEqualTo(1);
    assertThat(rows("outbox", "record_key", calls.get(2).id())).isEqualTo(1);
    assertThat(rows("api_keys", "id", calls.get(1).id())).isZero();
    assertThat(rows("outbox", "record_key", calls.get(1).id())).isZero();
    assertThat(Kw.liveKeys(a)).isEqualTo(1);
  }

  @Test
  void concurrentCreatesWithDuplicateNamesGetExactlyOne201PerNameAndOneEventPerKey()
      throws Exception {
    List<String> users = List.of("alice", "bob");
    users.forEach(Stack::as); // tokens cached before the latch opens
    Kw.policy("{\"maxLiveKeysPerAccount\":100000}");
    String run = UUID.randomUUID().toString().substring(0, 8);
    long[] before = batcher.stats();
    Map<String, List<Integer>> codesByName = Collections.synchronizedMap(new HashMap<>());
    Map<String, String> fieldOf409 = Collections.synchronizedMap(new HashMap<>());
    Set<String> ids = Collections.synchronizedSet(new HashSet<>());
    ExecutorService pool = Executors.newFixedThreadPool(32);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 32; i++) {
          String user = users.get(i % 2);
          // each (user, name) is sent twice per round: exactly one of the two may win
          String name = "gc " + run + " " + round + "-" + (i / 4);
          String key = user + "/" + name;
          fs.add(
              pool.submit(
                  () -> {
                    go.await();
                    Response r =
                        Kw.create(user, "{\"name\":\"" + name + "\",\"group\":\"default\"}");
                    codesByName
                        .computeIfAbsent(key, x -> Collections.synchronizedList(new ArrayList<>()))
                        .add(r.statusCode());
                    if (r.statusCode() == 201) {
                      ids.add(user + "/" + r.path("id"));
                    } else {
                      fieldOf409.put(key + "#" + r.statusCode(), r.path("field"));
                    }
                    return null;
                  }));
        }
      }
      go.countDown();
      for (Future<?> f : fs) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    try {
      assertThat(codesByName).hasSize(64);
      codesByName.forEach(
          (name, codes) -> assertThat(codes).as(name).containsExactlyInAnyOrder(201, 409));
      assertThat(fieldOf409.values()).hasSize(64).containsOnly("name");
      assertThat(ids).hasSize(64);
      long[] after = batcher.stats();
      assertThat(after[1] - before[1])
          .as("creates that went in batches of two or more")
          .isPositive();
      Set<String> keyIds = new HashSet<>();
      ids.forEach(s -> keyIds.add(s.substring(s.indexOf('/') + 1)));
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> keyIds.stream().allMatch(Kw::published));
      List<ConsumerRecord<String, String>> records =
          Stack.records(
              Topics.KEY_EVENTS,
              rs ->
                  rs.stream().map(ConsumerRecord::key).filter(keyIds::contains).distinct().count()
                      == keyIds.size(),
              Duration.ofSeconds(30));
      Map<String, Integer> created = new HashMap<>();
      for (var r : records) {
        if (keyIds.contains(r.key()) && r.value().contains("keywarden.key.created")) {
          created.merge(r.key(), 1, Integer::sum);
        }
      }
      assertThat(created).hasSize(64);
      assertThat(created.values()).containsOnly(1);
    } finally {
      // revoke what was created, so the users stay under the live-key cap for other tests
      for (String s : ids) {
        int slash = s.indexOf('/');
        Stack.as(s.substring(0, slash)).delete("/api/keys/" + s.substring(slash + 1));
      }
      Kw.clearPolicy();
    }
  }
}
