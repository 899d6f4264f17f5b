package io.keywarden.stack;

/** Every port the local stack listens on, with its default and the variable that moves it. */
public enum StackPort {
  POSTGRES("PostgreSQL", "KW_PG_PORT", 5433),
  KAFKA("Kafka", "KW_KAFKA_PORT", 9092),
  KAFKA_CONTROLLER("Kafka controller", "KW_KAFKA_CONTROLLER_PORT", 9093),
  KEYCLOAK("Keycloak", "KW_KEYCLOAK_PORT", 8180),
  KEYCLOAK_MANAGEMENT("Keycloak management (health)", "KW_KEYCLOAK_MANAGEMENT_PORT", 9180),
  SMTP("SMTP (mail sink)", "KW_SMTP_PORT", 2525),
  KEY_SERVICE("key-service", "KW_KEY_SERVICE_PORT", 8081),
  USAGE_SERVICE("usage-service", "KW_USAGE_SERVICE_PORT", 8082),
  AUDIT_SERVICE("audit-service", "KW_AUDIT_SERVICE_PORT", 8083);

  private final String label;
  private final String envVar;
  private final int defaultPort;

  StackPort(String label, String envVar, int defaultPort) {
    this.label = label;
    this.envVar = envVar;
    this.defaultPort = defaultPort;
  }

  /** What listens on this port, for messages. */
  public String label() {
    return label;
  }

  /** Environment variable (or system property of the same name) that overrides the default. */
  public String envVar() {
    return envVar;
  }

  public int defaultPort() {
    return defaultPort;
  }

  /** True for the three Keywarden services, which the stack itself does not start. */
  public boolean isService() {
    return this == KEY_SERVICE || this == USAGE_SERVICE || this == AUDIT_SERVICE;
  }
}
