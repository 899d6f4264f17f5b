package io.keywarden.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.QuotaThreshold;
import io.keywarden.contracts.events.UsageRecorded;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.StackConfig;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * usage-service restarted under the ledger (the packaged jar as a child JVM, like {@link
 * ScaleOutTests}; failsafe): M2 across restarts (SIGTERM and {@code kill -9}) and E4, a {@code kill
 * -9} after charges committed and before their events reached Kafka.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestartTests {
  static final ObjectMapper JSON = new ObjectMapper();
  LocalStack stack;
  Map<String, String> props;
  Path logs;
  KafkaProducer<String, String> producer;
  String gateway;
  final List<ServiceProcess> started = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    stack = KeywardenStackResource.stack();
    props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    props.put("kw.gateway.shared-secret", "restart-secret");
    logs = Files.createDirectories(stack.home().resolve("restart-logs"));
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    producer = new KafkaProducer<>(p);
    gateway = Tokens.clientCredentials(stack.issuer(), "keywarden-gateway", "gateway-secret");
  }

  @AfterEach
  void stopInstances() {
    started.forEach(ServiceProcess::stop);
    started.clear();
  }

  @AfterAll
  void stop() {
    if (producer != null) {
      producer.close();
    }
  }

  private ServiceProcess launch(String name, Map<String, String> extra) throws Exception {
    Map<String, String> all = new HashMap<>(props);
    all.putAll(extra);
    ServiceProcess s =
        ServiceProcess.start(
            StackConfig.findRoot(), "usage-service", Instances.freePort(), all, logs.resolve(name));
    started.add(s);
    return s;
  }

  private static void kill9(ServiceProcess s) throws Exception {
    Process p = new ProcessBuilder("kill", "-9", String.valueOf(s.pid())).inheritIO().start();
    assertThat(p.waitFor()).isZero();
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> !s.isAlive());
  }

  private HttpResponse<String> post(ServiceProcess s, String path, String token, Object body)
      throws Exception {
    return Instances.post(s, path, token, body);
  }

  private HttpResponse<String> usage(ServiceProcess s, String requestId, String keyId, String usd)
      throws Exception {
    return post(
        s,
        "/api/usage",
        gateway,
        Map.of("requestId", requestId, "keyId", keyId, "model", "m", "costUsd", usd));
  }

  private void send(String topic, String key, CloudEvent<?> e) throws Exception {
    Instances.send(producer, topic, key, e);
  }

  /** A group, an account with credit and an active key (quota in µ$, 0 = none); its id. */
  private String key(ServiceProcess s, String account, String credit, long quota, String secret)
      throws Exception {
    String group = "restart-" + UUID.randomUUID().toString().substring(0, 8);
    Instances.group(producer, group);
    String keyId = UUID.randomUUID().toString();
    KeySnapshot k =
        Instances.snapshot(
            keyId,
            account,
            "k",
            group,
            KeyStatus.ACTIVE,
            KeyFormat.sha256Hex(secret),
            quota,
            QuotaReset.NONE,
            1);
    send(
        Topics.KEY_EVENTS,
        keyId,
        CloudEvent.of(KeyEventType.CREATED.type(), "/test", keyId, Instant.now(), k));
    HttpResponse<String> r =
        post(
            s,
            "/api/admin/accounts/" + account + "/credits",
            Tokens.password(stack.issuer(), "carol"),
            Map.of("amountUsd", credit, "reference", "restart-" + UUID.randomUUID()));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    awaitValid(s, secret);
    return keyId;
  }

  private void awaitValid(ServiceProcess s, String secret) {
    awaitCode(s, secret, "VALID");
  }

  private void awaitCode(ServiceProcess s, String secret, String code) {
    Awaitility.await("key " + code + " on " + s.port())
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(
            () ->
                JSON.readTree(post(s, "/api/authorize", gateway, Map.of("key", secret)).body())
                    .path("code")
                    .asText(),
            code::equals);
  }

  private Connection db() throws Exception {
    return DriverManager.getConnection(stack.jdbcUrl("usageservice"));
  }

  private long longQuery(String sql, String arg) throws Exception {
    try (Connection c = db();
        PreparedStatement st = c.prepareStatement(sql)) {
      st.setString(1, arg);
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private long charges(String requestId) throws Exception {
    return longQuery(
        "select count(*) from ledger where kind = 'charge' and request_id = ?", requestId);
  }

  private void balanceIsLedgerSum(String account, long expected) throws Exception {
    assertThat(longQuery("select balance_micros from accounts where account = ?", account))
        .as("balance")
        .isEqualTo(expected)
        .isEqualTo(
            longQuery(
                "select coalesce(sum(amount_micros), 0) from ledger where account = ?", account));
  }

  /**
   * M2 after restarts: the same requestId 50 times at once (latch start) is charged once and
   * answered the same; after a SIGTERM restart and after a {@code kill -9} restart the same request
   * gets the same answer again, marked as a replay, and nothing more is deducted.
   */
  @Test
  void m2TheSameRequestIdIsChargedOnceAndAnsweredTheSameAcrossRestarts() throws Exception {
    ServiceProcess first = launch("m2-first", Map.of());
    String account = "restart-" + UUID.randomUUID();
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String keyId = key(first, account, "1.00", 0, secret);
    String requestId = "m2r-" + UUID.randomUUID();

    ExecutorService pool = Executors.newFixedThreadPool(50);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<HttpResponse<String>>> fs = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      fs.add(
          pool.submit(
              () -> {
                go.await();
                return usage(first, requestId, keyId, "0.25");
              }));
    }
    go.countDown();
    Set<String> bodies = ConcurrentHashMap.newKeySet();
    Map<Integer, Integer> codes = new TreeMap<>();
    int replays = 0;
    for (Future<HttpResponse<String>> f : fs) {
      HttpResponse<String> r = f.get(120, TimeUnit.SECONDS);
      codes.merge(r.statusCode(), 1, Integer::sum);
      bodies.add(r.body());
      if ("true".equals(r.headers().firstValue("X-Keywarden-Replay").orElse(null))) {
        replays++;
      }
    }
    pool.shutdown();
    assertThat(codes).isEqualTo(Map.of(200, 50));
    assertThat(bodies).as("one answer for all 50").hasSize(1);
    assertThat(replays).as("all but the first are replays").isEqualTo(49);
    String answer = bodies.iterator().next();
    JsonNode a = JSON.readTree(answer);
    assertThat(a.path("accepted").asBoolean()).isTrue();
    assertThat(charges(requestId)).isEqualTo(1);
    balanceIsLedgerSum(account, 750_000);

    // SIGTERM, a new instance: the same request, the same answer, a replay, nothing deducted
    first.stop();
    ServiceProcess second = launch("m2-second", Map.of());
    awaitValid(second, secret);
    HttpResponse<String> again = usage(second, requestId, keyId, "0.25");
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(again.body()).isEqualTo(answer);
    assertThat(again.headers().firstValue("X-Keywarden-Replay")).contains("true");
    assertThat(charges(requestId)).isEqualTo(1);
    balanceIsLedgerSum(account, 750_000);

    // kill -9, a new instance: the same again
    kill9(second);
    ServiceProcess third = launch("m2-third", Map.of());
    awaitValid(third, secret);
    HttpResponse<String> third1 = usage(third, requestId, keyId, "0.25");
    assertThat(third1.statusCode()).isEqualTo(200);
    assertThat(third1.body()).isEqualTo(answer);
    assertThat(third1.headers().firstValue("X-Keywarden-Replay")).contains("true");
    assertThat(charges(requestId)).as("deductions").isEqualTo(1);
    balanceIsLedgerSum(account, 750_000);
    System.out.printf(
        "M2 across restarts: 50 concurrent -> %s, %d distinct answers; after SIGTERM and kill -9"
            + " restarts the same answer (replay); deductions %d%n",
        codes, bodies.size(), charges(requestId));
  }

  /** Every record of the usage-events topic whose Kafka key is {@code key}, read from the start. */
  private List<CloudEvent<?>> usageEvents(String key) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    List<CloudEvent<?>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts =
          c.partitionsFor(Topics.USAGE_EVENTS).stream()
              .map(i -> new TopicPartition(Topics.USAGE_EVENTS, i.partition()))
              .toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (System.nanoTime() < deadline
          && parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          if (key.equals(r.key())) {
            out.add(EventCodec.decode(r.value()));
          }
        }
      }
    }
    return out;
  }

  private long pendingMarks(String keyId) throws Exception {
    return longQuery(
        "select count(*) from threshold_marks where subject = ? and event is not null", keyId);
  }

  /**
   * E4: usage-service is {@code kill -9}ed after its charges committed and before their events were
   * acknowledged by Kafka. The window is held open on purpose: the instance's usage-events producer
   * points at a port nobody listens on, so nothing it sends is acknowledged (its ledger and
   * projection use the real PostgreSQL and Kafka). After the kill a normal instance starts: each
   * quota threshold crossed by the committed charges (80, 95, 100 %) reaches the topic once (a
   * duplicate only with the same event id), and nothing is charged twice. The per-minute roll-ups
   * of the killed instance are held in memory until their window ends: they are lost (printed, not
   * asserted; see the class comment of UsageEvents).
   */
  @Test
  void e4ThresholdEventsOfChargesCommittedBeforeAKill9AreSentAfterTheRestart() throws Exception {
    Map<String, String> noKafkaAcks = new HashMap<>();
    noKafkaAcks.put(
        "mp.messaging.outgoing.usage-events.bootstrap.servers",
        "localhost:" + Instances.freePort());
    noKafkaAcks.put("mp.messaging.outgoing.usage-events.health-enabled", "false");
    noKafkaAcks.put("mp.messaging.outgoing.usage-events.max.block.ms", "600000");
    ServiceProcess doomed = launch("e4-doomed", noKafkaAcks);
    String account = "restart-" + UUID.randomUUID();
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String keyId = key(doomed, account, "10.00", 1_000_000, secret);
    List<String> ids = new ArrayList<>();
    for (String usd : List.of("0.85", "0.10", "0.05")) {
      String id = "e4-" + UUID.randomUUID();
      ids.add(id);
      HttpResponse<String> r = usage(doomed, id, keyId, usd);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    // committed: the ledger and the marks; the events are not acknowledged
    assertThat(longQuery("select spent_micros from key_budgets where key_id = ?", keyId))
        .isEqualTo(1_000_000);
    assertThat(pendingMarks(keyId)).as("marks whose event is not acknowledged").isEqualTo(3);
    kill9(doomed);

    ServiceProcess next =
        launch(
            "e4-next",
            Map.of("kw.thresholds.resend-after", "1s", "kw.thresholds.resend-every", "1s"));
    awaitCode(next, secret, "KEY_QUOTA_EXCEEDED");
    Awaitility.await("pending threshold events sent and acknowledged")
        .atMost(Duration.ofSeconds(90))
        .until(() -> pendingMarks(keyId) == 0);
    List<CloudEvent<?>> events = usageEvents(keyId);
    Map<Integer, Set<String>> idsByPercent = new TreeMap<>();
    long rolledUpSpend = 0;
    for (CloudEvent<?> e : events) {
      if (e.data() instanceof QuotaThreshold q) {
        assertThat(q.scope()).isEqualTo("key");
        idsByPercent.computeIfAbsent(q.percent(), x -> new java.util.TreeSet<>()).add(e.id());
      } else if (e.data() instanceof UsageRecorded u) {
        rolledUpSpend += u.spendMicros();
      }
    }
    System.out.printf(
        "E4 kill -9 between commit and publish: threshold events after restart %s (event ids per"
            + " percent); charges %d; roll-up spend on the topic %d of 1000000 micro-USD"
            + " (lost with the killed instance's memory: %d)%n",
        idsByPercent.keySet(),
        longQuery("select count(*) from ledger where kind = 'charge' and key_id = ?", keyId),
        rolledUpSpend,
        1_000_000 - rolledUpSpend);
    assertThat(idsByPercent.keySet()).containsExactly(80, 95, 100);
    assertThat(idsByPercent.values())
        .as("one event (id) per threshold")
        .allMatch(s -> s.size() == 1);
    for (String id : ids) {
      assertThat(charges(id)).as("double-applied").isEqualTo(1);
    }
    balanceIsLedgerSum(account, 9_000_000);
  }
}
