package io.keywarden.stack.testing;

import io.keywarden.stack.LocalStack;
import io.keywarden.stack.StackConfig;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

/**
 * Quarkus test resource: one real local stack (PostgreSQL, Kafka, Keycloak) per test JVM, started
 * on first use and stopped, with its folder deleted, when the JVM exits. Use with
 * {@code @QuarkusTestResource(KeywardenStackResource.class)} or {@code @WithTestResource}.
 */
public class KeywardenStackResource implements QuarkusTestResourceLifecycleManager {
  private static LocalStack stack;

  /** The shared stack, started if needed. */
  public static synchronized LocalStack stack() {
    if (stack == null) {
      Path home =
          StackConfig.findRoot()
              .resolve(".keywarden-test")
              .resolve(
                  ProcessHandle.current().pid()
                      + "-"
                      + UUID.randomUUID().toString().substring(0, 8));
      LocalStack started = LocalStack.start(StackConfig.forTests(home));
      // Registered after LocalStack's own hook... hooks run concurrently, so close explicitly
      // first.
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    started.close();
                    try {
                      LocalStack.deleteRecursively(home);
                    } catch (IOException e) {
                      // a leftover test folder is harmless; it is under .keywarden-test
                    }
                  },
                  "keywarden-test-stack-cleanup"));
      stack = started;
    }
    return stack;
  }

  /** The properties a Keywarden service needs to use the stack. */
  public static Map<String, String> serviceProperties(LocalStack stack) {
    return Map.of(
        "kw.db.host", "localhost",
        "kw.db.port", String.valueOf(stack.postgresPort()),
        "kafka.bootstrap.servers", stack.kafkaBootstrap(),
        "kw.oidc.url", stack.issuer(),
        "quarkus.oidc.auth-server-url", stack.issuer());
  }

  @Override
  public Map<String, String> start() {
    return serviceProperties(stack());
  }

  @Override
  public void stop() {
    // The stack outlives each test class: starting it takes tens of seconds.
  }
}
