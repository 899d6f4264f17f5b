package io.keywarden.key.leak;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.keywarden.contracts.Unicode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses the body GitHub POSTs to a secret-scanning partner: {@code [{"token", "type", "url",
 * "source"}, ...]}.
 *
 * <p>Streaming (Jackson core), so a large batch is parsed in one pass without a tree. Error
 * messages name the position ({@code body[3].token is missing}) and never contain any value from
 * the body: Jackson's own messages quote the offending input, which here may be a live secret, so
 * they are replaced by a line/column.
 */
public final class GithubLeakReport {
  /** The most tokens accepted in one report; more is refused as a bad request. */
  public static final int MAX_TOKENS = 100_000;

  private static final JsonFactory JSON =
      JsonFactory.builder()
          // a second "token" in one element must not silently hide the first
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .streamReadConstraints(
              StreamReadConstraints.builder().maxNestingDepth(64).maxStringLength(1 << 20).build())
          .build();

  private GithubLeakReport() {}

  /**
   * The reported tokens, in body order.
   *
   * @throws IllegalArgumentException for malformed JSON, a body that is not an array, an element
   *     that is not an object or lacks a string {@code token}, a non-string {@code type}/{@code
   *     url}/{@code source}, or more than {@link #MAX_TOKENS} elements. The message never includes
   *     a token or any other body value.
   */
  public static List<ReportedToken> parse(byte[] body) {
    if (body == null || body.length == 0) {
      throw new IllegalArgumentException("body is empty");
    }
    try (JsonParser p = JSON.createParser(body)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        throw new IllegalArgumentException("body is empty");
      }
      if (t != JsonToken.START_ARRAY) {
        throw new IllegalArgumentException("body is not a JSON array");
      }
      List<ReportedToken> out = new ArrayList<>();
      int index = 0;
      while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
        if (t == null) {
          throw new IllegalArgumentException("body ends inside the array");
        }
        if (index >= MAX_TOKENS) {
          throw new IllegalArgumentException(
              "body has more than " + MAX_TOKENS + " tokens; send at most " + MAX_TOKENS);
        }
        if (t != JsonToken.START_OBJECT) {
          throw new IllegalArgumentException("body[" + index + "] is not an object");
        }
        out.add(readElement(p, index));
        index++;
      }
      if (p.nextToken() != null) {
        throw new IllegalArgumentException("body has content after the array");
      }
      return out;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("body is not valid JSON" + where(e.getLocation()));
    } catch (IOException e) {
      throw new IllegalArgumentException("body could not be read");
    }
  }

  private static ReportedToken readElement(JsonParser p, int index) throws IOException {
    String token = null;
    boolean tokenSeen = false;
    String type = null;
    String url = null;
    String source = null;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken value = p.nextToken();
      switch (field) {
        case "token" -> {
          tokenSeen = true;
          if (value != JsonToken.VALUE_STRING) {
            throw new IllegalArgumentException("body[" + index + "].token is not a string");
          }
          token = p.getText();
        }
        case "type" -> type = optionalString(p, value, index, field);
        case "url" -> url = optionalString(p, value, index, field);
        case "source" -> source = optionalString(p, value, index, field);
        default -> p.skipChildren(); // unknown fields are tolerated: GitHub may add some
      }
    }
    if (t != JsonToken.END_OBJECT) {
      throw new IllegalArgumentException("body[" + index + "] is not a well-formed object");
    }
    if (!tokenSeen) {
      throw new IllegalArgumentException("body[" + index + "].token is missing");
    }
    return new ReportedToken(token, type, url, source);
  }

  private static String optionalString(JsonParser p, JsonToken value, int index, String field)
      throws IOException {
    if (value == JsonToken.VALUE_NULL) {
      return null;
    }
    if (value != JsonToken.VALUE_STRING) {
      throw new IllegalArgumentException("body[" + index + "]." + field + " is not a string");
    }
    String text = p.getText();
    String problem = Unicode.problem(text);
    if (problem != null) {
      // echoed in the answer (type) and logged (url, source): Jackson cannot write a lone
      // surrogate as UTF-8, and neither can be stored
      throw new IllegalArgumentException("body[" + index + "]." + field + " " + problem);
    }
    return text;
  }

  private static String where(JsonLocation loc) {
    if (loc == null || loc.getLineNr() < 0) {
      return "";
    }
    return " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
  }
}
