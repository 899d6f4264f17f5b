package io.keywarden.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where the local stack keeps its files and which ports it uses. Immutable; the {@code with...}
 * methods return changed copies.
 */
public final class StackConfig {
  /** System property naming the folder with the Kafka class path and the Keycloak zip. */
  public static final String DIST_PROPERTY = "keywarden.stack.dist";

  /** System property naming the repository root (surefire sets it). */
  public static final String ROOT_PROPERTY = "keywarden.root";

  /** Environment variable (or system property) that moves the home folder. */
  public static final String HOME_ENV = "KW_HOME";

  private final Path root;
  private final Path home;
  private final Path dist;
  private final boolean fresh;
  private final boolean durable;
  private final Map<StackPort, Integer> ports;

  private StackConfig(
      Path root,
      Path home,
      Path dist,
      boolean fresh,
      boolean durable,
      Map<StackPort, Integer> ports) {
    this.root = root.toAbsolutePath().normalize();
    this.home = home.toAbsolutePath().normalize();
    this.dist = dist.toAbsolutePath().normalize();
    this.fresh = fresh;
    this.durable = durable;
    this.ports = new EnumMap<>(ports);
  }

  /**
   * The run command's configuration: home {@code <root>/.keywarden/} and the contract ports from
   * ARCHITECTURE.md, each overridable by its environment variable or system property.
   */
  public static StackConfig defaults(Path root) {
    Map<StackPort, Integer> ports = new EnumMap<>(StackPort.class);
    for (StackPort port : StackPort.values()) {
      String value = setting(port.envVar());
      ports.put(port, value == null ? port.defaultPort() : parsePort(port, value));
    }
    String home = setting(HOME_ENV);
    return new StackConfig(
        root,
        home == null ? root.resolve(".keywarden") : Path.of(home),
        distFor(root),
        false,
        true,
        ports);
  }

