package io.keywarden.contracts.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.keywarden.contracts.events.EventCodec.MalformedEventException;
import java.nio.charset.StandardCharsets;

/**
 * Jazzer: {@link EventCodec#decode} on any record value either returns an event or throws {@link
 * MalformedEventException} (the consumer's dead-letter path); nothing else escapes. A decoded event
 * encodes and decodes back to an equal event. Seeds: {@code EventCodecFuzzTestsInputs}, one valid
 * event of each type among them.
 *
 * <p>To fuzz (one fuzz test per JVM; Jackson instrumented too, so the fuzzer sees its branches):
 *
 * <pre>
 * JAZZER_FUZZ=1 ./mvnw -pl contracts test -Dtest='EventCodecFuzzTests#decode' \
 *     -Djazzer.instrumentation_includes='io.keywarden.**:com.fasterxml.jackson.**'
 * </pre>
 *
 * A crashing input lands beside the seeds as {@code crash-<sha1>}: keep it (renamed) as a seed.
 */
class EventCodecFuzzTests {

  @FuzzTest(maxDuration = "5m")
  void decode(byte[] input) {
    String json = new String(input, StandardCharsets.UTF_8);
    CloudEvent<?> event;
    try {
      event = EventCodec.decode(json);
    } catch (MalformedEventException e) {
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    assertThat(event.specversion()).isEqualTo(CloudEvent.SPEC_VERSION);
    assertThat(event.id()).isNotBlank();
    assertThat(event.type()).isNotBlank();
    assertThat(event.source()).isNotBlank();
    assertThat(event.data()).isNotNull();
    String again = EventCodec.encode(event);
    assertThat(EventCodec.decode(again)).as("round trip of %s", again).isEqualTo(event);
  }
}
