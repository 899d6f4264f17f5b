package io.keywarden.contracts;

/** Kafka topic names: the contract between the services (see ARCHITECTURE.md). */
public final class Topics {
  public static final String KEY_EVENTS = "keywarden.key-events";
  public static final String GROUPS = "keywarden.groups";
  public static final String USAGE_EVENTS = "keywarden.usage-events";
  public static final String KEY_ALERTS = "keywarden.key-alerts";

  /** Partition counts the local stack creates; docker-compose and the docs use the same. */
  public static final int KEY_EVENTS_PARTITIONS = 3;

  public static final int GROUPS_PARTITIONS = 1;
  public static final int USAGE_EVENTS_PARTITIONS = 3;
  public static final int KEY_ALERTS_PARTITIONS = 3;

  private Topics() {}
}
