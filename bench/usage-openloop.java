// Open-loop (fixed-rate) HTTP load generator for the usage-service benchmarks, in the manner of
// wrk2 (not in Debian): requests leave on a fixed timetable whatever the server does, and each
// latency is measured from the request's INTENDED send time, so a stalled server is charged for
// every request it delayed (coordinated omission corrected). Exact percentiles (every latency is
// kept and sorted). Vert.x HttpClient, keep-alive, one event loop, up to `conns` connections; a
// request that finds no free connection waits in the client's queue, and that wait counts.
//
//   java -cp <usage-service test class path> bench/usage-openloop.java MODE URL RATE SECONDS CONNS [options]
//     MODE authorize  POST /api/authorize with a key (env KW_KEY), gateway shared secret
//          usage      POST /api/usage batches of BATCH records (env KW_KEY_ID), new requestIds
//          get        GET URL (a baseline such as nginx return 200)
//          post       POST URL with a usage-sized body (a baseline: nginx reading the body)
//     options: batch=100 warmup=3 jdbc=jdbc:postgresql://... (usage: check acknowledged
//              records against the ledger afterwards) header=Name:Value
//              env KW_KEY_IDS_FILE (usage: records spread over these comma-separated key ids)
//              slowlog=FILE slow-ms=20 (every answer slower than slow-ms: intended send time as
//              UTC HH:mm:ss.SSS, latency ms, status; to line up with GC and PostgreSQL logs)
//
// Prints one line of key=value figures (offered, achieved, p50, p90, p99, p99.9, max in ms,
// status counts; for usage: records acknowledged, 503 records, ledger check).
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

public class UsageOpenLoop {
  static String mode;
  static URI url;
  static int batch = 100;
  static String runId = Long.toString(System.currentTimeMillis(), 36);
  static final List<String[]> extraHeaders = new ArrayList<>();
  static long slowNanos = Long.MAX_VALUE;
  static final List<String> slow = java.util.Collections.synchronizedList(new ArrayList<>());

