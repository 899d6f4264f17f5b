package io.keywarden.usage.rest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.Unicode;
import io.keywarden.usage.authz.Authorizer;
import java.io.IOException;
import java.util.Set;

/**
 * The body of {@code POST /api/authorize}, read from the bytes received.
 *
 * <p>Every gateway request passes here, so the common shape (one flat object of string or null
 * values, each field at most once, nothing after it) is read with a streaming parser into seven
 * strings, without a tree. Anything else (a number, a nested value, an unknown or repeated field,
 * broken JSON, trailing content) goes to the tree reading of the same bytes, which decides and
 * names the field exactly as before. Both readings end in {@link #validate}, so a value is judged
 * the same way whichever reading found it.
 */
final class AuthorizeRequest {
  static final Set<String> FIELDS =
      Set.of("key", "keyHash", "clientIp", "model", "requestId", "estimatedCostUsd", "userAgent");

  private static final int KEY = 0;
  private static final int KEY_HASH = 1;
  private static final int CLIENT_IP = 2;
  private static final int MODEL = 3;
  private static final int REQUEST_ID = 4;
  private static final int ESTIMATE = 5;
  private static final int USER_AGENT = 6;

  private AuthorizeRequest() {}

  /** Parses and validates; {@link Problem.BadInput} names the field otherwise. */
  static Authorizer.Ask parse(ObjectMapper mapper, byte[] body) {
    return parse(mapper, body, 0, body.length);
  }

  /** The same for a Vert.x buffer (null = empty), read in place when it has a heap array. */
  static Authorizer.Ask parse(ObjectMapper mapper, io.vertx.core.buffer.Buffer body) {
    if (body == null) {
      return parse(mapper, new byte[0]);
    }
    io.netty.buffer.ByteBuf b = body.getByteBuf();
    if (b.hasArray()) {
      return parse(mapper, b.array(), b.arrayOffset() + b.readerIndex(), b.readableBytes());
    }
    return parse(mapper, body.getBytes());
  }

  static Authorizer.Ask parse(ObjectMapper mapper, byte[] body, int offset, int length) {
    Authorizer.Ask fast = flat(mapper.getFactory(), body, offset, length);
    if (fast != null) {
      return fast;
    }
    // from the bytes, not a decoded string: invalid UTF-8 is a 400, not U+FFFD in a value
    return parse(Json.parse(mapper, body, offset, length));
  }

  /** The tree reading (also the judge of every body the streaming reading leaves alone). */
  static Authorizer.Ask parse(JsonNode o) {
    Json.onlyFields(o, "", FIELDS);
    return validate(
        Json.string(o, "key", ""),
        Json.string(o, "keyHash", ""),
        Json.string(o, "clientIp", ""),
        Json.string(o, "model", ""),
        Json.string(o, "requestId", ""),
        Json.usdText(o, "estimatedCostUsd", ""),
        Json.string(o, "userAgent", ""));
  }

  /**
   * The streaming reading: the validated ask for a flat object of known fields with string or null
   * values; null (meaning "read it as a tree") for anything else, including invalid values' syntax.
   */
  static Authorizer.Ask flat(JsonFactory factory, byte[] body) {
    return flat(factory, body, 0, body.length);
  }

  static Authorizer.Ask flat(JsonFactory factory, byte[] body, int offset, int length) {
    String[] v = new String[7];
    int seen = 0;
    try (JsonParser p = factory.createParser(body, offset, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        int i = index(p.currentName());
        if (i < 0 || (seen & (1 << i)) != 0) {
          return null;
        }
        seen |= 1 << i;
        JsonToken value = p.nextToken();
        if (value == JsonToken.VALUE_STRING) {
          v[i] = p.getText();
          if (Unicode.problem(v[i]) != null) {
            return null; // the tree reading names the field
          }
        } else if (value != JsonToken.VALUE_NULL) {
          return null;
        }
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
        return null;
      }
    } catch (IOException e) {
      return null;
    }
    return validate(
        v[KEY], v[KEY_HASH], v[CLIENT_IP], v[MODEL], v[REQUEST_ID], v[ESTIMATE], v[USER_AGENT]);
  }

  private static int index(String name) {
    return switch (name) {
      case "key" -> KEY;
      case "keyHash" -> KEY_HASH;
      case "clientIp" -> CLIENT_IP;
      case "model" -> MODEL;
      case "requestId" -> REQUEST_ID;
      case "estimatedCostUsd" -> ESTIMATE;
      case "userAgent" -> USER_AGENT;
      default -> -1;
    };
  }

  /** The checks on the values, whichever reading found them (null = absent). */
  static Authorizer.Ask validate(
      String key,
      String hash,
      String ip,
      String model,
      String requestId,
      String estimate,
      String userAgent) {
    Json.length(key, "key", "", 256);
    Json.length(hash, "keyHash", "", 64);
    if ((key == null) == (hash == null)) {
      throw new Problem.BadInput("key", "send exactly one of key and keyHash");
    }
    if (hash != null && !lowerHex64(hash)) {
      throw new Problem.BadInput("keyHash", "must be 64 lower-case hex characters (SHA-256)");
    }
    Json.length(ip, "clientIp", "", 64);
    if (ip != null && !Json.isIpLiteral(ip)) {
      throw new Problem.BadInput("clientIp", "must be an IPv4 or IPv6 address");
    }
    Json.length(model, "model", "", 128);
    Json.length(requestId, "requestId", "", 128);
    if (requestId != null && !Json.validRequestId(requestId)) {
      throw new Problem.BadInput("requestId", "may hold only letters, digits and . _ : -");
    }
    Long est = Json.usd(estimate, "estimatedCostUsd", "");
    Json.length(userAgent, "userAgent", "", 512);
    return new Authorizer.Ask(key, hash, ip, model, requestId, est == null ? 0 : est, userAgent);
  }

  static boolean lowerHex64(String s) {
    if (s.length() != 64) {
      return false;
    }
    for (int i = 0; i < 64; i++) {
      char c = s.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return true;
  }
}
