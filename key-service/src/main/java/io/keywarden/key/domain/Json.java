package io.keywarden.key.domain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.ModelPrice;
import java.util.List;

/** JSON columns of this service, read and written with the contract's mapper. */
public final class Json {
  private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {};
  private static final TypeReference<List<ModelPrice>> MODELS = new TypeReference<>() {};

  private Json() {}

  public static List<String> readStringList(String json) {
    try {
      return json == null ? List.of() : EventCodec.mapper().readValue(json, STRINGS);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt JSON list column", e);
    }
  }

  public static List<ModelPrice> readModels(String json) {
    try {
      return json == null ? List.of() : EventCodec.mapper().readValue(json, MODELS);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("corrupt models column", e);
    }
  }

  public static String write(Object value) {
    try {
      return EventCodec.mapper().writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