  public static void main(String[] args) throws Exception {
    mode = args[0];
    url = URI.create(args[1]);
    double rate = Double.parseDouble(args[2]);
    int seconds = Integer.parseInt(args[3]);
    int conns = Integer.parseInt(args[4]);
    Map<String, String> opt = new HashMap<>();
    for (int i = 5; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (args[i].startsWith("header=")) {
        String h = args[i].substring(7);
        extraHeaders.add(new String[] {h.substring(0, h.indexOf(':')), h.substring(h.indexOf(':') + 1)});
      } else {
        opt.put(args[i].substring(0, eq), args[i].substring(eq + 1));
      }
    }
    batch = Integer.parseInt(opt.getOrDefault("batch", "100"));
    int warmup = Integer.parseInt(opt.getOrDefault("warmup", "3"));
    if (opt.containsKey("slowlog")) {
      slowNanos = (long) (Double.parseDouble(opt.getOrDefault("slow-ms", "20")) * 1e6);
    }
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    HttpClient client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setKeepAlive(true)
                .setMaxPoolSize(conns)
                .setMaxWaitQueueSize(-1)
                .setDefaultHost(url.getHost())
                .setDefaultPort(url.getPort()));
    if (warmup > 0) {
      run(vertx, client, rate, warmup, false);
    }
    Run r = run(vertx, client, rate, seconds, true);
    StringBuilder out = new StringBuilder();
    // achieved: answered 2xx per second from the first scheduled send to the last answer (a
    // server that falls behind finishes late, so this is below the offered rate)
    double span = Math.max(seconds, (r.lastDone - r.start) / 1e9);
    out.append(String.format("offered=%.0f/s achieved=%.0f/s span=%.1fs", rate, r.ok / span, span));
    long[] lat = Arrays.copyOf(r.latencyNanos, r.done);
    Arrays.sort(lat);
    out.append(String.format(" p50=%.3fms p90=%.3fms p99=%.3fms p99.9=%.3fms max=%.3fms",
        pct(lat, 50), pct(lat, 90), pct(lat, 99), pct(lat, 99.9), lat.length == 0 ? 0 : lat[lat.length - 1] / 1e6));
    long[] lag = Arrays.copyOf(r.lagNanos, r.sent);
    Arrays.sort(lag);
    out.append(String.format(" sender-lag-p99=%.3fms", pct(lag, 99)));
    out.append(" sent=").append(r.sent).append(" 2xx=").append(r.ok).append(" 503=").append(r.s503)
        .append(" other=").append(r.other).append(" errors=").append(r.errors)
        .append(" unanswered=").append(r.sent - r.done);
    if (mode.equals("usage")) {
      out.append(" records-acked=").append((long) r.ok * batch)
          .append(" records-503=").append((long) r.s503 * batch)
          .append(String.format(" records/s=%.0f", r.ok * (double) batch / span));
      String jdbc = opt.get("jdbc");
      if (jdbc != null) {
        out.append(' ').append(ledgerCheck(jdbc, r));
      }
    }
    System.out.println(out);
    if (opt.containsKey("slowlog")) {
      java.nio.file.Files.write(java.nio.file.Path.of(opt.get("slowlog")), slow);
    }
    client.close();
    vertx.close();
    System.exit(0);
  }

  static double pct(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
  }

  static final class Run {
    long[] latencyNanos;
    long[] lagNanos;
    boolean[] acked;
    int sent;
    volatile int done;
    int ok;
    int s503;
    int other;
    int errors;
    long start;
    long lastDone;
  }

  static Buffer body(int seq, boolean measured) {
    if (mode.equals("authorize")) {
      return Buffer.buffer("{\"key\":\"" + System.getenv("KW_KEY")
          + "\",\"clientIp\":\"10.1.2.3\",\"model\":\"gpt-4o-mini\"}");
    }
    String keyId = System.getenv("KW_KEY_ID");
    // KW_KEY_IDS_FILE (comma-separated key ids): records spread over those keys, round robin
    String[] spread = SPREAD_KEYS;
    StringBuilder b = new StringBuilder(batch * 150).append('[');
    String prefix = "ol-" + runId + (measured ? "-m-" : "-w-") + seq + "-";
    for (int i = 0; i < batch; i++) {
      if (i > 0) {
        b.append(',');
      }
      String k = spread == null ? keyId : spread[(seq * batch + i) % spread.length];
      b.append("{\"requestId\":\"").append(prefix).append(i).append("\",\"keyId\":\"").append(k)
          .append("\",\"model\":\"gpt-4o-mini\",\"inputTokens\":100,\"outputTokens\":50,\"costUsd\":\"0.000001\"}");
    }
    return Buffer.buffer(b.append(']').toString());
  }

  /** KW_KEY_IDS_FILE's key ids, read once; null without it. */
  static final String[] SPREAD_KEYS = spreadKeys();

  static String[] spreadKeys() {
    String f = System.getenv("KW_KEY_IDS_FILE");
    if (f == null || f.isBlank()) {
      return null;
    }
    try {
      return java.nio.file.Files.readString(java.nio.file.Path.of(f)).trim().split(",");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static Run run(Vertx vertx, HttpClient client, double rate, int seconds, boolean measured)
      throws InterruptedException {
    int n = (int) Math.round(rate * seconds);
    Run r = new Run();
    r.latencyNanos = new long[n];
    r.lagNanos = new long[n];
    r.acked = new boolean[n];
    // bodies made before the clock starts: the generator spends its CPU on sending only
    Buffer[] bodies = new Buffer[n];
    if (!mode.equals("get")) {
      for (int i = 0; i < n; i++) {
        bodies[i] = mode.equals("authorize") && i > 0 ? bodies[0] : body(i, measured);
      }
    }
    var ctx = vertx.getOrCreateContext();
    CountDownLatch finished = new CountDownLatch(1);
    AtomicInteger completed = new AtomicInteger();
    double interval = 1e9 / rate;
    long start = System.nanoTime() + 20_000_000;
    long nanoBase = System.nanoTime();
    long wallBase = System.currentTimeMillis();
    r.start = start;
    HttpMethod method = mode.equals("get") ? HttpMethod.GET : HttpMethod.POST;
    String path = url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
    int[] next = {0};
    Runnable sendDue =
        () -> {
          long now = System.nanoTime();
          while (next[0] < n) {
            int i = next[0];
            long intended = start + (long) (i * interval);
            if (intended > now) {
              break;
            }
            next[0]++;
            r.sent++;
            r.lagNanos[i] = now - intended;
            RequestOptions ro = new RequestOptions().setMethod(method).setURI(path)
                .setTimeout(30_000);
            ro.putHeader("X-Keywarden-Gateway-Secret", "bench-secret");
            if (method == HttpMethod.POST) {
              ro.putHeader("Content-Type", "application/json");
            }
            for (String[] h : extraHeaders) {
              ro.putHeader(h[0], h[1]);
            }
            Buffer b = bodies[i];
            client.request(ro)
                .compose(req -> (b == null ? req.send() : req.send(b))
                    .compose(resp -> resp.body().map(x -> resp.statusCode())))
                .onComplete(ar -> {
                  long doneAt = System.nanoTime();
                  r.lastDone = doneAt;
                  r.latencyNanos[completed.get()] = doneAt - intended;
                  if (measured && doneAt - intended > slowNanos) {
                    long wall = wallBase + (intended - nanoBase) / 1_000_000;
                    slow.add(java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss.SSS")
                            .withZone(java.time.ZoneOffset.UTC).format(java.time.Instant.ofEpochMilli(wall))
                        + String.format(" %.1f ", (doneAt - intended) / 1e6)
                        + (ar.failed() ? "error" : ar.result().toString()));
                  }
                  if (ar.failed()) {
                    r.errors++;
                  } else if (ar.result() / 100 == 2) {
                    r.ok++;
                    r.acked[i] = true;
                  } else if (ar.result() == 503) {
                    r.s503++;
                  } else {
                    r.other++;
                  }
                  r.done = completed.incrementAndGet();
                  if (r.done == n) {
                    finished.countDown();
                  }
                });
          }
        };
    // the timetable: a platform thread wakes about every 50-100 us and hands what is due to the
    // event loop (Vert.x timers tick in whole milliseconds, too coarse for a 2 ms p99)
    Thread scheduler = Thread.ofPlatform().daemon().start(() -> {
      while (true) {
        int sentSoFar;
        synchronized (next) {
          sentSoFar = next[0];
        }
        if (sentSoFar >= n) {
          return;
        }
        long due = start + (long) (sentSoFar * interval);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(Math.max(wait, 20_000));
        }
        CountDownLatch handed = new CountDownLatch(1);
        ctx.runOnContext(v -> {
          synchronized (next) {
            sendDue.run();
          }
          handed.countDown();
        });
        try {
          handed.await();
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    // wait for the answers: the schedule's length plus the 30 s request timeout at most
    finished.await(seconds + 40L, TimeUnit.SECONDS);
    scheduler.join(1000);
    r.done = completed.get();
    return r;
  }

  /** Every acknowledged record is in the ledger (none lost); and how many more committed. */
  static String ledgerCheck(String jdbc, Run r) throws Exception {
    List<String> acked = new ArrayList<>();
    for (int i = 0; i < r.acked.length; i++) {
      if (r.acked[i]) {
        for (int j = 0; j < batch; j++) {
          acked.add("ol-" + runId + "-m-" + i + "-" + j);
        }
      }
    }
    try (Connection c = DriverManager.getConnection(jdbc, "postgres", "")) {
      long found;
      try (PreparedStatement ps = c.prepareStatement("select count(*) from ledger where request_id = any(?)")) {
        ps.setArray(1, c.createArrayOf("varchar", acked.toArray()));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          found = rs.getLong(1);
        }
      }
      long all;
      try (PreparedStatement ps = c.prepareStatement("select count(*) from ledger where request_id like ?")) {
        ps.setString(1, "ol-" + runId + "-m-%");
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          all = rs.getLong(1);
        }
      }
      return "ledger-has-acked=" + found + "/" + acked.size()
          + (found == acked.size() ? "(none-lost)" : "(LOST=" + (acked.size() - found) + ")")
          + " ledger-rows-of-run=" + all + " committed-not-acked=" + (all - found);
    }
  }
}
