package io.keywarden.key.usekey;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import io.keywarden.key.usekey.UseKeyConfig.ConfigFile;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** Worked examples and encodings from {@code shared/CLIENTS.md}, checked by parsing them back. */
class UseKeyRendererTests {
  static final String BASE = "https://api.example.com";
  static final String KEY = "sk-kw-EXAMPLE";
  static final List<String> GROUP =
      List.of("claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-8", "gpt-5.5");
  static final String HOSTILE_NAME = "Keywarden (prod) 'x' \"y\" \\ z";

  static final ObjectMapper JSON = JsonMapper.builder().build();
  static final TomlMapper TOML = new TomlMapper();

  final UseKeyRenderer renderer = new UseKeyRenderer();

  static UseKeyRequest request(UseKeyClient client, TargetOs os) {
    return new UseKeyRequest(client, os, null, BASE, KEY, "Keywarden", GROUP, null);
  }

  static ConfigFile file(UseKeyConfig config, String name) {
    return config.files().stream()
        .filter(f -> f.path().endsWith(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no file " + name + " in " + config.files()));
  }

  static JsonNode toml(ConfigFile file) throws Exception {
    assertThat(file.format()).isEqualTo(UseKeyConfig.FileFormat.TOML);
    return TOML.readTree(file.content());
  }

  static JsonNode json(ConfigFile file) throws Exception {
    assertThat(file.format()).isEqualTo(UseKeyConfig.FileFormat.JSON);
    return JSON.readTree(file.content());
  }

  /** {@code application/x-www-form-urlencoded} parsing, as URLSearchParams and url::query_pairs. */
  static Map<String, String> formParams(String query) {
    Map<String, String> params = new LinkedHashMap<>();
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      params.put(
          URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
          URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
    }
    return params;
  }

  static String query(String link) {
    return link.substring(link.indexOf('?') + 1);
  }

  /** The older Cherry Studio parser: plain URLSearchParams, then base64 and JSON. */
  static JsonNode parseLikeOldCherryStudio(String link) throws Exception {
    String data = formParams(query(link)).get("data");
    return JSON.readTree(new String(Base64.getDecoder().decode(data), StandardCharsets.UTF_8));
  }

  /**
   * The current Cherry Studio parser (providersImport.ts, as CLIENTS.md §4 describes it): rewrites
   * the raw query {@code +}→{@code _}, {@code /}→{@code -}, parses it, maps back, decodes, then
   * replaces {@code '} with {@code "} and deletes parentheses before JSON.parse.
   */
  static JsonNode parseLikeCherryStudio(String link) throws Exception {
    String rewritten = query(link).replace('+', '_').replace('/', '-');
    String base64 = formParams(rewritten).get("data").replace('_', '+').replace('-', '/');
    String json = new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
    return JSON.readTree(json.replace('\'', '"').replace("(", "").replace(")", ""));
  }

  /** The decoded JSON text inside a Cherry Studio link, before the parser's mangling. */
  static String cherryJson(String link) {
    String data = formParams(query(link)).get("data");
    return new String(Base64.getDecoder().decode(data), StandardCharsets.UTF_8);
  }

  /** Everything a user sees of a config, with links decoded, to search for secrets. */
  static String visibleText(UseKeyConfig config) throws Exception {
    StringBuilder text = new StringBuilder(JSON.writeValueAsString(config));
    if (config.importLink() != null) {
      text.append(formParams(query(config.importLink())));
      if (config.client() == UseKeyClient.CHERRY_STUDIO) {
        text.append(cherryJson(config.importLink()));
      }
    }
    return text.toString();
  }

  @Nested
  class Codex {
    @Test
    void configTomlIsClientsMdVariantAByteForByte() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CODEX, TargetOs.LINUX));

      assertThat(file(config, "config.toml").content())
          .isEqualTo(
              """
              model_provider = "keywarden"
              model = "gpt-5.5"
              review_model = "gpt-5.5"

              [model_providers.keywarden]
              name = "Keywarden"
              base_url = "https://api.example.com/v1"
              wire_api = "responses"
              requires_openai_auth = true
              """);
    }

