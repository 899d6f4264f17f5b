package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.GroupSnapshot;
import io.keywarden.contracts.events.KeyEventType;
import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.ModelPrice;
import io.keywarden.contracts.events.QuotaReset;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.stack.testing.Tokens;
import io.keywarden.stack.testing.TopicRecords;
import io.keywarden.usage.projection.KeyProjection;
import io.restassured.http.ContentType;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/** Puts keys and groups into the projection the way key-service does: CloudEvents on Kafka. */
public final class Fixtures {
  /** A key the tests hold: its secret and its current snapshot. */
  public static final class TestKey {
    public final String secret;
    public KeySnapshot snapshot;

    TestKey(String secret, KeySnapshot snapshot) {
      this.secret = secret;
      this.snapshot = snapshot;
    }

    public String id() {
      return snapshot.keyId();
    }

    public String account() {
      return snapshot.account();
    }
  }

  private static KafkaProducer<String, String> producer;
  private final String bootstrap;
  private final String issuer;
  private final KeyProjection projection;

  public Fixtures(String bootstrap, String issuer, KeyProjection projection) {
    this.bootstrap = bootstrap;
    this.issuer = issuer;
    this.projection = projection;
  }

  private synchronized KafkaProducer<String, String> producer() {
    if (producer == null) {
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      producer = new KafkaProducer<>(p);
    }
    return producer;
  }

  public String gatewayToken() {
    return Tokens.clientCredentials(issuer, "keywarden-gateway", "gateway-secret");
  }

  public String token(String user) {
    return Tokens.password(issuer, user);
  }

  public static String account() {
    return "acct-" + UUID.randomUUID();
  }

  /** Publishes a group with models gpt-4o-mini (in $0.15, out $0.60 per M) and gpt-4o. */
  public String group(boolean enabled) {
    String name = "g-" + UUID.randomUUID().toString().substring(0, 8);
    publishGroup(name, enabled, 1);
    return name;
  }

  public void publishGroup(String name, boolean enabled, long version) {
    GroupSnapshot g =
        new GroupSnapshot(
            name,
            "test group",
            enabled,
            false,
            List.of(
                new ModelPrice("gpt-4o-mini", "openai", 150_000, 600_000),
                new ModelPrice("gpt-4o", "openai", 2_500_000, 10_000_000)),
            Instant.parse("2026-01-01T00:00:00Z"),
            Instant.now(),
            version);
    send(Topics.GROUPS, name, CloudEvent.of(GroupSnapshot.TYPE, "/test", name, Instant.now(), g));
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> projection.group(name).map(e -> e.group().version() >= version).orElse(false));
  }

  public TestKey key(String group, String account) {
    return key(group, account, b -> {});
  }

  /** Builder-ish tweaks of a new key's snapshot. */
  public interface Tweak {
    void apply(Snap s);
  }

  /** Mutable fields of a snapshot for tests. */
  public static final class Snap {
    public KeyStatus status = KeyStatus.ACTIVE;
    public List<String> allowedIps = List.of();
    public long quotaMicros;
    public QuotaReset quotaReset = QuotaReset.NONE;
    public RateLimit rateLimit = RateLimit.NONE;
    public Instant expiresAt;
  }

  public TestKey key(String group, String account, Tweak tweak) {
    Snap s = new Snap();
    tweak.apply(s);
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    Instant now = Instant.now();
    KeySnapshot k =
        new KeySnapshot(
            UUID.randomUUID().toString(),
            account,
            "test key",
            group,
            s.status,
            KeyFormat.sha256Hex(secret),
            KeyFormat.mask(secret),
            false,
            null,
            null,
            s.allowedIps,
            s.quotaMicros,
            s.quotaReset,
            s.rateLimit,
            s.expiresAt,
            now,
            now,
            null,
            1);
    TestKey t = new TestKey(secret, k);
    publish(t, KeyEventType.CREATED, k);
    return t;
  }

  /** Publishes a new version of the key with changes and waits until the projection has it. */
  public void update(TestKey t, KeyEventType type, Tweak tweak) {
    KeySnapshot o = t.snapshot;
    Snap s = new Snap();
    s.status = o.status();
    s.allowedIps = o.allowedIps();
    s.quotaMicros = o.quotaMicros();
    s.quotaReset = o.quotaReset();
    s.rateLimit = o.rateLimit();
    s.expiresAt = o.expiresAt();
    tweak.apply(s);
    KeySnapshot k =
        new KeySnapshot(
            o.keyId(),
            o.account(),
            o.name(),
            o.group(),
            s.status,
            o.keyHash(),
            o.mask(),
            false,
            null,
            null,
            s.allowedIps,
            s.quotaMicros,
            s.quotaReset,
            s.rateLimit,
            s.expiresAt,
            o.createdAt(),
            Instant.now(),
            null,
            o.version() + 1);
    t.snapshot = k;
    publish(t, type, k);
  }

  /**
   * Rotates the key the way key-service does ({@code keywarden.key.rotated}): a new secret, the old
   * secret's hash kept as {@code previousKeyHash} and honoured until {@code overlapEnd}. Waits
   * until the projection has it; returns the key with its new secret ({@code t} keeps the old
   * secret and gets the new snapshot).
   */
  public TestKey rotate(TestKey t, Instant overlapEnd) {
    KeySnapshot o = t.snapshot;
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    Instant now = Instant.now();
    KeySnapshot k =
        new KeySnapshot(
            o.keyId(),
            o.account(),
            o.name(),
            o.group(),
            o.status(),
            KeyFormat.sha256Hex(secret),
            KeyFormat.mask(secret),
            false,
            o.keyHash(),
            overlapEnd,
            o.allowedIps(),
            o.quotaMicros(),
            o.quotaReset(),
            o.rateLimit(),
            o.expiresAt(),
            o.createdAt(),
            now,
            now,
            o.version() + 1);
    t.snapshot = k;
    TestKey rotated = new TestKey(secret, k);
    publish(rotated, KeyEventType.ROTATED, k);
    return rotated;
  }

  private void publish(TestKey t, KeyEventType type, KeySnapshot k) {
    send(
        Topics.KEY_EVENTS,
        k.keyId(),
        CloudEvent.of(type.type(), "/test", k.keyId(), Instant.now(), k));
    await()
        .atMost(10, TimeUnit.SECONDS)
        .until(() -> projection.byId(k.keyId()).map(e -> e.version() >= k.version()).orElse(false));
  }

  private void send(String topic, String key, CloudEvent<?> event) {
    try {
      producer()
          .send(new ProducerRecord<>(topic, key, EventCodec.encode(event)))
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Gives the account credit through the admin endpoint. */
  public void credit(String account, String usd) {
    given()
        .auth()
        .oauth2(token("carol"))
        .contentType(ContentType.JSON)
        .body("{\"amountUsd\":\"" + usd + "\",\"reference\":\"" + UUID.randomUUID() + "\"}")
        .post("/api/admin/accounts/" + account + "/credits")
        .then()
        .statusCode(201);
  }

  /** Every record of a topic whose Kafka key is {@code key}, read from the beginning. */
  public List<ConsumerRecord<String, String>> records(String topic, String key, Duration wait) {
    return TopicRecords.read(bootstrap, topic, rs -> false, wait).stream()
        .filter(r -> key.equals(r.key()))
        .toList();
  }
}
