// Per-key rate limits with two usage-service instances, measured (bench/usage-rate-limit.sh).
//
// Starts a private local stack and the packaged usage-service twice (A and B, one ledger, each its
// own full projection), publishes keys with a requests-per-minute limit L, and offers POST
// /api/authorize at fixed rates, for every scenario at once (one key each) over W full UTC minutes:
//   baseline: one instance (all of the key's requests to A - what consistent hashing on the key
//             at the balancer does) at 0.9x, 1x and 2x L;
//   two instances, round robin (every other request to B) at 0.9x, 1x and 2x L;
//   two more instances C and D with kw.rate-limit.instances=2 (each enforces L/2): round robin at
//   0.9x, 1x, 2x, and all of a key's requests to C at 2x (the price of the split).
// Prints admitted per full window / L (min, mean, max over the windows) per scenario, and the
// round-robin rows against their one-instance baseline. Requests are counted in the UTC minute
// they were sent in (the limiter's windows are UTC minutes; a request within a few ms of a
// boundary can fall on the other side).
//
//   args: <work dir> <repo root> [L=600] [W=3]
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.contracts.events.*;
import io.keywarden.stack.*;
import io.keywarden.stack.testing.*;
import java.net.*;
import java.net.http.*;
import java.nio.file.*;
import java.time.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.StringSerializer;

