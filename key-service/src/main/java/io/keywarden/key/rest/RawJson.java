package io.keywarden.key.rest;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import java.io.IOException;

/**
 * A JSON value already written (by the same mapper): Jackson copies it into the answer as it is. It
 * may hold a secret, so {@link #toString()} does not show it.
 */
public final class RawJson implements JsonSerializable {
  private final String json;

  public RawJson(String json) {
    this.json = json;
  }

  public String json() {
    return json;
  }

  @Override
  public void serialize(JsonGenerator gen, SerializerProvider serializers) throws IOException {
    gen.writeRawValue(json);
  }

  @Override
  public void serializeWithType(
      JsonGenerator gen, SerializerProvider serializers, TypeSerializer typeSer)
      throws IOException {
    gen.writeRawValue(json);
  }

  @Override
  public String toString() {
    return "RawJson[" + json.length() + " chars]";
  }
}
