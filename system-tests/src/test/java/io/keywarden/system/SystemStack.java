package io.keywarden.system;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.ServiceProcess;
import io.keywarden.stack.StackConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The whole system, booted once per test JVM and shared by every test class of this module: the
 * local stack (PostgreSQL, Kafka, Keycloak, SMTP) and the three packaged services as separate
 * processes, exactly as the run command starts them. Closed when the JVM exits (the stack's own
 * shutdown hook).
 */
final class SystemStack {
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();

  /** usage-service's forward-auth secret in this stack. */
  static final String GATEWAY_SECRET = "system-tests-gateway-secret-0123456789";

  private static LocalStack stack;

  private SystemStack() {}

  /** The running stack; starts it on first use. */
  static synchronized LocalStack get() {
    if (stack == null) {
      Path home =
          StackConfig.findRoot()
              .resolve("system-tests/target/e2e-" + UUID.randomUUID().toString().substring(0, 8));
      LocalStack started = LocalStack.start(StackConfig.forTests(home));
      try {
        StackConfig c = started.config();
        // started one after the other: on 2 cores, three JVMs booting at once slow each other down
        started.startService("key-service", c.keyServicePort(), keyServiceProperties(started));
        started.startService("usage-service", c.usageServicePort(), usageProperties(started));
        started.startService("audit-service", c.auditServicePort(), auditProperties(started));
      } catch (RuntimeException | Error e) {
        started.close();
        throw e;
      }
      stack = started;
    }
    return stack;
  }

  static Map<String, String> common(LocalStack s) {
    return Map.of(
        "kw.db.host", "localhost",
        "kw.db.port", String.valueOf(s.postgresPort()),
        "kafka.bootstrap.servers", s.kafkaBootstrap(),
        "kw.oidc.url", s.issuer());
  }

  static Map<String, String> keyServiceProperties(LocalStack s) {
    Map<String, String> key = new HashMap<>(common(s));
    key.put("kw.usage.base-url", "http://localhost:" + s.config().usageServicePort());
    return key;
  }

  static Map<String, String> usageProperties(LocalStack s) {
    Map<String, String> usage = new HashMap<>(common(s));
    usage.put("kw.gateway.shared-secret", GATEWAY_SECRET);
    // roll-ups reach audit-service within seconds instead of a minute
    usage.put("kw.rollup.window", "2s");
    usage.put("kw.rollup.flush", "1s");
    return usage;
  }

  static Map<String, String> auditProperties(LocalStack s) {
    Map<String, String> audit = new HashMap<>(common(s));
    audit.put("kw.key-service.url", "http://localhost:" + s.config().keyServicePort());
    audit.put("kw.smtp.host", "localhost");
    audit.put("kw.smtp.port", String.valueOf(s.smtpPort()));
    audit.put("kw.audit.alerts.backoff", "300ms");
    return audit;
  }

  static int keyPort() {
    return get().config().keyServicePort();
  }

  static int usagePort() {
    return get().config().usageServicePort();
  }

  static int auditPort() {
    return get().config().auditServicePort();
  }

  static String key(String path) {
    return "http://localhost:" + keyPort() + path;
  }

  static String usage(String path) {
    return "http://localhost:" + usagePort() + path;
  }

  static String audit(String path) {
    return "http://localhost:" + auditPort() + path;
  }

  /** The newest live process of a service (a test may have restarted it). */
  static ServiceProcess service(String module) {
    ServiceProcess last = null;
    for (ServiceProcess s : get().services()) {
      if (s.name().equals(module)) {
        last = s;
      }
    }
    return last;
  }

  /** One record as read back from a topic: key, value and every header, as UTF-8 text. */
  record Rec(String topic, int partition, long offset, String key, String value, String headers) {
    String all() {
      return key + "\n" + value + "\n" + headers;
    }
  }

  /** Every topic of the broker (including dead-letter topics), internal ones excepted. */
  static java.util.Set<String> topics() throws Exception {
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.of(
                org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                get().kafkaBootstrap()))) {
      return new java.util.TreeSet<>(
          admin.listTopics().names().get(30, java.util.concurrent.TimeUnit.SECONDS));
    }
  }

  /** Every record of a topic, read from the beginning to the end offsets of now. */
  static java.util.List<Rec> records(String topic) {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", get().kafkaBootstrap());
    props.put(
        "key.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
    props.put(
        "value.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
    props.put("enable.auto.commit", "false");
    props.put("max.poll.records", "5000");
    props.put("fetch.max.bytes", String.valueOf(64 * 1024 * 1024));
    props.put("max.partition.fetch.bytes", String.valueOf(32 * 1024 * 1024));
    java.util.List<Rec> out = new java.util.ArrayList<>();
    try (var consumer =
        new org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>(props)) {
      var parts =
          consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
              .map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<org.apache.kafka.common.TopicPartition, Long> end =
          consumer.endOffsets(parts, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not read " + topic + " to its end in 120 s");
        }
        for (var r : consumer.poll(Duration.ofMillis(500))) {
          StringBuilder h = new StringBuilder();
          for (var header : r.headers()) {
            h.append(header.key())
                .append('=')
                .append(header.value() == null ? "" : utf8(header.value()))
                .append('\n');
          }
          out.add(
              new Rec(
                  topic,
                  r.partition(),
                  r.offset(),
                  r.key() == null ? null : utf8(r.key()),
                  r.value() == null ? null : utf8(r.value()),
                  h.toString()));
        }
      }
    }
    return out;
  }

  private static String utf8(byte[] b) {
    return new String(b, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** A header's value of a record read back ({@code name=value} lines), or null. */
  static String header(Rec r, String name) {
    for (String line : r.headers().split("\n")) {
      if (line.startsWith(name + "=")) {
        return line.substring(name.length() + 1);
      }
    }
    return null;
  }

  static java.sql.Connection db(String database) throws java.sql.SQLException {
    return java.sql.DriverManager.getConnection(get().jdbcUrl(database));
  }

  /** Credits an account on usage-service (as an admin), so authorize can allow its keys. */
  static void credit(String adminToken, String account, String usd) throws Exception {
    HttpResponse<String> r =
        call(
            "POST",
            usage("/api/admin/accounts/" + account + "/credits"),
            adminToken,
            "{\"amountUsd\":\""
                + usd
                + "\",\"reference\":\"system-tests-"
                + UUID.randomUUID()
                + "\"}");
    if (r.statusCode() / 100 != 2) {
      throw new IllegalStateException("credit " + account + ": " + r.statusCode() + " " + r.body());
    }
  }

  static HttpResponse<String> call(String method, String url, String bearer, String body)
      throws Exception {
    Map<String, String> headers = new HashMap<>();
    if (bearer != null) {
      headers.put("Authorization", "Bearer " + bearer);
    }
    return call(method, url, headers, body);
  }

  static HttpResponse<String> call(
      String method, String url, Map<String, String> headers, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
    headers.forEach(b::header);
    if (body != null) {
      if (!headers.containsKey("Content-Type")) {
        b.header("Content-Type", "application/json");
      }
      b.method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
