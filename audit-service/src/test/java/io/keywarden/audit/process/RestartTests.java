package io.keywarden.audit.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.StackConfig;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import jakarta.mail.internet.MimeMessage;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * audit-service as the packaged jar in child JVMs (a real restart: a new process on the same
 * database and consumer group), against the real stack: PostgreSQL, Kafka, Keycloak and the
 * GreenMail SMTP sink. Runs after {@code package} (failsafe), not in surefire.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestartTests {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String SECRET = "whsec-restart-0123456789";
  LocalStack stack;
  Path logs;
  HttpServer hooks;
  final List<String[]> received = new CopyOnWriteArrayList<>(); // {path, deliveryId, body}
  KafkaProducer<String, String> producer;
  final HttpClient http = HttpClient.newHttpClient();
  final List<ServiceProcess> running = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    stack = KeywardenStackResource.stack();
    logs = Files.createDirectories(Path.of("target", "restart-logs")); // kept after the run
    hooks = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    hooks.createContext(
        "/",
        ex -> {
          try (InputStream in = ex.getRequestBody()) {
            String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            received.add(
                new String[] {
                  ex.getRequestURI().getPath(),
                  ex.getRequestHeaders().getFirst("X-Keywarden-Delivery"),
                  body
                });
          }
          ex.sendResponseHeaders(204, -1);
          ex.close();
        });
    hooks.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
    hooks.start();
    Properties p = new Properties();
    p.put("bootstrap.servers", stack.kafkaBootstrap());
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all");
    producer = new KafkaProducer<>(p);
  }

  @AfterAll
  void stop() {
    running.forEach(ServiceProcess::stop);
    if (producer != null) {
      producer.close();
    }
    if (hooks != null) {
      hooks.stop(0);
    }
  }

  ServiceProcess audit(String name) throws Exception {
    Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    props.put("kw.smtp.host", "127.0.0.1");
    props.put("kw.smtp.port", String.valueOf(stack.smtpPort()));
    props.put("kw.audit.delivery-every", "500ms");
    props.put("kw.audit.alerts.backoff", "300ms");
    // the group's joins and assignments, for when this test fails
    props.put("quarkus.log.category.\"org.apache.kafka.clients.consumer\".level", "INFO");
    props.put("mp.messaging.incoming.key-events.client-id-prefix", name + "-");
    props.put("mp.messaging.incoming.usage-events.client-id-prefix", name + "-");
    ServiceProcess s =
        ServiceProcess.start(
            StackConfig.findRoot(), "audit-service", freePort(), props, logs.resolve(name));
    running.add(s);
    return s;
  }

  void stop(ServiceProcess s) {
    s.stop();
    running.remove(s);
    assertThat(s.isAlive()).isFalse();
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  String token(String user) {
    return Tokens.password(stack.issuer(), user);
  }

  HttpResponse<String> call(ServiceProcess s, String method, String path, String user, Object body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + path))
            .timeout(Duration.ofSeconds(120))
            .header("Authorization", "Bearer " + token(user))
            .header("Content-Type", "application/json");
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 299);
    return r;
  }

  void settings(ServiceProcess s, String user, String hookPath, String email) throws Exception {
    call(
        s,
        "PUT",
        "/api/audit/alert-settings",
        user,
        Map.of(
            "webhookUrl",
            "http://127.0.0.1:" + hooks.getAddress().getPort() + hookPath,
            "webhookSecret",
            SECRET,
            "email",
            email,
            "mode",
            "immediate"));
  }

  static KeySnapshot key(String account, String name, Instant created) {
    String id = UUID.randomUUID().toString();
    return new KeySnapshot(
        id,
        account,
        name,
        "default",
        KeyStatus.ACTIVE,
        "0".repeat(64),
        "sk-kw-Ab…x9",
        false,
        null,
        null,
        List.of(),
        0,
        null,
        null,
        null,
        created,
        created,
        null,
        1);
  }

  String sendCreated(KeySnapshot k) throws Exception {
    String json =
        EventCodec.encode(
            CloudEvent.of(
                KeyEventType.CREATED.type(), "/key-service", k.keyId(), Instant.now(), k));
    sendRaw(k.keyId(), json);
    return json;
  }

  void sendRaw(String key, String json) throws Exception {
    producer.send(new ProducerRecord<>(Topics.KEY_EVENTS, key, json)).get(10, TimeUnit.SECONDS);
  }

  void awaitKeys(ServiceProcess s, String account, int n) {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                JSON.readTree(
                            call(s, "GET", "/api/audit/keys?account=" + account, "carol", null)
                                .body())
                        .size()
                    >= n);
  }

  long webhooks(String path, String keyId) {
    return received.stream().filter(r -> r[0].equals(path) && r[2].contains(keyId)).count();
  }

  long mails(String keyId) {
    long n = 0;
    for (MimeMessage m : stack.mail().messages()) {
      try {
        if (String.valueOf(m.getContent()).contains(keyId)) {
          n++;
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return n;
  }

  long kafkaAlerts(String keyId, String type) {
    Properties p = new Properties();
    p.put("bootstrap.servers", stack.kafkaBootstrap());
    p.put("group.id", "audit-restart-" + UUID.randomUUID());
    p.put("auto.offset.reset", "earliest");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    long n = 0;
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      c.subscribe(List.of(Topics.KEY_ALERTS));
      long end = System.nanoTime() + Duration.ofSeconds(4).toNanos();
      while (System.nanoTime() < end) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) {
          if (keyId.equals(r.key()) && r.value().contains("\"findingType\":\"" + type + "\"")) {
            n++;
          }
        }
      }
    }
    return n;
  }

  @Test
  void neverUsedAlertsOncePerChannelAcrossARestartAndAReplayOfTheSameEvents() throws Exception {
    ServiceProcess first = audit("first");
    String account = Tokens.subject(token("alice"));
    settings(first, "alice", "/restart", "alice-restart@example.test");
    KeySnapshot k = key(account, "forgotten-restart", Instant.now().minus(Duration.ofDays(9)));
    String createdJson = sendCreated(k);
    awaitKeys(first, account, 1);

    call(first, "POST", "/api/audit/sweep", "carol", null);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> webhooks("/restart", k.keyId()) == 1 && mails(k.keyId()) == 1);
    assertThat(kafkaAlerts(k.keyId(), "NEVER_USED")).isEqualTo(1);

    // a real restart: SIGTERM, then a new JVM on the same database and consumer group
    stop(first);
    // a clean stop leaves the consumer group: no member of the stopped instance remains. (Its
    // shutdown took ~15 s, the last consumer was killed before its LeaveGroup, and the new instance
    // got no partition until that member's 45 s session ran out.)
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.kafkaBootstrap()))) {
      List<String> left =
          admin
              .describeConsumerGroups(List.of("audit-service"))
              .all()
              .get(10, TimeUnit.SECONDS)
              .get("audit-service")
              .members()
              .stream()
              .map(MemberDescription::clientId)
              .filter(id -> id.startsWith("first-"))
              .toList();
      assertThat(left).as("members of the stopped instance still in the group").isEmpty();
    }
    ServiceProcess second = audit("second");
    assertThat(second.pid()).isNotEqualTo(first.pid());
    // the same key event again (a replay), then sweeps on the new process
    sendRaw(k.keyId(), createdJson);
    KeySnapshot marker = key(account, "marker-after-replay", Instant.now());
    sendCreated(marker); // same partition order is not guaranteed; wait for both keys instead
    awaitKeys(second, account, 2);
    call(second, "POST", "/api/audit/sweep", "carol", null);
    call(second, "POST", "/api/audit/sweep", "carol", null);
    await().pollDelay(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(6)).until(() -> true);

    assertThat(webhooks("/restart", k.keyId())).isEqualTo(1);
    assertThat(mails(k.keyId())).isEqualTo(1);
    assertThat(kafkaAlerts(k.keyId(), "NEVER_USED")).isEqualTo(1);
    JsonNode log =
        JSON.readTree(call(second, "GET", "/api/audit/deliveries", "alice", null).body());
    List<String> mine = new ArrayList<>();
    log.forEach(
        d -> {
          if (k.keyId().equals(d.path("keyId").asText())) {
            mine.add(d.path("channel").asText() + ":" + d.path("status").asText());
          }
        });
    assertThat(mine)
        .containsExactlyInAnyOrder("kafka:delivered", "webhook:delivered", "email:delivered");
    stop(second);
  }

  @Test
  void twoInstancesSweepingAndSendingTheSameAlertsAtOnceSendEachOnce() throws Exception {
    ServiceProcess a = audit("a");
    ServiceProcess b = audit("b");
    String account = Tokens.subject(token("bob"));
    settings(a, "bob", "/two", "bob-two@example.test");
    List<KeySnapshot> keys = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      KeySnapshot k = key(account, "two-" + i, Instant.now().minus(Duration.ofDays(9)));
      sendCreated(k);
      keys.add(k);
    }
    awaitKeys(a, account, 30);
    awaitKeys(b, account, 30);
    // both instances sweep at the same time; both delivery workers run every 500 ms
    var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      var fa = pool.submit(() -> call(a, "POST", "/api/audit/sweep", "carol", null));
      var fb = pool.submit(() -> call(b, "POST", "/api/audit/sweep", "carol", null));
      fa.get();
      fb.get();
    } finally {
      pool.shutdownNow();
    }
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> keys.stream().allMatch(k -> webhooks("/two", k.keyId()) >= 1));
    call(b, "POST", "/api/audit/sweep", "carol", null);
    await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(5)).until(() -> true);
    for (KeySnapshot k : keys) {
      assertThat(webhooks("/two", k.keyId())).as(k.keyId()).isEqualTo(1);
      assertThat(mails(k.keyId())).as(k.keyId()).isEqualTo(1);
    }
    assertThat(received.stream().filter(r -> r[0].equals("/two")).map(r -> r[1]))
        .doesNotHaveDuplicates()
        .hasSize(30);
  }
}
