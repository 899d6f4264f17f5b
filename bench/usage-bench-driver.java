// Starts what the usage-service benchmark needs and keeps it running until SIGTERM:
// a local stack (PostgreSQL, Kafka, Keycloak on free ports), usage-service from its packaged jar,
// one group, one key (no limits, $1,000,000 of credit) and 100,000 extra keys in a per-request
// lookup table for the PostgreSQL baseline. Writes <dir>/env (sourced by usage-bench.sh) and the
// key's secret to <dir>/secret (mode 600). Run by bench/usage-bench.sh; not meant to be run alone.
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.*;
import io.keywarden.stack.*;
import io.keywarden.stack.testing.*;
import java.net.*;
import java.net.http.*;
import java.nio.file.*;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.*;
import java.time.*;
import java.util.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.StringSerializer;

public class UsageBenchDriver {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path root = Path.of(args[1]);
    int usagePort = Integer.parseInt(args[2]);
    // fsync on (LocalStack's durable mode, as the run command): a commit is on disk before the
    // usage record is acknowledged. KW_BENCH_FSYNC=off measures the test stack's setting instead.
    boolean fsync = !"off".equals(System.getenv("KW_BENCH_FSYNC"));
    LocalStack stack = LocalStack.start(StackConfig.forTests(dir.resolve("stack"))
        .withHome(dir.resolve("stack")).withDurable(fsync));
    Runtime.getRuntime().addShutdownHook(new Thread(stack::close));
    Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    props.put("kw.gateway.shared-secret", "bench-secret");
    props.put("quarkus.log.level", "WARN");
    // the test stack's database default is synchronous_commit=off; measure durable commits instead
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl("usageservice"), "postgres", "")) {
      c.createStatement().execute("alter database usageservice set synchronous_commit to on");
    }
    ServiceProcess usage = ServiceProcess.start(root, "usage-service", usagePort, props, dir.resolve("logs"));
    Runtime.getRuntime().addShutdownHook(new Thread(usage::stop));

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    String account = "bench-account";
    String secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
    String keyId = UUID.randomUUID().toString();
    Instant now = Instant.now();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      GroupSnapshot g = new GroupSnapshot("bench", "", true, false,
          List.of(new ModelPrice("gpt-4o-mini", "openai", 150_000, 600_000)), now, now, 1);
      producer.send(new ProducerRecord<>(Topics.GROUPS, "bench",
          EventCodec.encode(CloudEvent.of(GroupSnapshot.TYPE, "/bench", "bench", now, g)))).get();
      KeySnapshot k = new KeySnapshot(keyId, account, "bench", "bench", KeyStatus.ACTIVE,
          KeyFormat.sha256Hex(secret), KeyFormat.mask(secret), false, null, null, List.of(), 0,
          QuotaReset.NONE, RateLimit.NONE, null, now, now, null, 1);
      producer.send(new ProducerRecord<>(Topics.KEY_EVENTS, keyId,
          EventCodec.encode(CloudEvent.of(KeyEventType.CREATED.type(), "/bench", keyId, now, k)))).get();
    }
    // KW_BENCH_SPREAD_KEYS=N: N more keys over N/10 accounts (each credited $1,000,000), for usage
    // batches spread over many keys and accounts instead of the one hot key
    int spread = Integer.parseInt(System.getenv().getOrDefault("KW_BENCH_SPREAD_KEYS", "0"));
    int spreadAccounts = Math.max(1, spread / 10);
    List<String> spreadIds = new ArrayList<>();
    if (spread > 0) {
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
        for (int i = 0; i < spread; i++) {
          String id = UUID.randomUUID().toString();
          String sec = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
          KeySnapshot k = new KeySnapshot(id, "bench-acct-" + (i % spreadAccounts), "bench-" + i,
              "bench", KeyStatus.ACTIVE, KeyFormat.sha256Hex(sec), KeyFormat.mask(sec), false, null,
              null, List.of(), 0, QuotaReset.NONE, RateLimit.NONE, null, now, now, null, 1);
          producer.send(new ProducerRecord<>(Topics.KEY_EVENTS, id,
              EventCodec.encode(CloudEvent.of(KeyEventType.CREATED.type(), "/bench", id, now, k))));
          spreadIds.add(id);
        }
        producer.flush();
      }
    }
    HttpClient http = HttpClient.newHttpClient();
    String admin = Tokens.password(stack.issuer(), "carol");
    for (int a = 0; a < (spread > 0 ? spreadAccounts : 0); a++) {
      credit(http, usagePort, admin, "bench-acct-" + a);
    }
    Files.writeString(dir.resolve("spread-keys"), String.join(",", spreadIds));
    credit(http, usagePort, admin, account);
    // the peer design's per-request lookup: 100,000 key hashes in a PostgreSQL table
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl("usageservice"), "postgres", "")) {
      c.createStatement().execute("create table if not exists bench_keys (hash text primary key, key_id text, account text, status text)");
      c.createStatement().execute("insert into bench_keys select encode(sha256(i::text::bytea), 'hex'), i::text, 'a', 'active'"
          + " from generate_series(1, 100000) i on conflict do nothing");
      c.createStatement().execute("analyze bench_keys");
    }
    String gateway = Tokens.clientCredentials(stack.issuer(), "keywarden-gateway", "gateway-secret");
    Path secretFile = dir.resolve("secret");
    Files.writeString(secretFile, secret);
    Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-------"));
    Files.writeString(dir.resolve("token"), gateway);
    Files.writeString(dir.resolve("env.tmp"),
        "KEY_ID=" + keyId + "\nPG_PORT=" + stack.postgresPort() + "\nUSAGE_PID=" + usage.pid()
            + "\nKAFKA=" + stack.kafkaBootstrap() + "\nPG_FSYNC=" + (fsync ? "on" : "off")
            + "\nSPREAD_KEYS_FILE=" + dir.resolve("spread-keys") + "\n");
    Files.move(dir.resolve("env.tmp"), dir.resolve("env"), StandardCopyOption.ATOMIC_MOVE);
    System.out.println("bench driver ready");
    Thread.currentThread().join(); // until SIGTERM: the shutdown hooks stop usage-service and the stack
  }

  /** $1,000,000 of credit for the account, as the admin. */
  static void credit(HttpClient http, int usagePort, String admin, String account) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create("http://localhost:" + usagePort + "/api/admin/accounts/" + account + "/credits"))
        .header("Authorization", "Bearer " + admin).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"amountUsd\":\"1000000.00\",\"reference\":\"bench\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) throw new IllegalStateException("credit failed: " + r.body());
  }
}
