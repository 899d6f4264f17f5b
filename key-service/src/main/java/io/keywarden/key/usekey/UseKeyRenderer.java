package io.keywarden.key.usekey;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.keywarden.key.usekey.UseKeyConfig.ConfigFile;
import io.keywarden.key.usekey.UseKeyConfig.FileFormat;
import io.keywarden.key.usekey.UseKeyConfig.Shell;
import io.keywarden.key.usekey.UseKeyConfig.TestCommand;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Renders the configuration a client needs to use a key, in the formats of {@code
 * shared/CLIENTS.md}. Pure: no I/O, no logging (the output holds the secret).
 */
@ApplicationScoped
public class UseKeyRenderer {
  /** Stands in for the secret, which Keywarden shows only once, at creation or rotation. */
  public static final String SECRET_PLACEHOLDER = "<YOUR_KEYWARDEN_KEY>";

  /** Provider id in Codex's config and Cherry Studio: ours, never a built-in one like openai. */
  static final String PROVIDER_ID = "keywarden";

  static final String DEFAULT_PROVIDER_NAME = "Keywarden";

  /** Codex variant B: the environment variable that carries the key. */
  static final String CODEX_ENV_KEY = "KEYWARDEN_API_KEY";

  static final String CHERRY_LINK_PREFIX = "cherrystudio://providers/api-keys?v=1&data=";
  static final String CC_SWITCH_LINK_PREFIX = "ccswitch://v1/import?";

  private static final ObjectMapper JSON = JsonMapper.builder().build();

