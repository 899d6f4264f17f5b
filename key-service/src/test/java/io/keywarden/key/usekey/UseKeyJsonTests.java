package io.keywarden.key.usekey;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The template-filled JSON is byte for byte what Jackson writes (UTF-8, as HTTP answers are
 * written) for the renderer's configuration: every client, OS, CC Switch app, model choice, secret
 * or placeholder, with plain and hostile key names.
 */
class UseKeyJsonTests {
  /** Configured as Quarkus configures its mapper here (dates as ISO text). */
  static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .build();

  static final List<String> GROUP =
      List.of("claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-8", "gpt-5.5", "o4-mini");

  static final List<String> BASES =
      List.of(
          "https://api.example.com",
          "http://localhost:8082",
          "https://gw.example.org:8443/llm/",
          "https://10.1.2.3");

  /** Each alone in a name must send it the slow way. */
  static final List<String> HOSTILE_CHARS =
      List.of(
          "\"", "\\", "$", "`", "'", "(", ")", "\t", "\n", "\u007F", "\u0085", "\u2018", "\u2019",
          "\u201C", "\u201D", "\u201E", "😀", "\uD800", "\uDC00");

  /** Names that fill holes (plain) and names that must go the slow way (hostile). */
  static final List<String> NAMES =
      java.util.stream.Stream.concat(
              HOSTILE_CHARS.stream().map(h -> "x" + h + "y"),
              java.util.stream.Stream.of(
                  "Keywarden",
                  "codex laptop",
                  "  padded name  ",
                  "a+b&c=d%20e#f?g/h<i>j;k|l*m~n!o@p^q[r]s{t}u,v.w:x",
                  "Ünïcödé näme ✓ 中文 ключ",
                  "tab\there",
                  "quote \" and backslash \\ and \\\"",
                  "Keywarden (prod) 'x' \"y\" \\ z",
                  "dollar $HOME `id` $(rm -rf /)",
                  "typographic ‘single’ “double” „low”",
                  "emoji 😀 and a lone \uD800 surrogate",
                  "line\nbreak\rcarriage\u0000nul\u007Fdel\u0085nel",
                  "\u2028 separators \u2029",
                  "",
                  "   ",
                  UseKeyJson.NAME_HOLE,
                  UseKeyJson.SECRET_HOLE + " " + UseKeyJson.LINK_HOLE))
          .toList();

  static final List<String> SECRETS =
      java.util.stream.Stream.concat(
              Arrays.asList(
                  null,
                  "",
                  "sk-kw-0123456789abcdefghijABCDEFGHIJ_-xyz12",
                  "  sk-kw-padded  ",
                  "sk-kw-with'quote(and)paren",
                  "sk \"kw\" \\ $x `y`")
                  .stream(),
              HOSTILE_CHARS.stream().map(h -> "sk-" + h + "-x"))
          .toList();

  final UseKeyRenderer renderer = new UseKeyRenderer();
  final UseKeyJson fast = new UseKeyJson(renderer, MAPPER);

  static String jackson(Object value) throws Exception {
    return new String(MAPPER.writeValueAsBytes(value), StandardCharsets.UTF_8);
  }

  @Test
  void everyClientOsAppModelSecretAndNameGivesTheRenderersJsonByteForByte() throws Exception {
    List<String> models = Arrays.asList(null, "gpt-5.5", "claude-haiku-4-5", "o4-mini");
    int compared = 0;
    for (String base : BASES.subList(0, 3)) {
      for (UseKeyClient client : UseKeyClient.values()) {
        for (TargetOs os : TargetOs.values()) {
          for (CcSwitchApp app : CcSwitchApp.values()) {
            for (String model : models) {
              for (String secret : SECRETS) {
                for (String name : NAMES) {
                  UseKeyRequest r =
                      new UseKeyRequest(client, os, model, base, secret, name, GROUP, app);
                  String expected = jackson(renderer.render(r));
                  assertThat(fast.json(r)).as("%s %s", r, name).isEqualTo(expected);
                  // a second time from the cached template
                  assertThat(fast.json(r)).as("%s %s", r, name).isEqualTo(expected);
                  compared++;
                }
              }
            }
          }
        }
      }
    }
    assertThat(compared).isGreaterThan(10_000);
  }

  @Test
  void plainValuesAreFilledIntoTemplatesAndHostileOnesRenderedTheSlowWay() throws Exception {
    for (UseKeyClient client : UseKeyClient.values()) {
      for (TargetOs os : TargetOs.values()) {
        for (CcSwitchApp app : CcSwitchApp.values()) {
          for (String name : List.of("codex laptop", "Ünï ✓ a+b&c=d%e", "")) {
            for (String secret : Arrays.asList(null, SECRETS.get(2))) {
              UseKeyRequest r =
                  new UseKeyRequest(client, os, null, BASES.get(0), secret, name, GROUP, app);
              assertThat(fast.json(r)).isEqualTo(jackson(renderer.render(r)));
            }
          }
        }
      }
    }
    assertThat(fast.slowRenders()).isZero();
    UseKeyRequest hostile =
        new UseKeyRequest(
            UseKeyClient.CODEX, TargetOs.LINUX, null, BASES.get(0), "sk-1", "a\"b", GROUP, null);
    assertThat(fast.json(hostile)).isEqualTo(jackson(renderer.render(hostile)));
    assertThat(fast.slowRenders()).isEqualTo(1);
  }

