package io.keywarden.stack;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** One packaged Quarkus service running as a child JVM, stopped with SIGTERM. */
public final class ServiceProcess {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_GRACE = Duration.ofSeconds(15);

  private final String name;
  private final int port;
  private final ChildProcess process;
  private final Duration startTime;

  private ServiceProcess(String name, int port, ChildProcess process, Duration startTime) {
    this.name = name;
    this.port = port;
    this.process = process;
    this.startTime = startTime;
  }

  /**
   * Runs {@code java -Xmx256m -jar <root>/<module>/target/quarkus-app/quarkus-run.jar}
   * (usage-service: {@code -Xmx1g}) with the given system properties (plus {@code
   * quarkus.http.port}), output to {@code <logDir>/<module>.log}, and waits until {@code
   * /q/health/ready} answers 200.
   *
   * @throws IllegalStateException if the jar is missing or the service is not ready in 90 s (the
   *     message holds the last log lines); the process is stopped then
   */
  public static ServiceProcess start(
      Path root, String module, int port, Map<String, String> systemProperties, Path logDir) {
    return start(root, module, port, systemProperties, logDir, List.of());
  }

  /**
   * As {@link #start(Path, String, int, Map, Path)}, with extra JVM options for this process only
   * (e.g. {@code -Xmx96m}), placed after the defaults and {@code KW_SERVICE_JAVA_OPTS} so that they
   * win over both.
   */
  public static ServiceProcess start(
      Path root,
      String module,
      int port,
      Map<String, String> systemProperties,
      Path logDir,
      List<String> jvmOptions) {
    Path jar = root.resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          jar + " is missing; build the services first (./keywarden build)");
    }
    List<String> command = new ArrayList<>();
    command.add(LocalStack.javaBin());
    // usage-service holds every key in its projection (~213 MiB per million) and allocates on
    // every gateway call: a heap well above its live set; ZGC, because its pauses stay under a
    // millisecond (G1's young pauses, 1-2 ms four times a second at 30k req/s, were the p99)
    if (module.equals("usage-service")) {
      command.add("-Xmx1g");
      command.add("-XX:+UseZGC");
    } else {
      command.add("-Xmx256m");
    }
    // key-service: one Vert.x event loop per CPU instead of Quarkus' two. Its creates keep every
    // loop busy, and on a small machine the extra loops only add context switches beside
    // PostgreSQL and Kafka (bench/key-create.sh, alternated: 1,977-2,079 vs 1,760-1,902 creates/s,
    // p99 40-42 vs 43-63 ms on 2 CPUs). A -D in KW_SERVICE_JAVA_OPTS or the properties overrides
    // it.
    if (module.equals("key-service")) {
      command.add(
          "-Dquarkus.vertx.event-loops-pool-size="
              + Math.max(1, Runtime.getRuntime().availableProcessors()));
    }
    // extra JVM options for every service, e.g. KW_SERVICE_JAVA_OPTS="-XX:+UseSerialGC"
    String extra = System.getenv("KW_SERVICE_JAVA_OPTS");
    if (extra != null && !extra.isBlank()) {
      command.addAll(List.of(extra.trim().split("\\s+")));
    }
    command.addAll(jvmOptions);
    command.add("-Dquarkus.http.port=" + port);
    systemProperties.forEach(
        (key, value) -> {
          if (!key.equals("quarkus.http.port")) {
            command.add("-D" + key + "=" + value);
          }
        });
    command.add("-jar");
    command.add(jar.toString());
    long begin = System.nanoTime();
    ChildProcess process =
        ChildProcess.start(module, command, root, Map.of(), logDir.resolve(module + ".log"));
    try {
      LocalStack.waitForHttp200(
          process, "http://localhost:" + port + "/q/health/ready", READY_TIMEOUT);
    } catch (RuntimeException e) {
      process.stop(Duration.ofSeconds(5));
      throw e;
    }
    return new ServiceProcess(module, port, process, Duration.ofNanos(System.nanoTime() - begin));
  }

  public String name() {
    return name;
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  public Path logFile() {
    return process.logFile();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Time from launch until {@code /q/health/ready} answered 200. */
  public Duration startTime() {
    return startTime;
  }

  /** SIGTERM, then SIGKILL after 15 s. */
  public void stop() {
    process.stop(STOP_GRACE);
  }
}