  /** Two-space indent, {@code "key": value}, {@code \n} on every OS: the shape of CLIENTS.md. */
  private static final ObjectWriter PRETTY_JSON =
      JSON.writer(
          new DefaultPrettyPrinter(
                  Separators.createDefaultInstance()
                      .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
              .withObjectIndenter(new DefaultIndenter("  ", "\n")));

  /** OpenAI's model families: gpt-*, and the o-series (o1, o3, o4-mini, ...). */
  private static final Pattern OPENAI_MODEL = Pattern.compile("(?i)(gpt|o[0-9]).*");

  /** Cherry Studio's importer turns {@code '} into {@code "} and deletes parentheses. */
  private static final Pattern CHERRY_MANGLED = Pattern.compile("['()]");

  /**
   * The configuration for {@code request}.
   *
   * @throws IllegalArgumentException naming the field {@code model} when the model is not one of
   *     the group's, or the group has none
   */
  public UseKeyConfig render(UseKeyRequest request) {
    Context c = new Context(request, chooseModel(request));
    return switch (request.client()) {
      case CODEX -> codex(c);
      case CLAUDE_CODE -> claudeCode(c);
      case CURSOR -> cursor(c);
      case CHERRY_STUDIO -> cherryStudio(c);
      case CC_SWITCH -> ccSwitch(c);
    };
  }

  // ---------------------------------------------------------------- model choice

  static String chooseModel(UseKeyRequest request) {
    List<String> models = request.groupModels();
    if (request.model() != null) {
      if (!models.contains(request.model())) {
        throw new IllegalArgumentException(
            "model: '%s' is not offered by this key's group; choose one of: %s"
                .formatted(
                    request.model(), models.isEmpty() ? "(none)" : String.join(", ", models)));
      }
      return request.model();
    }
    if (models.isEmpty()) {
      throw new IllegalArgumentException(
          "model: this key's group offers no models, so there is none to configure");
    }
    Predicate<String> suited =
        wantsClaudeModels(request)
            ? id -> id.toLowerCase(Locale.ROOT).startsWith("claude")
            : id -> OPENAI_MODEL.matcher(id).matches();
    return models.stream().filter(suited).findFirst().orElse(models.get(0));
  }

  private static boolean wantsClaudeModels(UseKeyRequest request) {
    return request.client() == UseKeyClient.CLAUDE_CODE
        || (request.client() == UseKeyClient.CC_SWITCH
            && request.ccSwitchApp() == CcSwitchApp.CLAUDE);
  }

  /**
   * The model for one of Claude Code's aliases ({@code haiku}, {@code sonnet}, {@code opus}): the
   * chosen model if it is of that family, else the group's first of that family.
   */
  private static Optional<String> aliasModel(Context c, String family) {
    if (c.model.toLowerCase(Locale.ROOT).contains(family)) {
      return Optional.of(c.model);
    }
    return c.request.groupModels().stream()
        .filter(id -> id.toLowerCase(Locale.ROOT).contains(family))
        .findFirst();
  }

  /** ANTHROPIC_DEFAULT_{HAIKU,SONNET,OPUS}_MODEL for the families the group has. */
  private static Map<String, String> claudeAliases(Context c) {
    Map<String, String> aliases = new LinkedHashMap<>();
    for (String family : List.of("haiku", "sonnet", "opus")) {
      aliasModel(c, family).ifPresent(id -> aliases.put(family, id));
    }
    return aliases;
  }

  // ---------------------------------------------------------------- Codex CLI

  private UseKeyConfig codex(Context c) {
    String baseUrl = c.base + "/v1";
    String toml =
        """
        model_provider = %s
        model = %s
        review_model = %s

        [model_providers.%s]
        name = %s
        base_url = %s
        wire_api = "responses"
        requires_openai_auth = true
        """
            .formatted(
                Escaping.tomlString(PROVIDER_ID),
                Escaping.tomlString(c.model),
                Escaping.tomlString(c.model),
                PROVIDER_ID,
                Escaping.tomlString(c.providerName),
                Escaping.tomlString(baseUrl));
    Map<String, String> auth = new LinkedHashMap<>();
    auth.put("OPENAI_API_KEY", c.key);

    String home = codexHome(c.os());
    String configPath = filePath(c.os(), home, "config.toml");
    String authPath = filePath(c.os(), home, "auth.json");
    List<ConfigFile> files =
        List.of(
            new ConfigFile(configPath, FileFormat.TOML, toml),
            new ConfigFile(authPath, FileFormat.JSON, prettyJson(auth)));
    Shell shell =
        new Shell(
            List.of(bashExport(CODEX_ENV_KEY, c.key)),
            List.of(powershellEnv(CODEX_ENV_KEY, c.key)));

    List<String> steps = new ArrayList<>();
    steps.add(
        "Create the folder %s if it does not exist%s."
            .formatted(home, c.os() == TargetOs.WSL ? " (inside WSL, not in Windows)" : ""));
    steps.add(
        ("Save config.toml as %s. If you already have one, keep your other settings: the root keys"
                + " model_provider, model and review_model go above the first [table], and the"
                + " [model_providers.%s] table goes below.")
            .formatted(configPath, PROVIDER_ID));
    steps.add(
        ("Save auth.json as %s. It replaces a ChatGPT login stored there; to keep that login, use"
                + " the environment variable instead (see notes).")
            .formatted(authPath));
    steps.add(
        "Start codex. It sends POST %s/responses with your key as Bearer token, using model %s."
            .formatted(baseUrl, c.model));
    steps.add("Run the test command to check the key and base URL.");

    List<String> notes = new ArrayList<>();
    notes.add(
        ("Codex speaks only the Responses API (wire_api = \"responses\"; \"chat\" is refused at"
                + " startup), so the gateway at %s must serve POST /v1/responses.")
            .formatted(c.base));
    notes.add(
        ("To leave auth.json and any ChatGPT login alone, use an environment variable instead: in"
                + " config.toml replace requires_openai_auth = true with env_key = \"%s\", skip"
                + " auth.json and run the shell lines (persist them in ~/.bashrc or ~/.zshrc, or"
                + " in Windows with [Environment]::SetEnvironmentVariable). Codex fails if the"
                + " variable is unset or empty.")
            .formatted(CODEX_ENV_KEY));
    notes.add(
        "If CODEX_HOME is set, Codex reads both files from that folder instead, and the folder must"
            + " already exist.");
    switch (c.os()) {
      case WSL ->
          notes.add(
              "WSL: a Codex CLI installed inside WSL is a Linux program and reads"
                  + " /home/<user>/.codex, not the Windows folder, so write the files from inside"
                  + " WSL. The Codex desktop app in WSL mode reads /mnt/c/Users/<user>/.codex"
                  + " instead.");
      case WINDOWS ->
          notes.add(
              "Windows: %USERPROFILE% is your user folder, usually C:\\Users\\<user>; in"
                  + " PowerShell write it as $env:USERPROFILE.");
      default -> {}
    }
    addPlaceholderNote(c, notes);
    return new UseKeyConfig(
        c.client(), c.os(), c.model, baseUrl, files, shell, null, steps, testCommand(c), notes);
  }

  private static String codexHome(TargetOs os) {
    return os == TargetOs.WINDOWS ? "%USERPROFILE%\\.codex" : "~/.codex";
  }

  // ---------------------------------------------------------------- Claude Code

  private UseKeyConfig claudeCode(Context c) {
    Map<String, String> aliases = claudeAliases(c);
    Map<String, String> env = new LinkedHashMap<>();
    env.put("ANTHROPIC_BASE_URL", c.base);
    env.put("ANTHROPIC_AUTH_TOKEN", c.key);
    env.put("ANTHROPIC_MODEL", c.model);
    aliases.forEach(
        (family, id) ->
            env.put("ANTHROPIC_DEFAULT_" + family.toUpperCase(Locale.ROOT) + "_MODEL", id));
    String path =
        filePath(
            c.os(),
            c.os() == TargetOs.WINDOWS ? "%USERPROFILE%\\.claude" : "~/.claude",
            "settings.json");
    List<ConfigFile> files =
        List.of(new ConfigFile(path, FileFormat.JSON, prettyJson(Map.of("env", env))));

    List<String> exported =
        List.of("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_MODEL");
    Shell shell =
        new Shell(
            exported.stream().map(name -> bashExport(name, env.get(name))).toList(),
            exported.stream().map(name -> powershellEnv(name, env.get(name))).toList());

    List<String> steps = new ArrayList<>();
    steps.add(
        ("Save settings.json as %s. If the file already exists, merge these entries into its"
                + " \"env\" object and keep your other settings.")
            .formatted(path));
    steps.add(
        ("Or set the variables in your shell instead: run the shell lines (persist them in"
                + " ~/.bashrc or ~/.zshrc; in PowerShell persist each with"
                + " [Environment]::SetEnvironmentVariable(%s, %s, 'User')).")
            .formatted(
                Escaping.powershellSingleQuoted("ANTHROPIC_AUTH_TOKEN"),
                Escaping.powershellSingleQuoted(c.key)));
    steps.add(
        "Start claude. It sends POST %s/v1/messages with your key as Bearer token, using model %s."
            .formatted(c.base, c.model));
    steps.add("Run the test command to check the key and base URL.");

    List<String> notes = new ArrayList<>();
    notes.add(
        ("The key goes in ANTHROPIC_AUTH_TOKEN, which Claude Code sends as Authorization: Bearer."
            + " Do not also set ANTHROPIC_API_KEY: that one is sent as X-Api-Key and overrides"
            + " a claude.ai login."));
    notes.add(
        ("ANTHROPIC_BASE_URL is the host root without /v1: Claude Code appends /v1/messages, so"
                + " the gateway at %s must serve the Anthropic Messages API.")
            .formatted(c.base));
    if (aliases.containsKey("haiku")) {
      notes.add(
          "Claude Code also runs its background tasks on the Haiku model, here %s."
              .formatted(aliases.get("haiku")));
    } else {
      notes.add(
          "This key's group has no Haiku model: Claude Code runs background tasks on Haiku and"
              + " will ask for its built-in Haiku model id, which this key may not be allowed to"
              + " use.");
    }
    notes.add(
        "CLAUDE_CONFIG_DIR, if set, moves the folder; a project can also carry"
            + " .claude/settings.json or .claude/settings.local.json.");
    switch (c.os()) {
      case WSL ->
          notes.add(
              "WSL: Claude Code installed inside WSL reads the Linux home (~ inside WSL), not the"
                  + " Windows user folder, so write the file from inside WSL.");
      case WINDOWS ->
          notes.add(
              "Windows: %USERPROFILE%\\.claude follows Claude Code's home-folder rule (the folder"
                  + " CC Switch writes to); it is not stated in Claude Code's own docs.");
      default -> {}
    }
    addPlaceholderNote(c, notes);
    return new UseKeyConfig(
        c.client(), c.os(), c.model, c.base, files, shell, null, steps, testCommand(c), notes);
  }

  // ---------------------------------------------------------------- Cursor

  private UseKeyConfig cursor(Context c) {
    String baseUrl = c.base + "/v1";
    List<String> steps =
        List.of(
            "Open Cursor Settings → Models → API Keys.",
            "Turn on OpenAI API Key and paste %s.".formatted(c.key),
            "Turn on Override OpenAI Base URL and enter %s. Cursor appends /chat/completions."
                .formatted(baseUrl),
            "Click + Add model, enter %s and enable it. Click Verify.".formatted(c.model));

    List<String> notes = new ArrayList<>();
    notes.add(
        "Cursor has no config file or deep link for API keys or base URLs: set them by hand.");
    notes.add(
        ("Cursor's requests come from Cursor's servers, not your machine, so the base URL must be"
                + " public HTTPS; the gateway at %s must serve POST /v1/chat/completions.")
            .formatted(c.base));
    if (!isPublicHttps(c.base)) {
      notes.add(
          ("Warning: %s is not a public HTTPS address, so Cursor's servers cannot reach it. Use"
                  + " the gateway's public HTTPS URL.")
              .formatted(c.base));
    }
    notes.add(
        "Your own key serves chat models only; Tab completion stays on Cursor's models. The"
            + " override applies to all OpenAI models in Cursor, and Agent mode may ignore the key.");
    notes.add(
        "Newer Cursor builds may send Responses-shaped bodies to /chat/completions. Menu labels"
            + " come from third-party docs and may differ between versions.");
    addPlaceholderNote(c, notes);
    return new UseKeyConfig(
        c.client(), c.os(), c.model, baseUrl, List.of(), null, null, steps, testCommand(c), notes);
  }

  private static boolean isPublicHttps(String base) {
    String lower = base.toLowerCase(Locale.ROOT);
    if (!lower.startsWith("https://")) {
      return false;
    }
    String host = lower.substring("https://".length()).split("[:/]", 2)[0];
    return !(host.equals("localhost")
        || host.endsWith(".localhost")
        || host.startsWith("127.")
        || host.startsWith("10.")
        || host.startsWith("192.168.")
        || host.startsWith("[")
        || host.matches("172\\.(1[6-9]|2[0-9]|3[01])\\..*"));
  }

  // ---------------------------------------------------------------- Cherry Studio

  private UseKeyConfig cherryStudio(Context c) {
    String name = cherrySafe(c.providerName);
    Map<String, String> payload = new LinkedHashMap<>();
    payload.put("id", cherrySafe(PROVIDER_ID));
    payload.put("baseUrl", cherrySafe(c.base));
    payload.put("apiKey", cherrySafe(c.key));
    payload.put("name", name);
    payload.put("type", "openai");
    String link = cherryLink(compactJson(payload));

    List<String> steps = new ArrayList<>();
    steps.add(
        "Install Cherry Studio and start it once, so that your system opens cherrystudio:// links"
            + " with it.");
    steps.add("Open the import link and confirm the import in Cherry Studio.");
    steps.add(
        "In Cherry Studio's model provider settings, open the provider %s, add the model %s and"
                .formatted(name, c.model)
            + " make sure the provider is switched on.");
    steps.add("Run the test command to check the key and base URL.");

    List<String> notes = new ArrayList<>();
    notes.add(
        ("Cherry Studio stores the provider under the id %s. Importing again, for example after"
                + " rotating the key, adds the new key to that provider's key list and keeps the"
                + " old one: remove the old key there by hand.")
            .formatted(PROVIDER_ID));
    notes.add(
        ("The base URL is sent without /v1 (%s); Cherry Studio adds /v1 itself and calls"
                + " POST /v1/chat/completions.")
            .formatted(c.base));
    if (!name.equals(c.providerName)) {
      notes.add(
          "Cherry Studio's importer mangles the characters ' ( and ), so the provider is named %s."
              .formatted(name));
    }
    if (!cherrySafe(c.key).equals(c.key)) {
      notes.add(
          "The key holds ' ( or ), which Cherry Studio's importer mangles: paste the key into the"
              + " provider's API key field by hand after the import.");
    }
    addPlaceholderNote(c, notes);
    return new UseKeyConfig(
        c.client(), c.os(), c.model, c.base, List.of(), null, link, steps, testCommand(c), notes);
  }

  /** Standard base64 with padding, then {@code encodeURIComponent}: what new-api emits. */
  static String cherryLink(String json) {
    String base64 = Base64.getEncoder().encodeToString(json.getBytes(StandardCharsets.UTF_8));
    return CHERRY_LINK_PREFIX + Escaping.encodeUriComponent(base64);
  }

  private static String cherrySafe(String value) {
    return CHERRY_MANGLED.matcher(value).replaceAll("");
  }

  // ---------------------------------------------------------------- CC Switch

  private UseKeyConfig ccSwitch(Context c) {
    CcSwitchApp app = c.request.ccSwitchApp();
    boolean claude = app == CcSwitchApp.CLAUDE;
    String endpoint = claude ? c.base : c.base + "/v1";
    Map<String, String> params = new LinkedHashMap<>();
    params.put("resource", "provider");
    params.put("app", app.wire());
    params.put("name", c.providerName + (claude ? " Claude" : " Codex"));
    params.put("endpoint", endpoint);
    params.put("apiKey", c.key);
    // Always sent: CC Switch falls back to gpt-5-codex for a codex provider without one.
    params.put("model", c.model);
    if (claude) {
      claudeAliases(c).forEach((family, id) -> params.put(family + "Model", id));
    }
    params.put("homepage", c.base);
    params.put("enabled", "true");
    String link = CC_SWITCH_LINK_PREFIX + Escaping.formUrlEncoded(params);

    boolean windows = c.os() == TargetOs.WINDOWS;
    String written =
        claude
            ? filePath(c.os(), windows ? "%USERPROFILE%\\.claude" : "~/.claude", "settings.json")
            : filePath(c.os(), codexHome(c.os()), "config.toml")
                + " and "
                + filePath(c.os(), codexHome(c.os()), "auth.json");
    List<String> steps = new ArrayList<>();
    steps.add(
        "Install CC Switch (version 3) and start it once, so that your system opens ccswitch://"
            + " links with it.");
    steps.add("Open the import link and confirm the import in CC Switch.");
    steps.add(
        ("CC Switch switches %s to the new provider right away and writes %s. Restart running %s"
                + " sessions.")
            .formatted(claude ? "Claude Code" : "Codex", written, claude ? "claude" : "codex"));
    steps.add("Run the test command to check the key and base URL.");

    List<String> notes = new ArrayList<>();
    notes.add(
        "Every import makes a new provider in CC Switch (its id is the name plus a timestamp):"
            + " after rotating the key, import the new link and delete the old provider.");
    if (claude) {
      notes.add(
          ("CC Switch puts the key in ANTHROPIC_AUTH_TOKEN (sent as Bearer) and the base URL %s,"
                  + " without /v1, in ANTHROPIC_BASE_URL; the gateway must serve the Anthropic"
                  + " Messages API at POST /v1/messages.")
              .formatted(endpoint));
    } else {
      notes.add(
          ("CC Switch writes its own [model_providers.custom] table with base_url %s,"
                  + " wire_api = \"responses\" and model_reasoning_effort = \"high\"; Codex needs"
                  + " the gateway to serve POST /v1/responses.")
              .formatted(endpoint));
    }
    if (c.os() == TargetOs.WSL) {
      notes.add(
          "WSL: CC Switch running in Windows writes the Windows user folder; a CLI installed"
              + " inside WSL reads the Linux home instead.");
    }
    addPlaceholderNote(c, notes);
    return new UseKeyConfig(
        c.client(), c.os(), c.model, endpoint, List.of(), null, link, steps, testCommand(c), notes);
  }

  // ---------------------------------------------------------------- shared pieces

  private static String filePath(TargetOs os, String folder, String file) {
    return folder + (os == TargetOs.WINDOWS ? "\\" : "/") + file;
  }

  private static TestCommand testCommand(Context c) {
    String url = c.base + "/v1/models";
    return new TestCommand(
        "curl -sS %s -H %s"
            .formatted(url, Escaping.bashDoubleQuoted("Authorization: Bearer " + c.key)),
        "Invoke-RestMethod -Uri %s -Headers @{ Authorization = %s }"
            .formatted(url, Escaping.powershellDoubleQuoted("Bearer " + c.key)));
  }

  private static String bashExport(String name, String value) {
    return "export " + name + "=" + Escaping.bashDoubleQuoted(value);
  }

  private static String powershellEnv(String name, String value) {
    return "$env:" + name + " = " + Escaping.powershellDoubleQuoted(value);
  }

  private static void addPlaceholderNote(Context c, List<String> notes) {
    if (!c.placeholder) {
      return;
    }
    boolean link = c.client() == UseKeyClient.CHERRY_STUDIO || c.client() == UseKeyClient.CC_SWITCH;
    notes.add(
        ("The key is shown as %s: Keywarden shows a secret only once, when the key is created or"
                + " rotated. Replace the placeholder with your key%s.")
            .formatted(
                SECRET_PLACEHOLDER,
                link
                    ? "; the import link carries the placeholder too, so after importing it, paste"
                        + " your key into the provider's API key field in the app"
                    : ""));
  }

  private static String prettyJson(Object value) {
    try {
      return PRETTY_JSON.writeValueAsString(value) + "\n";
    } catch (JsonProcessingException e) {
      // Only maps of strings are written; this cannot happen.
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  private static String compactJson(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  /** The request with the secret or placeholder, model and provider name resolved. */
  private static final class Context {
    final UseKeyRequest request;
    final String model;
    final String base;
    final String key;
    final boolean placeholder;
    final String providerName;

    Context(UseKeyRequest request, String model) {
      this.request = request;
      this.model = model;
      this.base = request.baseUrl();
      this.placeholder = request.secret() == null || request.secret().isBlank();
      this.key = placeholder ? SECRET_PLACEHOLDER : request.secret().strip();
      this.providerName =
          request.keyName() == null || request.keyName().isBlank()
              ? DEFAULT_PROVIDER_NAME
              : request.keyName().strip();
    }

    UseKeyClient client() {
      return request.client();
    }

    TargetOs os() {
      return request.os();
    }
  }
}
