package io.keywarden.usage.projection;

import io.keywarden.contracts.Topics;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.jboss.logging.Logger;

/**
 * Readiness: an instance answers requests only once its projection has read the key and group
 * topics up to where they ended when it started. Before that it would refuse valid keys.
 */
@Readiness
@jakarta.enterprise.inject.Default
@ApplicationScoped
public class CatchUp implements HealthCheck {
  private static final Logger LOG = Logger.getLogger(CatchUp.class);
  private final String bootstrap;
  private volatile Map<TopicPartition, Long> targets;
  private final Map<TopicPartition, Long> consumed = new ConcurrentHashMap<>();
  private volatile boolean caughtUp;

  CatchUp(@ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap) {
    this.bootstrap = bootstrap;
  }

  void consumed(String topic, int partition, long offset) {
    consumed.merge(new TopicPartition(topic, partition), offset + 1, Math::max);
  }

  @Override
  public HealthCheckResponse call() {
    return HealthCheckResponse.named("projection").status(isCaughtUp()).build();
  }

  public boolean isCaughtUp() {
    if (caughtUp) {
      return true;
    }
    Map<TopicPartition, Long> t = targets;
    if (t == null) {
      try {
        t = endOffsets();
        targets = t;
      } catch (RuntimeException e) {
        LOG.debugf("end offsets not available yet: %s", e.getMessage());
        return false;
      }
    }
    for (var e : t.entrySet()) {
      if (e.getValue() > 0 && consumed.getOrDefault(e.getKey(), 0L) < e.getValue()) {
        return false;
      }
    }
    caughtUp = true;
    return true;
  }

  /** Whether every partition has been consumed up to {@code targets}. */
  boolean reached(Map<TopicPartition, Long> targets) {
    for (var e : targets.entrySet()) {
      if (e.getValue() > 0 && consumed.getOrDefault(e.getKey(), 0L) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  Map<TopicPartition, Long> endOffsets() {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      Map<TopicPartition, Long> out = new HashMap<>();
      for (String topic : List.of(Topics.KEY_EVENTS, Topics.GROUPS)) {
        List<PartitionInfo> parts = c.partitionsFor(topic, java.time.Duration.ofSeconds(5));
        for (PartitionInfo pi : parts) {
          out.put(new TopicPartition(topic, pi.partition()), 0L);
        }
      }
      out.putAll(c.endOffsets(out.keySet(), java.time.Duration.ofSeconds(5)));
      return out;
    }
  }
}