    @Test
    void authJsonIsClientsMdByteForByte() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CODEX, TargetOs.MACOS));

      assertThat(file(config, "auth.json").content())
          .isEqualTo(
              """
              {
                "OPENAI_API_KEY": "sk-kw-EXAMPLE"
              }
              """);
    }

    @Test
    void configTomlParsesToOurProviderWithResponsesApiAndNoDeprecatedKeys() throws Exception {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CODEX, TargetOs.LINUX));

      JsonNode toml = toml(file(config, "config.toml"));
      assertThat(toml.path("model_provider").asText()).isEqualTo("keywarden");
      assertThat(toml.path("model_provider").asText())
          .isNotIn("openai", "ollama", "lmstudio", "amazon-bedrock", "oss", "ollama-chat");
      assertThat(toml.path("model").asText()).isEqualTo("gpt-5.5");
      assertThat(toml.path("review_model").asText()).isEqualTo("gpt-5.5");
      assertThat(toml.has("disable_response_storage")).isFalse();
      JsonNode provider = toml.path("model_providers").path("keywarden");
      assertThat(provider.path("name").asText()).isEqualTo("Keywarden");
      assertThat(provider.path("base_url").asText()).isEqualTo(BASE + "/v1");
      assertThat(provider.path("wire_api").asText()).isEqualTo("responses");
      assertThat(provider.path("requires_openai_auth").isBoolean()).isTrue();
      assertThat(provider.path("requires_openai_auth").booleanValue()).isTrue();
      assertThat(json(file(config, "auth.json")).path("OPENAI_API_KEY").asText()).isEqualTo(KEY);
    }

    @Test
    void answerCarriesV1BaseUrlEnvVarVariantBAndResponsesNote() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CODEX, TargetOs.LINUX));

      assertThat(config.baseUrl()).isEqualTo(BASE + "/v1");
      assertThat(config.model()).isEqualTo("gpt-5.5");
      assertThat(config.shell().bash())
          .containsExactly("export KEYWARDEN_API_KEY=\"sk-kw-EXAMPLE\"");
      assertThat(config.shell().powershell())
          .containsExactly("$env:KEYWARDEN_API_KEY = \"sk-kw-EXAMPLE\"");
      assertThat(config.importLink()).isNull();
      assertThat(config.notes()).anyMatch(n -> n.contains("POST /v1/responses"));
      assertThat(config.notes()).anyMatch(n -> n.contains("env_key = \"KEYWARDEN_API_KEY\""));
    }
  }

  @Nested
  class ClaudeCode {
    @Test
    void settingsJsonIsClientsMdByteForByte() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CLAUDE_CODE, TargetOs.MACOS));

      assertThat(file(config, "settings.json").content())
          .isEqualTo(
              """
              {
                "env": {
                  "ANTHROPIC_BASE_URL": "https://api.example.com",
                  "ANTHROPIC_AUTH_TOKEN": "sk-kw-EXAMPLE",
                  "ANTHROPIC_MODEL": "claude-sonnet-4-6",
                  "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5",
                  "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-4-6",
                  "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-4-8"
                }
              }
              """);
    }

    @Test
    void shellLinesAreClientsMdByteForByte() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CLAUDE_CODE, TargetOs.LINUX));

      assertThat(config.shell().bash())
          .containsExactly(
              "export ANTHROPIC_BASE_URL=\"https://api.example.com\"",
              "export ANTHROPIC_AUTH_TOKEN=\"sk-kw-EXAMPLE\"",
              "export ANTHROPIC_MODEL=\"claude-sonnet-4-6\"");
      assertThat(config.shell().powershell())
          .containsExactly(
              "$env:ANTHROPIC_BASE_URL = \"https://api.example.com\"",
              "$env:ANTHROPIC_AUTH_TOKEN = \"sk-kw-EXAMPLE\"",
              "$env:ANTHROPIC_MODEL = \"claude-sonnet-4-6\"");
      assertThat(config.baseUrl()).isEqualTo(BASE);
      assertThat(config.importLink()).isNull();
    }

    @Test
    void settingsUseAuthTokenOnlyNeverApiKeyOrSmallFastModel() throws Exception {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CLAUDE_CODE, TargetOs.LINUX));

      JsonNode env = json(file(config, "settings.json")).path("env");
      assertThat(env.path("ANTHROPIC_AUTH_TOKEN").asText()).isEqualTo(KEY);
      assertThat(env.path("ANTHROPIC_BASE_URL").asText()).isEqualTo(BASE);
      assertThat(env.has("ANTHROPIC_API_KEY")).isFalse();
      assertThat(env.has("ANTHROPIC_SMALL_FAST_MODEL")).isFalse();
      assertThat(String.join("\n", config.shell().bash())).doesNotContain("ANTHROPIC_API_KEY");
    }

    @Test
    void aliasesTheGroupLacksAreOmitted() throws Exception {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CLAUDE_CODE,
              TargetOs.LINUX,
              null,
              BASE,
              KEY,
              "Keywarden",
              List.of("gpt-5.5", "claude-sonnet-4-5", "claude-sonnet-4-6"),
              null);

      UseKeyConfig config = renderer.render(request);

      JsonNode env = json(file(config, "settings.json")).path("env");
      assertThat(env.path("ANTHROPIC_MODEL").asText()).isEqualTo("claude-sonnet-4-5");
      assertThat(env.path("ANTHROPIC_DEFAULT_SONNET_MODEL").asText())
          .isEqualTo("claude-sonnet-4-5");
      assertThat(env.has("ANTHROPIC_DEFAULT_HAIKU_MODEL")).isFalse();
      assertThat(env.has("ANTHROPIC_DEFAULT_OPUS_MODEL")).isFalse();
      assertThat(config.notes()).anyMatch(n -> n.contains("no Haiku model"));
    }

    @Test
    void chosenSonnetBecomesTheSonnetAlias() throws Exception {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CLAUDE_CODE,
              TargetOs.LINUX,
              "claude-sonnet-4-6",
              BASE,
              KEY,
              "Keywarden",
              List.of("claude-sonnet-4-5", "claude-sonnet-4-6"),
              null);

      JsonNode env = json(file(renderer.render(request), "settings.json")).path("env");

      assertThat(env.path("ANTHROPIC_MODEL").asText()).isEqualTo("claude-sonnet-4-6");
      assertThat(env.path("ANTHROPIC_DEFAULT_SONNET_MODEL").asText())
          .isEqualTo("claude-sonnet-4-6");
    }
  }

  @Nested
  class Cursor {
    @Test
    void isManualOnlyWithTheFourStepsOfClientsMdAndExactValues() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CURSOR, TargetOs.MACOS));

      assertThat(config.files()).isEmpty();
      assertThat(config.importLink()).isNull();
      assertThat(config.shell()).isNull();
      assertThat(config.baseUrl()).isEqualTo(BASE + "/v1");
      assertThat(config.model()).isEqualTo("gpt-5.5");
      assertThat(config.steps())
          .containsExactly(
              "Open Cursor Settings → Models → API Keys.",
              "Turn on OpenAI API Key and paste sk-kw-EXAMPLE.",
              "Turn on Override OpenAI Base URL and enter https://api.example.com/v1. Cursor"
                  + " appends /chat/completions.",
              "Click + Add model, enter gpt-5.5 and enable it. Click Verify.");
      assertThat(config.notes())
          .anyMatch(n -> n.contains("Cursor's servers") && n.contains("public HTTPS"));
      assertThat(config.notes()).noneMatch(n -> n.startsWith("Warning"));
    }

    @Test
    void warnsThatALocalPlainHttpBaseUrlIsUnreachableFromCursorsServers() {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CURSOR,
              TargetOs.LINUX,
              null,
              "http://localhost:8082",
              KEY,
              "k",
              GROUP,
              null);

      UseKeyConfig config = renderer.render(request);

      assertThat(config.notes())
          .anyMatch(n -> n.startsWith("Warning") && n.contains("http://localhost:8082"));
    }
  }

  @Nested
  class CherryStudio {
    @Test
    void linkIsClientsMdWorkedExampleByteForByte() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CHERRY_STUDIO, TargetOs.WINDOWS));

      assertThat(config.importLink())
          .isEqualTo(
              "cherrystudio://providers/api-keys?v=1&data=eyJpZCI6ImtleXdhcmRlbiIsImJhc2VVcmwiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbSIsImFwaUtleSI6InNrLWt3LUVYQU1QTEUiLCJuYW1lIjoiS2V5d2FyZGVuIiwidHlwZSI6Im9wZW5haSJ9");
      assertThat(config.baseUrl()).isEqualTo(BASE);
      assertThat(config.files()).isEmpty();
    }

    @Test
    void linkOfTestVectorKeyPercentEncodesPlusSlashAndPadding() throws Exception {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CHERRY_STUDIO,
              TargetOs.LINUX,
              null,
              BASE,
              "sk-kw-?~?>?>",
              "Keywarden",
              GROUP,
              null);

      String link = renderer.render(request).importLink();

      assertThat(link)
          .isEqualTo(
              "cherrystudio://providers/api-keys?v=1&data=eyJpZCI6ImtleXdhcmRlbiIsImJhc2VVcmwiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbSIsImFwaUtleSI6InNrLWt3LT9%2BPz4%2FPiIsIm5hbWUiOiJLZXl3YXJkZW4iLCJ0eXBlIjoib3BlbmFpIn0%3D");
      assertThat(parseLikeCherryStudio(link).path("apiKey").asText()).isEqualTo("sk-kw-?~?>?>");
      assertThat(parseLikeOldCherryStudio(link).path("apiKey").asText()).isEqualTo("sk-kw-?~?>?>");
    }

    @Test
    void linkDecodesBackToTheExpectedFieldsInBothParserVersions() throws Exception {
      String link =
          renderer.render(request(UseKeyClient.CHERRY_STUDIO, TargetOs.LINUX)).importLink();

      assertThat(link).startsWith("cherrystudio://providers/api-keys?v=1&data=");
      assertThat(cherryJson(link))
          .isEqualTo(
              "{\"id\":\"keywarden\",\"baseUrl\":\"https://api.example.com\",\"apiKey\":\"sk-kw-EXAMPLE\",\"name\":\"Keywarden\",\"type\":\"openai\"}");
      for (JsonNode payload :
          List.of(parseLikeCherryStudio(link), parseLikeOldCherryStudio(link))) {
        assertThat(payload.path("id").asText()).isEqualTo("keywarden");
        assertThat(payload.path("baseUrl").asText()).isEqualTo(BASE);
        assertThat(payload.path("apiKey").asText()).isEqualTo(KEY);
        assertThat(payload.path("name").asText()).isEqualTo("Keywarden");
        assertThat(payload.path("type").asText()).isEqualTo("openai");
      }
    }
  }

  @Nested
  class CcSwitch {
    @Test
    void claudeLinkIsClientsMdWorkedExampleByteForByte() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CC_SWITCH, TargetOs.MACOS));

      assertThat(config.importLink())
          .isEqualTo(
              "ccswitch://v1/import?resource=provider&app=claude&name=Keywarden+Claude&endpoint=https%3A%2F%2Fapi.example.com&apiKey=sk-kw-EXAMPLE&model=claude-sonnet-4-6&haikuModel=claude-haiku-4-5&sonnetModel=claude-sonnet-4-6&opusModel=claude-opus-4-8&homepage=https%3A%2F%2Fapi.example.com&enabled=true");
      assertThat(config.baseUrl()).isEqualTo(BASE);
    }

    @Test
    void codexLinkIsClientsMdWorkedExampleByteForByte() {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CC_SWITCH,
              TargetOs.MACOS,
              null,
              BASE,
              KEY,
              "Keywarden",
              GROUP,
              CcSwitchApp.CODEX);

      UseKeyConfig config = renderer.render(request);

      assertThat(config.importLink())
          .isEqualTo(
              "ccswitch://v1/import?resource=provider&app=codex&name=Keywarden+Codex&endpoint=https%3A%2F%2Fapi.example.com%2Fv1&apiKey=sk-kw-EXAMPLE&model=gpt-5.5&homepage=https%3A%2F%2Fapi.example.com&enabled=true");
      assertThat(config.baseUrl()).isEqualTo(BASE + "/v1");
      assertThat(config.model()).isEqualTo("gpt-5.5");
    }

    @Test
    void linksParseAsFormUrlEncodedToTheExpectedFields() {
      String claude = renderer.render(request(UseKeyClient.CC_SWITCH, TargetOs.LINUX)).importLink();
      String codex =
          renderer
              .render(
                  new UseKeyRequest(
                      UseKeyClient.CC_SWITCH,
                      TargetOs.LINUX,
                      null,
                      BASE,
                      KEY,
                      "Keywarden",
                      GROUP,
                      CcSwitchApp.CODEX))
              .importLink();

      assertThat(claude).startsWith("ccswitch://v1/import?");
      assertThat(formParams(query(claude)))
          .containsExactly(
              Map.entry("resource", "provider"),
              Map.entry("app", "claude"),
              Map.entry("name", "Keywarden Claude"),
              Map.entry("endpoint", BASE),
              Map.entry("apiKey", KEY),
              Map.entry("model", "claude-sonnet-4-6"),
              Map.entry("haikuModel", "claude-haiku-4-5"),
              Map.entry("sonnetModel", "claude-sonnet-4-6"),
              Map.entry("opusModel", "claude-opus-4-8"),
              Map.entry("homepage", BASE),
              Map.entry("enabled", "true"));
      assertThat(formParams(query(codex)))
          .containsExactly(
              Map.entry("resource", "provider"),
              Map.entry("app", "codex"),
              Map.entry("name", "Keywarden Codex"),
              Map.entry("endpoint", BASE + "/v1"),
              Map.entry("apiKey", KEY),
              Map.entry("model", "gpt-5.5"),
              Map.entry("homepage", BASE),
              Map.entry("enabled", "true"));
    }

    @Test
    void literalPlusIsPercentEncodedAndSpaceIsPlus() {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CC_SWITCH, TargetOs.LINUX, null, BASE, KEY, "A+B C", GROUP, null);

      String link = renderer.render(request).importLink();

      assertThat(link).contains("&name=A%2BB+C+Claude&");
      assertThat(formParams(query(link)).get("name")).isEqualTo("A+B C Claude");
    }

    @Test
    void codexLinkAlwaysCarriesAModelEvenWhenTheGroupHasNoOpenAiModel() {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CC_SWITCH,
              TargetOs.LINUX,
              null,
              BASE,
              KEY,
              "Keywarden",
              List.of("claude-sonnet-4-6"),
              CcSwitchApp.CODEX);

      String link = renderer.render(request).importLink();

      assertThat(formParams(query(link))).containsEntry("model", "claude-sonnet-4-6");
    }
  }

  @Nested
  class Secrets {
    @ParameterizedTest
    @EnumSource(UseKeyClient.class)
    void placeholderAppearsAndNoKeyWhenSecretIsNull(UseKeyClient client) throws Exception {
      for (TargetOs os : TargetOs.values()) {
        UseKeyConfig config =
            renderer.render(
                new UseKeyRequest(client, os, null, BASE, null, "Keywarden", GROUP, null));

        String text = visibleText(config);
        assertThat(text).contains(UseKeyRenderer.SECRET_PLACEHOLDER).doesNotContain("sk-kw-");
        assertThat(config.testCommand().bash())
            .isEqualTo(
                "curl -sS https://api.example.com/v1/models -H \"Authorization: Bearer <YOUR_KEYWARDEN_KEY>\"");
        assertThat(config.notes()).anyMatch(n -> n.contains("Replace the placeholder"));
      }
    }

    @ParameterizedTest
    @EnumSource(UseKeyClient.class)
    void realKeyReplacesThePlaceholderEverywhere(UseKeyClient client) throws Exception {
      UseKeyConfig config = renderer.render(request(client, TargetOs.LINUX));

      String text = visibleText(config);
      assertThat(text).contains(KEY).doesNotContain(UseKeyRenderer.SECRET_PLACEHOLDER);
      assertThat(config.notes()).noneMatch(n -> n.contains("Replace the placeholder"));
    }

    @ParameterizedTest
    @EnumSource(UseKeyClient.class)
    void toStringOfRequestAndConfigNeverShowsTheSecret(UseKeyClient client) {
      UseKeyRequest request = request(client, TargetOs.LINUX);
      UseKeyConfig config = renderer.render(request);

      assertThat(request.toString()).doesNotContain(KEY).contains("secret=***");
      assertThat(config.toString()).doesNotContain(KEY);
      config.files().forEach(f -> assertThat(f.toString()).doesNotContain(KEY));
      if (config.shell() != null) {
        assertThat(config.shell().toString()).doesNotContain(KEY);
      }
      assertThat(config.testCommand().toString()).doesNotContain(KEY);
    }

    @Test
    void testCommandsAreClientsMdCallsInBashAndPowerShell() {
      UseKeyConfig config = renderer.render(request(UseKeyClient.CODEX, TargetOs.WINDOWS));

      assertThat(config.testCommand().bash())
          .isEqualTo(
              "curl -sS https://api.example.com/v1/models -H \"Authorization: Bearer sk-kw-EXAMPLE\"");
      assertThat(config.testCommand().powershell())
          .isEqualTo(
              "Invoke-RestMethod -Uri https://api.example.com/v1/models -Headers @{ Authorization"
                  + " = \"Bearer sk-kw-EXAMPLE\" }");
    }
  }

  @Nested
  class Paths {
    @ParameterizedTest
    @CsvSource({
      "macos,   ~/.codex/config.toml,              ~/.codex/auth.json,              ~/.claude/settings.json",
      "linux,   ~/.codex/config.toml,              ~/.codex/auth.json,              ~/.claude/settings.json",
      "wsl,     ~/.codex/config.toml,              ~/.codex/auth.json,              ~/.claude/settings.json",
      "windows, %USERPROFILE%\\.codex\\config.toml, %USERPROFILE%\\.codex\\auth.json, %USERPROFILE%\\.claude\\settings.json"
    })
    void filesGoWhereEachClientLooksOnEachOs(
        String os, String codexConfig, String codexAuth, String claudeSettings) {
      TargetOs target = TargetOs.fromWire(os);

      UseKeyConfig codex = renderer.render(request(UseKeyClient.CODEX, target));
      UseKeyConfig claude = renderer.render(request(UseKeyClient.CLAUDE_CODE, target));

      assertThat(codex.files())
          .extracting(ConfigFile::path)
          .containsExactly(codexConfig, codexAuth);
      assertThat(claude.files()).extracting(ConfigFile::path).containsExactly(claudeSettings);
      assertThat(codex.os()).isEqualTo(target);
    }

    @Test
    void wslNotesSayTheFilesBelongInTheLinuxHome() {
      UseKeyConfig codex = renderer.render(request(UseKeyClient.CODEX, TargetOs.WSL));
      UseKeyConfig claude = renderer.render(request(UseKeyClient.CLAUDE_CODE, TargetOs.WSL));

      assertThat(codex.notes())
          .anyMatch(n -> n.startsWith("WSL:") && n.contains("/home/<user>/.codex"));
      assertThat(claude.notes()).anyMatch(n -> n.startsWith("WSL:") && n.contains("Linux home"));
      assertThat(renderer.render(request(UseKeyClient.CODEX, TargetOs.LINUX)).notes())
          .noneMatch(n -> n.startsWith("WSL:"));
    }
  }

  @Nested
  class ModelChoice {
    static UseKeyRequest pick(UseKeyClient client, CcSwitchApp app, String... models) {
      return new UseKeyRequest(client, TargetOs.LINUX, null, BASE, KEY, "k", List.of(models), app);
    }

    @Test
    void claudeClientsTakeTheFirstClaudeModel() {
      UseKeyRenderer r = renderer;
      assertThat(
              r.render(
                      pick(
                          UseKeyClient.CLAUDE_CODE,
                          null,
                          "gpt-5.5",
                          "claude-opus-4-8",
                          "claude-haiku-4-5"))
                  .model())
          .isEqualTo("claude-opus-4-8");
      assertThat(
              r.render(
                      pick(
                          UseKeyClient.CC_SWITCH, CcSwitchApp.CLAUDE, "gpt-5.5", "claude-opus-4-8"))
                  .model())
          .isEqualTo("claude-opus-4-8");
    }

    @Test
    void openAiClientsTakeTheFirstGptOrOSeriesModel() {
      for (UseKeyClient client :
          List.of(UseKeyClient.CODEX, UseKeyClient.CURSOR, UseKeyClient.CHERRY_STUDIO)) {
        assertThat(renderer.render(pick(client, null, "claude-opus-4-8", "gpt-5.5", "o3")).model())
            .isEqualTo("gpt-5.5");
        assertThat(
                renderer
                    .render(pick(client, null, "claude-opus-4-8", "o4-mini", "gpt-5.5"))
                    .model())
            .isEqualTo("o4-mini");
      }
      assertThat(
              renderer
                  .render(
                      pick(UseKeyClient.CC_SWITCH, CcSwitchApp.CODEX, "claude-opus-4-8", "gpt-5.5"))
                  .model())
          .isEqualTo("gpt-5.5");
    }

    @Test
    void oSeriesMeansOFollowedByADigitNotAnyModelStartingWithO() {
      assertThat(
              renderer
                  .render(pick(UseKeyClient.CODEX, null, "omni-moderation-latest", "gpt-5.5"))
                  .model())
          .isEqualTo("gpt-5.5");
    }

    @Test
    void withoutASuitedModelTheGroupsFirstIsTaken() {
      assertThat(
              renderer
                  .render(pick(UseKeyClient.CODEX, null, "deepseek-v3", "claude-opus-4-8"))
                  .model())
          .isEqualTo("deepseek-v3");
      assertThat(
              renderer
                  .render(pick(UseKeyClient.CLAUDE_CODE, null, "deepseek-v3", "gpt-5.5"))
                  .model())
          .isEqualTo("deepseek-v3");
    }

    @Test
    void anExplicitModelOfTheGroupWins() {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CODEX, TargetOs.LINUX, "claude-opus-4-8", BASE, KEY, "k", GROUP, null);

      assertThat(renderer.render(request).model()).isEqualTo("claude-opus-4-8");
    }
  }

  @Nested
  class BadInput {
    @Test
    void unknownClientIsRefusedNamingTheFieldAndTheAcceptedValues() {
      assertThatThrownBy(() -> UseKeyClient.fromWire("vscode"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("client:")
          .hasMessageContaining("'vscode'")
          .hasMessageContaining("codex, claude-code, cursor, cherry-studio, cc-switch");
      assertThatThrownBy(() -> UseKeyClient.fromWire(null))
          .hasMessageStartingWith("client: missing");
    }

    @Test
    void unknownOsIsRefusedNamingTheFieldAndTheAcceptedValues() {
      assertThatThrownBy(() -> TargetOs.fromWire("freebsd"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("os:")
          .hasMessageContaining("macos, linux, windows, wsl");
    }

    @Test
    void unknownCcSwitchAppIsRefusedAndAbsentMeansClaude() {
      assertThatThrownBy(() -> CcSwitchApp.fromWire("gemini"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("ccSwitchApp:")
          .hasMessageContaining("claude, codex");
      assertThat(CcSwitchApp.fromWire(null)).isEqualTo(CcSwitchApp.CLAUDE);
    }

    @Test
    void everyWireNameRoundTrips() {
      for (UseKeyClient client : UseKeyClient.values()) {
        assertThat(UseKeyClient.fromWire(client.wire())).isEqualTo(client);
      }
      for (TargetOs os : TargetOs.values()) {
        assertThat(TargetOs.fromWire(os.wire())).isEqualTo(os);
      }
      assertThat(UseKeyClient.fromWire("Claude-Code")).isEqualTo(UseKeyClient.CLAUDE_CODE);
    }

    @Test
    void missingClientOrOsInTheRequestIsRefusedNamingTheField() {
      assertThatThrownBy(
              () -> new UseKeyRequest(null, TargetOs.LINUX, null, BASE, KEY, "k", GROUP, null))
          .hasMessageStartingWith("client:");
      assertThatThrownBy(
              () -> new UseKeyRequest(UseKeyClient.CODEX, null, null, BASE, KEY, "k", GROUP, null))
          .hasMessageStartingWith("os:");
    }

    @Test
    void modelOutsideTheGroupIsRefusedNamingTheField() {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CODEX, TargetOs.LINUX, "gpt-9", BASE, KEY, "k", GROUP, null);

      assertThatThrownBy(() -> renderer.render(request))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("model:")
          .hasMessageContaining("'gpt-9'")
          .hasMessageContaining("gpt-5.5");
    }

    @Test
    void aGroupWithoutModelsIsRefusedNamingModel() {
      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CODEX, TargetOs.LINUX, null, BASE, KEY, "k", List.of(), null);

      assertThatThrownBy(() -> renderer.render(request))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("model:");
    }

    @Test
    void baseUrlMustBeAPlainHttpUrlAndLosesTrailingSlashes() {
      assertThatThrownBy(
              () ->
                  new UseKeyRequest(
                      UseKeyClient.CODEX,
                      TargetOs.LINUX,
                      null,
                      "api.example.com",
                      KEY,
                      "k",
                      GROUP,
                      null))
          .hasMessageStartingWith("baseUrl:");
      assertThatThrownBy(
              () ->
                  new UseKeyRequest(
                      UseKeyClient.CODEX,
                      TargetOs.LINUX,
                      null,
                      "https://x.io/a b",
                      KEY,
                      "k",
                      GROUP,
                      null))
          .hasMessageStartingWith("baseUrl:");
      assertThatThrownBy(
              () ->
                  new UseKeyRequest(
                      UseKeyClient.CODEX,
                      TargetOs.LINUX,
                      null,
                      "https://x.io/$(rm -rf)",
                      KEY,
                      "k",
                      GROUP,
                      null))
          .hasMessageStartingWith("baseUrl:");

      UseKeyRequest request =
          new UseKeyRequest(
              UseKeyClient.CODEX, TargetOs.LINUX, null, BASE + "//", KEY, "k", GROUP, null);
      assertThat(request.baseUrl()).isEqualTo(BASE);
      assertThat(renderer.render(request).baseUrl()).isEqualTo(BASE + "/v1");
    }
  }

  @Nested
  class HostileValues {
    static final String HOSTILE_MODEL = "gpt-\"5\"\\x";
    static final List<String> HOSTILE_GROUP = List.of(HOSTILE_MODEL, "claude-\"q\"\\sonnet");

    UseKeyConfig render(UseKeyClient client, CcSwitchApp app) {
      return renderer.render(
          new UseKeyRequest(
              client, TargetOs.LINUX, null, BASE, KEY, HOSTILE_NAME, HOSTILE_GROUP, app));
    }

    @Test
    void codexFilesStayParseableAndKeepTheExactName() throws Exception {
      UseKeyConfig config = render(UseKeyClient.CODEX, null);

      JsonNode toml = toml(file(config, "config.toml"));
      assertThat(toml.path("model_providers").path("keywarden").path("name").asText())
          .isEqualTo(HOSTILE_NAME);
      assertThat(toml.path("model").asText()).isEqualTo(HOSTILE_MODEL);
      assertThat(toml.path("review_model").asText()).isEqualTo(HOSTILE_MODEL);
      assertThat(json(file(config, "auth.json")).path("OPENAI_API_KEY").asText()).isEqualTo(KEY);
    }

    @Test
    void controlCharactersInANameStayInsideTheTomlString() throws Exception {
      String name = "line1\nline2\ttab\u0001 [model_providers.openai]";
      UseKeyConfig config =
          renderer.render(
              new UseKeyRequest(
                  UseKeyClient.CODEX, TargetOs.LINUX, null, BASE, KEY, name, GROUP, null));

      JsonNode toml = toml(file(config, "config.toml"));
      assertThat(toml.path("model_providers").path("keywarden").path("name").asText())
          .isEqualTo(name.strip());
      assertThat(toml.path("model_providers").has("openai")).isFalse();
    }

    @Test
    void claudeSettingsStayParseableWithHostileModelIds() throws Exception {
      UseKeyConfig config = render(UseKeyClient.CLAUDE_CODE, null);

      JsonNode env = json(file(config, "settings.json")).path("env");
      assertThat(env.path("ANTHROPIC_MODEL").asText()).isEqualTo("claude-\"q\"\\sonnet");
      assertThat(config.shell().bash())
          .contains("export ANTHROPIC_MODEL=\"claude-\\\"q\\\"\\\\sonnet\"");
      assertThat(config.shell().powershell())
          .contains("$env:ANTHROPIC_MODEL = \"claude-`\"q`\"\\sonnet\"");
    }

    @Test
    void cherryLinkDecodesAndCarriesNoQuoteOrParenthesis() throws Exception {
      UseKeyConfig config = render(UseKeyClient.CHERRY_STUDIO, null);

      String json = cherryJson(config.importLink());
      assertThat(json).doesNotContain("'", "(", ")");
      JsonNode exact = JSON.readTree(json);
      JsonNode asCherrySees = parseLikeCherryStudio(config.importLink());
      assertThat(asCherrySees).isEqualTo(exact);
      assertThat(asCherrySees.path("name").asText()).isEqualTo("Keywarden prod x \"y\" \\ z");
      assertThat(asCherrySees.path("apiKey").asText()).isEqualTo(KEY);
      assertThat(parseLikeOldCherryStudio(config.importLink())).isEqualTo(exact);
      assertThat(config.notes()).anyMatch(n -> n.contains("Keywarden prod x \"y\" \\ z"));
    }

    @Test
    void ccSwitchLinkDecodesToTheExactName() {
      UseKeyConfig config = render(UseKeyClient.CC_SWITCH, null);

      Map<String, String> params = formParams(query(config.importLink()));
      assertThat(params.get("name")).isEqualTo(HOSTILE_NAME + " Claude");
      assertThat(params.get("model")).isEqualTo("claude-\"q\"\\sonnet");
      assertThat(query(config.importLink())).doesNotContain(" ", "\"", "'", "\\");
    }
  }

  @Test
  void answerSerialisesWithWireNames() throws Exception {
    UseKeyConfig config = renderer.render(request(UseKeyClient.CLAUDE_CODE, TargetOs.WSL));

    JsonNode body = JSON.readTree(JSON.writeValueAsString(config));

    assertThat(body.path("client").asText()).isEqualTo("claude-code");
    assertThat(body.path("os").asText()).isEqualTo("wsl");
    assertThat(body.path("model").asText()).isEqualTo("claude-sonnet-4-6");
    assertThat(body.path("baseUrl").asText()).isEqualTo(BASE);
    assertThat(body.path("files").get(0).path("format").asText()).isEqualTo("json");
    assertThat(body.path("files").get(0).path("path").asText())
        .isEqualTo("~/.claude/settings.json");
    assertThat(body.path("shell").path("bash").isArray()).isTrue();
    assertThat(body.path("testCommand").path("powershell").asText())
        .startsWith("Invoke-RestMethod");
    assertThat(body.path("importLink").isNull()).isTrue();
    assertThat(body.path("steps").size()).isPositive();
    assertThat(body.path("notes").size()).isPositive();
  }

  @Test
  void everyClientOnEveryOsRendersParseableFiles() throws Exception {
    List<String> failures = new ArrayList<>();
    for (UseKeyClient client : UseKeyClient.values()) {
      for (TargetOs os : TargetOs.values()) {
        UseKeyConfig config = renderer.render(request(client, os));
        assertThat(config.steps()).isNotEmpty();
        assertThat(config.testCommand()).isNotNull();
        assertThat(config.importLink() != null)
            .isEqualTo(client == UseKeyClient.CHERRY_STUDIO || client == UseKeyClient.CC_SWITCH);
        for (ConfigFile f : config.files()) {
          assertThat(f.content()).endsWith("\n");
          try {
            if (f.format() == UseKeyConfig.FileFormat.TOML) {
              TOML.readTree(f.content());
            } else {
              JSON.readTree(f.content());
            }
          } catch (Exception e) {
            failures.add(client + "/" + os + " " + f.path() + ": " + e.getMessage());
          }
        }
      }
    }
    assertThat(failures).isEmpty();
  }
}
