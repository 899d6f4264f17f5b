package io.keywarden.audit.it;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;

/** Produces the contract's CloudEvents the way key-service and usage-service do. */
public final class Events {
  private static KafkaProducer<String, String> producer;

  private Events() {}

  static String bootstrap() {
    return ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
  }

  static synchronized KafkaProducer<String, String> producer() {
    if (producer == null) {
      Properties p = new Properties();
      p.put("bootstrap.servers", bootstrap());
      p.put("key.serializer", StringSerializer.class.getName());
      p.put("value.serializer", StringSerializer.class.getName());
      p.put("acks", "all");
      producer = new KafkaProducer<>(p);
    }
    return producer;
  }

  /** Sends a raw value (a poison record, or a replay). */
  public static void sendRaw(String topic, String key, String value) {
    try {
      producer().send(new ProducerRecord<>(topic, key, value)).get();
    } catch (Exception e) {
      throw new IllegalStateException("send failed", e);
    }
  }

  /** Sends an event and returns its encoded JSON (to replay it later). */
  public static String send(String topic, String key, CloudEvent<?> event) {
    String json = EventCodec.encode(event);
    sendRaw(topic, key, json);
    return json;
  }

  public static String sendKey(KeyEventType type, KeySnapshot k) {
    return send(
        Topics.KEY_EVENTS,
        k.keyId(),
        CloudEvent.of(type.type(), "/key-service", k.keyId(), TestClock.now(), k));
  }

  public static KeySnapshot key(
      String account, String name, KeyStatus status, Instant created, long version) {
    String id = UUID.randomUUID().toString();
    return snapshot(id, account, name, status, created, null, 0, version);
  }

  public static KeySnapshot snapshot(
      String id,
      String account,
      String name,
      KeyStatus status,
      Instant created,
      Instant expiresAt,
      long quotaMicros,
      long version) {
    return new KeySnapshot(
        id,
        account,
        name,
        "default",
        status,
        "0".repeat(64),
        "sk-kw-Ab…x9",
        false,
        null,
        null,
        List.of(),
        quotaMicros,
        null,
        null,
        expiresAt,
        created,
        created,
        null,
        version);
  }

  public static KeySnapshot with(KeySnapshot k, KeyStatus status, String name, long version) {
    return new KeySnapshot(
        k.keyId(),
        k.account(),
        name,
        k.group(),
        status,
        k.keyHash(),
        k.mask(),
        k.custom(),
        k.previousKeyHash(),
        k.previousKeyExpiresAt(),
        k.allowedIps(),
        k.quotaMicros(),
        k.quotaReset(),
        k.rateLimit(),
        k.expiresAt(),
        k.createdAt(),
        TestClock.now(),
        k.rotatedAt(),
        version);
  }

  public static void denied(KeySnapshot k, String code, String ip) {
    send(
        Topics.USAGE_EVENTS,
        k.keyId(),
        CloudEvent.of(
            io.keywarden.contracts.events.UsageDenied.TYPE,
            "/usage-service",
            k.keyId(),
            TestClock.now(),
            new io.keywarden.contracts.events.UsageDenied(
                k.keyId(), k.account(), code, ip, "curl/8", TestClock.now())));
  }

  public static String used(KeySnapshot k, String ip, int distinctIps) {
    Instant now = TestClock.now();
    return send(
        Topics.USAGE_EVENTS,
        k.keyId(),
        CloudEvent.of(
            io.keywarden.contracts.events.UsageRecorded.TYPE,
            "/usage-service",
            k.keyId(),
            now,
            new io.keywarden.contracts.events.UsageRecorded(
                k.keyId(),
                k.account(),
                now.minusSeconds(60),
                now,
                3,
                java.util.Map.of(),
                1500,
                100,
                50,
                distinctIps,
                1,
                now,
                ip,
                1500)));
  }

  /** Reads every record of a topic from the beginning, for up to {@code wait}. */
  public static List<ConsumerRecord<String, String>> readAll(String topic, Duration wait) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap());
    p.put("group.id", "audit-tests-" + UUID.randomUUID());
    p.put("auto.offset.reset", "earliest");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      c.subscribe(List.of(topic));
      long end = System.nanoTime() + wait.toNanos();
      while (System.nanoTime() < end) {
        c.poll(Duration.ofMillis(300)).forEach(out::add);
      }
    }
    return out;
  }
}
