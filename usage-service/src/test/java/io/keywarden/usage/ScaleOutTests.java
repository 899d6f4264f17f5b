package io.keywarden.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.QuotaReset;
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
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Two usage-service instances (the packaged jar started twice as child JVMs) on one stack: each
 * builds the full projection from Kafka, both share the ledger. Runs after {@code package}
 * (failsafe).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScaleOutTests {
  static final ObjectMapper JSON = new ObjectMapper();
  LocalStack stack;
  ServiceProcess a;
  ServiceProcess b;
  KafkaProducer<String, String> producer;
  String gateway;

  @BeforeAll
  void start() throws Exception {
    stack = KeywardenStackResource.stack();
    Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    props.put("kw.gateway.shared-secret", "scale-secret");
    Path logs = Files.createDirectories(stack.home().resolve("scale-out-logs"));
    a =
        ServiceProcess.start(
            StackConfig.findRoot(),
            "usage-service",
            Instances.freePort(),
            props,
            logs.resolve("a"));
    b =
        ServiceProcess.start(
            StackConfig.findRoot(),
            "usage-service",
            Instances.freePort(),
            props,
            logs.resolve("b"));
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    producer = new KafkaProducer<>(p);
    gateway = Tokens.clientCredentials(stack.issuer(), "keywarden-gateway", "gateway-secret");
  }

  @AfterAll
  void stop() {
    if (producer != null) {
      producer.close();
    }
    if (a != null) {
      a.stop();
    }
    if (b != null) {
      b.stop();
    }
  }

  private HttpResponse<String> post(ServiceProcess s, String path, String token, Object body)
      throws Exception {
    return Instances.post(s, path, token, body);
  }

  private String code(ServiceProcess s, String secret) throws Exception {
    return Instances.code(s, gateway, secret);
  }

  private void send(String topic, String key, CloudEvent<?> e) throws Exception {
    Instances.send(producer, topic, key, e);
  }

  private KeySnapshot snapshot(
      String id,
      String account,
      String group,
      String hash,
      KeyStatus status,
      long quota,
      long version) {
    return Instances.snapshot(
        id, account, "k", group, status, hash, quota, QuotaReset.NONE, version);
  }

  private String group() throws Exception {
    String name = "scale-" + UUID.randomUUID().toString().substring(0, 8);
    Instances.group(producer, name);
    return name;
  }

  private void credit(String account, String usd) throws Exception {
    String admin = Tokens.password(stack.issuer(), "carol");
    HttpResponse<String> r =
        post(
            a,
            "/api/admin/accounts/" + account + "/credits",
            admin,
            Map.of("amountUsd", usd, "reference", "scale"));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
  }

  private void awaitCode(ServiceProcess s, String secret, String code, Duration max)
      throws Exception {
    org.awaitility.Awaitility.await("instance on " + s.port() + " answers " + code)
        .atMost(max)
        .pollInterval(Duration.ofMillis(20))
        .until(() -> code(s, secret), code::equals);
  }

  @Test
  void twoHundredChargesSplitAcrossTwoInstancesOverspendNothing() throws Exception {
    String account = "scale-" + UUID.randomUUID();
    credit(account, "5.00");
    String group = group();
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String keyId = UUID.randomUUID().toString();
    send(
        Topics.KEY_EVENTS,
        keyId,
        CloudEvent.of(
            KeyEventType.CREATED.type(),
            "/test",
            keyId,
            Instant.now(),
            snapshot(
                keyId,
                account,
                group,
                KeyFormat.sha256Hex(secret),
                KeyStatus.ACTIVE,
                1_000_000,
                1)));
    awaitCode(a, secret, "VALID", Duration.ofSeconds(10));
    awaitCode(b, secret, "VALID", Duration.ofSeconds(10));

    ExecutorService pool = Executors.newFixedThreadPool(200);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Integer>> fs = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      ServiceProcess target = i % 2 == 0 ? a : b;
      fs.add(
          pool.submit(
              () -> {
                go.await();
                return post(
                        target,
                        "/api/usage",
                        gateway,
                        Map.of(
                            "requestId",
                            "so-" + UUID.randomUUID(),
                            "keyId",
                            keyId,
                            "costUsd",
                            "0.01"))
                    .statusCode();
              }));
    }
    go.countDown();
    int ok = 0;
    int denied = 0;
    for (Future<Integer> f : fs) {
      int c = f.get();
      if (c == 200) ok++;
      else if (c == 429) denied++;
    }
    pool.shutdown();
    assertThat(ok).isEqualTo(100);
    assertThat(denied).isEqualTo(100);
    try (Connection c =
        DriverManager.getConnection(stack.jdbcUrl("usageservice"), "postgres", "")) {
      ResultSet rs =
          c.createStatement()
              .executeQuery("select spent_micros from key_budgets where key_id = '" + keyId + "'");
      rs.next();
      assertThat(rs.getLong(1)).as("spent; overspend 0").isEqualTo(1_000_000);
      rs =
          c.createStatement()
              .executeQuery(
                  "select (select balance_micros from accounts where account = '"
                      + account
                      + "'),"
                      + " (select sum(amount_micros) from ledger where account = '"
                      + account
                      + "')");
      rs.next();
      assertThat(rs.getLong(1)).isEqualTo(4_000_000).isEqualTo(rs.getLong(2));
    }
  }

  @Test
  void aRevokeIsDeniedByBothInstancesWithinOneSecond() throws Exception {
    String account = "scale-" + UUID.randomUUID();
    credit(account, "1.00");
    String group = group();
    List<Long> millis = new ArrayList<>();
    for (int trial = 0; trial < 100; trial++) {
      String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
      String hash = KeyFormat.sha256Hex(secret);
      String keyId = UUID.randomUUID().toString();
      send(
          Topics.KEY_EVENTS,
          keyId,
          CloudEvent.of(
              KeyEventType.CREATED.type(),
              "/test",
              keyId,
              Instant.now(),
              snapshot(keyId, account, group, hash, KeyStatus.ACTIVE, 0, 1)));
      awaitCode(a, secret, "VALID", Duration.ofSeconds(10));
      awaitCode(b, secret, "VALID", Duration.ofSeconds(10));
      long t0 = System.nanoTime();
      send(
          Topics.KEY_EVENTS,
          keyId,
          CloudEvent.of(
              KeyEventType.REVOKED.type(),
              "/test",
              keyId,
              Instant.now(),
              snapshot(keyId, account, group, hash, KeyStatus.REVOKED, 0, 2)));
      awaitCode(a, secret, "REVOKED", Duration.ofSeconds(1));
      awaitCode(b, secret, "REVOKED", Duration.ofSeconds(1));
      millis.add((System.nanoTime() - t0) / 1_000_000);
    }
    Collections.sort(millis);
    System.out.printf(
        "M6 revoke -> denied on both instances: p50 %d ms, p99 %d ms, max %d ms over %d trials"
            + " (goal p99 <= 100 ms, worst <= 1 s)%n",
        millis.get(millis.size() / 2),
        millis.get(millis.size() * 99 / 100 - 1),
        millis.get(millis.size() - 1),
        millis.size());
    assertThat(millis.get(millis.size() - 1)).isLessThan(1000);
  }

  private static void signal(ServiceProcess s, String sig) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + sig, String.valueOf(s.pid())).inheritIO().start();
    assertThat(p.waitFor()).isZero();
  }

  /**
   * M6 with the instance hung: SIGSTOP, the key is revoked (acked by Kafka), gateways keep asking
   * (their requests queue in the stopped JVM's socket), SIGCONT. Whatever the JVM runs first, no
   * request sent after the revoke may be allowed: it answers 503 until it has caught up, then
   * REVOKED.
   */
  @Test
  void afterSigstopAndSigcontTheInstanceCatchesUpBeforeAllowingARevokedKey() throws Exception {
    String account = "scale-" + UUID.randomUUID();
    credit(account, "1.00");
    String group = group();
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String hash = KeyFormat.sha256Hex(secret);
    String keyId = UUID.randomUUID().toString();
    send(
        Topics.KEY_EVENTS,
        keyId,
        CloudEvent.of(
            KeyEventType.CREATED.type(),
            "/test",
            keyId,
            Instant.now(),
            snapshot(keyId, account, group, hash, KeyStatus.ACTIVE, 0, 1)));
    awaitCode(b, secret, "VALID", Duration.ofSeconds(10));
    signal(b, "STOP");
    List<String> codes = Collections.synchronizedList(new ArrayList<>());
    ExecutorService callers = Executors.newFixedThreadPool(8);
    try {
      send(
          Topics.KEY_EVENTS,
          keyId,
          CloudEvent.of(
              KeyEventType.REVOKED.type(),
              "/test",
              keyId,
              Instant.now(),
              snapshot(keyId, account, group, hash, KeyStatus.REVOKED, 0, 2)));
      long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        fs.add(
            callers.submit(
                () -> {
                  while (System.nanoTime() < until) {
                    codes.add(code(b, secret));
                  }
                  return null;
                }));
      }
      // held stopped for 3 s (beyond the 1 s stall threshold): no caller gets any answer meanwhile
      org.awaitility.Awaitility.await()
          .pollDelay(Duration.ofSeconds(3))
          .atMost(Duration.ofSeconds(5))
          .until(codes::isEmpty);
      signal(b, "CONT");
      for (Future<?> f : fs) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      signal(b, "CONT");
      callers.shutdownNow();
    }
    Map<String, Integer> counts = new java.util.TreeMap<>();
    codes.forEach(c -> counts.merge(c, 1, Integer::sum));
    System.out.printf("M6 after SIGSTOP 3 s + SIGCONT: answers %s%n", counts);
    assertThat(codes).isNotEmpty().doesNotContain("VALID");
    assertThat(codes.get(codes.size() - 1)).isEqualTo("REVOKED");
  }
}
