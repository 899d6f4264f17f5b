package io.keywarden.stack;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.stack.testing.Tokens;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/**
 * The run command: {@code Main --root DIR [--fresh] [--no-services]}. Starts the stack and the
 * three services, credits the demo users, prints how to use it, and runs until Ctrl-C.
 */
public final class Main {
  private static final String WELCOME_CREDIT = "10.00";
  private static final Logger LOG = logManagerFirst();

  private Main() {}

  public static void main(String[] args) throws Exception {
    consoleLogging();
    Path root = null;
    boolean fresh = false;
    boolean services = true;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--root" -> root = Path.of(args[++i]);
        case "--fresh" -> fresh = true;
        case "--no-services" -> services = false;
        default -> {
          LOG.severe(
              "unknown argument " + args[i] + "; usage: Main --root DIR [--fresh] [--no-services]");
          System.exit(2);
        }
      }
    }
    StackConfig config;
    try {
      config = StackConfig.defaults(root == null ? StackConfig.findRoot() : root).withFresh(fresh);
      // a bad KW_PG_WAL_SEGMENTS or KW_PG_SETTINGS is named before anything starts
      config.walSegments();
      config.postgresSettings();
    } catch (IllegalArgumentException e) {
      LOG.severe("keywarden: " + e.getMessage()); // e.g. a port variable that is not a port
      System.exit(2);
      return;
    }
    long begin = System.nanoTime();
    LocalStack stack;
    try {
      if (services) {
        // Fail before starting anything if a service port is taken too.
        LocalStack.checkPortsFree(
            config,
            java.util.EnumSet.of(
                StackPort.KEY_SERVICE, StackPort.USAGE_SERVICE, StackPort.AUDIT_SERVICE));
      }
      LOG.info("Starting PostgreSQL, Kafka and Keycloak (home " + config.home() + ")...");
      stack = LocalStack.start(config);
    } catch (IllegalStateException e) {
      LOG.severe("keywarden: " + e.getMessage());
      System.exit(1);
      return;
    }
    // LocalStack's shutdown hook stops everything on Ctrl-C / SIGTERM; the latch keeps main alive.
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown, "keywarden-main-exit"));
    try {
      if (services) {
        startServices(stack);
        creditDemoUsers(stack);
      }
    } catch (RuntimeException e) {
      LOG.severe("keywarden: " + e.getMessage());
      stack.close();
      System.exit(1);
    }
    Duration total = Duration.ofNanos(System.nanoTime() - begin);
    LOG.info(summary(stack, services, total));
    stopped.await();
  }

  /** Chooses the log manager before the first logger exists, then gives this class its logger. */
  private static Logger logManagerFirst() {
    // quarkus-test-common puts JBoss LogManager on the class path; JUL complains unless it is set
    // before the first logger.
    if (System.getProperty("java.util.logging.manager") == null) {
      try {
        Class.forName("org.jboss.logmanager.LogManager", false, Main.class.getClassLoader());
        System.setProperty("java.util.logging.manager", "org.jboss.logmanager.LogManager");
      } catch (ClassNotFoundException e) {
        // plain JUL then
      }
    }
    return Logger.getLogger(Main.class.getName());
  }

  /**
   * The run command talks to its user through the stack's loggers: INFO and up, message only, on
   * standard output (warnings and errors carry their level).
   */
  private static void consoleLogging() {
    Formatter plain =
        new Formatter() {
          @Override
          public String format(LogRecord r) {
            String level =
                r.getLevel().intValue() >= Level.WARNING.intValue() ? r.getLevel() + ": " : "";
            return level + formatMessage(r) + System.lineSeparator();
          }
        };
    Handler console =
        new StreamHandler(System.out, plain) {
          @Override
          public synchronized void publish(LogRecord r) {
            super.publish(r);
            flush();
          }
        };
    console.setLevel(Level.INFO);
    Logger stackLoggers = Logger.getLogger("io.keywarden.stack");
    stackLoggers.setLevel(Level.INFO);
    stackLoggers.setUseParentHandlers(false);
    stackLoggers.addHandler(console);
  }

  private static void startServices(LocalStack stack) {
    StackConfig config = stack.config();
    String usageUrl = "http://localhost:" + config.usageServicePort();
    String keyUrl = "http://localhost:" + config.keyServicePort();
    LOG.info("Starting key-service, usage-service, audit-service...");
    // usage-service first: key-service calls it.
    stack.startService(
        "usage-service", config.usageServicePort(), serviceProperties(stack, Map.of()));
    stack.startService(
        "key-service",
        config.keyServicePort(),
        serviceProperties(stack, Map.of("kw.usage.base-url", usageUrl)));
    stack.startService(
        "audit-service",
        config.auditServicePort(),
        serviceProperties(
            stack,
            Map.of(
                "kw.key-service.url",
                keyUrl,
                "kw.smtp.host",
                "localhost",
                "kw.smtp.port",
                String.valueOf(stack.smtpPort()))));
  }

  private static Map<String, String> serviceProperties(
      LocalStack stack, Map<String, String> extra) {
    Map<String, String> props = new LinkedHashMap<>();
    props.put("kw.db.host", "localhost");
    props.put("kw.db.port", String.valueOf(stack.postgresPort()));
    props.put("kafka.bootstrap.servers", stack.kafkaBootstrap());
    props.put("kw.oidc.url", stack.issuer());
    // Also set directly, for a service whose application.properties does not map kw.oidc.url.
    props.put("quarkus.oidc.auth-server-url", stack.issuer());
    props.putAll(extra);
    return props;
  }

  /** Gives alice and bob $10 each so the walkthrough's first request has credit to spend. */
  private static void creditDemoUsers(LocalStack stack) {
    String issuer = stack.issuer();
    String usageUrl = "http://localhost:" + stack.config().usageServicePort();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    ObjectMapper json = new ObjectMapper();
    try {
      String admin = Tokens.password(issuer, "carol");
      for (String user : List.of("alice", "bob")) {
        String account = Tokens.subject(Tokens.password(issuer, user));
        String body =
            json.writeValueAsString(
                Map.of("amountUsd", WELCOME_CREDIT, "reference", "local-stack-welcome"));
        HttpRequest request =
            HttpRequest.newBuilder(
                    URI.create(usageUrl + "/api/admin/accounts/" + account + "/credits"))
                .timeout(Duration.ofSeconds(15))
                .header("Authorization", "Bearer " + admin)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
          LOG.warning(
              "crediting "
                  + user
                  + " failed: HTTP "
                  + response.statusCode()
                  + " "
                  + response.body());
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warning("could not credit the demo users: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static String summary(LocalStack stack, boolean services, Duration total) {
    StackConfig c = stack.config();
    String kc = stack.keycloakUrl();
    StringBuilder out = new StringBuilder();
    out.append("\n=== Keywarden local stack is up ===\n");
    if (services) {
      out.append(String.format("key-service     http://localhost:%d%n", c.keyServicePort()));
      out.append(String.format("usage-service   http://localhost:%d%n", c.usageServicePort()));
      out.append(String.format("audit-service   http://localhost:%d%n", c.auditServicePort()));
    }
    out.append(String.format("Keycloak        %s/admin/  (admin / admin)%n", kc));
    out.append(String.format("  issuer        %s%n", stack.issuer()));
    out.append(
        String.format(
            "  health        http://localhost:%d/health/ready%n", c.keycloakManagementPort()));
    out.append(String.format("Kafka           %s%n", stack.kafkaBootstrap()));
    out.append(
        String.format(
            "SMTP (mail)     localhost:%d  (alert emails, saved to %s)%n",
            stack.smtpPort(), stack.home().resolve("mail")));
    for (String db : LocalStack.DATABASES) {
      out.append(String.format("PostgreSQL      %s%n", stack.jdbcUrl(db)));
    }
    out.append(
        "\nDemo users (password = name): alice, bob (role user), carol (roles admin, user)\n");
    out.append("Clients: keywarden-cli (public, password grant)\n");
    out.append(
        "         keywarden-gateway / secret gateway-secret (client credentials, role gateway)\n");
    out.append(
        "         keywarden-audit   / secret audit-secret   (client credentials, role admin)\n");
    out.append("\nStart times:\n");
    stack
        .startMillis()
        .forEach((part, ms) -> out.append(String.format("  %-14s %6d ms%n", part, ms)));
    out.append(
        String.format("  %-14s %6d ms%n", "stack (parallel)", stack.totalStartTime().toMillis()));
    out.append(String.format("  %-14s %6d ms%n", "total", total.toMillis()));
    out.append("Logs: ").append(c.logDir()).append('\n');
    String tokenUrl = stack.issuer() + "/protocol/openid-connect/token";
    out.append("\nTry it:\n");
    out.append(
        "  TOKEN=$(curl -s -d grant_type=password -d client_id=keywarden-cli -d username=alice"
            + " -d password=alice "
            + tokenUrl
            + " | jq -r .access_token)\n");
    out.append("  # without jq:\n");
    out.append(
        "  TOKEN=$(curl -s -d grant_type=password -d client_id=keywarden-cli -d username=alice"
            + " -d password=alice "
            + tokenUrl
            + " | sed -E 's/.*\"access_token\":\"([^\"]*)\".*/\\1/')\n");
    if (services) {
      out.append(
          String.format(
              "  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json'"
                  + " -d '{\"name\":\"my laptop\",\"group\":\"default\"}'"
                  + " http://localhost:%d/api/keys%n",
              c.keyServicePort()));
      out.append("  # the answer holds the key's secret once; use it as an OpenAI-style key:\n");
      out.append(
          String.format(
              "  curl -s http://localhost:%d/v1/models -H \"Authorization: Bearer <secret>\"%n",
              c.usageServicePort()));
    }
    out.append("\nCtrl-C stops everything.\n");
    return out.toString();
  }
}