  /** For tests: home as given, every port a free ephemeral one, so runs never clash. */
  public static StackConfig forTests(Path home) {
    Path root = findRoot();
    Map<StackPort, Integer> ports = new EnumMap<>(StackPort.class);
    List<ServerSocket> held = new ArrayList<>();
    try {
      // Hold all sockets open until every port is picked, so the kernel hands out distinct ones.
      for (StackPort port : StackPort.values()) {
        ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        held.add(socket);
        ports.put(port, socket.getLocalPort());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot pick free ports", e);
    } finally {
      for (ServerSocket socket : held) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // only a probe
        }
      }
    }
    return new StackConfig(root, home, distFor(root), false, false, ports);
  }

  /**
   * The repository root: system property {@code keywarden.root}, else the nearest folder above the
   * working directory whose {@code pom.xml} lists the local-stack module.
   */
  public static Path findRoot() {
    String property = System.getProperty(ROOT_PROPERTY);
    if (property != null && !property.isBlank()) {
      return Path.of(property).toAbsolutePath().normalize();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path pom = dir.resolve("pom.xml");
      try {
        if (Files.isRegularFile(pom)
            && Files.readString(pom).contains("<module>local-stack</module>")) {
          return dir;
        }
      } catch (IOException e) {
        // unreadable pom: keep walking up
      }
    }
    throw new IllegalStateException(
        "cannot find the Keywarden repository root above "
            + Path.of("").toAbsolutePath()
            + "; set -D"
            + ROOT_PROPERTY
            + "=<repo>");
  }

  private static Path distFor(Path root) {
    String property = System.getProperty(DIST_PROPERTY);
    return property != null && !property.isBlank()
        ? Path.of(property)
        : root.resolve("local-stack/target/dist");
  }

  private static String setting(String name) {
    String value = System.getProperty(name);
    if (value == null || value.isBlank()) {
      value = System.getenv(name);
    }
    return value == null || value.isBlank() ? null : value.trim();
  }

  private static int parsePort(StackPort port, String value) {
    try {
      int parsed = Integer.parseInt(value);
      if (parsed > 0 && parsed < 65536) {
        return parsed;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        port.envVar() + "=" + value + " is not a port number (1-65535)");
  }

  public StackConfig withFresh(boolean fresh) {
    return new StackConfig(root, home, dist, fresh, durable, ports);
  }

  public StackConfig withHome(Path home) {
    return new StackConfig(root, home, dist, fresh, durable, ports);
  }

  public StackConfig withPort(StackPort port, int value) {
    Map<StackPort, Integer> changed = new EnumMap<>(ports);
    changed.put(port, value);
    return new StackConfig(root, home, dist, fresh, durable, changed);
  }

  public Path root() {
    return root;
  }

  public Path home() {
    return home;
  }

  /** Folder holding {@code kafka-lib/} and the Keycloak zip (built by the local-stack module). */
  public Path dist() {
    return dist;
  }

  /** Wipe the home folder's data before starting. */
  public boolean fresh() {
    return fresh;
  }

  /**
   * Whether PostgreSQL syncs to disk (fsync on). True for the run command, whose data should
   * survive a crash; false for tests, whose data is thrown away and which should be fast.
   */
  public boolean durable() {
    return durable;
  }

  /** Environment variable (or system property): WAL segments to keep ready, 0 = none. */
  public static final String WAL_SEGMENTS_ENV = "KW_PG_WAL_SEGMENTS";

  /**
   * How many 16 MiB WAL segments PostgreSQL keeps made in advance ({@code min_wal_size}) and makes
   * on the first start of its data folder: 64 (1 GiB) when durable, 0 for tests; {@value
   * #WAL_SEGMENTS_ENV} overrides it (0 turns it off). A fresh server otherwise creates and
   * zero-fills every new segment inside some commit, which then waits 40-250 ms on this kind of
   * disk (bench/usage-results.txt, session 7).
   */
  public int walSegments() {
    String value = setting(WAL_SEGMENTS_ENV);
    if (value == null) {
      return durable ? 64 : 0;
    }
    try {
      int parsed = Integer.parseInt(value);
      if (parsed >= 0 && parsed <= 1024) {
        return parsed;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        WAL_SEGMENTS_ENV + "=" + value + " is not a number of WAL segments (0-1024)");
  }

  /** Environment variable (or system property): extra PostgreSQL server settings. */
  public static final String PG_SETTINGS_ENV = "KW_PG_SETTINGS";

  private static final java.util.regex.Pattern PG_SETTING_NAME =
      java.util.regex.Pattern.compile("[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)?");

  /**
   * Extra PostgreSQL server settings from {@value #PG_SETTINGS_ENV}, {@code name=value} pairs
   * separated by {@code ;}, applied after the stack's own (so they win), e.g. to look inside a
   * benchmark: {@code
   * KW_PG_SETTINGS="shared_preload_libraries=pg_stat_statements,auto_explain;auto_explain.log_min_duration=20ms"}.
   * A setting PostgreSQL does not know stops it from starting, with its reason in postgres.log.
   */
  public java.util.Map<String, String> postgresSettings() {
    String value = setting(PG_SETTINGS_ENV);
    java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
    if (value == null) {
      return out;
    }
    for (String pair : value.split(";")) {
      if (pair.isBlank()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = eq < 0 ? "" : pair.substring(0, eq).trim().toLowerCase(java.util.Locale.ROOT);
      if (!PG_SETTING_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            PG_SETTINGS_ENV + ": '" + pair.trim() + "' is not name=value (pairs separated by ;)");
      }
      out.put(name, pair.substring(eq + 1).trim());
    }
    return out;
  }

  public StackConfig withDurable(boolean durable) {
    return new StackConfig(root, home, dist, fresh, durable, ports);
  }

  public int port(StackPort port) {
    return Objects.requireNonNull(ports.get(port), port.name());
  }

  public int postgresPort() {
    return port(StackPort.POSTGRES);
  }

  public int kafkaPort() {
    return port(StackPort.KAFKA);
  }

  public int kafkaControllerPort() {
    return port(StackPort.KAFKA_CONTROLLER);
  }

  public int keycloakPort() {
    return port(StackPort.KEYCLOAK);
  }

  public int keycloakManagementPort() {
    return port(StackPort.KEYCLOAK_MANAGEMENT);
  }

  public int smtpPort() {
    return port(StackPort.SMTP);
  }

  public int keyServicePort() {
    return port(StackPort.KEY_SERVICE);
  }

  public int usageServicePort() {
    return port(StackPort.USAGE_SERVICE);
  }

  public int auditServicePort() {
    return port(StackPort.AUDIT_SERVICE);
  }

  public Path logDir() {
    return home.resolve("logs");
  }

  @Override
  public String toString() {
    return "StackConfig{home=" + home + ", fresh=" + fresh + ", ports=" + ports + "}";
  }
}
