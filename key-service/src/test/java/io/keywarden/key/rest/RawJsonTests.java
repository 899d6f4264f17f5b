package io.keywarden.key.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.usekey.CcSwitchApp;
import io.keywarden.key.usekey.TargetOs;
import io.keywarden.key.usekey.UseKeyClient;
import io.keywarden.key.usekey.UseKeyConfig;
import io.keywarden.key.usekey.UseKeyJson;
import io.keywarden.key.usekey.UseKeyRenderer;
import io.keywarden.key.usekey.UseKeyRequest;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A create answer with the configurations as raw JSON is the bytes of the former Jackson tree. */
class RawJsonTests {
  static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .build();
  static final String BASE = "http://localhost:8082";
  static final List<String> GROUP =
      List.of(
          "gpt-5.5", "gpt-5.5-mini", "claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-8");

  final UseKeyRenderer renderer = new UseKeyRenderer();
  final UseKeyJson fast = new UseKeyJson(renderer, MAPPER);

  @Test
  void theCreateAnswerIsByteForByteTheOneWrittenFromTheRenderedConfigurations() throws Exception {
    for (String name :
        List.of(
            "codex laptop",
            "Keywarden (prod) 'x' \"y\" \\ z",
            "emoji 😀 ünï ‘q’ $x `y`",
            "a+b&c=d%e")) {
      ApiKey k = new ApiKey();
      k.id = UUID.randomUUID();
      k.account = "acc-1";
      k.name = name;
      k.group = "default";
      k.status = "active";
      k.mask = "sk-kw-AB…yz";
      k.createdAt = Instant.parse("2026-11-23T09:00:00.123456Z");
      k.updatedAt = k.createdAt;
      k.expiresAt = Instant.parse("2027-01-01T00:00:00Z");
      k.quotaMicros = 5_000_000;
      k.requestsPerMinute = 60;
      String secret = "sk-kw-0123456789abcdefghijABCDEFGHIJxyz12";
      Map<String, UseKeyConfig> tree = new LinkedHashMap<>();
      for (UseKeyClient c : UseKeyClient.values()) {
        tree.put(
            c.wire(),
            renderer.render(
                new UseKeyRequest(
                    c, TargetOs.LINUX, null, BASE, secret, name, GROUP, CcSwitchApp.CLAUDE)));
      }
      RawJson raw =
          new RawJson(
              fast.allClients(TargetOs.LINUX, BASE, secret, name, GROUP, CcSwitchApp.CLAUDE));
      Instant now = Instant.parse("2026-11-23T09:00:01Z");
      byte[] before = MAPPER.writeValueAsBytes(KeyView.of(k, now, "/api/keys/x/use", secret, tree));
      byte[] after = MAPPER.writeValueAsBytes(KeyView.of(k, now, "/api/keys/x/use", secret, raw));
      assertThat(new String(after, java.nio.charset.StandardCharsets.UTF_8))
          .isEqualTo(new String(before, java.nio.charset.StandardCharsets.UTF_8));
      assertThat(after).isEqualTo(before);
      assertThat(raw.toString()).doesNotContain(secret);
    }
  }

  /** KeyViewJson writes the create answer exactly as the mapper writes the same KeyView. */
  @Test
  void theHandWrittenCreateAnswerIsByteForByteTheMappersJson() throws Exception {
    String secret = "sk-kw-0123456789abcdefghijABCDEFGHIJxyz12";
    for (int variant = 0; variant < 4; variant++) {
      for (String name :
          List.of(
              "codex laptop",
              "Keywarden (prod) 'x' \"y\" \\ z / </script>",
              "emoji 😀 ünï ‘q’ $x `y` \u2028",
              "ctl \t\n\r\b\f\u0001\u001f end")) {
        ApiKey k = new ApiKey();
        k.id = UUID.randomUUID();
        k.account = variant == 3 ? "acc \"ü\"" : "acc-1";
        k.name = name;
        k.group = "default";
        k.status = variant == 2 ? "disabled" : "active";
        k.mask = "sk-kw-AB…yz";
        k.custom = variant == 1;
        k.createdAt = Instant.parse("2026-11-23T09:00:00.123456Z");
        k.updatedAt = variant == 0 ? k.createdAt : Instant.parse("2026-11-23T09:00:00Z");
        k.quotaReset = "none";
        k.allowedIpsJson = variant == 1 ? "[\"10.0.0.0/8\",\"2001:db8::1\"]" : "[]";
        if (variant >= 1) {
          k.expiresAt = Instant.parse("2027-01-01T00:00:00.5Z");
          k.quotaMicros = 12_500_000;
          k.spentMicros = 1_000;
          k.requestsPerMinute = 60;
          k.concurrentRequests = variant == 2 ? 2 : null;
          k.tokensPerMinute = variant == 3 ? 100_000 : null;
          k.rotatedAt = Instant.parse("2026-11-22T01:02:03.000000001Z");
          k.previousKeyHash = "ab".repeat(32);
          k.previousKeyExpiresAt = Instant.parse("2026-12-01T00:00:00Z");
          k.lastUsedAt = Instant.parse("2026-11-23T08:00:00Z");
        }
        RawJson raw =
            variant == 2
                ? null
                : new RawJson(
                    fast.allClients(TargetOs.LINUX, BASE, secret, name, GROUP, CcSwitchApp.CLAUDE));
        Instant now = Instant.parse("2026-11-23T09:00:01Z");
        KeyView v =
            KeyView.of(k, now, "/api/keys/" + k.id + "/use", variant == 2 ? null : secret, raw);
        String expected =
            new String(MAPPER.writeValueAsBytes(v), java.nio.charset.StandardCharsets.UTF_8);
        String actual = new String(KeyViewJson.write(v), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(actual).as("variant %d, name %s", variant, name).isEqualTo(expected);
      }
    }
  }
}
