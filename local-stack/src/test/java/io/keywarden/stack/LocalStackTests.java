package io.keywarden.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.keywarden.contracts.Topics;
import io.keywarden.stack.testing.Tokens;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Starts one real stack on ephemeral ports and checks what services and tests rely on. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalStackTests {
  private static Path home;
  private static LocalStack stack;

  @BeforeAll
  static void startStack() {
    home =
        StackConfig.findRoot()
            .resolve(".keywarden-test")
            .resolve("local-stack-tests-" + UUID.randomUUID().toString().substring(0, 8));
    stack = LocalStack.start(StackConfig.forTests(home));
    System.out.println(
        "LocalStackTests: start times "
            + stack.startMillis()
            + ", total "
            + stack.totalStartTime().toMillis()
            + " ms");
    stack
        .mainPids()
        .forEach(
            (part, pid) ->
                System.out.println("LocalStackTests: " + part + " pid " + pid + " " + vmRss(pid)));
  }

  @AfterAll
  static void cleanUp() throws Exception {
    if (stack != null) {
      stack.close();
    }
    LocalStack.deleteRecursively(home);
  }

  private static String vmRss(long pid) {
    try {
      return Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status")).stream()
          .filter(line -> line.startsWith("VmRSS"))
          .findFirst()
          .orElse("VmRSS ?");
    } catch (Exception e) {
      return "VmRSS ?";
    }
  }

  @Test
  @Order(1)
  void everyServiceDatabaseAcceptsConnections() throws Exception {
    for (String db : List.of("keyservice", "usageservice", "auditservice")) {
      try (Connection connection = DriverManager.getConnection(stack.jdbcUrl(db));
          Statement statement = connection.createStatement();
          ResultSet rs = statement.executeQuery("SELECT current_database(), version()")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo(db);
        assertThat(rs.getString(2)).startsWith("PostgreSQL 17");
      }
    }
  }

  @Test
  @Order(2)
  void keyEventsTopicHasThreePartitionsAndCarriesRecords() throws Exception {
    Properties admin = new Properties();
    admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    try (Admin client = Admin.create(admin)) {
      var topics =
          client
              .describeTopics(
                  List.of(Topics.KEY_EVENTS, Topics.GROUPS, Topics.USAGE_EVENTS, Topics.KEY_ALERTS))
              .allTopicNames()
              .get();
      assertThat(topics.get(Topics.KEY_EVENTS).partitions())
          .hasSize(Topics.KEY_EVENTS_PARTITIONS)
          .hasSize(3);
      assertThat(topics.get(Topics.GROUPS).partitions()).hasSize(Topics.GROUPS_PARTITIONS);
      assertThat(topics.get(Topics.USAGE_EVENTS).partitions())
          .hasSize(Topics.USAGE_EVENTS_PARTITIONS);
      assertThat(topics.get(Topics.KEY_ALERTS).partitions()).hasSize(Topics.KEY_ALERTS_PARTITIONS);
    }

    String key = "key-" + UUID.randomUUID();
    Properties producerProps = new Properties();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>(Topics.KEY_EVENTS, key, "{\"type\":\"created\"}")).get();
    }

    Properties consumerProps = new Properties();
    consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBootstrap());
    consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "local-stack-tests-" + UUID.randomUUID());
    consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<ConsumerRecord<String, String>> received = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(consumerProps, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(Topics.KEY_EVENTS));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (received.stream().noneMatch(r -> r.key().equals(key))
          && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(500)).forEach(received::add);
      }
    }
    assertThat(received)
        .anySatisfy(
            record -> {
              assertThat(record.key()).isEqualTo(key);
              assertThat(record.value()).isEqualTo("{\"type\":\"created\"}");
            });
  }

  @Test
  @Order(3)
  void tokensCarryTheRealmRolesServicesCheck() {
    String alice = Tokens.password(stack.issuer(), "alice");
    String carol = Tokens.password(stack.issuer(), "carol");
    String gateway =
        Tokens.clientCredentials(stack.issuer(), "keywarden-gateway", "gateway-secret");

    assertThat(roles(alice)).contains("user").doesNotContain("admin");
    assertThat(roles(carol)).contains("admin", "user");
    assertThat(roles(gateway)).contains("gateway");
    assertThat(Tokens.claims(alice).path("iss").asText()).isEqualTo(stack.issuer());
    assertThat(Tokens.subject(alice)).isNotBlank().isNotEqualTo(Tokens.subject(carol));
    // cached: the same token comes back without asking Keycloak again
    assertThat(Tokens.password(stack.issuer(), "alice")).isEqualTo(alice);
  }

  @Test
  @Order(3)
  void aRealmImportedBeforeTheAudienceMapperGetsItOnStart() throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    String kc = stack.keycloakUrl();
    String admin = KeycloakAudience.adminToken(http, kc);
    String clients = kc + "/admin/realms/" + LocalStack.REALM + "/clients";
    // as in a realm an older version imported: keywarden-cli without the mapper
    JsonNode cli =
        KeycloakAudience.send(http, adminGet(clients + "?clientId=keywarden-cli", admin)).get(0);
    for (JsonNode m : cli.path("protocolMappers")) {
      if (m.path("name").asText().equals(KeycloakAudience.MAPPER_NAME)) {
        var delete =
            java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(
                        clients
                            + "/"
                            + cli.path("id").asText()
                            + "/protocol-mappers/models/"
                            + m.path("id").asText()))
                .header("Authorization", "Bearer " + admin)
                .DELETE()
                .build();
        assertThat(KeycloakAudience.call(http, delete).statusCode()).isEqualTo(204);
      }
    }
    assertThat(audience(http, kc)).doesNotContain(KeycloakAudience.AUDIENCE);

    assertThat(KeycloakAudience.ensure(kc, LocalStack.REALM)).containsExactly("keywarden-cli");
    assertThat(audience(http, kc)).contains(KeycloakAudience.AUDIENCE);
    assertThat(KeycloakAudience.ensure(kc, LocalStack.REALM)).isEmpty();
  }

  private static java.net.http.HttpRequest adminGet(String url, String token) {
    return java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
        .header("Authorization", "Bearer " + token)
        .GET()
        .build();
  }

  /** The aud claim of a new (not cached) token alice gets through keywarden-cli. */
  private static String audience(java.net.http.HttpClient http, String kc) throws Exception {
    var grant =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(
                    kc + "/realms/" + LocalStack.REALM + "/protocol/openid-connect/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(
                java.net.http.HttpRequest.BodyPublishers.ofString(
                    "grant_type=password&client_id=keywarden-cli&username=alice&password=alice"))
            .build();
    String token = KeycloakAudience.send(http, grant).path("access_token").asText();
    return Tokens.claims(token).path("aud").toString();
  }

  @Test
  @Order(4)
  void smtpSinkAcceptsMailAndSavesIt() throws Exception {
    com.icegreen.greenmail.util.GreenMailUtil.sendTextEmail(
        "alice@example.com",
        "keywarden-audit@localhost",
        "stale key",
        "your key is stale",
        new com.icegreen.greenmail.util.ServerSetup(stack.smtpPort(), "127.0.0.1", "smtp"));
    assertThat(stack.mail().messages()).hasSize(1);
    assertThat(stack.mail().messages().get(0).getSubject()).isEqualTo("stale key");
    java.nio.file.Path saved = stack.home().resolve("mail/1.eml");
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(5))
        .until(() -> java.nio.file.Files.exists(saved));
    assertThat(java.nio.file.Files.readString(saved)).contains("your key is stale");
  }

  @Test
  @Order(4)
  void wrongPasswordIsRefused() {
    assertThatThrownBy(() -> Tokens.password(stack.issuer(), "alice", "not-alice"))
        .isInstanceOf(Tokens.TokenRefused.class)
        .hasMessageContaining("invalid_grant")
        .satisfies(e -> assertThat(((Tokens.TokenRefused) e).status()).isIn(400, 401));
  }

  @Test
  @Order(5)
  void secondStackOnTheSameHomeFailsAtOnce() {
    long begin = System.nanoTime();
    assertThatThrownBy(() -> LocalStack.start(stack.config()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already running")
        .hasMessageContaining(home.toString());
    assertThat(Duration.ofNanos(System.nanoTime() - begin)).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  @Order(6)
  void busyPortIsNamedWithTheVariableThatMovesIt() throws Exception {
    Path otherHome = home.resolveSibling(home.getFileName() + "-busy");
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      StackConfig config =
          StackConfig.forTests(otherHome).withPort(StackPort.KAFKA, busy.getLocalPort());
      assertThatThrownBy(() -> LocalStack.start(config))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("Port " + busy.getLocalPort())
          .hasMessageContaining("KW_KAFKA_PORT");
    } finally {
      LocalStack.deleteRecursively(otherHome);
    }
    // nothing was started for the refused stack
    assertThat(Files.exists(otherHome.resolve("postgres"))).isFalse();
  }

  @Test
  @Order(7)
  void walSegmentsAreMadeAheadOfTheInsertPositionOnce() throws Exception {
    Path pgWal = home.resolve("postgres/data/pg_wal");
    try (Connection connection = DriverManager.getConnection(stack.jdbcUrl("postgres"));
        Statement statement = connection.createStatement()) {
      // the test stack keeps PostgreSQL's default min_wal_size (80 MB); the run command sets it
      statement.execute("ALTER SYSTEM SET min_wal_size = '256MB'");
      statement.execute("SELECT pg_reload_conf()");
      long before = LocalStack.walSegmentCount(pgWal);
      int target = (int) before + 4;

      assertThat(LocalStack.prepareWal(connection, pgWal, target)).isEqualTo(4);

      assertThat(LocalStack.walSegmentCount(pgWal)).isGreaterThanOrEqualTo(target);
      String current;
      try (ResultSet rs = statement.executeQuery("SELECT pg_walfile_name(pg_current_wal_lsn())")) {
        assertThat(rs.next()).isTrue();
        current = rs.getString(1);
      }
      // the made segments wait ahead of the insert position (recycled), so no commit creates one
      try (var files = Files.list(pgWal)) {
        assertThat(files.map(p -> p.getFileName().toString()))
            .filteredOn(name -> name.matches("[0-9A-F]{24}") && name.compareTo(current) > 0)
            .hasSizeGreaterThanOrEqualTo(3);
      }
      // a second start of the same data folder makes none
      assertThat(LocalStack.prepareWal(connection, pgWal, target)).isZero();
      statement.execute("ALTER SYSTEM RESET min_wal_size");
      statement.execute("SELECT pg_reload_conf()");
    }
  }

  @Test
  @Order(8)
  void closeLeavesNoChildProcessAlive() {
    Set<Long> pids = new HashSet<>();
    Map<String, Set<Long>> byPart = stack.pids();
    assertThat(byPart).containsKeys("postgres", "kafka", "keycloak");
    byPart.values().forEach(pids::addAll);
    assertThat(pids).allSatisfy(pid -> assertThat(ProcessHandle.of(pid)).isPresent());

    stack.close();

    assertThat(pids)
        .allSatisfy(
            pid ->
                assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive))
                    .as("process %d still alive", pid)
                    .isEmpty());
    assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)).isEmpty();
  }

  private static List<String> roles(String token) {
    JsonNode roles = Tokens.claims(token).path("realm_access").path("roles");
    List<String> names = new ArrayList<>();
    roles.forEach(role -> names.add(role.asText()));
    return names;
  }
}
