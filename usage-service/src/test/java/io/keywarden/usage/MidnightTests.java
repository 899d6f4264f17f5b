package io.keywarden.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * M5 on two replicas: two usage-service instances (child JVMs, failsafe) whose clocks are shifted
 * ({@code kw.clock.offset}, the same for both) so that a future UTC midnight comes about 100 s
 * after they start. A daily key spent to its quota before midnight is allowed again by both at the
 * new day, at once, from zero, and the two share one reset (one period's quota, not one each); a
 * key spent without a period that gains a daily one is not over at once on either.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MidnightTests {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration LEAD = Duration.ofSeconds(100);
  final List<ServiceProcess> started = new ArrayList<>();
  LocalStack stack;
  KafkaProducer<String, String> producer;
  String gateway;

  @AfterAll
  void stop() {
    started.forEach(ServiceProcess::stop);
    if (producer != null) {
      producer.close();
    }
  }

  private HttpResponse<String> post(ServiceProcess s, String path, String token, Object body)
      throws Exception {
    return Instances.post(s, path, token, body);
  }

  private String code(ServiceProcess s, String secret) throws Exception {
    return Instances.code(s, gateway, secret);
  }

  private void awaitCode(ServiceProcess s, String secret, String code) {
    Awaitility.await("key " + code + " on " + s.port())
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(50))
        .until(() -> code(s, secret), code::equals);
  }

  private HttpResponse<String> usage(ServiceProcess s, String keyId, String usd) throws Exception {
    return post(
        s,
        "/api/usage",
        gateway,
        Map.of("requestId", "m5r-" + UUID.randomUUID(), "keyId", keyId, "costUsd", usd));
  }

  private void send(String topic, String key, CloudEvent<?> e) throws Exception {
    Instances.send(producer, topic, key, e);
  }

  private KeySnapshot snapshot(
      String id, String account, String group, String secret, QuotaReset reset, long version) {
    return Instances.snapshot(
        id,
        account,
        "m5",
        group,
        KeyStatus.ACTIVE,
        KeyFormat.sha256Hex(secret),
        50_000,
        reset,
        version);
  }

  @Test
  void atUtcMidnightBothReplicasAllowADailyKeyAgainFromZeroWithOneSharedReset() throws Exception {
    stack = KeywardenStackResource.stack();
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    producer = new KafkaProducer<>(p);
    gateway = Tokens.clientCredentials(stack.issuer(), "keywarden-gateway", "gateway-secret");

    // a midnight two days ahead, reached LEAD after now on the instances' shifted clocks
    Instant base = Instant.now();
    Instant midnight = base.plus(Duration.ofDays(2)).truncatedTo(ChronoUnit.DAYS);
    Duration offset = Duration.between(base.plus(LEAD), midnight);
    Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    props.put("kw.clock.offset", offset.toString());
    Path logs = Files.createDirectories(stack.home().resolve("midnight-logs"));
    CompletableFuture<ServiceProcess> fa =
        CompletableFuture.supplyAsync(() -> start(props, logs.resolve("a")));
    CompletableFuture<ServiceProcess> fb =
        CompletableFuture.supplyAsync(() -> start(props, logs.resolve("b")));
    ServiceProcess a = fa.get(180, TimeUnit.SECONDS);
    ServiceProcess b = fb.get(180, TimeUnit.SECONDS);

    String account = "m5-" + UUID.randomUUID();
    HttpResponse<String> credit =
        post(
            a,
            "/api/admin/accounts/" + account + "/credits",
            Tokens.password(stack.issuer(), "carol"),
            Map.of("amountUsd", "10.00", "reference", "m5"));
    assertThat(credit.statusCode()).as(credit.body()).isEqualTo(201);
    String group = "m5-" + UUID.randomUUID().toString().substring(0, 8);
    Instances.group(producer, group);
    String dailySecret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String daily = UUID.randomUUID().toString();
    send(
        Topics.KEY_EVENTS,
        daily,
        CloudEvent.of(
            KeyEventType.CREATED.type(),
            "/test",
            daily,
            Instant.now(),
            snapshot(daily, account, group, dailySecret, QuotaReset.DAILY, 1)));
    String plainSecret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String plain = UUID.randomUUID().toString();
    send(
        Topics.KEY_EVENTS,
        plain,
        CloudEvent.of(
            KeyEventType.CREATED.type(),
            "/test",
            plain,
            Instant.now(),
            snapshot(plain, account, group, plainSecret, QuotaReset.NONE, 1)));
    for (ServiceProcess s : List.of(a, b)) {
      awaitCode(s, dailySecret, "VALID");
      awaitCode(s, plainSecret, "VALID");
    }

    // before midnight: the daily key spent to its $0.05 on a, refused on b; the plain key on b
    assertThat(Instant.now().plus(offset))
        .as("the instances started in time (before their midnight)")
        .isBefore(midnight.minusSeconds(10));
    assertThat(usage(a, daily, "0.05").statusCode()).isEqualTo(200);
    assertThat(usage(b, daily, "0.01").statusCode()).isEqualTo(429);
    assertThat(usage(b, plain, "0.05").statusCode()).isEqualTo(200);
    awaitCode(b, dailySecret, "KEY_QUOTA_EXCEEDED");
    awaitCode(a, dailySecret, "KEY_QUOTA_EXCEEDED");
    assertThat(Instant.now().plus(offset)).isBefore(midnight);

    // the plain key, spent, gains a daily period: not over at once, on either instance
    send(
        Topics.KEY_EVENTS,
        plain,
        CloudEvent.of(
            KeyEventType.UPDATED.type(),
            "/test",
            plain,
            Instant.now(),
            snapshot(plain, account, group, plainSecret, QuotaReset.DAILY, 2)));
    awaitCode(a, plainSecret, "VALID");
    awaitCode(b, plainSecret, "VALID");
    JsonNode gained = JSON.readTree(usage(a, plain, "0.02").body());
    assertThat(gained.path("accepted").asBoolean()).isTrue();
    assertThat(gained.path("keySpentUsd").asText()).as("from zero").isEqualTo("0.02");

    // midnight on the instances' clocks
    Awaitility.await("the instances' midnight")
        .atMost(LEAD.plusSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> Instant.now().plus(offset).isAfter(midnight.plusMillis(500)));
    // at once: both allow the daily key on the first ask
    String codeA = code(a, dailySecret);
    String codeB = code(b, dailySecret);
    // from zero, one reset shared by both: $0.03 on b, then $0.03 more on a is over the $0.05
    JsonNode first = JSON.readTree(usage(b, daily, "0.03").body());
    HttpResponse<String> second = usage(a, daily, "0.03");
    HttpResponse<String> third = usage(a, daily, "0.02");
    System.out.printf(
        "M5 two replicas at UTC midnight: first asks after it a=%s b=%s; charges $0.03 on b ->"
            + " spent %s, $0.03 on a -> %d, $0.02 on a -> %s; stale replicas %d%n",
        codeA,
        codeB,
        first.path("keySpentUsd").asText(),
        second.statusCode(),
        JSON.readTree(third.body()).path("keySpentUsd").asText(),
        (codeA.equals("VALID") ? 0 : 1) + (codeB.equals("VALID") ? 0 : 1));
    assertThat(codeA).isEqualTo("VALID");
    assertThat(codeB).isEqualTo("VALID");
    assertThat(first.path("accepted").asBoolean()).isTrue();
    assertThat(first.path("keySpentUsd").asText()).isEqualTo("0.03");
    assertThat(second.statusCode()).as("one reset, not one per replica").isEqualTo(429);
    assertThat(third.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(third.body()).path("keySpentUsd").asText()).isEqualTo("0.05");
    awaitCode(b, dailySecret, "KEY_QUOTA_EXCEEDED");
  }

  private ServiceProcess start(Map<String, String> props, Path log) {
    try {
      ServiceProcess s =
          ServiceProcess.start(
              StackConfig.findRoot(), "usage-service", Instances.freePort(), props, log);
      synchronized (started) {
        started.add(s);
      }
      return s;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
