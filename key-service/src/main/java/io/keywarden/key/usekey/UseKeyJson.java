package io.keywarden.key.usekey;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.ByteArrayOutputStream;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
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
  private final java.util.concurrent.atomic.AtomicLong slowRenders =
      new java.util.concurrent.atomic.AtomicLong();

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
    Out out = new Out(4096);
    write(request, out);
    return new String(out.buf, 0, out.len, StandardCharsets.UTF_8);
  }

  /**
   * The UTF-8 JSON of the configurations of every client for {@code os}, in {@link UseKeyClient}
   * order, as {@code mapper} writes a map of wire name to configuration.
   *
   * @throws IllegalArgumentException as {@link UseKeyRenderer#render(UseKeyRequest)}
   */
  public byte[] allClients(
      TargetOs os,
      String baseUrl,
      String secret,
      String keyName,
      List<String> groupModels,
      CcSwitchApp app) {
    Out out = new Out(16_384);
    out.add((byte) '{');
    for (UseKeyClient c : UseKeyClient.values()) {
      if (out.len > 1) {
        out.add((byte) ',');
      }
      out.add((byte) '"').add(c.wire().getBytes(StandardCharsets.UTF_8)).add((byte) '"');
      out.add((byte) ':');
      write(new UseKeyRequest(c, os, null, baseUrl, secret, keyName, groupModels, app), out);
    }
    out.add((byte) '}');
    return out.len == out.buf.length ? out.buf : Arrays.copyOf(out.buf, out.len);
  }

  private void write(UseKeyRequest request, Out out) {
    boolean placeholder = request.secret() == null || request.secret().isBlank();
    String secret = placeholder ? null : request.secret().strip();
    String name =
        request.keyName() == null || request.keyName().isBlank()
            ? UseKeyRenderer.DEFAULT_PROVIDER_NAME
            : request.keyName().strip();
    if ((secret != null && !plain(secret)) || !plain(name)) {
      out.add(slow(request));
      return;
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
      out.add(slow(request));
      return;
    }
    byte[] secretBytes = secret == null ? null : secret.getBytes(StandardCharsets.UTF_8);
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    byte[] linkBytes =
        t.link == null ? null : t.link.fill(secret, name).getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < t.holes.length; i++) {
      out.add(t.parts[i]);
      out.add(
          switch (t.holes[i]) {
            case SECRET -> secretBytes;
            case NAME -> nameBytes;
            default -> linkBytes;
          });
    }
    out.add(t.parts[t.holes.length]);
  }

  /** Templates held now (tests). */
  int templateCount() {
    return templates.size();
  }

  /** Answers rendered the slow way since start (tests). */
  long slowRenders() {
    return slowRenders.get();
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

  private byte[] slow(UseKeyRequest request) {
    slowRenders.incrementAndGet();
    return write(renderer.render(request));
  }

  private byte[] write(Object value) {
    try {
      // the UTF-8 generator, which writes HTTP answers: it differs from the char one (it escapes
      // characters outside the BMP)
      return mapper.writeValueAsBytes(value);
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
    LinkTemplate link = null;
    if (c.importLink() != null) {
      link = LinkTemplate.of(c.importLink());
      if (link == null) {
        return Template.UNUSABLE;
      }
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
    Cut cut = Cut.of(new String(write(c), StandardCharsets.UTF_8), true);
    byte[][] parts = new byte[cut.parts.length][];
    for (int i = 0; i < parts.length; i++) {
      parts[i] = cut.parts[i].getBytes(StandardCharsets.UTF_8);
    }
    return new Template(parts, cut.holes, link);
  }

  private static boolean holds(String text) {
    return text.contains(SECRET_HOLE) || text.contains(NAME_HOLE) || text.contains(LINK_HOLE);
  }

  /**
   * JSON bytes cut at the stand-ins: {@code parts[0]}, hole {@code holes[0]}, {@code parts[1]}...
   */
  private record Template(byte[][] parts, byte[] holes, LinkTemplate link) {
    static final Template UNUSABLE = new Template(new byte[][] {{}}, new byte[0], null);
  }

  /** Text cut at the stand-ins of the secret and the name (and of the link, if asked). */
  private record Cut(String[] parts, byte[] holes) {
    static Cut of(String text, boolean withLink) {
      List<String> parts = new ArrayList<>();
      ByteArrayOutputStream holes = new ByteArrayOutputStream();
      int from = 0;
      while (true) {
        int s = text.indexOf(SECRET_HOLE, from);
        int n = text.indexOf(NAME_HOLE, from);
        int l = withLink ? text.indexOf(LINK_HOLE, from) : -1;
        int at = min(min(s, n), l);
        if (at < 0) {
          break;
        }
        parts.add(text.substring(from, at));
        byte kind = at == s ? SECRET : at == n ? NAME : LINK;
        holes.write(kind);
        from = at + (kind == SECRET ? SECRET_HOLE : kind == NAME ? NAME_HOLE : LINK_HOLE).length();
      }
      parts.add(text.substring(from));
      return new Cut(parts.toArray(String[]::new), holes.toByteArray());
    }

    private static int min(int a, int b) {
      return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }

    String fill(String secret, String name, java.util.function.UnaryOperator<String> quote) {
      StringBuilder out = new StringBuilder(256);
      for (int i = 0; i < holes.length; i++) {
        out.append(parts[i]).append(quote.apply(holes[i] == SECRET ? secret : name));
      }
      return out.append(parts[holes.length]).toString();
    }
  }

  /**
   * The import link cut at the stand-ins. CC Switch's is form-urlencoded, which encodes each
   * character on its own, so the link is cut as it is and the values encoded into the holes. Cherry
   * Studio's carries base64 of a JSON object: that JSON is cut, filled (plain values need no JSON
   * quoting, and Cherry Studio's importer leaves them alone) and encoded per call.
   */
  private record LinkTemplate(boolean cherry, Cut cut) {
    /** The template, or null when filling it with the stand-ins would not give {@code link}. */
    static LinkTemplate of(String link) {
      LinkTemplate t;
      if (link.startsWith(UseKeyRenderer.CHERRY_LINK_PREFIX)) {
        String data = link.substring(UseKeyRenderer.CHERRY_LINK_PREFIX.length());
        String json =
            new String(
                Base64.getDecoder().decode(URLDecoder.decode(data, StandardCharsets.UTF_8)),
                StandardCharsets.UTF_8);
        t = new LinkTemplate(true, Cut.of(json, false));
      } else if (link.startsWith(UseKeyRenderer.CC_SWITCH_LINK_PREFIX)) {
        t = new LinkTemplate(false, Cut.of(link, false));
      } else {
        return null;
      }
      return link.equals(t.fill(SECRET_HOLE, NAME_HOLE)) ? t : null;
    }

    String fill(String secret, String name) {
      if (cherry) {
        return UseKeyRenderer.cherryLink(cut.fill(secret, name, v -> v));
      }
      return cut.fill(secret, name, v -> URLEncoder.encode(v, StandardCharsets.UTF_8));
    }
  }

  /** A growing byte buffer. */
  private static final class Out {
    byte[] buf;
    int len;

    Out(int capacity) {
      buf = new byte[capacity];
    }

    Out add(byte b) {
      if (len == buf.length) {
        buf = Arrays.copyOf(buf, buf.length * 2);
      }
      buf[len++] = b;
      return this;
    }

    Out add(byte[] b) {
      if (len + b.length > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + b.length));
      }
      System.arraycopy(b, 0, buf, len, b.length);
      len += b.length;
      return this;
    }
  }
}
