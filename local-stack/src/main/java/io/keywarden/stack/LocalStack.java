package io.keywarden.stack;

import io.keywarden.contracts.Topics;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;

/**
 * PostgreSQL 17, a single-node Kafka (KRaft) and Keycloak on loopback, without Docker. Started with
 * {@link #start(StackConfig)}; {@link #close()} (or JVM shutdown) stops everything in reverse
 * order.
 */
public final class LocalStack implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(LocalStack.class.getName());

  /** Keycloak version of the zip in the dist folder (the root pom's {@code keycloak.version}). */
  public static final String KEYCLOAK_VERSION = "26.7.3";

  /** Realm imported into Keycloak; the services' issuer is {@code <keycloak>/realms/keywarden}. */
  public static final String REALM = "keywarden";

  /** The three service databases (user {@code postgres}, no password). */
  public static final List<String> DATABASES =
      List.of("keyservice", "usageservice", "auditservice");

  /** Topics created with their contract partition counts. */
  public static final Map<String, Integer> TOPICS =
      Map.of(
          Topics.KEY_EVENTS, Topics.KEY_EVENTS_PARTITIONS,
          Topics.GROUPS, Topics.GROUPS_PARTITIONS,
          Topics.USAGE_EVENTS, Topics.USAGE_EVENTS_PARTITIONS,
          Topics.KEY_ALERTS, Topics.KEY_ALERTS_PARTITIONS);

  /** Realm file path in the repo; docker-compose mounts the same file. */
  public static final String REALM_FILE =
      "local-stack/src/main/resources/keycloak/keywarden-realm.json";

  private static final Duration START_TIMEOUT = Duration.ofSeconds(180);
  private static final Duration STOP_GRACE = Duration.ofSeconds(20);

  private final StackConfig config;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final Map<String, Duration> startTimes =
      Collections.synchronizedMap(new LinkedHashMap<>());
  private final List<ServiceProcess> services = Collections.synchronizedList(new ArrayList<>());
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread shutdownHook;
  private volatile EmbeddedPostgres postgres;
  private volatile long postgresPid = -1;
  private volatile ChildProcess kafka;
  private volatile ChildProcess keycloak;
  private volatile Duration totalStartTime = Duration.ZERO;

  private LocalStack(StackConfig config, FileChannel lockChannel, FileLock lock) {
    this.config = config;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.shutdownHook = new Thread(this::close, "keywarden-stack-shutdown");
  }

  /**
   * Starts PostgreSQL, Kafka and Keycloak in parallel and waits until each is ready.
   *
   * @throws IllegalStateException if another stack runs on the same home, or a port is taken
   */
  public static LocalStack start(StackConfig config) {
    long begin = System.nanoTime();
    FileChannel channel;
    FileLock lock;
    try {
      Files.createDirectories(config.home());
      channel =
          FileChannel.open(
              config.home().resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot use home folder " + config.home(), e);
    }
    if (lock == null) {
      closeQuietly(channel);
      throw new IllegalStateException(
          "A Keywarden stack is already running with home "
              + config.home()
              + " (it holds "
              + config.home().resolve(".lock")
              + "). Stop it first, or use another home with "
              + StackConfig.HOME_ENV
              + "=<folder>.");
    }
    LocalStack stack = new LocalStack(config, channel, lock);
    try {
      checkPortsFree(config, EnumSet.complementOf(servicePorts()));
      Runtime.getRuntime().addShutdownHook(stack.shutdownHook);
      stack.startParts();
      stack.totalStartTime = Duration.ofNanos(System.nanoTime() - begin);
      return stack;
    } catch (RuntimeException | Error e) {
      stack.close();
      throw e;
    }
  }

  private static EnumSet<StackPort> servicePorts() {
    return EnumSet.of(StackPort.KEY_SERVICE, StackPort.USAGE_SERVICE, StackPort.AUDIT_SERVICE);
  }

  /**
   * Fails with a message naming the first busy port and the variable that moves it, so nothing is
   * started half-way.
   */
  public static void checkPortsFree(StackConfig config, Set<StackPort> ports) {
    for (StackPort port : ports) {
      int number = config.port(port);
      if (!isFree(number)) {
        throw new IllegalStateException(
            "Port "
                + number
                + " ("
                + port.label()
                + ") is already in use. Stop what uses it, or choose another port with "
                + port.envVar()
                + "=<port>.");
      }
    }
  }

  private static boolean isFree(int port) {
    // The wildcard bind fails if anything listens on the port at any local address.
    try (ServerSocket socket = new ServerSocket(port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private void startParts() {
    prepareHome();
    ExecutorService executor = Executors.newFixedThreadPool(3, runnable -> daemon(runnable));
    try {
      CompletableFuture<Void> pg =
          CompletableFuture.runAsync(timed("postgres", this::startPostgres), executor);
      CompletableFuture<Void> kf =
          CompletableFuture.runAsync(timed("kafka", this::startKafka), executor);
      CompletableFuture<Void> kc =
          CompletableFuture.runAsync(timed("keycloak", this::startKeycloak), executor);
      timed("smtp", this::startMail).run();
      try {
        CompletableFuture.allOf(pg, kf, kc).join();
      } catch (CompletionException e) {
        // Wait for the others to settle so close() sees every process that did start.
        for (CompletableFuture<Void> part : List.of(pg, kf, kc)) {
          try {
            part.join();
          } catch (CompletionException ignored) {
            // reported below
          }
        }
        Throwable cause = e.getCause() == null ? e : e.getCause();
        if (cause instanceof RuntimeException runtime) {
          throw runtime;
        }
        throw new IllegalStateException(cause);
      }
    } finally {
      executor.shutdownNow();
    }
  }

  private static Thread daemon(Runnable runnable) {
    Thread thread = new Thread(runnable, "keywarden-stack-start");
    thread.setDaemon(true);
    return thread;
  }

  private Runnable timed(String part, Runnable start) {
    return () -> {
      long begin = System.nanoTime();
      start.run();
      Duration took = Duration.ofNanos(System.nanoTime() - begin);
      startTimes.put(part, took);
      LOG.info(() -> part + " ready in " + took.toMillis() + " ms");
    };
  }

  private void prepareHome() {
    try {
      if (config.fresh()) {
        wipeData();
      }
      Files.createDirectories(config.logDir());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Deletes everything but the lock; Keycloak comes back from the prepared copy in seconds. */
  private void wipeData() throws IOException {
    try (Stream<Path> children = Files.list(config.home())) {
      for (Path child : children.toList()) {
        if (!child.getFileName().toString().equals(".lock")) {
          deleteRecursively(child);
        }
      }
    }
  }

  /** Deletes a file or folder tree if it exists. */
  public static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  // ---------------------------------------------------------------- SMTP

  private volatile MailSink mail;

  private void startMail() {
    mail = MailSink.start(config.smtpPort(), config.home().resolve("mail"));
  }

  /** The SMTP server every alert email goes to; messages are also saved under home/mail/. */
  public MailSink mail() {
    return mail;
  }

  public int smtpPort() {
    return config.smtpPort();
  }

  // ---------------------------------------------------------------- PostgreSQL

  private void startPostgres() {
    try {
      Path dataDir = config.home().resolve("postgres/data");
      Files.createDirectories(dataDir.getParent());
      ProcessBuilder.Redirect log =
          ProcessBuilder.Redirect.appendTo(config.logDir().resolve("postgres.log").toFile());
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder();
      if (config.durable()) {
        // zonky runs PostgreSQL with fsync off; the run command's data should survive a crash.
        builder.setServerConfig("fsync", "on").setServerConfig("synchronous_commit", "on");
      }
      int walSegments = config.walSegments();
      if (walSegments > 0) {
        // segments past a checkpoint are recycled (renamed), not deleted, up to this size
        builder.setServerConfig("min_wal_size", walSegments * 16 + "MB");
      }
      builder
          .setPort(config.postgresPort())
          .setDataDirectory(dataDir)
          .setCleanDataDirectory(false)
          .setRegisterShutdownHook(false)
          .setServerConfig("listen_addresses", "127.0.0.1")
          .setServerConfig("max_connections", "200")
          .setOutputRedirector(log)
          .setErrorRedirector(log)
          .setPGStartupWait(Duration.ofSeconds(60));
      // KW_PG_SETTINGS last: they win over the stack's own
      config.postgresSettings().forEach(builder::setServerConfig);
      postgres = builder.start();
      postgresPid = readPostmasterPid(dataDir);
      try (Connection connection = postgres.getPostgresDatabase().getConnection();
          Statement statement = connection.createStatement()) {
        for (String db : DATABASES) {
          try (ResultSet rs =
              statement.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + db + "'")) {
            if (!rs.next()) {
              statement.execute("CREATE DATABASE " + db);
            }
          }
        }
        if (walSegments > 0) {
          long started = System.nanoTime();
          try {
            int made = prepareWal(connection, dataDir.resolve("pg_wal"), walSegments);
            if (made > 0) {
              LOG.info(
                  () ->
                      "PostgreSQL: made "
                          + made
                          + " WAL segments in advance in "
                          + (System.nanoTime() - started) / 1_000_000
                          + " ms (first start of this data folder)");
            }
          } catch (IOException | java.sql.SQLException e) {
            // only a latency matter: the server works without segments made in advance
            LOG.log(Level.WARNING, "PostgreSQL: WAL segments not made in advance", e);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("PostgreSQL did not start; see " + config.logDir(), e);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("cannot create the service databases", e);
    }
  }

  /**
   * Makes PostgreSQL's WAL segments in advance, so that no commit has to create one. A server that
   * has run through a checkpoint cycle renames used segments for reuse; a fresh one creates and
   * zero-fills each new 16 MiB segment (with fsync) inside whichever commit needs it first, and
   * every commit behind it waits. Measured on a fresh stack at 20,000 usage records/s: commits
   * stalled in WalSync / WalInitWrite for 36-250 ms at each segment switch. Switches to a new
   * segment until {@code pgWal} holds {@code segments} of them, then checkpoints, which turns them
   * into recycled ones ahead of the insert position (kept by {@code min_wal_size}).
   *
   * @return how many segments were made (0 when there were enough already)
   */
  static int prepareWal(Connection connection, Path pgWal, int segments)
      throws java.sql.SQLException, IOException {
    long present = walSegmentCount(pgWal);
    if (present >= segments) {
      return 0;
    }
    int make = (int) (segments - present);
    try (Statement statement = connection.createStatement()) {
      // a non-transactional message gives each switch something to switch away from
      statement.execute(
          "DO $$ BEGIN FOR i IN 1.."
              + make
              + " LOOP PERFORM pg_logical_emit_message(false, 'keywarden-wal', '');"
              + " PERFORM pg_switch_wal(); END LOOP; END $$");
      statement.execute("CHECKPOINT");
    }
    return make;
  }

  /** WAL segment files in {@code pgWal} (24 hex digits; not the history or status files). */
  static long walSegmentCount(Path pgWal) throws IOException {
    try (Stream<Path> files = Files.list(pgWal)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.matches("[0-9A-F]{24}"))
          .count();
    }
  }

  private static long readPostmasterPid(Path dataDir) {
    try {
      return Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  // ---------------------------------------------------------------- Kafka

  private void startKafka() {
    Path kafkaDir = config.home().resolve("kafka");
    Path dataDir = kafkaDir.resolve("data");
    Path libDir = config.dist().resolve("kafka-lib");
    if (!Files.isDirectory(libDir)) {
      throw new IllegalStateException(
          "Kafka class path missing at "
              + libDir
              + "; build it with ./mvnw -pl local-stack -am install");
    }
    try {
      Files.createDirectories(dataDir);
      Path properties = kafkaDir.resolve("server.properties");
      Files.writeString(properties, kafkaProperties(dataDir));
      Path log4j = kafkaDir.resolve("log4j2.properties");
      copyResource("/kafka/log4j2.properties", log4j);
      List<String> java =
          List.of(
              javaBin(),
              "-Xms128m",
              "-Xmx512m",
              "-XX:+UseG1GC",
              "-XX:MaxGCPauseMillis=20",
              "-Djava.awt.headless=true",
              "-Dlog4j2.configurationFile=" + log4j.toUri(),
              "-cp",
              libDir.toAbsolutePath() + "/*");
      Path log = config.logDir().resolve("kafka.log");
      if (!Files.exists(dataDir.resolve("meta.properties"))) {
        // KRaft storage is formatted once per data dir; --standalone makes this node the sole
        // voter.
        List<String> format = new ArrayList<>(java);
        format.addAll(
            List.of(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                Uuid.randomUuid().toString(),
                "-c",
                properties.toString()));
        ChildProcess formatter =
            ChildProcess.start("kafka-format", format, kafkaDir, Map.of(), log);
        if (!formatter.process().waitFor(120, TimeUnit.SECONDS)
            || formatter.process().exitValue() != 0) {
          formatter.stop(Duration.ofSeconds(1));
          throw new IllegalStateException(
              "formatting Kafka storage failed:\n" + formatter.tail(30));
        }
      }
      List<String> server = new ArrayList<>(java);
      server.addAll(List.of("kafka.Kafka", properties.toString()));
      kafka = ChildProcess.start("kafka", server, kafkaDir, Map.of(), log);
      createTopics();
    } catch (IOException e) {
      throw new UncheckedIOException("Kafka did not start; see " + config.logDir(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting Kafka", e);
    }
  }

  /**
   * Fault injection for tests: {@code kill -9} of the broker (no clean shutdown, as a crash). Start
   * it again with {@link #restartKafka()}.
   */
  public synchronized void killKafka() throws InterruptedException {
    ChildProcess k = kafka;
    if (k == null || !k.isAlive()) {
      return;
    }
    k.process().destroyForcibly();
    if (!k.process().waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("Kafka pid " + k.pid() + " did not die on SIGKILL");
    }
  }

  /**
   * Starts the broker again, same port and data (after {@link #killKafka()}); waits until ready.
   */
  public synchronized void restartKafka() {
    if (kafka != null && kafka.isAlive()) {
      throw new IllegalStateException("Kafka is still running (pid " + kafka.pid() + ")");
    }
    startKafka();
  }

  private String kafkaProperties(Path dataDir) {
    int port = config.kafkaPort();
    int controller = config.kafkaControllerPort();
    return String.join(
        "\n",
        "# written by LocalStack on every start",
        "process.roles=broker,controller",
        "node.id=1",
        "controller.quorum.bootstrap.servers=127.0.0.1:" + controller,
        "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
        // 127.0.0.1 rather than localhost: clients would otherwise try ::1 first.
        "advertised.listeners=PLAINTEXT://127.0.0.1:" + port,
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs=" + dataDir.toAbsolutePath(),
        "num.partitions=1",
        "auto.create.topics.enable=true",
        "offsets.topic.replication.factor=1",
        // Fewer partitions for the internal topics: a first consumer group joins faster.
        "offsets.topic.num.partitions=5",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=5",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "log.retention.hours=168",
        extraKafkaProperties());
  }

  /**
   * Broker settings added for experiments, e.g. KW_KAFKA_PROPERTIES="num.io.threads=1,
   * num.network.threads=1" (comma-separated; a later line wins over the defaults above).
   */
  static String extraKafkaProperties() {
    String extra = System.getenv("KW_KAFKA_PROPERTIES");
    if (extra == null || extra.isBlank()) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    for (String kv : extra.split(",")) {
      if (kv.contains("=")) {
        out.append(kv.trim()).append('\n');
      }
    }
    return out.toString();
  }

  private void createTopics() throws InterruptedException {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafkaBootstrap());
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000);
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    Exception last = null;
    try (Admin admin = Admin.create(props)) {
      while (System.nanoTime() < deadline) {
        if (!kafka.isAlive()) {
          throw new IllegalStateException("Kafka exited while starting:\n" + kafka.tail(40));
        }
        try {
          Set<String> existing = admin.listTopics().names().get(10, TimeUnit.SECONDS);
          List<NewTopic> missing = new ArrayList<>();
          TOPICS.forEach(
              (name, partitions) -> {
                if (!existing.contains(name)) {
                  missing.add(new NewTopic(name, partitions, (short) 1));
                }
              });
          if (!missing.isEmpty()) {
            admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
          }
          return;
        } catch (java.util.concurrent.ExecutionException
            | java.util.concurrent.TimeoutException e) {
          last = e;
          Thread.sleep(250);
        }
      }
    }
    throw new IllegalStateException(
        "Kafka not ready after "
            + START_TIMEOUT.toSeconds()
            + " s: "
            + last
            + "\n"
            + kafka.tail(40));
  }

  // ---------------------------------------------------------------- Keycloak

  private Path keycloakHome() {
    return config.home().resolve("keycloak-" + KEYCLOAK_VERSION);
  }

  private void startKeycloak() {
    Path kcHome = keycloakHome();
    try {
      KeycloakDistribution.installInto(kcHome, config.dist(), config.logDir());
      keycloak =
          KeycloakDistribution.launch(
              kcHome,
              config.keycloakPort(),
              config.keycloakManagementPort(),
              config.logDir().resolve("keycloak.log"));
      waitForHttp200(
          keycloak, KeycloakDistribution.wellKnownUrl(config.keycloakPort()), START_TIMEOUT);
      ensureAudience();
    } catch (IOException e) {
      throw new UncheckedIOException("Keycloak did not start; see " + config.logDir(), e);
    }
  }

  /** A realm imported before its clients had the services' audience mapper gets it now. */
  private void ensureAudience() {
    try {
      List<String> changed = KeycloakAudience.ensure(keycloakUrl(), REALM);
      if (!changed.isEmpty()) {
        LOG.info(
            "Keycloak: clients "
                + changed
                + " now put audience "
                + KeycloakAudience.AUDIENCE
                + " into their tokens (the services require it)");
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning(
          "Keycloak: could not check the clients' audience mapper ("
              + e.getMessage()
              + "); tokens without audience "
              + KeycloakAudience.AUDIENCE
              + " are refused by the services");
    }
  }

  // ---------------------------------------------------------------- services

  /**
   * Starts a packaged service ({@code <root>/<module>/target/quarkus-app}) and stops it with the
   * stack, before Keycloak, Kafka and PostgreSQL.
   */
  public ServiceProcess startService(
      String module, int port, Map<String, String> systemProperties) {
    if (!isFree(port)) {
      StackPort named = null;
      for (StackPort candidate : servicePorts()) {
        if (config.port(candidate) == port) {
          named = candidate;
        }
      }
      throw new IllegalStateException(
          "Port "
              + port
              + " ("
              + module
              + ") is already in use."
              + (named == null ? "" : " Choose another with " + named.envVar() + "=<port>."));
    }
    long begin = System.nanoTime();
    ServiceProcess service =
        ServiceProcess.start(config.root(), module, port, systemProperties, config.logDir());
    services.add(service);
    startTimes.put(module, Duration.ofNanos(System.nanoTime() - begin));
    return service;
  }

  // ---------------------------------------------------------------- helpers

  static void waitForHttp200(ChildProcess process, String url, Duration timeout) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build();
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            process.name()
                + " exited while starting ("
                + process.logFile()
                + "):\n"
                + process.tail(40));
      }
      try {
        HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() == 200) {
          return;
        }
        last = "HTTP " + response.statusCode();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for " + url, e);
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for " + url, e);
      }
    }
    throw new IllegalStateException(
        process.name()
            + " not ready after "
            + timeout.toSeconds()
            + " s ("
            + url
            + ": "
            + last
            + "); last lines of "
            + process.logFile()
            + ":\n"
            + process.tail(40));
  }

  private static void copyResource(String resource, Path target) throws IOException {
    try (InputStream in = LocalStack.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing class path resource " + resource);
      }
      Files.createDirectories(target.getParent());
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static void awaitExit(ProcessHandle process, Duration timeout) {
    try {
      process.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      process.destroyForcibly();
      try {
        process.onExit().get(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // nothing more we can do
      }
    }
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      // best effort
    }
  }

  // ---------------------------------------------------------------- accessors

  public StackConfig config() {
    return config;
  }

  public int postgresPort() {
    return config.postgresPort();
  }

  /** JDBC URL of one database, user {@code postgres} without password. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://localhost:"
        + config.postgresPort()
        + "/"
        + database
        + "?user=postgres";
  }

  public String kafkaBootstrap() {
    return "localhost:" + config.kafkaPort();
  }

  public String keycloakUrl() {
    return "http://localhost:" + config.keycloakPort();
  }

  /** OIDC issuer of realm keywarden; what services use as {@code quarkus.oidc.auth-server-url}. */
  public String issuer() {
    return keycloakUrl() + "/realms/" + REALM;
  }

  /** Start time of each part (postgres, kafka, keycloak, then each service), in start order. */
  public Map<String, Duration> startTimes() {
    synchronized (startTimes) {
      return Collections.unmodifiableMap(new LinkedHashMap<>(startTimes));
    }
  }

  /** Start time of each part in milliseconds, in the order the parts were started. */
  public Map<String, Long> startMillis() {
    Map<String, Long> millis = new LinkedHashMap<>();
    synchronized (startTimes) {
      startTimes.forEach((part, took) -> millis.put(part, took.toMillis()));
    }
    return millis;
  }

  /** Wall-clock time of {@link #start(StackConfig)} (the parts start in parallel). */
  public Duration totalStartTime() {
    return totalStartTime;
  }

  public List<ServiceProcess> services() {
    synchronized (services) {
      return List.copyOf(services);
    }
  }

  /**
   * Process ids of everything this stack started, by part (Keycloak's entry holds its launcher
   * script and the JVM): to check nothing outlives {@link #close()}.
   */
  public Map<String, Set<Long>> pids() {
    Map<String, Set<Long>> pids = new LinkedHashMap<>();
    if (postgresPid > 0) {
      pids.put("postgres", Set.of(postgresPid));
    }
    if (kafka != null) {
      pids.put("kafka", kafka.pids());
    }
    if (keycloak != null) {
      pids.put("keycloak", keycloak.pids());
    }
    for (ServiceProcess service : services()) {
      pids.put(service.name(), Set.of(service.pid()));
    }
    return pids;
  }

  /** Main process id of each part, for resident-memory readings. */
  public Map<String, Long> mainPids() {
    Map<String, Long> pids = new LinkedHashMap<>();
    pids.put("postgres", postgresPid);
    if (kafka != null) {
      pids.put("kafka", kafka.pid());
    }
    if (keycloak != null) {
      // kc.sh runs the JVM as its child; the JVM is what holds the memory.
      pids.put(
          "keycloak",
          keycloak
              .process()
              .descendants()
              .map(ProcessHandle::pid)
              .findFirst()
              .orElse(keycloak.pid()));
    }
    for (ServiceProcess service : services()) {
      pids.put(service.name(), service.pid());
    }
    return pids;
  }

  public Path home() {
    return config.home();
  }

  /** Stops the services, Keycloak, Kafka and PostgreSQL, in that order; safe to call twice. */
  @Override
  public synchronized void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException | IllegalArgumentException e) {
      // already shutting down, or never registered
    }
    List<ServiceProcess> running = new ArrayList<>(services());
    Collections.reverse(running);
    for (ServiceProcess service : running) {
      service.stop();
    }
    if (mail != null) {
      mail.close();
    }
    if (keycloak != null) {
      keycloak.stop(STOP_GRACE);
    }
    if (kafka != null) {
      kafka.stop(STOP_GRACE);
    }
    if (postgres != null) {
      try {
        postgres.close();
      } catch (IOException | RuntimeException e) {
        LOG.log(Level.WARNING, "PostgreSQL did not stop cleanly", e);
      }
      // pg_ctl stop returns when postmaster.pid is gone, a moment before the process exits.
      ProcessHandle.of(postgresPid).ifPresent(postmaster -> awaitExit(postmaster, STOP_GRACE));
    }
    try {
      lock.release();
    } catch (IOException e) {
      // the channel close below releases it too
    }
    closeQuietly(lockChannel);
  }
}
