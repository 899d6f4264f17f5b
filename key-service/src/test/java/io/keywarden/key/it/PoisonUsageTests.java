package io.keywarden.key.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.UsageRecorded;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * E6: poison records on keywarden.usage-events (the feed of lastUsedAt and spend). Each goes to
 * key-service's dead-letter topic with its origin in the headers, and the stream goes on.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(GithubKeyServerResource.class)
class PoisonUsageTests {
  static final String DLT = "keywarden.usage-events.key-service.dlt";
  static final String GROUP = "key-service";

  final List<String> created = new ArrayList<>();

  @AfterEach
  void revoke() {
    for (String id : created) {
      Stack.as("alice").delete("/api/keys/" + id);
    }
  }

  @Test
  void badJsonUnknownTypeVersion99AndA2MbValueAreDeadLetteredAndTheNextRollUpApplies()
      throws Exception {
    String id = Kw.createNamed("alice", "e6").then().statusCode(201).extract().path("id");
    created.add(id);
    Instant t = Instant.parse("2026-11-23T11:01:00Z");
    UsageRecorded usage =
        new UsageRecorded(
            id, "acct", t.minusSeconds(60), t, 3, Map.of(), 1000, 10, 10, 1, 1, t, "x", 1L);
    String valid =
        EventCodec.encode(CloudEvent.of(UsageRecorded.TYPE, "/usage-service", id, t, usage));

    Map<String, String> poison = new LinkedHashMap<>();
    poison.put("bad JSON", "{\"specversion\":\"1.0\",\"type\":");
    poison.put("unknown type", valid.replace(UsageRecorded.TYPE, "keywarden.usage.teleported.v1"));
    poison.put("version 99", valid.replace("\"specversion\":\"1.0\"", "\"specversion\":\"99\""));
    poison.put(
        "2 MB value",
        "{\"specversion\":\"1.0\",\"type\":\""
            + UsageRecorded.TYPE
            + "\",\"pad\":\""
            + "x".repeat(2 * 1024 * 1024)
            + "\"}");
    assertThat(poison.get("unknown type")).contains("teleported");
    assertThat(poison.get("version 99")).contains("\"specversion\":\"99\"");

    Properties p = new Properties();
    p.put("bootstrap.servers", KeywardenStackResource.stack().kafkaBootstrap());
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("compression.type", "gzip"); // 2 MB of one letter is a few KB on the broker
    p.put("max.request.size", String.valueOf(4 * 1024 * 1024));
    Map<String, Long> offsets = new LinkedHashMap<>();
    int partition = -1;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (var e : poison.entrySet()) {
        // record key = key id, as usage-service writes it: all on the key's partition
        RecordMetadata m =
            producer
                .send(new ProducerRecord<>(Topics.USAGE_EVENTS, id, e.getValue()))
                .get(30, TimeUnit.SECONDS);
        offsets.put(e.getKey(), m.offset());
        partition = m.partition();
      }
    }
    // a good roll-up behind them on the same partition: it only applies if the stream went on
    long sent = System.nanoTime();
    Stack.publishUsage(id, t.minusSeconds(60), t, 1_250_000L, "203.0.113.9");
    Awaitility.await()
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(
            () ->
                Stack.as("alice")
                    .get("/api/keys/" + id)
                    .then()
                    .statusCode(200)
                    .body("spentUsd", equalTo("1.25"))
                    .body("lastUsedAt", equalTo("2026-11-23T11:00:59Z")));
    double appliedSeconds = (System.nanoTime() - sent) / 1e9;

    List<ConsumerRecord<String, String>> dead =
        Stack.records(
                DLT,
                rs -> rs.stream().filter(r -> id.equals(r.key())).count() >= poison.size(),
                Duration.ofSeconds(30))
            .stream()
            .filter(r -> id.equals(r.key()))
            .toList();
    assertThat(dead).as("dead-lettered records of this key").hasSize(poison.size());
    List<String> names = new ArrayList<>(poison.keySet());
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      ConsumerRecord<String, String> r = dead.get(i);
      assertThat(r.value()).as(name).isEqualTo(poison.get(name));
      Headers h = r.headers();
      assertThat(header(h, "dead-letter-reason")).as(name).isNotBlank();
      assertThat(header(h, "dead-letter-topic")).as(name).isEqualTo(Topics.USAGE_EVENTS);
      assertThat(header(h, "dead-letter-partition")).as(name).isEqualTo("" + partition);
      assertThat(header(h, "dead-letter-offset")).as(name).isEqualTo("" + offsets.get(name));
    }
    // the channel stayed up: no poison record stopped it
    Awaitility.await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> given().get("/q/health").then().statusCode(200).body("status", equalTo("UP")));

    // lag: the group's committed offset reaches the end of the partition
    long lagStart = System.nanoTime();
    TopicPartition tp = new TopicPartition(Topics.USAGE_EVENTS, partition);
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> lag(tp) == 0);
    System.out.printf(
        "E6 key-service: injected %d poison records, %d in %s with origin headers; the good"
            + " roll-up behind them applied after %.1f s; consumer lag 0 %.1f s later%n",
        poison.size(), dead.size(), DLT, appliedSeconds, (System.nanoTime() - lagStart) / 1e9);
  }

  /** key-service's consumer lag on one partition: end offset minus committed offset. */
  static long lag(TopicPartition tp) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", KeywardenStackResource.stack().kafkaBootstrap());
    try (Admin admin = Admin.create(p)) {
      var committed =
          admin
              .listConsumerGroupOffsets(GROUP)
              .partitionsToOffsetAndMetadata()
              .get(10, TimeUnit.SECONDS)
              .get(tp);
      long end =
          admin
              .listOffsets(Map.of(tp, OffsetSpec.latest()))
              .partitionResult(tp)
              .get(10, TimeUnit.SECONDS)
              .offset();
      return committed == null ? end : end - committed.offset();
    }
  }

  static String header(Headers headers, String name) {
    var h = headers.lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
