package io.keywarden.stack;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.Topics;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/** docker-compose.yml must describe the same topology as LocalStack (no Docker needed to check). */
class DockerComposeTests {
  private static Map<String, Object> compose;
  private static Map<String, Map<String, Object>> services;

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void parse() throws Exception {
    Path file = StackConfig.findRoot().resolve("docker-compose.yml");
    try (Reader reader = Files.newBufferedReader(file)) {
      compose = new Yaml().load(reader);
    }
    services = (Map<String, Map<String, Object>>) compose.get("services");
  }

  @Test
  void publishesTheContractPorts() {
    String ports = String.valueOf(services.values().stream().map(s -> s.get("ports")).toList());
    for (String port : List.of("5433:", "9092:", "8180:", "8081:", "8082:", "8083:")) {
      assertThat(ports).contains(port);
    }
  }

  @Test
  void keycloakImportsTheRealmFileLocalStackUses() {
    String volumes = String.valueOf(services.get("keycloak").get("volumes"));
    assertThat(volumes).contains("./" + LocalStack.REALM_FILE + ":/opt/keycloak/data/import/");
    assertThat(StackConfig.findRoot().resolve(LocalStack.REALM_FILE)).isRegularFile();
  }

  @Test
  void kafkaInitCreatesTheContractTopics() {
    String init = String.valueOf(services.get("kafka-init"));
    Map<String, Integer> expected =
        Map.of(
            Topics.KEY_EVENTS, Topics.KEY_EVENTS_PARTITIONS,
            Topics.GROUPS, Topics.GROUPS_PARTITIONS,
            Topics.USAGE_EVENTS, Topics.USAGE_EVENTS_PARTITIONS,
            Topics.KEY_ALERTS, Topics.KEY_ALERTS_PARTITIONS);
    assertThat(expected).isEqualTo(LocalStack.TOPICS);
    expected.forEach(
        (topic, partitions) -> {
          Matcher m =
              Pattern.compile("--topic\\s+" + Pattern.quote(topic) + "\\s+--partitions\\s+(\\d+)")
                  .matcher(init);
          assertThat(m.find()).as("kafka-init creates %s", topic).isTrue();
          assertThat(Integer.parseInt(m.group(1)))
              .as("partitions of %s", topic)
              .isEqualTo(partitions);
        });
  }

  @Test
  void postgresCreatesTheThreeServiceDatabases() throws Exception {
    String sql =
        Files.readString(
            StackConfig.findRoot().resolve("local-stack/src/main/docker/init-databases.sql"));
    for (String db : LocalStack.DATABASES) {
      assertThat(sql).containsIgnoringCase("CREATE DATABASE " + db);
    }
    assertThat(String.valueOf(services.get("postgres").get("volumes")))
        .contains("./local-stack/src/main/docker/init-databases.sql:/docker-entrypoint-initdb.d/");
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyServiceHasAHealthcheckAndWaitsForHealthyDependencies() {
    services.forEach(
        (name, service) -> {
          if (name.equals("kafka-init")) {
            // a one-shot job: others wait for it to complete, it has nothing to report
            return;
          }
          assertThat(service).as("%s healthcheck", name).containsKey("healthcheck");
          Object dependsOn = service.get("depends_on");
          if (dependsOn != null) {
            assertThat(dependsOn).as("%s depends_on", name).isInstanceOf(Map.class);
            ((Map<String, Map<String, Object>>) dependsOn)
                .forEach(
                    (dependency, condition) ->
                        assertThat(condition.get("condition"))
                            .as("%s waits for %s", name, dependency)
                            .isIn("service_healthy", "service_completed_successfully"));
          }
        });
    for (String app : List.of("key-service", "usage-service", "audit-service")) {
      Map<String, Object> service = services.get(app);
      assertThat(String.valueOf(service.get("healthcheck"))).contains("/q/health/ready");
      Map<String, Map<String, Object>> dependsOn =
          (Map<String, Map<String, Object>>) service.get("depends_on");
      assertThat(dependsOn).containsKeys("postgres", "kafka", "keycloak");
      assertThat(dependsOn.get("postgres").get("condition")).isEqualTo("service_healthy");
      assertThat(dependsOn.get("keycloak").get("condition")).isEqualTo("service_healthy");
      Map<String, Object> build = (Map<String, Object>) service.get("build");
      Path dockerfile =
          StackConfig.findRoot()
              .resolve(String.valueOf(build.get("context")))
              .resolve(String.valueOf(build.get("dockerfile")))
              .normalize();
      assertThat(dockerfile)
          .isEqualTo(StackConfig.findRoot().resolve(app + "/src/main/docker/Dockerfile.jvm"))
          .isRegularFile();
    }
  }
}
