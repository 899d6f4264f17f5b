package io.keywarden.usage;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.stack.ServiceProcess;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * What the tests that run usage-service as separate processes share (ScaleOutTests, RestartTests,
 * MidnightTests): calls to an instance, events on the topics, key snapshots.
 */
final class Instances {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private Instances() {}

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A JSON POST with a bearer token to one instance. */
  static HttpResponse<String> post(ServiceProcess s, String path, String token, Object body)
      throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + path))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The authorize code one instance gives a key now. */
  static String code(ServiceProcess s, String gatewayToken, String secret) throws Exception {
    return JSON.readTree(post(s, "/api/authorize", gatewayToken, Map.of("key", secret)).body())
        .path("code")
        .asText();
  }

  static void send(
      KafkaProducer<String, String> producer, String topic, String key, CloudEvent<?> e)
      throws Exception {
    producer.send(new ProducerRecord<>(topic, key, EventCodec.encode(e))).get(10, TimeUnit.SECONDS);
  }

  /** Publishes an enabled group with one model "m" ($1 per million tokens both ways). */
  static void group(KafkaProducer<String, String> producer, String name) throws Exception {
    GroupSnapshot g =
        new GroupSnapshot(
            name,
            "",
            true,
            false,
            List.of(new ModelPrice("m", "x", 1, 1)),
            Instant.now(),
            Instant.now(),
            1);
    send(
        producer,
        Topics.GROUPS,
        name,
        CloudEvent.of(GroupSnapshot.TYPE, "/test", name, Instant.now(), g));
  }

  /** A key snapshot with no IP list, rate limit or expiry. */
  static KeySnapshot snapshot(
      String id,
      String account,
      String name,
      String group,
      KeyStatus status,
      String hash,
      long quota,
      QuotaReset reset,
      long version) {
    Instant now = Instant.now();
    return new KeySnapshot(
        id,
        account,
        name,
        group,
        status,
        hash,
        "sk-kw-…",
        false,
        null,
        null,
        List.of(),
        quota,
        reset,
        RateLimit.NONE,
        null,
        now,
        now,
        null,
        version);
  }
}
