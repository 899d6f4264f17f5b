package io.keywarden.audit.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.StackConfig;
import io.keywarden.stack.testing.KeywardenStackResource;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * E5: a second audit-service (a child JVM in the same consumer group) joins while a stream of key
 * events is being published to the 3 partitions of keywarden.key-events, and is later killed with
 * SIGKILL at the end of a second stream, while it still has part of its last round to apply.
 * Afterwards every key is held once, at its last version, with its one finding: nothing lost,
 * nothing applied twice. Runs after {@code package} (failsafe).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RebalanceTests {
  static final String GROUP = "audit-service";
  static final int KEYS = 2_000;
  static final int BATCH = 50; // records per 100 ms tick: 500 records/s

  LocalStack stack;
  Path logs;
  KafkaProducer<String, String> producer;
  Admin admin;
  ScheduledExecutorService ticker;
  final List<ServiceProcess> running = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    stack = KeywardenStackResource.stack();
    // kept after the run (the stack's folder is deleted at exit): the instances' rebalance logs
    logs = Files.createDirectories(Path.of("target", "rebalance-logs"));
    Properties p = new Properties();
    p.put("bootstrap.servers", stack.kafkaBootstrap());
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all"); // idempotent by default: order per key holds with async sends
    producer = new KafkaProducer<>(p);
    admin = Admin.create(Map.of("bootstrap.servers", stack.kafkaBootstrap()));
    ticker = Executors.newSingleThreadScheduledExecutor();
  }

  @AfterAll
  void stop() throws Exception {
    if (ticker != null) {
      ticker.shutdownNow();
    }
    running.forEach(ServiceProcess::stop);
    // the stack is shared: 2,000 open findings left here would make the next class's sweeps
    // alert on every one of them
    try (Connection c = db();
        Statement st = c.createStatement()) {
      String ours = "select key_id from audit_keys where account like 'acct-rebalance-%'";
      st.executeUpdate("delete from key_daily_usage where key_id in (" + ours + ")");
      st.executeUpdate("delete from key_daily_ips where key_id in (" + ours + ")");
      for (String table : List.of("alert_deliveries", "findings", "audit_keys")) {
        st.executeUpdate("delete from " + table + " where account like 'acct-rebalance-%'");
      }
    }
    if (producer != null) {
      producer.close();
    }
    if (admin != null) {
      admin.close();
    }
  }

  ServiceProcess audit(String name) throws Exception {
    Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    // a killed member's partitions move after the session timeout: 10 s instead of 45 s
    props.put("mp.messaging.incoming.key-events.session.timeout.ms", "10000");
    props.put("mp.messaging.incoming.key-events.heartbeat.interval.ms", "2000");
    // the usage-events consumers share the group: with Kafka's 45 s they would leave 35 s after
    // the key-events ones, and that second rebalance came in the middle of A taking over (seen
    // as a storm of revocations on a loaded machine)
    props.put("mp.messaging.incoming.usage-events.session.timeout.ms", "10000");
    props.put("mp.messaging.incoming.usage-events.heartbeat.interval.ms", "2000");
    // members are told apart by client id (a consumer that rejoins gets a new member id). The
    // range assignor hands a topic's partitions to its members in member-id order, and member ids
    // start with the client id: B's sort before A's, so B takes all three partitions when it joins
    props.put("mp.messaging.incoming.key-events.client-id-prefix", prefix(name));
    props.put("mp.messaging.incoming.usage-events.client-id-prefix", prefix(name));
    // the group's joins, assignments and revocations, for when this test fails
    props.put("quarkus.log.category.\"org.apache.kafka.clients.consumer\".level", "INFO");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ServiceProcess s =
        ServiceProcess.start(
            StackConfig.findRoot(), "audit-service", port, props, logs.resolve(name));
    running.add(s);
    return s;
  }

  static String prefix(String instance) {
    return (instance.equals("b") ? "1-" : "2-") + instance + "-";
  }

  ConsumerGroupDescription group() throws Exception {
    return admin.describeConsumerGroups(List.of(GROUP)).all().get(10, TimeUnit.SECONDS).get(GROUP);
  }

  /** The key-events partitions held by the consumers of one instance (its client id prefix). */
  Set<Integer> keyEventsOf(String instance) throws Exception {
    Set<Integer> parts = new HashSet<>();
    for (MemberDescription m : group().members()) {
      if (m.clientId().startsWith(prefix(instance))) {
        m.assignment().topicPartitions().stream()
            .filter(tp -> tp.topic().equals(Topics.KEY_EVENTS))
            .forEach(tp -> parts.add(tp.partition()));
      }
    }
    return parts;
  }

  /** The group as the broker sees it, for failure messages. */
  String describe() {
    try {
      ConsumerGroupDescription g = group();
      StringBuilder out = new StringBuilder("group " + g.groupState());
      for (MemberDescription m : g.members()) {
        out.append("\n  ").append(m.clientId()).append(' ').append(m.consumerId());
        out.append(' ').append(m.assignment().topicPartitions());
      }
      return out.toString();
    } catch (Exception e) {
      return "group not described: " + e;
    }
  }

  /**
   * Publishes rounds of key events, BATCH records every 100 ms: round v sends version v of every
   * key (v1 created, then updated, renamed "v<version>"). Stops only at the end of a round, so
   * every key ends at the same version.
   */
  final class Stream {
    final List<KeySnapshot> keys;
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    volatile boolean stopRequested;
    volatile boolean done;
    volatile long version;
    volatile long sent;
    int index;
    java.util.concurrent.ScheduledFuture<?> task;

    Stream(List<KeySnapshot> keys, long lastVersion) {
      this.keys = keys;
      this.version = lastVersion;
    }

    Stream begin() {
      task = ticker.scheduleAtFixedRate(this::tick, 0, 100, TimeUnit.MILLISECONDS);
      return this;
    }

    void tick() {
      if (done) {
        return;
      }
      try {
        // once asked to stop, the rest of the round goes out at once (a burst still to consume)
        for (int n = 0; n < BATCH || stopRequested; n++) {
          if (index == 0) {
            if (stopRequested) {
              done = true;
              producer.flush();
              task.cancel(false);
              return;
            }
            version++;
          }
          KeySnapshot k = keys.get(index);
          KeySnapshot v =
              new KeySnapshot(
                  k.keyId(),
                  k.account(),
                  "v" + version,
                  k.group(),
                  k.status(),
                  k.keyHash(),
                  k.mask(),
                  false,
                  null,
                  null,
                  List.of(),
                  0,
                  null,
                  null,
                  null,
                  k.createdAt(),
                  Instant.now(),
                  null,
                  version);
          KeyEventType type = version == 1 ? KeyEventType.CREATED : KeyEventType.UPDATED;
          String json =
              EventCodec.encode(
                  CloudEvent.of(type.type(), "/key-service", k.keyId(), Instant.now(), v));
          producer.send(
              new ProducerRecord<>(Topics.KEY_EVENTS, k.keyId(), json),
              (meta, e) -> {
                if (e != null) {
                  failure.compareAndSet(null, e);
                }
              });
          sent++;
          index = (index + 1) % keys.size();
        }
        producer.flush();
      } catch (Throwable t) {
        failure.compareAndSet(null, t);
        done = true;
        throw t;
      }
    }

    /** Events sent so far, in units of whole rounds. */
    double rounds() {
      return (double) sent / keys.size();
    }

    long finish() {
      stopRequested = true;
      await().atMost(Duration.ofSeconds(60)).until(() -> done);
      assertThat(failure.get()).as("send failure").isNull();
      return version;
    }
  }

  Connection db() throws Exception {
    return DriverManager.getConnection(stack.jdbcUrl("auditservice"));
  }

  /** key id → {version, name} of the keys of one account. */
  Map<String, String> held(String account) throws Exception {
    Map<String, String> out = new HashMap<>();
    try (Connection c = db();
        var st =
            c.prepareStatement("select key_id, version, name from audit_keys where account = ?")) {
      st.setString(1, account);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          assertThat(out.put(rs.getString(1), rs.getLong(2) + ":" + rs.getString(3)))
              .as("row of " + rs.getString(1) + " held twice")
              .isNull();
        }
      }
    }
    return out;
  }

  static int partition(KeySnapshot k) {
    byte[] id = k.keyId().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return Utils.toPositive(Utils.murmur2(id)) % Topics.KEY_EVENTS_PARTITIONS;
  }

  @Test
  void aSecondInstanceJoiningAndBeingKilledMidStreamLosesAndRepeatsNothing() throws Exception {
    audit("a");
    await().atMost(Duration.ofSeconds(60)).until(() -> keyEventsOf("a").equals(Set.of(0, 1, 2)));

    String account = "acct-rebalance-" + UUID.randomUUID();
    Instant created = Instant.now().minus(Duration.ofDays(9)); // NEVER_USED at creation
    List<KeySnapshot> keys = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      keys.add(RestartTests.key(account, "v1", created));
    }
    // the default partitioner (murmur2 of the record key) spreads the keys over all 3 partitions
    assertThat(producer.partitionsFor(Topics.KEY_EVENTS)).hasSize(3);
    Map<Integer, Integer> perPartition = new HashMap<>();
    for (KeySnapshot k : keys) {
      perPartition.merge(partition(k), 1, Integer::sum);
    }
    assertThat(perPartition.keySet()).containsExactlyInAnyOrder(0, 1, 2);

    // stream 1: B joins in the middle of it
    Stream first = new Stream(keys, 0).begin();
    await().atMost(Duration.ofSeconds(60)).until(() -> first.rounds() >= 1.5);
    ServiceProcess b = audit("b");
    await().atMost(Duration.ofSeconds(60)).until(() -> !keyEventsOf("b").isEmpty());
    assertThat(first.done).as("stream 1 still running when B got partitions").isFalse();
    double atJoin = first.rounds();
    await().atMost(Duration.ofSeconds(60)).until(() -> first.rounds() >= atJoin + 1.5);
    long afterFirst = first.finish();

    // stream 2: B dies (SIGKILL) while the last round of it is still being applied
    Stream second = new Stream(keys, afterFirst).begin();
    await().atMost(Duration.ofSeconds(60)).until(() -> second.rounds() >= 1.5);
    Set<Integer> ofB = keyEventsOf("b");
    assertThat(ofB).as("B's key-events partitions").isNotEmpty();
    long last = second.finish();
    ProcessHandle.of(b.pid()).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(10)).until(() -> !b.isAlive());
    running.remove(b);
    assertThat(last).isGreaterThanOrEqualTo(5);
    String expected = last + ":v" + last;
    Map<String, String> atKill = held(account);
    long pendingOnB =
        keys.stream()
            .filter(k -> ofB.contains(partition(k)))
            .filter(k -> !expected.equals(atKill.get(k.keyId())))
            .count();
    assertThat(pendingOnB).as("last versions B had still to apply when killed").isPositive();

    // A takes B's partitions back and applies everything (after B's 10 s session timeout, once A
    // rejoins: A is busy with the backlog, so on a loaded 2-CPU machine this took over 60 s)
    try {
      await().atMost(Duration.ofSeconds(180)).until(() -> keyEventsOf("a").equals(Set.of(0, 1, 2)));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError(
          "A did not take back all key-events partitions; " + describe() + "\nlogs: " + logs, e);
    }
    await()
        .atMost(Duration.ofSeconds(240))
        .pollInterval(Duration.ofSeconds(2))
        .until(() -> held(account).values().stream().filter(expected::equals).count() == KEYS);

    Map<String, String> rows = held(account);
    assertThat(rows).hasSize(KEYS);
    for (KeySnapshot k : keys) {
      assertThat(rows.get(k.keyId())).as(k.keyId()).isEqualTo(expected);
    }
    // side effects once: one NEVER_USED finding per key, opened once, never re-opened
    Map<String, Integer> findings = new HashMap<>();
    try (Connection c = db();
        var st =
            c.prepareStatement("select key_id, type, status from findings where account = ?")) {
      st.setString(1, account);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          assertThat(rs.getString(2) + ":" + rs.getString(3)).isEqualTo("NEVER_USED:open");
          findings.merge(rs.getString(1), 1, Integer::sum);
        }
      }
      try (Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "select count(*) from (select scope, finding_type, period, channel from"
                      + " alert_deliveries where account = '"
                      + account
                      + "' group by 1, 2, 3, 4 having count(*) > 1) d")) {
        rs.next();
        assertThat(rs.getLong(1)).as("duplicate alert deliveries").isZero();
      }
    }
    assertThat(findings).hasSize(KEYS);
    assertThat(findings.values()).allMatch(n -> n == 1);
    System.out.printf(
        "E5: %d keys, versions 1..%d, %d events; B held partitions %s, killed with %d last versions"
            + " unapplied; lost 0, duplicate findings 0%n",
        KEYS, last, first.sent + second.sent, ofB, pendingOnB);
  }
}
