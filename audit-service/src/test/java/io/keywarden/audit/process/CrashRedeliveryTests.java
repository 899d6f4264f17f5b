package io.keywarden.audit.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.UsageRecorded;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.StackConfig;
import io.keywarden.stack.testing.KeywardenStackResource;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
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
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * E4 (audit-service): the service is killed with SIGKILL after it applied a key event (finding
 * written, alerts queued and the webhook sent) and a usage event, but before their offsets were
 * committed (a fault hook holds both records un-acknowledged). A new process gets both records
 * again and absorbs them: by version (key event) and by event id (usage event). Double-applied 0,
 * duplicate alerts 0. Runs after {@code package} (failsafe).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CrashRedeliveryTests {
  static final String GROUP = "audit-service";
  LocalStack stack;
  Path logs;
  HttpServer hooks;
  final List<String[]> received = new CopyOnWriteArrayList<>(); // {deliveryId, body}
  KafkaProducer<String, String> producer;
  Admin admin;
  final List<ServiceProcess> running = new ArrayList<>();
  final String account = "acct-e4-" + UUID.randomUUID();

  @BeforeAll
  void start() throws Exception {
    stack = KeywardenStackResource.stack();
    logs = Files.createDirectories(Path.of("target", "crash-logs")); // kept after the run
    hooks = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    hooks.createContext(
        "/",
        ex -> {
          try (InputStream in = ex.getRequestBody()) {
            received.add(
                new String[] {
                  ex.getRequestHeaders().getFirst("X-Keywarden-Delivery"),
                  new String(in.readAllBytes(), StandardCharsets.UTF_8)
                });
          }
          ex.sendResponseHeaders(204, -1);
          ex.close();
        });
    hooks.setExecutor(Executors.newFixedThreadPool(4));
    hooks.start();
    Properties p = new Properties();
    p.put("bootstrap.servers", stack.kafkaBootstrap());
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all");
    producer = new KafkaProducer<>(p);
    admin = Admin.create(Map.of("bootstrap.servers", stack.kafkaBootstrap()));
  }

  @AfterAll
  void stop() throws Exception {
    running.forEach(ServiceProcess::stop);
    try (Connection c = db()) {
      for (String table : List.of("alert_deliveries", "findings", "audit_keys", "alert_settings")) {
        try (PreparedStatement ps =
            c.prepareStatement("delete from " + table + " where account = ?")) {
          ps.setString(1, account);
          ps.executeUpdate();
        }
      }
    }
    if (producer != null) {
      producer.close();
    }
    if (admin != null) {
      admin.close();
    }
    if (hooks != null) {
      hooks.stop(0);
    }
  }

  Connection db() throws Exception {
    return DriverManager.getConnection(stack.jdbcUrl("auditservice"));
  }

  ServiceProcess audit(String name, Map<String, String> extra) throws Exception {
    Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    props.put("kw.smtp.host", "127.0.0.1");
    props.put("kw.smtp.port", String.valueOf(stack.smtpPort()));
    props.put("kw.audit.delivery-every", "500ms");
    props.put("kw.audit.alerts.backoff", "300ms");
    // a killed member's partitions move after the session timeout: 10 s instead of 45 s
    for (String ch : List.of("key-events", "usage-events")) {
      props.put("mp.messaging.incoming." + ch + ".session.timeout.ms", "10000");
      props.put("mp.messaging.incoming." + ch + ".heartbeat.interval.ms", "2000");
    }
    props.putAll(extra);
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

  long committed(RecordMetadata m) throws Exception {
    TopicPartition tp = new TopicPartition(m.topic(), m.partition());
    OffsetAndMetadata o =
        admin
            .listConsumerGroupOffsets(GROUP)
            .partitionsToOffsetAndMetadata()
            .get(10, TimeUnit.SECONDS)
            .get(tp);
    return o == null ? -1 : o.offset();
  }

  /**
   * The log of the process's last start: target/crash-logs is kept after a run and each start
   * appends to it (after a "---- " line), so a second run without {@code clean} counted the holds
   * of the first one too and never saw exactly two.
   */
  static String thisStart(Path log) throws Exception {
    String all = Files.readString(log);
    int at = all.lastIndexOf("\n---- ");
    return at < 0 ? all : all.substring(at);
  }

  long single(Connection c, String sql, String arg) throws Exception {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : -1;
      }
    }
  }

  @Test
  void aKillAfterTheSideEffectsAndBeforeTheOffsetCommitAppliesNothingTwice() throws Exception {
    Instant created = Instant.now().minus(Duration.ofDays(9)); // NEVER_USED at once
    KeySnapshot k = RestartTests.key(account, "e4-created", created);
    String usedKey = UUID.randomUUID().toString();
    // the first start migrates the database (Flyway), then the account's settings go in
    ServiceProcess first =
        audit("e4-first", Map.of("kw.fault.hold-after-apply", k.keyId() + "," + usedKey));
    try (Connection c = db();
        PreparedStatement ps =
            c.prepareStatement(
                "insert into alert_settings (account, webhook_url, finding_types, mode,"
                    + " updated_at) values (?, ?, '', 'immediate', now())")) {
      ps.setString(1, account);
      ps.setString(2, "http://127.0.0.1:" + hooks.getAddress().getPort() + "/e4");
      ps.executeUpdate();
    }
    Instant now = Instant.now();
    CloudEvent<UsageRecorded> usage =
        CloudEvent.of(
            UsageRecorded.TYPE,
            "/usage-service",
            usedKey,
            now,
            new UsageRecorded(
                usedKey,
                account,
                now.minusSeconds(60),
                now,
                7,
                Map.of(),
                2500,
                100,
                50,
                1,
                1,
                now,
                "198.51.100.7",
                2500));
    String usageEventId = usage.id();
    RecordMetadata keyRecord =
        producer
            .send(
                new ProducerRecord<>(
                    Topics.KEY_EVENTS,
                    k.keyId(),
                    EventCodec.encode(
                        CloudEvent.of(
                            KeyEventType.CREATED.type(), "/key-service", k.keyId(), now, k))))
            .get(10, TimeUnit.SECONDS);
    RecordMetadata usageRecord =
        producer
            .send(new ProducerRecord<>(Topics.USAGE_EVENTS, usedKey, EventCodec.encode(usage)))
            .get(10, TimeUnit.SECONDS);

    // both applied (finding written, webhook sent), both held before their offsets are committed
    try (Connection c = db()) {
      await()
          .atMost(Duration.ofSeconds(120))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () ->
                  single(c, "select count(*) from findings where key_id = ?", k.keyId()) == 1
                      && single(
                              c, "select total_requests from audit_keys where key_id = ?", usedKey)
                          == 7
                      && received.stream().anyMatch(r -> r[1].contains(k.keyId()))
                      && thisStart(first.logFile()).split("fault hook: holding").length == 3);
    }
    assertThat(committed(keyRecord)).isLessThanOrEqualTo(keyRecord.offset());
    assertThat(committed(usageRecord)).isLessThanOrEqualTo(usageRecord.offset());

    ProcessHandle.of(first.pid()).orElseThrow().destroyForcibly(); // SIGKILL
    await().atMost(Duration.ofSeconds(10)).until(() -> !first.isAlive());
    running.remove(first);

    ServiceProcess second = audit("e4-second", Map.of());
    // the new process gets both records again and commits past them
    await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () ->
                committed(keyRecord) > keyRecord.offset()
                    && committed(usageRecord) > usageRecord.offset());
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> true);

    try (Connection c = db()) {
      assertThat(single(c, "select count(*) from findings where key_id = ?", k.keyId()))
          .as("findings of the redelivered created event")
          .isEqualTo(1);
      assertThat(single(c, "select version from audit_keys where key_id = ?", k.keyId()))
          .isEqualTo(1);
      assertThat(single(c, "select total_requests from audit_keys where key_id = ?", usedKey))
          .as("requests of the redelivered usage event, counted once")
          .isEqualTo(7);
      assertThat(single(c, "select total_spend_micros from audit_keys where key_id = ?", usedKey))
          .isEqualTo(2500);
      assertThat(
              single(c, "select count(*) from processed_events where event_id = ?", usageEventId))
          .isEqualTo(1);
      List<String> deliveries = new ArrayList<>();
      try (PreparedStatement ps =
          c.prepareStatement(
              "select channel, status from alert_deliveries where key_id = ? order by channel")) {
        ps.setString(1, k.keyId());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            deliveries.add(rs.getString(1) + ":" + rs.getString(2));
          }
        }
      }
      assertThat(deliveries).containsExactly("kafka:delivered", "webhook:delivered");
    }
    List<String[]> mine = received.stream().filter(r -> r[1].contains(k.keyId())).toList();
    assertThat(mine).hasSize(1);
    assertThat(thisStart(second.logFile())).doesNotContain("fault hook");
    System.out.printf(
        "E4: SIGKILL after applying a key event and a usage event, before their offsets were"
            + " committed; redelivered 2, double-applied 0, duplicate findings 0, duplicate"
            + " alerts 0 (webhook requests for the finding: %d)%n",
        mine.size());
    second.stop();
    running.remove(second);
  }
}
