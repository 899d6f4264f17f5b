package io.keywarden.contracts.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.keywarden.contracts.events.EventCodec.MalformedEventException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/** jqwik: any JSON record is an event or a MalformedEventException; events round-trip. */
class EventCodecPropertyTests {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  /** Names the codec and the payload records read, so generated objects hit real fields. */
  private static final List<String> NAMES =
      List.of(
          "specversion",
          "id",
          "type",
          "source",
          "time",
          "subject",
          "datacontenttype",
          "data",
          "keyId",
          "account",
          "status",
          "quotaMicros",
          "quotaReset",
          "rateLimit",
          "allowedIps",
          "expiresAt",
          "version",
          "requests",
          "denials",
          "windowStart",
          "models",
          "percent",
          "requestsPerMinute",
          "inputMicrosPerMillion",
          "custom",
          "x");

  private static final List<String> TYPES =
      List.of(
          KeyEventType.CREATED.type(),
          KeyEventType.LEAKED.type(),
          GroupSnapshot.TYPE,
          UsageRecorded.TYPE,
          UsageDenied.TYPE,
          QuotaThreshold.TYPE,
          QuotaThreshold.EXHAUSTED,
          KeyAlert.TYPE);

  /** Any JSON value at all: decode answers with an event or the documented exception. */
  @Property(tries = 3000)
  void anyJsonIsAnEventOrMalformed(@ForAll("json") JsonNode json) {
    decodeOrMalformed(json.toString());
  }

  /** A valid envelope of a known type with any data: an event that round-trips, or malformed. */
  @Property(tries = 3000)
  void anyDataUnderAKnownTypeIsAnEventOrMalformed(
      @ForAll("types") String type, @ForAll("json") JsonNode data, @ForAll("json") JsonNode time) {
    ObjectNode o = F.objectNode();
    o.put("specversion", "1.0").put("id", "e1").put("type", type).put("source", "/test");
    o.set("time", time);
    o.set("data", data);
    decodeOrMalformed(o.toString());
    // the property must reach both answers, or it proves little
    Statistics.coverage(
        c -> {
          c.check("event").percentage(p -> p > 1);
          c.check("malformed").percentage(p -> p > 10);
        });
  }

  /** Every usage roll-up, however extreme its numbers and times, encodes and decodes to itself. */
  @Property(tries = 1000)
  void usageEventsRoundTrip(@ForAll("usage") UsageRecorded usage, @ForAll("instants") Instant t) {
    CloudEvent<UsageRecorded> e = CloudEvent.of(UsageRecorded.TYPE, "/usage", "k1", t, usage);
    assertThat(EventCodec.decode(EventCodec.encode(e))).isEqualTo(e);
  }

  private static void decodeOrMalformed(String text) {
    CloudEvent<?> event;
    try {
      event = EventCodec.decode(text);
    } catch (MalformedEventException expected) {
      assertThat(expected.getMessage()).isNotBlank();
      Statistics.collect("malformed");
      return;
    }
    Statistics.collect("event");
    assertThat(event.data()).isNotNull();
    assertThat(EventCodec.decode(EventCodec.encode(event))).as(text).isEqualTo(event);
  }

  @Provide
  Arbitrary<String> types() {
    return Arbitraries.of(TYPES);
  }

  @Provide
  Arbitrary<JsonNode> json() {
    return Arbitraries.recursive(this::scalar, this::containing, 0, 3);
  }

  /** A value one level deeper: the inner value itself, or an array or object of such values. */
  private Arbitrary<JsonNode> containing(Arbitrary<JsonNode> inner) {
    return Arbitraries.oneOf(
        inner,
        inner.list().ofMaxSize(4).map(l -> F.arrayNode().addAll(l)),
        Arbitraries.maps(Arbitraries.of(NAMES), inner)
            .ofMaxSize(6)
            .map(m -> (JsonNode) F.objectNode().setAll(m)));
  }

  private Arbitrary<JsonNode> scalar() {
    return Arbitraries.oneOf(
        Arbitraries.just(F.nullNode()),
        Arbitraries.of(true, false).map(F::booleanNode),
        Arbitraries.longs().map(F::numberNode),
        Arbitraries.doubles().map(F::numberNode),
        Arbitraries.bigDecimals().map(F::numberNode),
        Arbitraries.of(
                "1.0",
                "ACTIVE",
                "LEAKED",
                "MONTHLY",
                "2026-11-23T10:15:30Z",
                "+1000000000-12-31T23:59:59.999999999Z",
                "-1000000000-01-01T00:00:00Z",
                "",
                "12.50",
                "1e400")
            .map(F::textNode),
        Arbitraries.strings().ofMaxLength(12).map(F::textNode));
  }

  @Provide
  Arbitrary<Instant> instants() {
    return Arbitraries.oneOf(
        Arbitraries.longs()
            .between(Instant.MIN.getEpochSecond(), Instant.MAX.getEpochSecond())
            .flatMap(
                s ->
                    Arbitraries.integers()
                        .between(0, 999_999_999)
                        .map(n -> Instant.ofEpochSecond(s, n))),
        Arbitraries.of(Instant.MIN, Instant.MAX, Instant.EPOCH));
  }

  @Provide
  Arbitrary<UsageRecorded> usage() {
    Arbitrary<String> text = Arbitraries.strings().ofMaxLength(20);
    Arbitrary<Long> n = Arbitraries.longs();
    Arbitrary<Integer> i = Arbitraries.integers();
    Arbitrary<Instant> t = instants();
    Arbitrary<Map<String, Long>> denials = Arbitraries.maps(text, n).ofMaxSize(3);
    return Combinators.combine(
            Combinators.combine(text, text, t, t, n, denials, n, n).as(List::<Object>of),
            Combinators.combine(n, i, i, t, text, n).as(List::<Object>of))
        .as(
            (a, b) ->
                new UsageRecorded(
                    (String) a.get(0),
                    (String) a.get(1),
                    (Instant) a.get(2),
                    (Instant) a.get(3),
                    (Long) a.get(4),
                    castMap(a.get(5)),
                    (Long) a.get(6),
                    (Long) a.get(7),
                    (Long) b.get(0),
                    (Integer) b.get(1),
                    (Integer) b.get(2),
                    (Instant) b.get(3),
                    (String) b.get(4),
                    (Long) b.get(5)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Long> castMap(Object o) {
    return (Map<String, Long>) o;
  }
}