public class UsageRateLimitDriver {
  record Scenario(String name, double factor, int first, int second, String secret, String keyId) {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path root = Path.of(args[1]);
    int limit = args.length > 2 ? Integer.parseInt(args[2]) : 600;
    int windows = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    LocalStack stack = LocalStack.start(StackConfig.forTests(dir.resolve("stack")).withHome(dir.resolve("stack")));
    Map<String, String> props = new HashMap<>(KeywardenStackResource.serviceProperties(stack));
    props.put("kw.gateway.shared-secret", "bench-secret");
    props.put("quarkus.log.level", "WARN");
    ServiceProcess a = ServiceProcess.start(root, "usage-service", freePort(), props, dir.resolve("logs-a"));
    ServiceProcess b = ServiceProcess.start(root, "usage-service", freePort(), props, dir.resolve("logs-b"));
    props.put("kw.rate-limit.instances", "2");
    ServiceProcess c = ServiceProcess.start(root, "usage-service", freePort(), props, dir.resolve("logs-c"));
    ServiceProcess d = ServiceProcess.start(root, "usage-service", freePort(), props, dir.resolve("logs-d"));
    List<ServiceProcess> all = List.of(a, b, c, d);
    try {
      run(stack, all, limit, windows);
    } finally {
      all.forEach(ServiceProcess::stop);
      stack.close();
    }
    System.exit(0); // the HTTP client's pool threads would keep the JVM alive
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static void run(LocalStack stack, List<ServiceProcess> instances, int limit, int windows) throws Exception {
    ServiceProcess a = instances.get(0);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    String account = "rl-account";
    Instant now = Instant.now();
    List<Scenario> scenarios = new ArrayList<>();
    String[] names = {"1 instance (baseline)", "2 instances, round robin", "2 inst., L/2 each, round robin"};
    int[][] targets = {{0, 0}, {0, 1}, {2, 3}};
    for (int m = 0; m < 3; m++) {
      for (double f : new double[] {0.9, 1.0, 2.0}) {
        scenarios.add(new Scenario(names[m] + String.format(", %.1fx", f), f, targets[m][0], targets[m][1],
            KeyFormat.generate(KeyFormat.DEFAULT_PREFIX), UUID.randomUUID().toString()));
      }
    }
    scenarios.add(new Scenario("2 inst., L/2 each, all to one, 2.0x", 2.0, 2, 2,
        KeyFormat.generate(KeyFormat.DEFAULT_PREFIX), UUID.randomUUID().toString()));
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      GroupSnapshot g = new GroupSnapshot("rl", "", true, false,
          List.of(new ModelPrice("gpt-4o-mini", "openai", 150_000, 600_000)), now, now, 1);
      producer.send(new ProducerRecord<>(Topics.GROUPS, "rl",
          EventCodec.encode(CloudEvent.of(GroupSnapshot.TYPE, "/bench", "rl", now, g)))).get();
      for (Scenario s : scenarios) {
        KeySnapshot k = new KeySnapshot(s.keyId(), account, "rl", "rl", KeyStatus.ACTIVE,
            KeyFormat.sha256Hex(s.secret()), KeyFormat.mask(s.secret()), false, null, null, List.of(), 0,
            QuotaReset.NONE, new RateLimit(limit, null, null), null, now, now, null, 1);
        producer.send(new ProducerRecord<>(Topics.KEY_EVENTS, s.keyId(),
            EventCodec.encode(CloudEvent.of(KeyEventType.CREATED.type(), "/bench", s.keyId(), now, k)))).get();
      }
    }
    HttpClient http = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(4)).build();
    String admin = Tokens.password(stack.issuer(), "carol");
    HttpResponse<String> credit = http.send(HttpRequest.newBuilder(
            URI.create("http://localhost:" + a.port() + "/api/admin/accounts/" + account + "/credits"))
        .header("Authorization", "Bearer " + admin).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"amountUsd\":\"1000.00\",\"reference\":\"rl\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    if (credit.statusCode() / 100 != 2) throw new IllegalStateException("credit failed: " + credit.body());
    // both instances know every key before the clock starts
    for (ServiceProcess s : instances) {
      for (Scenario sc : scenarios) {
        long until = System.nanoTime() + 30_000_000_000L;
        while (!authorize(http, s, sc.secret()).contains("\"allowed\":true")) {
          if (System.nanoTime() > until) throw new IllegalStateException("key not projected on " + s.port());
          LockSupport.parkNanos(100_000_000L);
        }
      }
    }
    // those probe requests used slots of the current minute: start at the next minute boundary
    long startMs = (System.currentTimeMillis() / 60_000 + 1) * 60_000;
    long endMs = startMs + windows * 60_000L;
    System.out.printf("limit L = %d requests/minute per key; %d full UTC minutes from %s%n", limit, windows,
        Instant.ofEpochMilli(startMs));
    // allowed[scenario][window], sent[scenario][window]
    AtomicIntegerArray allowed = new AtomicIntegerArray(scenarios.size() * windows);
    AtomicIntegerArray sent = new AtomicIntegerArray(scenarios.size() * windows);
    AtomicInteger errors = new AtomicInteger();
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
    List<CompletableFuture<?>> inflight = new CopyOnWriteArrayList<>();
    for (int si = 0; si < scenarios.size(); si++) {
      Scenario sc = scenarios.get(si);
      int idx = si;
      long periodNanos = (long) (60e9 / (limit * sc.factor()));
      AtomicLong n = new AtomicLong();
      long delay = (startMs - System.currentTimeMillis()) * 1_000_000L;
      timer.scheduleAtFixedRate(() -> {
        long t = System.currentTimeMillis();
        if (t >= endMs) {
          return;
        }
        int w = (int) ((t - startMs) / 60_000);
        if (w < 0) return;
        long i = n.getAndIncrement();
        ServiceProcess target = instances.get(i % 2 == 1 ? sc.second() : sc.first());
        sent.incrementAndGet(idx * windows + w);
        inflight.add(http.sendAsync(request(target, sc.secret()), HttpResponse.BodyHandlers.ofString())
            .whenComplete((r, e) -> {
              if (e != null) {
                errors.incrementAndGet();
              } else if (r.statusCode() == 200 && r.body().contains("\"allowed\":true")) {
                allowed.incrementAndGet(idx * windows + w);
              } else if (r.statusCode() != 200 || !r.body().contains("\"RATE_LIMITED\"")) {
                errors.incrementAndGet();
              }
            }));
      }, Math.max(0, delay), periodNanos, TimeUnit.NANOSECONDS);
    }
    while (System.currentTimeMillis() < endMs + 2000) {
      LockSupport.parkNanos(500_000_000L);
    }
    timer.shutdownNow();
    CompletableFuture.allOf(inflight.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    System.out.printf("%n%-38s %11s %24s %8s %17s %10s%n", "scenario", "offered/min", "admitted/L per window",
        "mean", "admitted/allowed", "vs 1-inst.");
    System.out.printf("%-38s %11s %24s %8s %17s %10s%n", "", "", "(min .. max)", "", "allowed=min(off.,L)", "");
    double[] base = new double[3];
    for (int si = 0; si < scenarios.size(); si++) {
      Scenario sc = scenarios.get(si);
      double min = Double.MAX_VALUE, max = 0, sum = 0, offered = 0;
      for (int w = 0; w < windows; w++) {
        double r = allowed.get(si * windows + w) / (double) limit;
        min = Math.min(min, r);
        max = Math.max(max, r);
        sum += r;
        offered += sent.get(si * windows + w);
      }
      double mean = sum / windows;
      if (si < 3) base[si] = mean;
      double allowedShare = Math.min(offered / windows, limit) / limit;
      System.out.printf("%-38s %11.0f %10.1f%% .. %6.1f%% %7.1f%% %16.1f%% %10s%n", sc.name(), offered / windows,
          min * 100, max * 100, mean * 100, mean / allowedShare * 100,
          si < 3 ? "1.00x" : String.format("%.2fx", mean / base[(si - 3) % 3 + (si >= 9 ? 2 : 0)]));
    }
    System.out.printf("transport errors or unexpected statuses: %d%n", errors.get());
  }

  static HttpRequest request(ServiceProcess s, String secret) {
    return HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + "/api/authorize"))
        .header("X-Keywarden-Gateway-Secret", "bench-secret").header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"key\":\"" + secret + "\",\"clientIp\":\"10.0.0.1\",\"model\":\"gpt-4o-mini\"}"))
        .build();
  }

  static String authorize(HttpClient http, ServiceProcess s, String secret) throws Exception {
    return http.send(request(s, secret), HttpResponse.BodyHandlers.ofString()).body();
  }
}