  @Test
  void plainNamesAndGeneratedSecretsTakeTheTemplatesHostileOnesDoNot() {
    assertThat(UseKeyJson.plain("sk-kw-0123456789abcdefghijABCDEFGHIJ_-xyz12")).isTrue();
    assertThat(UseKeyJson.plain("codex laptop")).isTrue();
    assertThat(UseKeyJson.plain("Ünïcödé näme ✓ 中文")).isTrue();
    assertThat(UseKeyJson.plain("a+b&c=d%20e#f?g/h<i>")).isTrue();
    for (String hostile : HOSTILE_CHARS) {
      assertThat(UseKeyJson.plain("x" + hostile + "y")).as(hostile).isFalse();
    }
  }

  @Test
  void allClientsIsTheJsonOfTheMapOfEveryClientsConfiguration() throws Exception {
    for (String name : NAMES) {
      for (TargetOs os : TargetOs.values()) {
        Map<String, UseKeyConfig> map = new LinkedHashMap<>();
        for (UseKeyClient c : UseKeyClient.values()) {
          map.put(
              c.wire(),
              renderer.render(
                  new UseKeyRequest(
                      c, os, null, BASES.get(0), SECRETS.get(2), name, GROUP, CcSwitchApp.CLAUDE)));
        }
        byte[] all =
            fast.allClients(os, BASES.get(0), SECRETS.get(2), name, GROUP, CcSwitchApp.CLAUDE);
        assertThat(new String(all, StandardCharsets.UTF_8)).isEqualTo(jackson(map));
      }
    }
  }

  @Test
  void aChangedGroupGetsConfigurationsOfItsNewModelsNotTheCachedOnes() throws Exception {
    List<String> before = List.of("gpt-5.5", "claude-sonnet-4-6");
    List<String> after = List.of("gpt-6", "claude-sonnet-5", "claude-haiku-5");
    for (UseKeyClient c : UseKeyClient.values()) {
      UseKeyRequest r1 =
          new UseKeyRequest(c, TargetOs.LINUX, null, BASES.get(0), "sk-1", "n", before, null);
      UseKeyRequest r2 =
          new UseKeyRequest(c, TargetOs.LINUX, null, BASES.get(0), "sk-1", "n", after, null);
      String first = fast.json(r1);
      String changed = fast.json(r2);
      assertThat(first).isEqualTo(jackson(renderer.render(r1)));
      assertThat(changed).isEqualTo(jackson(renderer.render(r2))).isNotEqualTo(first);
      assertThat(changed).doesNotContain("gpt-5.5").doesNotContain("claude-sonnet-4-6");
    }
  }

  @Test
  void theCacheStaysBounded() {
    for (int i = 0; i < UseKeyJson.MAX_TEMPLATES * 2 + 10; i++) {
      fast.json(
          new UseKeyRequest(
              UseKeyClient.CURSOR,
              TargetOs.LINUX,
              null,
              BASES.get(0),
              "sk-1",
              "n",
              List.of("gpt-" + i),
              null));
      assertThat(fast.templateCount()).isLessThanOrEqualTo(UseKeyJson.MAX_TEMPLATES);
    }
  }

  @Test
  void aModelNotInTheGroupIsRefusedNamingTheFieldAsByTheRenderer() {
    UseKeyRequest r =
        new UseKeyRequest(
            UseKeyClient.CODEX, TargetOs.LINUX, "nope", BASES.get(0), "sk-1", "n", GROUP, null);
    assertThatThrownBy(() -> fast.json(r))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("model: ");
    UseKeyRequest none =
        new UseKeyRequest(
            UseKeyClient.CODEX, TargetOs.LINUX, null, BASES.get(0), "sk-1", "n", List.of(), null);
    assertThatThrownBy(() -> fast.json(none))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("model: ");
  }

  @Test
  void aCatalogueHoldingAStandInTextGoesTheSlowWayAndStaysRight() throws Exception {
    List<String> odd = List.of("gpt-" + UseKeyJson.SECRET_HOLE, "claude-" + UseKeyJson.NAME_HOLE);
    for (UseKeyClient c : UseKeyClient.values()) {
      UseKeyRequest r =
          new UseKeyRequest(c, TargetOs.LINUX, null, BASES.get(0), "sk-1", "name", odd, null);
      assertThat(fast.json(r)).isEqualTo(jackson(renderer.render(r)));
    }
  }
}
