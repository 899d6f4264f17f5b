// Heap per 1,000,000 keys in usage-service's projection and the time to rebuild it.
//
//   bench/usage-heap.sh [keys, default 1000000]
//
// Builds N key snapshots the way key-service publishes them (UUID key id, 10 keys per account,
// 100 groups, SHA-256 hex hash, mask, timestamps; 1 in 10 with a two-entry IP allow-list, 1 in 10
// with a quota) as CloudEvent JSON, then:
//  1. rebuild: decodes every record with EventCodec and applies it to a fresh KeyProjection, as
//     ProjectionFeed does for each Kafka record (the CPU side of a replay; Kafka's fetch is
//     measured in the usage-bench Kafka rows);
//  2. heap: used heap after full GCs with the projection alive, minus the same before it was built
//     (the JSON strings are dropped first), divided by N.
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.events.*;
import io.keywarden.usage.projection.KeyProjection;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.*;

public class UsageHeap {
  static long used() throws InterruptedException {
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(150);
      best = Math.min(best, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return best;
  }

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    Random rnd = new Random(42);
    Instant now = Instant.parse("2026-11-23T10:00:00Z");
    String[] records = new String[n];
    String account = null;
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      if (i % 10 == 0) {
        account = "acct-" + new UUID(rnd.nextLong(), rnd.nextLong());
      }
      String id = new UUID(rnd.nextLong(), rnd.nextLong()).toString();
      byte[] secret = new byte[24];
      rnd.nextBytes(secret);
      String s = "sk-kw-" + HexFormat.of().formatHex(secret);
      List<String> ips = i % 10 == 3 ? List.of("10.0.0.0/8", "192.168.1.7/32") : List.of();
      KeySnapshot k =
          new KeySnapshot(id, account, "key " + i, "group-" + (i % 100), KeyStatus.ACTIVE,
              KeyFormat.sha256Hex(s), KeyFormat.mask(s), false, null, null, ips,
              i % 10 == 5 ? 5_000_000 : 0, i % 10 == 5 ? QuotaReset.MONTHLY : QuotaReset.NONE,
              RateLimit.NONE, null, now, now, null, 1);
      records[i] = EventCodec.encode(CloudEvent.of(KeyEventType.CREATED.type(), "/bench", id, now, k));
    }
    System.out.printf("generated %,d key events in %.1f s%n", n, (System.nanoTime() - t0) / 1e9);

    // warm the decoder on a throw-away projection (JIT), then measure on a fresh one
    KeyProjection warm = new KeyProjection();
    for (int i = 0; i < Math.min(n, 200_000); i++) {
      warm.apply((KeySnapshot) EventCodec.decode(records[i]).data());
    }
    warm = null;
    KeyProjection p = new KeyProjection();
    long t1 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      CloudEvent<?> e = EventCodec.decode(records[i]);
      p.apply((KeySnapshot) e.data());
    }
    double rebuild = (System.nanoTime() - t1) / 1e9;
    // the same records decoded only: how much of the rebuild is JSON
    long t2 = System.nanoTime();
    long sink = 0;
    for (int i = 0; i < n; i++) {
      sink += ((KeySnapshot) EventCodec.decode(records[i]).data()).version();
    }
    double decode = (System.nanoTime() - t2) / 1e9;
    records = null;
    long after = used();
    int held = p.keyCount();
    java.lang.ref.Reference.reachabilityFence(p);
    p = null;
    long base = used();
    long bytes = after - base;
    System.out.printf("rebuild (decode + apply) of %,d keys: %.2f s = %,.0f keys/s"
        + " (decode alone %.2f s; goal <= 10 s)%n", n, rebuild, n / rebuild, decode + sink * 0);
    System.out.printf("projection retained heap: %,d bytes = %.0f B per key = %.1f MiB per 1M keys"
        + " (goal <= 256)%n", bytes, (double) bytes / n, bytes / (double) n * 1_000_000 / (1 << 20));
    System.out.printf("keys held: %,d; JVM %s, max heap %d MiB%n", held,
        Runtime.version(), Runtime.getRuntime().maxMemory() >> 20);
  }
}
