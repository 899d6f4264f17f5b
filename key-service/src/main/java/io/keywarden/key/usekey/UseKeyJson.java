package io.keywarden.key.usekey;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The JSON of {@link UseKeyRenderer#render(UseKeyRequest)} exactly as {@code mapper} writes it in
 * UTF-8, without rendering and serialising the configuration on every call.
 *
 * <p>Per shape (client, OS, model, base URL, the group's model ids, CC Switch app, placeholder or
 * not) the configuration is rendered and serialised once with stand-ins for the secret and the key
 * name; the answer is that JSON with the real values put where the stand-ins were. The stand-ins
 * are letters and digits, which every syntax the renderer quotes into (JSON, TOML, bash,
 * PowerShell, Cherry Studio's importer) leaves as they are, so the holes are found literally. A
 * value fills a hole by plain concatenation only when every one of those quotings leaves it
 * unchanged too ({@link #plain}); any other value goes the slow way (render, then Jackson). The
 * import link (base64 or form-encoded, so not a literal copy of the values) is built per call by
 * the renderer's own code.
 *
 * <p>The shape includes the group's model ids, so a changed group gets new templates; old ones are
 * dropped when the cache grows past {@link #MAX_TEMPLATES}.
 */
@ApplicationScoped
public class UseKeyJson {
  static final String SECRET_HOLE = "KwHoleSecret7q3x9Z";
  static final String NAME_HOLE = "KwHoleName8m4w2Y";
  static final String LINK_HOLE = "KwHoleLink2v6k5X";
  static final int MAX_TEMPLATES = 512;

  private static final byte SECRET = 0;
  private static final byte NAME = 1;
  private static final byte LINK = 2;

  private final UseKeyRenderer renderer;
  private final ObjectMapper mapper;
  private final ConcurrentHashMap<Shape, Template> templates = new ConcurrentHashMap<>();

  public UseKeyJson(UseKeyRenderer renderer, ObjectMapper mapper) {
    this.renderer = renderer;
    this.mapper = mapper;
  }

  /** Everything a rendered configuration depends on except the secret and the key name. */
  private record Shape(
      UseKeyClient client,
      TargetOs os,
      String model,
      String baseUrl,
      List<String> groupModels,
      CcSwitchApp ccSwitchApp,
      boolean placeholder) {}

  /**
   * The JSON of {@code renderer.render(request)}.
   *
   * @throws IllegalArgumentException as {@link UseKeyRenderer#render(UseKeyRequest)}
   */
  public String json(UseKeyRequest request) {
    boolean placeholder = request.secret() == null || request.secret().isBlank();
    String secret = placeholder ? null : request.secret().strip();
    String name =
        request.keyName() == null || request.keyName().isBlank()
            ? UseKeyRenderer.DEFAULT_PROVIDER_NAME
            : request.keyName().strip();
    if ((secret != null && !plain(secret)) || !plain(name)) {
      return slow(request);
    }
    Shape shape =
        new Shape(
            request.client(),
            request.os(),
            request.model(),
            request.baseUrl(),
            request.groupModels(),
            request.ccSwitchApp(),
            placeholder);
    Template t = templates.get(shape);
    if (t == null) {
      t = build(request, placeholder);
      if (templates.size() >= MAX_TEMPLATES) {
        templates.clear();
      }
      templates.put(shape, t);
    }
    if (t == Template.UNUSABLE) {
      return slow(request);
    }
    String link = null;
    if (t.hasLink) {
      link = renderer.importLink(request);
      if (!linkSafe(link)) {
        return slow(request);
      }
    }
    return t.fill(secret, name, link);
  }

  /**
   * The JSON of the configurations of every client for {@code os}, in {@link UseKeyClient} order,
   * as {@code mapper} writes a map of wire name to configuration.
   *
   * @throws IllegalArgumentException as {@link UseKeyRenderer#render(UseKeyRequest)}
   */
  public String allClients(
      TargetOs os,
      String baseUrl,
      String secret,
      String keyName,
      List<String> groupModels,
      CcSwitchApp app) {
    StringBuilder out = new StringBuilder(16_384).append('{');
    for (UseKeyClient c : UseKeyClient.values()) {
      if (out.length() > 1) {
        out.append(',');
      }
      out.append('"').append(c.wire()).append("\":");
      out.append(json(new UseKeyRequest(c, os, null, baseUrl, secret, keyName, groupModels, app)));
    }
    return out.append('}').toString();
  }

  /** Templates held now (tests). */
  int templateCount() {
    return templates.size();
  }

  /**
   * True when JSON, TOML, bash and PowerShell (double and single quoted) quoting and Cherry
   * Studio's importer all leave {@code value} unchanged, and UTF-8 JSON output writes it as is.
   */
  static boolean plain(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20
          || (c >= 0x7F && c < 0xA0)
          || Character.isSurrogate(c)
          || c == '\u2018'
          || c == '\u2019'
          || c == '\u201C'
          || c == '\u201D'
          || c == '\u201E') {
        return false;
      }
      switch (c) {
        case '"', '\\', '$', '`', '\'', '(', ')' -> {
          return false;
        }
        default -> {}
      }
    }
    return true;
  }

  /** Printable ASCII without quote or backslash: JSON writes it unescaped. */
  private static boolean linkSafe(String link) {
    for (int i = 0; i < link.length(); i++) {
      char c = link.charAt(i);
      if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
        return false;
      }
    }
    return true;
  }

  private String slow(UseKeyRequest request) {
    return write(renderer.render(request));
  }

  private String write(Object value) {
    try {
      // bytes, not a String: the UTF-8 generator is what writes HTTP answers, and it differs from
      // the char one (it escapes characters outside the BMP)
      return new String(mapper.writeValueAsBytes(value), StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a use-key configuration", e);
    }
  }

  private Template build(UseKeyRequest request, boolean placeholder) {
    if (holds(request.baseUrl()) || request.groupModels().stream().anyMatch(UseKeyJson::holds)) {
      renderer.render(request); // the same exception for a bad model
      return Template.UNUSABLE; // a stand-in could not be told from the catalogue's text
    }
    UseKeyRequest stand =
        new UseKeyRequest(
            request.client(),
            request.os(),
            request.model(),
            request.baseUrl(),
            placeholder ? null : SECRET_HOLE,
            NAME_HOLE,
            request.groupModels(),
            request.ccSwitchApp());
    UseKeyConfig c = renderer.render(stand);
    boolean hasLink = c.importLink() != null;
    if (hasLink) {
      c =
          new UseKeyConfig(
              c.client(),
              c.os(),
              c.model(),
              c.baseUrl(),
              c.files(),
              c.shell(),
              LINK_HOLE,
              c.steps(),
              c.testCommand(),
              c.notes());
    }
    return Template.split(write(c), hasLink);
  }

  private static boolean holds(String text) {
    return text.contains(SECRET_HOLE) || text.contains(NAME_HOLE) || text.contains(LINK_HOLE);
  }

  /** JSON text cut at the stand-ins: {@code parts[i]}, then hole {@code holes[i]}, ... */
  private static final class Template {
    final String[] parts;
    final byte[] holes;
    final boolean hasLink;
    final int fixedLength;

    static final Template UNUSABLE = new Template(new String[] {""}, new byte[0], false);

    private Template(String[] parts, byte[] holes, boolean hasLink) {
      this.parts = parts;
      this.holes = holes;
      this.hasLink = hasLink;
      int n = 0;
      for (String p : parts) {
        n += p.length();
      }
      this.fixedLength = n;
    }

    static Template split(String json, boolean hasLink) {
      List<String> parts = new ArrayList<>();
      List<Byte> holes = new ArrayList<>();
      int from = 0;
      while (true) {
        int s = json.indexOf(SECRET_HOLE, from);
        int n = json.indexOf(NAME_HOLE, from);
        int l = json.indexOf(LINK_HOLE, from);
        int at = min(s, n, l);
        if (at < 0) {
          break;
        }
        parts.add(json.substring(from, at));
        byte kind = at == s ? SECRET : at == n ? NAME : LINK;
        holes.add(kind);
        from = at + (kind == SECRET ? SECRET_HOLE : kind == NAME ? NAME_HOLE : LINK_HOLE).length();
      }
      parts.add(json.substring(from));
      byte[] h = new byte[holes.size()];
      for (int i = 0; i < h.length; i++) {
        h[i] = holes.get(i);
      }
      return new Template(parts.toArray(String[]::new), h, hasLink);
    }

    private static int min(int... at) {
      int m = -1;
      for (int a : at) {
        if (a >= 0 && (m < 0 || a < m)) {
          m = a;
        }
      }
      return m;
    }

    String fill(String secret, String name, String link) {
      StringBuilder out = new StringBuilder(fixedLength + holes.length * 64);
      for (int i = 0; i < holes.length; i++) {
        out.append(parts[i]);
        out.append(
            switch (holes[i]) {
              case SECRET -> secret;
              case NAME -> name;
              default -> link;
            });
      }
      return out.append(parts[holes.length]).toString();
    }
  }
}
