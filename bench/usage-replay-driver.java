// Rebuild of usage-service's projection from the real broker (bench/usage-replay.sh).
//
// Starts a private local stack, produces N key events (the key mix of bench/usage-heap.java:
// UUID ids, 10 keys per account, 100 groups, 1 in 10 with a 2-entry IP allow-list, 1 in 10 with a
// quota) to keywarden.key-events, then measures, in one run:
//   floor 1: a bare KafkaConsumer reading the topic from the beginning to its end offsets (String
//            values, as usage-service consumes them): the fetch alone;
//   floor 2: the same plus EventCodec.decode + KeyProjection.apply in this JVM (the design's CPU
//            cost, no framework);
//   usage-service: a fresh instance (-Xmx1g) started on the full topic, from process start to
//            /q/health/ready (ready = projection read to the end offsets taken at start), and
//            its JVM start alone (the same jar on an empty topic is not possible here, so the time
//            to the first /q/health/live answer is reported instead).
// Then asks the instance to authorize the last key produced (must be VALID).
//
//   args: <work dir> <repo root> [N=1000000]
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.*;
import io.keywarden.stack.*;
import io.keywarden.stack.testing.*;
import io.keywarden.usage.projection.KeyProjection;
import java.net.*;
import java.net.http.*;
import java.nio.file.*;
import java.time.*;
import java.util.*;
import java.util.concurrent.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class UsageReplayDriver {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path root = Path.of(args[1]);
    int n = args.length > 2 ? Integer.parseInt(args[2]) : 1_000_000;
    LocalStack stack = LocalStack.start(StackConfig.forTests(dir.resolve("stack")).withHome(dir.resolve("stack")));
    Process usage = null;
    try {
      String lastSecret = produce(stack, n);
      double fetch = consume(stack, false);
      double fetchApply = consume(stack, true);
      Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
      props.put("kw.gateway.shared-secret", "bench-secret");
      props.put("quarkus.log.level", "WARN");
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g", "-Dquarkus.http.port=" + port));
      props.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
      cmd.add("-jar");
      cmd.add(root.resolve("usage-service/target/quarkus-app/quarkus-run.jar").toString());
      HttpClient http = HttpClient.newHttpClient();
      long t0 = System.nanoTime();
      usage = new ProcessBuilder(cmd).directory(root.toFile())
          .redirectErrorStream(true).redirectOutput(dir.resolve("usage.log").toFile()).start();
      double live = -1;
      double ready = -1;
      while (System.nanoTime() - t0 < 300_000_000_000L && usage.isAlive()) {
        if (live < 0 && status(http, port, "/q/health/live") == 200) {
          live = (System.nanoTime() - t0) / 1e9;
        }
        if (status(http, port, "/q/health/ready") == 200) {
          ready = (System.nanoTime() - t0) / 1e9;
          break;
        }
        Thread.sleep(50);
      }
      if (ready < 0) {
        throw new IllegalStateException("usage-service not ready; see " + dir.resolve("usage.log"));
      }
      String answer = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/authorize"))
              .header("X-Keywarden-Gateway-Secret", "bench-secret").header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"" + lastSecret + "\"}")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      long rss = ProcessHandle.of(usage.pid()).isPresent() ? rssKb(usage.pid()) : -1;
      System.out.printf("%nreplay of %,d key events from the broker (1 partition):%n", n);
      System.out.printf("  %-62s %8.2f s  %10s%n", "floor 1: KafkaConsumer fetch to the end offsets", fetch, "1.00x");
      System.out.printf("  %-62s %8.2f s  %9.2fx%n", "floor 2: fetch + EventCodec.decode + KeyProjection.apply",
          fetchApply, fetchApply / fetch);
      System.out.printf("  %-62s %8.2f s  %9.2fx%n", "usage-service -Xmx1g: process start -> ready (projection built)",
          ready, ready / fetch);
      System.out.printf("  %-62s %8.2f s%n", "  of which process start -> first /q/health/live answer", live);
      // found = any code but INVALID_KEY (the generated accounts have no credit: BALANCE_EXHAUSTED)
      System.out.printf("  last key produced, asked after the replay: %s%n",
          answer.contains("INVALID_KEY") || !answer.contains("\"keyId\"") ? "NOT FOUND " + answer
              : "found (" + answer.replaceAll(".*\"code\":\"([A-Z_]+)\".*", "$1") + ")");
      System.out.printf("  usage-service RSS after the replay: %,d kB%n", rss);
    } finally {
      if (usage != null) {
        usage.destroy();
        usage.waitFor(20, TimeUnit.SECONDS);
      }
      stack.close();
    }
    System.exit(0); // the HTTP client's pool threads would keep the JVM alive
  }

  static long rssKb(long pid) throws Exception {
    for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (l.startsWith("VmRSS:")) {
        return Long.parseLong(l.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  static int status(HttpClient http, int port, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  static String produce(LocalStack stack, int n) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024);
    Random rnd = new Random(42);
    Instant now = Instant.parse("2026-11-23T10:00:00Z");
    String account = null;
    String secret = null;
    long t0 = System.nanoTime();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int g = 0; g < 100; g++) {
        GroupSnapshot gs = new GroupSnapshot("group-" + g, "", true, false,
            List.of(new ModelPrice("gpt-4o-mini", "openai", 150_000, 600_000)), now, now, 1);
        producer.send(new ProducerRecord<>(Topics.GROUPS, gs.name(),
            EventCodec.encode(CloudEvent.of(GroupSnapshot.TYPE, "/bench", gs.name(), now, gs))));
      }
      for (int i = 0; i < n; i++) {
        if (i % 10 == 0) {
          account = "acct-" + new UUID(rnd.nextLong(), rnd.nextLong());
        }
        String id = new UUID(rnd.nextLong(), rnd.nextLong()).toString();
        secret = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX);
        List<String> ips = i % 10 == 3 ? List.of("10.0.0.0/8", "192.168.1.7/32") : List.of();
        KeySnapshot k = new KeySnapshot(id, account, "key " + i, "group-" + (i % 100), KeyStatus.ACTIVE,
            KeyFormat.sha256Hex(secret), KeyFormat.mask(secret), false, null, null, ips,
            i % 10 == 5 ? 5_000_000 : 0, i % 10 == 5 ? QuotaReset.MONTHLY : QuotaReset.NONE,
            RateLimit.NONE, null, now, now, null, 1);
        producer.send(new ProducerRecord<>(Topics.KEY_EVENTS, id,
            EventCodec.encode(CloudEvent.of(KeyEventType.CREATED.type(), "/bench", id, now, k))));
      }
      producer.flush();
    }
    System.out.printf("produced %,d key events (acks=all) in %.1f s%n", n, (System.nanoTime() - t0) / 1e9);
    return secret;
  }

  static double consume(LocalStack stack, boolean apply) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    KeyProjection projection = new KeyProjection();
    long t0 = System.nanoTime();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = c.partitionsFor(Topics.KEY_EVENTS).stream()
          .map(pi -> new TopicPartition(pi.topic(), pi.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      Map<TopicPartition, Long> at = new HashMap<>();
      long count = 0;
      while (parts.stream().anyMatch(tp -> at.getOrDefault(tp, 0L) < end.get(tp))) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          if (apply) {
            projection.apply((KeySnapshot) EventCodec.decode(r.value()).data());
          }
          at.put(new TopicPartition(r.topic(), r.partition()), r.offset() + 1);
          count++;
        }
      }
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("consumed %,d records%s in %.2f s%n", count, apply ? " (decode + apply)" : "", s);
      return s;
    }
  }
}
