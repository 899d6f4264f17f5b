package io.keywarden.contracts.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class EventCodecTests {
  static final Instant T = Instant.parse("2026-11-23T10:15:30.123Z");

  static KeySnapshot key(KeyStatus status) {
    return new KeySnapshot(
        "0b9a3c0e-8f7e-4d0a-9a55-3f1f0a2b7c11",
        "alice-sub",
        "codex laptop",
        "default",
        status,
        "ab".repeat(32),
        "sk-kw-Ab3d…x9Qz",
        false,
        "cd".repeat(32),
        T.plusSeconds(3600),
        List.of("10.0.0.0/8", "2001:db8::/32"),
        5_000_000L,
        QuotaReset.MONTHLY,
        new RateLimit(60, 100_000, 4),
        T.plusSeconds(86_400),
        T,
        T,
        T,
        7L);
  }

  static Stream<CloudEvent<?>> everyEventType() {
    Stream<CloudEvent<?>> keyEvents =
        Stream.of(KeyEventType.values())
            .map(t -> CloudEvent.of(t.type(), "/key-service", "k1", T, key(KeyStatus.ACTIVE)));
    return Stream.concat(
        keyEvents,
        Stream.of(
            CloudEvent.of(
                GroupSnapshot.TYPE,
                "/key-service",
                "default",
                T,
                new GroupSnapshot(
                    "default",
                    "Default plan",
                    true,
                    false,
                    List.of(new ModelPrice("gpt-5.5", "keywarden", 1_250_000L, 10_000_000L)),
                    T,
                    T,
                    3L)),
            CloudEvent.of(
                UsageRecorded.TYPE,
                "/usage-service",
                "k1",
                T,
                new UsageRecorded(
                    "k1",
                    "alice",
                    T,
                    T.plusSeconds(60),
                    12,
                    Map.of("RATE_LIMITED", 2L),
                    340L,
                    1000,
                    200,
                    2,
                    1,
                    T.plusSeconds(59),
                    "203.0.113.9",
                    9_000L)),
            CloudEvent.of(
                UsageDenied.TYPE,
                "/usage-service",
                "k1",
                T,
                new UsageDenied("k1", "alice", "LEAKED", "203.0.113.9", "curl/8", T)),
            CloudEvent.of(
                QuotaThreshold.TYPE,
                "/usage-service",
                "k1",
                T,
                new QuotaThreshold("k1", "alice", "key", 80, 800, 1000, "2026-11", T)),
            CloudEvent.of(
                QuotaThreshold.EXHAUSTED,
                "/usage-service",
                "k1",
                T,
                new QuotaThreshold("k1", "alice", "account", 100, 1000, 1000, "none", T)),
            CloudEvent.of(
                KeyAlert.TYPE,
                "/audit-service",
                "k1",
                T,
                new KeyAlert(
                    "f1", "k1", "alice", "codex", "NEVER_USED", "2026-11-23", "m", "a", T))));
  }

  @ParameterizedTest
  @MethodSource("everyEventType")
  void everyEventTypeRoundTripsThroughJson(CloudEvent<?> event) {
    String json = EventCodec.encode(event);
    CloudEvent<?> back = EventCodec.decode(json);
    assertThat(back).isEqualTo(event);
    assertThat(json).contains("\"specversion\":\"1.0\"").contains("\"type\":\"" + event.type());
  }

  @ParameterizedTest
  @MethodSource("everyEventType")
  void eventsAreReadableByAnOlderConsumerThatIgnoresNewFields(CloudEvent<?> event) {
    String json = EventCodec.encode(event).replaceFirst("\\{", "{\"newAttribute\":1,");
    assertThat(EventCodec.decode(json)).isEqualTo(event);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "not json",
        "[]",
        "{}",
        "{\"id\":\"1\",\"type\":\"keywarden.key.exploded\",\"source\":\"s\",\"specversion\":\"1.0\",\"data\":{}}",
        "{\"id\":\"1\",\"type\":\"keywarden.key.created\",\"source\":\"s\",\"specversion\":\"1.0\"}",
        "{\"id\":\"1\",\"type\":\"keywarden.key.created\",\"source\":\"s\",\"specversion\":\"1.0\",\"data\":{\"status\":\"weird\"}}"
      })
  void poisonRecordsAreRejectedWithAMalformedEventException(String json) {
    assertThatThrownBy(() -> EventCodec.decode(json))
        .isInstanceOf(EventCodec.MalformedEventException.class);
  }

  /** Found while fuzzing: the reader took the first JSON value and ignored what followed. */
  @ParameterizedTest
  @MethodSource("everyEventType")
  void aRecordWithTrailingJunkOrADuplicateMemberIsPoison(CloudEvent<?> event) {
    String json = EventCodec.encode(event);
    assertThatThrownBy(() -> EventCodec.decode(json + " junk"))
        .isInstanceOf(EventCodec.MalformedEventException.class)
        .hasMessageStartingWith("not JSON");
    assertThatThrownBy(() -> EventCodec.decode(json + json))
        .isInstanceOf(EventCodec.MalformedEventException.class);
    String twoTypes = json.replaceFirst("\\{", "{\"type\":\"keywarden.usage.denied\",");
    assertThatThrownBy(() -> EventCodec.decode(twoTypes))
        .isInstanceOf(EventCodec.MalformedEventException.class)
        .hasMessageContaining("type");
    // white space after the value is still fine
    assertThat(EventCodec.decode(json + " \n")).isEqualTo(event);
  }

  @org.junit.jupiter.api.Test
  void keyEventsNeverCarryASecretField() {
    String json = EventCodec.encode(everyEventType().findFirst().orElseThrow());
    assertThat(json).doesNotContain("secret").contains("keyHash");
  }
}
