package io.keywarden.key.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.Topics;
import io.keywarden.stack.LocalStack;
import io.keywarden.stack.StackConfig;
import io.keywarden.stack.testing.Tokens;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Key create benchmark (bench/key-create.sh runs it): starts PostgreSQL, Kafka, Keycloak and the
 * packaged key-service, then measures, at {@code CALLERS} concurrent callers (one account each),
 * POST /api/keys throughput and latency with the outbox relay running, the time from the create
 * answer (and from the event's own time) to the event's arrival on Kafka, and a baseline of plain
 * JDBC INSERTs of the same rows into a scratch table.
 *
 * <p>System properties: bench.callers (32), bench.creates (40000), bench.warmup (0 = until steady,
 * the default; else that many creates).
 *
 * <p>Warm-up until steady: rounds of {@link #WARMUP_ROUND} creates until two rounds in a row are
 * each no more than 5 % faster than the best round before them (at least 3 rounds, at most 15).
 * Until session 10 the warm-up was a fixed 3,000 creates (about 3 s): the measured phase then ran
 * while C2 was still compiling the create path, and the JIT's own CPU was counted as key-service's
 * (0.60 ms per create then, 0.15 ms once compiled; 1,900 vs 3,860 creates/s for the same build).
 */
public final class KeyCreateBench {
  static final ObjectMapper JSON = new ObjectMapper();
  static final int CALLERS = Integer.getInteger("bench.callers", 32);
  static final int CREATES = Integer.getInteger("bench.creates", 40_000);
  static final int WARMUP = Integer.getInteger("bench.warmup", 0);
  static final int WARMUP_ROUND = 10_000;

  /** c = bench/closedloop.c (path in bench.closedloop), java = the Vert.x generator below. */
  static final String GENERATOR = System.getProperty("bench.generator", "c");

  static final java.net.http.HttpClient HTTP =
      java.net.http.HttpClient.newBuilder()
          .version(java.net.http.HttpClient.Version.HTTP_1_1)
          .build();

  private KeyCreateBench() {}

  public static void main(String[] args) throws Exception {
    Path home =
        StackConfig.findRoot()
            .resolve(".keywarden-test")
            .resolve("bench-" + ProcessHandle.current().pid());
    System.out.println("bench: starting PostgreSQL, Kafka, Keycloak in " + home);
    // DURABLE=1 (bench.durable, the default): PostgreSQL with fsync and synchronous_commit on, as
    // the run command starts it; DURABLE=0: the test stack's fsync off
    boolean durable = Boolean.parseBoolean(System.getProperty("bench.durable", "true"));
    LocalStack stack = LocalStack.start(StackConfig.forTests(home).withDurable(durable));
    int exit = 0;
    try {
      int port = freePort();
      Map<String, String> props = new LinkedHashMap<>();
      props.put("kw.db.host", "localhost");
      props.put("kw.db.port", String.valueOf(stack.postgresPort()));
      props.put("kafka.bootstrap.servers", stack.kafkaBootstrap());
      props.put("kw.oidc.url", stack.issuer());
      props.put("quarkus.oidc.auth-server-url", stack.issuer());
      for (String extra : System.getProperty("bench.service-props", "").split(",")) {
        int eq = extra.indexOf('=');
        if (eq > 0) {
          props.put(extra.substring(0, eq).trim(), extra.substring(eq + 1).trim());
        }
      }
      System.out.println("bench: starting key-service on " + port + " " + props);
      stack.startService("key-service", port, props);
      run(stack, "http://localhost:" + port);
    } catch (Throwable t) {
      t.printStackTrace();
      exit = 1;
    } finally {
      stack.close();
      try {
        // the service's own counters, logged at its shutdown (e.g. group commit batch sizes)
        for (String line :
            java.nio.file.Files.readAllLines(home.resolve("logs").resolve("key-service.log"))) {
          if (line.contains("create batches:")) {
            System.out.println("key-service: " + line.substring(line.indexOf("create batches:")));
          }
          if (line.contains("outbox producer:")) {
            System.out.println("key-service: " + line.substring(line.indexOf("outbox producer:")));
          }
        }
      } catch (Exception ignored) {
        // no log: nothing to show
      }
      try {
        LocalStack.deleteRecursively(home);
      } catch (Exception ignored) {
        // a leftover folder is harmless
      }
    }
    System.exit(exit);
  }

  static void run(LocalStack stack, String base) throws Exception {
    String issuer = stack.issuer();
    List<String> tokens = benchUsers(stack, CALLERS);
    String admin = Tokens.password(issuer, "carol");
    send("PUT", base + "/api/admin/policy", admin, "{\"maxLiveKeysPerAccount\":100000}", 200);

    // Kafka: every key event's arrival time, by key id. bench.kafka-time=append (the default): the
    // topic stamps each record with the broker's append time (LogAppendTime, wall clock, ms), read
    // after the measured phase, so no measuring consumer shares the CPUs with the system under
    // test; consumer: a consumer polls during the run and takes its own receipt time (the
    // figures of sessions 2-5; it cost 0.13-0.21 ms of CPU per create besides the broker's fetches)
    boolean appendTime = !"consumer".equals(System.getProperty("bench.kafka-time", "append"));
    Map<String, long[]> arrivals = new ConcurrentHashMap<>(); // id -> {nanoTime, wall micros}
    Map<String, String> rawEvents = new ConcurrentHashMap<>(); // id -> first event, as sent
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch assigned = new CountDownLatch(1);
    Thread consumer = null;
    Map<TopicPartition, Long> startOffsets = null;
    if (appendTime) {
      startOffsets = logAppendTime(stack.kafkaBootstrap());
    } else {
      consumer =
          new Thread(
              () -> consume(stack.kafkaBootstrap(), arrivals, rawEvents, stop, assigned),
              "bench-consumer");
      consumer.start();
      assigned.await();
    }
    System.out.printf(
        "bench: commit -> Kafka measured by %s%n",
        appendTime
            ? "the broker's append time (LogAppendTime, ms resolution), read after the run"
            : "a consumer's receipt time during the run");

    warmUp(base, tokens);

    Map<String, Long> answered = new ConcurrentHashMap<>();
    System.out.printf("bench: measuring %d creates at %d callers%n", CREATES, CALLERS);
    String loadBefore = loadAverage();
    long servicePid = stack.services().get(0).pid();
    Map<String, Long> partsBefore = partTicks(stack);
    long[] walBefore = walAndCheckpoints(stack);
    long cpuBefore = cpuTicks(servicePid);
    Phase measured = creates(base, tokens, CREATES, answered);
    long cpuAfter = cpuTicks(servicePid);
    long[] walAfter = walAndCheckpoints(stack);
    Map<String, Long> partsAfter = partTicks(stack);
    String loadAfter = loadAverage();
    if (appendTime) {
      readAppendTimes(stack.kafkaBootstrap(), startOffsets, answered.keySet(), arrivals, rawEvents);
    } else {
      try {
        org.awaitility.Awaitility.await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(100))
            .until(() -> arrivals.keySet().containsAll(answered.keySet()));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        // reported below as missing events
      }
      stop.set(true);
      consumer.join();
    }

    long[] fromAnswer = new long[answered.size()];
    long[] fromEventTime = new long[answered.size()];
    int n = 0;
    int missing = 0;
    int beforeAnswer = 0;
    for (var e : answered.entrySet()) {
      long[] a = arrivals.get(e.getKey());
      if (a == null) {
        missing++;
        continue;
      }
      long d = a[0] - e.getValue();
      if (d < 0) {
        beforeAnswer++;
      }
      fromAnswer[n] = Math.max(0, d) / 1_000;
      fromEventTime[n] = a[1] - eventTime(rawEvents.get(e.getKey()));
      n++;
    }
    fromAnswer = Arrays.copyOf(fromAnswer, n);
    fromEventTime = Arrays.copyOf(fromEventTime, n);

    String pgTables = pgTableStats(stack);
    Phase jdbc = jdbcBaseline(stack, CREATES, false);
    Phase jdbcOutbox = jdbcBaseline(stack, CREATES, true);

    System.out.println();
    System.out.printf(
        "machine: %d CPUs; load average before / after the measured phase: %s / %s%n",
        Runtime.getRuntime().availableProcessors(), loadBefore, loadAfter);
    System.out.printf(
        "== key create, %d callers, %d creates (one account per caller) ==%n", CALLERS, CREATES);
    System.out.printf(
        "PostgreSQL: %s%n",
        Boolean.parseBoolean(System.getProperty("bench.durable", "true"))
            ? "durable (fsync on, synchronous_commit on)"
            : "not durable (fsync off: the test stack's setting)");
    System.out.printf(
        "POST /api/keys          %8.0f creates/s  p50 %6.2f ms  p99 %6.2f ms  errors %d%n",
        measured.rate(), ms(measured.p(50)), ms(measured.p(99)), measured.errors);
    System.out.printf(
        "JDBC INSERT key row      %8.0f rows/s     p50 %6.2f ms  p99 %6.2f ms%n",
        jdbc.rate(), ms(jdbc.p(50)), ms(jdbc.p(99)));
    System.out.printf(
        "JDBC INSERT key+outbox   %8.0f rows/s     p50 %6.2f ms  p99 %6.2f ms  (1 tx, 2 rows)%n",
        jdbcOutbox.rate(), ms(jdbcOutbox.p(50)), ms(jdbcOutbox.p(99)));
    System.out.printf(
        "ratio create/INSERT      throughput %.2f  p50 %.1fx  p99 %.1fx%n",
        measured.rate() / jdbc.rate(),
        measured.p(50) / (double) jdbc.p(50),
        measured.p(99) / (double) jdbc.p(99));
    System.out.printf(
        "ratio create/INSERT+outbox throughput %.2f  p50 %.1fx  p99 %.1fx%n",
        measured.rate() / jdbcOutbox.rate(),
        measured.p(50) / (double) jdbcOutbox.p(50),
        measured.p(99) / (double) jdbcOutbox.p(99));
    System.out.printf(
        "commit -> Kafka (from the 201 answer)     p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  (%d events, %d missing, %d arrived before the answer%s)%n",
        pct(fromAnswer, 50) / 1000.0,
        pct(fromAnswer, 99) / 1000.0,
        pct(fromAnswer, 100) / 1000.0,
        n,
        missing,
        beforeAnswer,
        appendTime ? "; append times are whole ms, taken at their middle: +-0.5 ms" : "");
    System.out.printf(
        "event time -> Kafka (wall clock, includes the commit) p50 %6.2f ms  p99 %6.2f ms%n",
        pct(fromEventTime, 50) / 1000.0, pct(fromEventTime, 99) / 1000.0);
    if (cpuBefore >= 0 && cpuAfter >= 0) {
      // clock ticks are 10 ms on Linux (USER_HZ = 100)
      double cpuMs = (cpuAfter - cpuBefore) * 10.0 / CREATES;
      System.out.printf(
          "key-service CPU per create: %.2f ms (user+sys); ceiling on %d CPUs with nothing else"
              + " running: %.0f creates/s%n",
          cpuMs,
          Runtime.getRuntime().availableProcessors(),
          Runtime.getRuntime().availableProcessors() * 1000 / cpuMs);
    }
    // where the two CPUs went during the measured phase, per create
    StringBuilder budget = new StringBuilder("CPU per create by process (ms):");
    double all = 0;
    for (var e : partsAfter.entrySet()) {
      Long before = partsBefore.get(e.getKey());
      if (before == null || before < 0 || e.getValue() < 0) {
        continue;
      }
      double ms = (e.getValue() - before) * 10.0 / CREATES;
      all += ms;
      String part = e.getKey();
      if (part.equals("load-generator") && measured.generatorCpuMs() >= 0) {
        // the C generator is its own process; this JVM only runs the Kafka consumer meanwhile
        double gen = measured.generatorCpuMs() / CREATES;
        all += gen;
        budget.append(
            String.format(
                " load-generator(C) %.2f bench-jvm(%s) %.2f",
                gen, appendTime ? "idle" : "consumer", ms));
        continue;
      }
      budget.append(String.format(" %s %.2f", part, ms));
    }
    budget.append(
        String.format(
            "; sum %.2f ms = %.0f creates/s on %d CPUs at full use",
            all,
            Runtime.getRuntime().availableProcessors() * 1000 / all,
            Runtime.getRuntime().availableProcessors()));
    System.out.println(budget);
    System.out.println(pgTables);
    if (walBefore != null && walAfter != null) {
      System.out.printf(
          "PostgreSQL in the measured phase: WAL %.0f bytes per create (%d MB), full-page images"
              + " %.2f per create, checkpoints %d (timed %d, requested %d), buffers written by"
              + " checkpoints %d%n",
          (walAfter[0] - walBefore[0]) / (double) CREATES,
          (walAfter[0] - walBefore[0]) >> 20,
          (walAfter[1] - walBefore[1]) / (double) CREATES,
          (walAfter[2] - walBefore[2]) + (walAfter[3] - walBefore[3]),
          walAfter[2] - walBefore[2],
          walAfter[3] - walBefore[3],
          walAfter[4] - walBefore[4]);
    }
    boolean ok =
        measured.rate() >= 2000 && ms(measured.p(99)) <= 20 && pct(fromAnswer, 99) / 1000.0 <= 50;
    System.out.printf(
        "goals (>= 2000/s, p99 <= 20 ms, commit->Kafka p99 <= 50 ms): %s%n", ok ? "MET" : "MISSED");
  }

  /**
   * CPU ticks of each part of the system under test and of this load generator: PostgreSQL counts
   * the postmaster, its backends and its exited children.
   */
  static Map<String, Long> partTicks(LocalStack stack) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (var e : stack.mainPids().entrySet()) {
      long pid = e.getValue();
      long ticks = cpuTicks(pid);
      if (e.getKey().equals("postgres")) {
        ticks += childTicks(pid);
        ticks +=
            ProcessHandle.of(pid).stream()
                .flatMap(ProcessHandle::descendants)
                .mapToLong(d -> Math.max(0, cpuTicks(d.pid())))
                .sum();
      }
      out.put(e.getKey(), ticks);
    }
    out.put("load-generator", cpuTicks(ProcessHandle.current().pid()));
    return out;
  }

  /** cutime + cstime: CPU of a process's exited, waited-for children. */
  static long childTicks(long pid) {
    try {
      String stat = java.nio.file.Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[13]) + Long.parseLong(f[14]);
    } catch (Exception e) {
      return 0;
    }
  }

  /** utime + stime of a process in clock ticks, or -1. */
  static long cpuTicks(long pid) {
    try {
      String stat = java.nio.file.Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (Exception e) {
      return -1;
    }
  }

  static String loadAverage() {
    try {
      return java.nio.file.Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (Exception e) {
      return "n/a";
    }
  }

  static double ms(long nanos) {
    return nanos / 1e6;
  }

  static long pct(long[] v, double p) {
    if (v.length == 0) {
      return 0;
    }
    long[] s = v.clone();
    Arrays.sort(s);
    int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
    return s[Math.max(0, Math.min(s.length - 1, i))];
  }

  /** generatorCpuMs: CPU of the C generator process over the phase, -1 for the Java one. */
  /** A fixed warm-up (bench.warmup), or rounds until the rate stops climbing (the default). */
  static void warmUp(String base, List<String> tokens) throws Exception {
    if (WARMUP > 0) {
      System.out.printf("bench: warm-up, %d creates%n", WARMUP);
      Phase warm = creates(base, tokens, WARMUP, null);
      System.out.printf("bench: warm-up done: %.0f creates/s%n", warm.rate());
      return;
    }
    System.out.printf(
        "bench: warm-up until steady (rounds of %d creates, until two rounds in a row are each"
            + " <= 5 %% faster than the best before them; 3-15 rounds)%n",
        WARMUP_ROUND);
    double best = 0;
    int flat = 0;
    for (int round = 1; round <= 15; round++) {
      Phase warm = creates(base, tokens, WARMUP_ROUND, null);
      System.out.printf(
          "bench: warm-up round %d: %.0f creates/s, p99 %.2f ms%n",
          round, warm.rate(), ms(warm.p(99)));
      flat = round > 1 && warm.rate() <= best * 1.05 ? flat + 1 : 0;
      best = Math.max(best, warm.rate());
      if (round >= 3 && flat >= 2) {
        return;
      }
    }
    System.out.println("bench: warm-up still climbing after 15 rounds; measuring anyway");
  }

  record Phase(long nanos, long[] latencies, int errors, double generatorCpuMs) {
    Phase(long nanos, long[] latencies, int errors) {
      this(nanos, latencies, errors, -1);
    }

    double rate() {
      return latencies.length / (nanos / 1e9);
    }

    long p(double p) {
      return pct(latencies, p);
    }
  }

  /**
   * {@code total} creates from one caller per token (each its own account, one keep-alive
   * connection each), closed loop: a caller sends its next create when the last one is answered.
   * The load generator is one Vert.x event loop, so it takes little of the two CPUs it shares with
   * the system under test.
   */
  static Phase creates(String base, List<String> tokens, int total, Map<String, Long> answered)
      throws Exception {
    return GENERATOR.equals("java")
        ? javaCreates(base, tokens, total, answered)
        : cCreates(base, tokens, total, answered);
  }

  private static final AtomicInteger PHASES = new AtomicInteger();

  /**
   * The same closed loop run by bench/closedloop.c (one process, epoll, one keep-alive connection
   * per token): its latencies, and the completion time of each 201 on CLOCK_MONOTONIC, the clock of
   * System.nanoTime, so the answers can be matched with the events' arrival on Kafka.
   */
  static Phase cCreates(String base, List<String> tokens, int total, Map<String, Long> answered)
      throws Exception {
    URI u = URI.create(base);
    Path dir = java.nio.file.Files.createTempDirectory("closedloop");
    Path tokenFile = dir.resolve("tokens");
    Path out = dir.resolve("out");
    java.nio.file.Files.write(tokenFile, tokens);
    String tag = ProcessHandle.current().pid() + "p" + PHASES.incrementAndGet();
    Process gen =
        new ProcessBuilder(
                System.getProperty("bench.closedloop"),
                "127.0.0.1",
                String.valueOf(u.getPort()),
                String.valueOf(total),
                tokenFile.toString(),
                out.toString(),
                tag)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    String summary = new String(gen.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int exit = gen.waitFor();
    Map<String, String> f = new LinkedHashMap<>();
    for (String kv : summary.trim().split(" ")) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        f.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    if (!f.containsKey("nanos")) {
      throw new IllegalStateException("closedloop exited " + exit + ": " + summary);
    }
    List<String> lines = java.nio.file.Files.readAllLines(out);
    long[] lat = new long[lines.size()];
    int errors = 0;
    for (int i = 0; i < lines.size(); i++) {
      String[] p = lines.get(i).split(" ");
      lat[i] = Long.parseLong(p[1]);
      if (!p[0].equals("201")) {
        errors++;
      } else if (answered != null) {
        answered.put(p[3], Long.parseLong(p[2]));
      }
    }
    errors += total - lines.size();
    LocalStack.deleteRecursively(dir);
    if (answered != null) {
      printTimeline(lines);
    }
    return new Phase(
        Long.parseLong(f.get("nanos")), lat, errors, Long.parseLong(f.get("cpu_us")) / 1000.0);
  }

  /**
   * The measured phase in 500 ms windows by answer time (answers, p50, p99, max): whether the slow
   * answers come together (a pause, a checkpoint) or are spread over the run.
   */
  static void printTimeline(List<String> lines) {
    long first = Long.MAX_VALUE;
    for (String l : lines) {
      first = Math.min(first, Long.parseLong(l.split(" ")[2]));
    }
    java.util.TreeMap<Long, List<Long>> windows = new java.util.TreeMap<>();
    for (String l : lines) {
      String[] p = l.split(" ");
      windows
          .computeIfAbsent((Long.parseLong(p[2]) - first) / 500_000_000L, k -> new ArrayList<>())
          .add(Long.parseLong(p[1]));
    }
    StringBuilder out = new StringBuilder("timeline (500 ms windows: answers p50/p99/max ms):");
    for (var w : windows.entrySet()) {
      long[] l = w.getValue().stream().mapToLong(Long::longValue).sorted().toArray();
      out.append(
          String.format(
              "%n  %5.1fs %5d %6.1f %6.1f %6.1f",
              w.getKey() / 2.0,
              l.length,
              l[l.length / 2] / 1e6,
              l[Math.min(l.length - 1, (int) (l.length * 0.99))] / 1e6,
              l[l.length - 1] / 1e6));
    }
    System.out.println(out);
  }

  static Phase javaCreates(String base, List<String> tokens, int total, Map<String, Long> answered)
      throws Exception {
    URI u = URI.create(base);
    Vertx vx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    HttpClient client =
        vx.createHttpClient(
            new HttpClientOptions()
                .setDefaultHost(u.getHost())
                .setDefaultPort(u.getPort())
                .setKeepAlive(true),
            new PoolOptions().setHttp1MaxSize(tokens.size()));
    AtomicInteger next = new AtomicInteger();
    AtomicInteger errors = new AtomicInteger();
    long[] lat = new long[total];
    CountDownLatch done = new CountDownLatch(tokens.size());
    long start = System.nanoTime();
    for (String token : tokens) {
      String auth = "Bearer " + token;
      vx.runOnContext(v -> createLoop(client, auth, total, next, errors, lat, answered, done));
    }
    done.await();
    long nanos = System.nanoTime() - start;
    client.close().toCompletionStage().toCompletableFuture().get();
    vx.close().toCompletionStage().toCompletableFuture().get();
    return new Phase(nanos, lat, errors.get());
  }

  private static void createLoop(
      HttpClient client,
      String auth,
      int total,
      AtomicInteger next,
      AtomicInteger errors,
      long[] lat,
      Map<String, Long> answered,
      CountDownLatch done) {
    int i = next.getAndIncrement();
    if (i >= total) {
      done.countDown();
      return;
    }
    String body = "{\"name\":\"bench " + UUID.randomUUID() + "\",\"group\":\"default\"}";
    long t0 = System.nanoTime();
    client
        .request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/api/keys"))
        .compose(
            req ->
                req.putHeader("Authorization", auth)
                    .putHeader("Content-Type", "application/json")
                    .send(body)
                    .compose(resp -> resp.body().map(b -> Map.entry(resp.statusCode(), b))))
        .onComplete(
            ar -> {
              long t1 = System.nanoTime();
              lat[i] = t1 - t0;
              if (ar.failed() || ar.result().getKey() != 201) {
                if (errors.incrementAndGet() <= 5) {
                  System.out.println(
                      "bench: create failed: "
                          + (ar.failed()
                              ? ar.cause().toString()
                              : ar.result().getKey() + " " + ar.result().getValue()));
                }
              } else if (answered != null) {
                // the answer's first field is the key id
                io.vertx.core.buffer.Buffer b = ar.result().getValue();
                String text = b.getString(0, Math.min(b.length(), 256));
                int at = text.indexOf("\"id\":\"") + 6;
                answered.put(text.substring(at, text.indexOf('"', at)), t1);
              }
              createLoop(client, auth, total, next, errors, lat, answered, done);
            });
  }

  static void consume(
      String bootstrap,
      Map<String, long[]> arrivals,
      Map<String, String> rawEvents,
      AtomicBoolean stop,
      CountDownLatch assigned) {
    Properties p = consumerProps(bootstrap);
    // the measuring consumer: by default each fetch returns as soon as one record is there (a
    // fetch per producer batch); bench.fetch-min-bytes lets the broker gather records for up to
    // bench.fetch-max-wait-ms, fewer fetches for both processes, at most that much added latency
    p.put(
        ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
        String.valueOf(Integer.getInteger("bench.fetch-max-wait-ms", 5)));
    p.put(
        ConsumerConfig.FETCH_MIN_BYTES_CONFIG,
        String.valueOf(Integer.getInteger("bench.fetch-min-bytes", 1)));
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> parts = keyEventPartitions(c);
      c.assign(parts);
      c.seekToEnd(parts);
      parts.forEach(c::position);
      assigned.countDown();
      while (!stop.get()) {
        for (var r : c.poll(Duration.ofMillis(50))) {
          long now = System.nanoTime();
          Instant wall = Instant.now();
          if (arrivals.putIfAbsent(r.key(), new long[] {now, micros(wall)}) == null) {
            rawEvents.put(r.key(), r.value()); // parsed after the run, not while measuring
          }
        }
      }
    }
  }

  /**
   * Sets the key events topic to stamp records with the broker's append time and returns its end
   * offsets (where the warm-up's events will start).
   */
  static Map<TopicPartition, Long> logAppendTime(String bootstrap) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    try (var admin = Admin.create(p)) {
      var topic = new ConfigResource(ConfigResource.Type.TOPIC, Topics.KEY_EVENTS);
      admin
          .incrementalAlterConfigs(
              Map.of(
                  topic,
                  List.of(
                      new AlterConfigOp(
                          new ConfigEntry("message.timestamp.type", "LogAppendTime"),
                          AlterConfigOp.OpType.SET))))
          .all()
          .get();
      // the broker applies topic configs asynchronously: wait until it reports the new type
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  "LogAppendTime"
                      .equals(
                          admin
                              .describeConfigs(List.of(topic))
                              .all()
                              .get()
                              .get(topic)
                              .get("message.timestamp.type")
                              .value()));
    }
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(bootstrap))) {
      List<TopicPartition> parts = keyEventPartitions(c);
      return new LinkedHashMap<>(c.endOffsets(parts));
    }
  }

  /**
   * After the run: every key event from the given offsets, with the broker's append time converted
   * to this JVM's System.nanoTime scale (the C generator's CLOCK_MONOTONIC), until every answered
   * key's event is read (or 60 s pass: the rest are reported missing).
   */
  static void readAppendTimes(
      String bootstrap,
      Map<TopicPartition, Long> from,
      java.util.Set<String> wanted,
      Map<String, long[]> arrivals,
      Map<String, String> rawEvents) {
    // wall clock -> monotonic: the smallest gap between two readings bounds the error (~us)
    long bestSpan = Long.MAX_VALUE;
    long wallMinusMono = 0;
    for (int i = 0; i < 1000; i++) {
      long m0 = System.nanoTime();
      Instant w = Instant.now();
      long m1 = System.nanoTime();
      if (m1 - m0 < bestSpan) {
        bestSpan = m1 - m0;
        wallMinusMono = w.getEpochSecond() * 1_000_000_000L + w.getNano() - (m0 + m1) / 2;
      }
    }
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(bootstrap))) {
      c.assign(from.keySet());
      from.forEach(c::seek);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      int found = 0;
      while (found < wanted.size() && System.nanoTime() < deadline) {
        for (var r : c.poll(Duration.ofMillis(200))) {
          if (r.timestampType() != TimestampType.LOG_APPEND_TIME) {
            throw new IllegalStateException("record without the broker's append time: " + r);
          }
          // a whole millisecond: the append happened within it, taken at its middle
          long wallNanos = r.timestamp() * 1_000_000L + 500_000L;
          if (arrivals.putIfAbsent(
                  r.key(), new long[] {wallNanos - wallMinusMono, wallNanos / 1_000})
              == null) {
            rawEvents.put(r.key(), r.value());
            if (wanted.contains(r.key())) {
              found++;
            }
          }
        }
      }
    }
  }

  static Properties consumerProps(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-" + UUID.randomUUID());
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    return p;
  }

  static List<TopicPartition> keyEventPartitions(KafkaConsumer<String, String> c) {
    return c.partitionsFor(Topics.KEY_EVENTS).stream()
        .map(i -> new TopicPartition(Topics.KEY_EVENTS, i.partition()))
        .toList();
  }

  static long eventTime(String event) {
    try {
      return micros(Instant.parse(JSON.readTree(event).get("time").asText()));
    } catch (Exception e) {
      throw new IllegalStateException("not a key event: " + e.getMessage());
    }
  }

  static long micros(Instant i) {
    return i.getEpochSecond() * 1_000_000 + i.getNano() / 1_000;
  }

  /**
   * Row writes of the create path's tables since the stack started (warm-up included): updates and
   * how many of them were HOT (no index entries, page-local), deletes, and autovacuum runs.
   */
  /**
   * WAL position (bytes), full-page images written, timed and requested checkpoints and the buffers
   * they wrote (PostgreSQL 17: pg_stat_checkpointer), or null.
   */
  static long[] walAndCheckpoints(LocalStack stack) {
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl("keyservice"));
        java.sql.Statement st = c.createStatement();
        java.sql.ResultSet rs =
            st.executeQuery(
                "select pg_current_wal_lsn() - '0/0'::pg_lsn, (select wal_fpi from pg_stat_wal),"
                    + " num_timed, num_requested, buffers_written from pg_stat_checkpointer")) {
      rs.next();
      return new long[] {
        rs.getBigDecimal(1).longValue(), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5)
      };
    } catch (java.sql.SQLException e) {
      System.out.printf("bench: WAL figures unavailable: %s%n", e.getMessage());
      return null;
    }
  }

  static String pgTableStats(LocalStack stack) throws Exception {
    StringBuilder out = new StringBuilder("PostgreSQL tables (whole run):");
    try (Connection c = DriverManager.getConnection(stack.jdbcUrl("keyservice"));
        java.sql.Statement st = c.createStatement()) {
      st.execute("select pg_stat_force_next_flush()");
      try (java.sql.ResultSet rs =
          st.executeQuery(
              "select relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_dead_tup,"
                  + " autovacuum_count, autoanalyze_count,"
                  + " pg_total_relation_size(relid) / 1024 as kb"
                  + " from pg_stat_user_tables"
                  + " where relname in ('outbox', 'api_keys', 'account_key_counts')"
                  + " order by relname")) {
        while (rs.next()) {
          out.append(
              String.format(
                  "%n  %-18s ins %7d upd %7d (hot %7d) del %6d dead %6d autovacuum %d"
                      + " autoanalyze %d size %d kB",
                  rs.getString(1),
                  rs.getLong(2),
                  rs.getLong(3),
                  rs.getLong(4),
                  rs.getLong(5),
                  rs.getLong(6),
                  rs.getLong(7),
                  rs.getLong(8),
                  rs.getLong(9)));
        }
      }
    } catch (java.sql.SQLException e) {
      out.append(" unavailable: ").append(e.getMessage());
    }
    return out.toString();
  }

  /** Plain INSERTs of the same key row (and optionally its outbox row) at CALLERS connections. */
  static Phase jdbcBaseline(LocalStack stack, int total, boolean withOutbox) throws Exception {
    String url = stack.jdbcUrl("keyservice");
    try (Connection c = DriverManager.getConnection(url)) {
      c.createStatement().execute("drop table if exists bench_api_keys, bench_outbox");
      c.createStatement().execute("create table bench_api_keys (like api_keys including all)");
      c.createStatement().execute("create table bench_outbox (like outbox including all)");
    }
    String payload =
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"type\":\"keywarden.key.created\",\"data\":{"
            + "\"x\":\""
            + "y".repeat(500)
            + "\"}}";
    AtomicInteger next = new AtomicInteger();
    long[] lat = new long[total];
    ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<?>> fs = new ArrayList<>();
    for (int t = 0; t < CALLERS; t++) {
      String account = "bench-account-" + t;
      fs.add(
          pool.submit(
              () -> {
                try (Connection c = DriverManager.getConnection(url)) {
                  c.setAutoCommit(!withOutbox);
                  PreparedStatement key =
                      c.prepareStatement(
                          "insert into bench_api_keys (id, account, name, group_name, status, key_hash, mask,"
                              + " custom, allowed_ips, quota_micros, quota_reset, created_at, updated_at, version)"
                              + " values (?, ?, ?, 'default', 'active', ?, ?, false, '[]', 0, 'none', ?, ?, 1)");
                  PreparedStatement out =
                      c.prepareStatement(
                          "insert into bench_outbox (event_id, topic, record_key, event_type, payload, created_at)"
                              + " values (?, 'keywarden.key-events', ?, 'keywarden.key.created', ?, ?)");
                  go.await();
                  int i;
                  while ((i = next.getAndIncrement()) < total) {
                    String secret = KeyFormat.generate("sk-kw-");
                    UUID id = UUID.randomUUID();
                    Timestamp now = Timestamp.from(Instant.now());
                    long t0 = System.nanoTime();
                    key.setObject(1, id);
                    key.setString(2, account);
                    key.setString(3, "bench " + id);
                    key.setString(4, KeyFormat.sha256Hex(secret));
                    key.setString(5, KeyFormat.mask(secret));
                    key.setTimestamp(6, now);
                    key.setTimestamp(7, now);
                    key.executeUpdate();
                    if (withOutbox) {
                      out.setObject(1, UUID.randomUUID());
                      out.setString(2, id.toString());
                      out.setString(3, payload);
                      out.setTimestamp(4, now);
                      out.executeUpdate();
                      c.commit();
                    }
                    lat[i] = System.nanoTime() - t0;
                  }
                }
                return null;
              }));
    }
    long start = System.nanoTime();
    go.countDown();
    for (Future<?> f : fs) {
      f.get();
    }
    long nanos = System.nanoTime() - start;
    pool.shutdown();
    try (Connection c = DriverManager.getConnection(url)) {
      c.createStatement().execute("drop table if exists bench_api_keys, bench_outbox");
    }
    return new Phase(nanos, lat, 0);
  }

  // ---------------------------------------------------------------- HTTP and Keycloak

  static HttpResponse<String> post(String url, String token, String body) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(url))
            .header("Authorization", "Bearer " + token)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> send(String method, String url, String token, String body, int expect)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json");
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (expect > 0 && r.statusCode() != expect) {
      throw new IllegalStateException(
          method + " " + url + " answered " + r.statusCode() + ": " + r.body());
    }
    return r;
  }

  /** Creates {@code n} users with role user in realm keywarden; returns a token for each. */
  static List<String> benchUsers(LocalStack stack, int n) throws Exception {
    String kc = stack.keycloakUrl();
    String form = "grant_type=password&client_id=admin-cli&username=admin&password=admin";
    HttpResponse<String> t =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(kc + "/realms/master/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    String adminToken = JSON.readTree(t.body()).get("access_token").asText();
    String realm = kc + "/admin/realms/" + LocalStack.REALM;
    String role = send("GET", realm + "/roles/user", adminToken, null, 200).body();
    List<String> tokens = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String user = "bench" + i;
      String body =
          "{\"username\":\""
              + user
              + "\",\"enabled\":true,\"email\":\""
              + user
              + "@bench.invalid\",\"emailVerified\":true,\"firstName\":\"Bench\",\"lastName\":\"User"
              + i
              + "\",\"credentials\":[{\"type\":\"password\",\"value\":\"bench-pw\",\"temporary\":false}]}";
      HttpResponse<String> created = send("POST", realm + "/users", adminToken, body, 0);
      if (created.statusCode() != 201 && created.statusCode() != 409) {
        throw new IllegalStateException(
            "create user " + user + ": " + created.statusCode() + " " + created.body());
      }
      String id =
          JSON.readTree(
                  send(
                          "GET",
                          realm
                              + "/users?exact=true&username="
                              + URLEncoder.encode(user, StandardCharsets.UTF_8),
                          adminToken,
                          null,
                          200)
                      .body())
              .get(0)
              .get("id")
              .asText();
      send(
          "POST",
          realm + "/users/" + id + "/role-mappings/realm",
          adminToken,
          "[" + role + "]",
          204);
      tokens.add(Tokens.password(stack.issuer(), user, "bench-pw"));
    }
    return tokens;
  }

  static int freePort() throws Exception {
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
