package io.keywarden.key.it;

import static io.restassured.RestAssured.given;

import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import io.keywarden.stack.testing.TopicRecords;
import io.restassured.specification.RequestSpecification;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Test access to the real stack: tokens from Keycloak, events from Kafka. */
final class Stack {
  private Stack() {}

  static String issuer() {
    return KeywardenStackResource.stack().issuer();
  }

  static RequestSpecification as(String user) {
    return given().auth().oauth2(Tokens.password(issuer(), user)).contentType("application/json");
  }

  static String account(String user) {
    return Tokens.subject(Tokens.password(issuer(), user));
  }

  /** Every record of a topic from the beginning, until one matches or the timeout passes. */
  static List<ConsumerRecord<String, String>> records(
      String topic, Predicate<List<ConsumerRecord<String, String>>> until, Duration timeout) {
    return TopicRecords.read(
        KeywardenStackResource.stack().kafkaBootstrap(), topic, until, timeout);
  }

  /** Which of {@code keys} have a record on {@code topic}, waiting until all have or time is up. */
  static Set<String> keysOnTopic(String topic, Set<String> keys, Duration timeout) {
    return records(
            topic,
            rs ->
                rs.stream().map(ConsumerRecord::key).filter(keys::contains).distinct().count()
                    == keys.size(),
            timeout)
        .stream()
        .map(ConsumerRecord::key)
        .filter(keys::contains)
        .collect(java.util.stream.Collectors.toSet());
  }

  /** The key events of one key, in order, waiting until there are at least {@code n}. */
  static List<CloudEvent<?>> keyEvents(String keyId, int n) {
    return records(
            Topics.KEY_EVENTS,
            rs -> rs.stream().filter(r -> keyId.equals(r.key())).count() >= n,
            Duration.ofSeconds(15))
        .stream()
        .filter(r -> keyId.equals(r.key()))
        .<CloudEvent<?>>map(r -> EventCodec.decode(r.value()))
        .toList();
  }

  static List<String> allValues(String topic) {
    return records(topic, rs -> false, Duration.ofSeconds(2)).stream()
        .map(ConsumerRecord::value)
        .toList();
  }

  /** Publishes a usage roll-up as usage-service would (the contract), and waits for the ack. */
  static void publishUsage(
      String keyId, java.time.Instant from, java.time.Instant to, long keySpent, String ip)
      throws Exception {
    Properties p = new Properties();
    p.put(
        org.apache.kafka.clients.producer.ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        KeywardenStackResource.stack().kafkaBootstrap());
    p.put(
        org.apache.kafka.clients.producer.ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
        org.apache.kafka.common.serialization.StringSerializer.class.getName());
    p.put(
        org.apache.kafka.clients.producer.ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
        org.apache.kafka.common.serialization.StringSerializer.class.getName());
    var usage =
        new io.keywarden.contracts.events.UsageRecorded(
            keyId,
            "acct",
            from,
            to,
            3,
            java.util.Map.of(),
            1000,
            10,
            10,
            1,
            1,
            to.minusSeconds(1),
            ip,
            keySpent);
    String json =
        EventCodec.encode(
            CloudEvent.of(
                io.keywarden.contracts.events.UsageRecorded.TYPE, "/test", keyId, to, usage));
    try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, String>(p)) {
      producer
          .send(
              new org.apache.kafka.clients.producer.ProducerRecord<>(
                  Topics.USAGE_EVENTS, keyId, json))
          .get();
    }
  }
}
