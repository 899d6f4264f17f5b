package io.keywarden.stack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The Keycloak server files. A first start-dev spends most of its time re-augmenting Quarkus and
 * importing the realm, so that is done once into a prepared copy under the dist folder; each home
 * then gets a copy of it (jars hard-linked) and starts in about the time of a warm start.
 */
final class KeycloakDistribution {
  static final String REALM_RESOURCE = "/keycloak/keywarden-realm.json";
  private static final String READY_MARKER = ".keywarden-prepared";
  private static final Duration PREPARE_TIMEOUT = Duration.ofSeconds(300);

  private KeycloakDistribution() {}

  /** Installs the prepared server into {@code kcHome} unless it is already there. */
  static void installInto(Path kcHome, Path dist, Path logDir) throws IOException {
    if (Files.exists(kcHome.resolve(READY_MARKER))) {
      return;
    }
    Path prepared = prepared(dist, logDir);
    LocalStack.deleteRecursively(kcHome);
    copyTree(prepared, kcHome);
  }

  /** Starts {@code kc.sh start-dev} on loopback with the realm import and health checks on. */
  static ChildProcess launch(Path kcHome, int httpPort, int managementPort, Path logFile)
      throws IOException {
    Path importDir = kcHome.resolve("data/import");
    Files.createDirectories(importDir);
    copyRealm(importDir.resolve("keywarden-realm.json"));
    List<String> command =
        List.of(
            kcHome.resolve("bin/kc.sh").toString(),
            "start-dev",
            "--import-realm",
            "--http-host=127.0.0.1",
            "--http-port=" + httpPort,
            "--http-management-port=" + managementPort,
            "--health-enabled=true",
            // Tokens name http://localhost:<port> whatever host the caller used.
            "--hostname=http://localhost:" + httpPort);
    Map<String, String> env = new LinkedHashMap<>();
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("KC_BOOTSTRAP_ADMIN_USERNAME", "admin");
    env.put("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin");
    return ChildProcess.start("keycloak", command, kcHome, env, logFile);
  }

  static String wellKnownUrl(int httpPort) {
    return "http://localhost:"
        + httpPort
        + "/realms/"
        + LocalStack.REALM
        + "/.well-known/openid-configuration";
  }

  /**
   * The prepared server for this Keycloak version and realm file, made once per dist folder (a
   * changed realm file gets a new one). Several JVMs may ask at once: a file lock serialises them.
   */
  private static synchronized Path prepared(Path dist, Path logDir) throws IOException {
    Path prepared =
        dist.resolve("keycloak-" + LocalStack.KEYCLOAK_VERSION + "-prepared-" + realmHash());
    if (Files.exists(prepared.resolve(READY_MARKER))) {
      return prepared;
    }
    Files.createDirectories(dist);
    try (FileChannel channel =
            FileChannel.open(
                dist.resolve(".keycloak-prepare.lock"),
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock ignored = channel.lock()) {
      if (Files.exists(prepared.resolve(READY_MARKER))) {
        return prepared; // another JVM made it while we waited
      }
      LocalStack.deleteRecursively(prepared);
      unzip(dist.resolve("keycloak-" + LocalStack.KEYCLOAK_VERSION + ".zip"), prepared);
      int[] ports = freePorts(2);
      ChildProcess server =
          launch(prepared, ports[0], ports[1], logDir.resolve("keycloak-prepare.log"));
      try {
        LocalStack.waitForHttp200(server, wellKnownUrl(ports[0]), PREPARE_TIMEOUT);
      } finally {
        server.stop(Duration.ofSeconds(30));
      }
      LocalStack.deleteRecursively(prepared.resolve("data/tmp"));
      Files.writeString(prepared.resolve(READY_MARKER), LocalStack.KEYCLOAK_VERSION);
      return prepared;
    }
  }

  private static String realmHash() {
    try (InputStream in = KeycloakDistribution.class.getResourceAsStream(REALM_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing class path resource " + REALM_RESOURCE);
      }
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(in.readAllBytes());
      return HexFormat.of().formatHex(digest, 0, 5);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void copyRealm(Path target) throws IOException {
    try (InputStream in = KeycloakDistribution.class.getResourceAsStream(REALM_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing class path resource " + REALM_RESOURCE);
      }
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static int[] freePorts(int count) throws IOException {
    ServerSocket[] sockets = new ServerSocket[count];
    int[] ports = new int[count];
    try {
      for (int i = 0; i < count; i++) {
        sockets[i] = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ports[i] = sockets[i].getLocalPort();
      }
    } finally {
      for (ServerSocket socket : sockets) {
        if (socket != null) {
          socket.close();
        }
      }
    }
    return ports;
  }

  /** Unpacks the zip's single top folder as {@code target}, keeping the scripts executable. */
  private static void unzip(Path zip, Path target) throws IOException {
    if (!Files.isRegularFile(zip)) {
      throw new IllegalStateException(
          "Keycloak distribution missing at "
              + zip
              + "; build it with ./mvnw -pl local-stack -am install");
    }
    try (ZipFile file = new ZipFile(zip.toFile())) {
      for (ZipEntry entry : Collections.list(file.entries())) {
        String name = entry.getName();
        int slash = name.indexOf('/');
        if (slash < 0 || slash == name.length() - 1) {
          continue; // the top folder itself
        }
        Path out = target.resolve(name.substring(slash + 1)).normalize();
        if (!out.startsWith(target)) {
          throw new IOException("zip entry outside target: " + name);
        }
        if (entry.isDirectory()) {
          Files.createDirectories(out);
          continue;
        }
        Files.createDirectories(out.getParent());
        try (InputStream in = file.getInputStream(entry)) {
          Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
        }
        if (out.getFileName().toString().endsWith(".sh")) {
          Set<PosixFilePermission> perms = new LinkedHashSet<>(Files.getPosixFilePermissions(out));
          perms.addAll(
              EnumSet.of(
                  PosixFilePermission.OWNER_EXECUTE,
                  PosixFilePermission.GROUP_EXECUTE,
                  PosixFilePermission.OTHERS_EXECUTE));
          Files.setPosixFilePermissions(out, perms);
        }
      }
    }
  }

  /**
   * Copies the prepared server; the jars under lib/lib are never written, so they are hard links
   * (160 MB less per home) where the file system allows it.
   */
  private static void copyTree(Path source, Path target) throws IOException {
    Path jars = source.resolve("lib/lib");
    try (Stream<Path> walk = Files.walk(source)) {
      for (Path from : walk.toList()) {
        Path to = target.resolve(source.relativize(from).toString());
        if (Files.isDirectory(from)) {
          Files.createDirectories(to);
        } else if (from.startsWith(jars)) {
          try {
            Files.createLink(to, from);
          } catch (FileSystemException | UnsupportedOperationException e) {
            Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
          }
        } else {
          Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }
}
