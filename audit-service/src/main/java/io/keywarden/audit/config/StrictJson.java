package io.keywarden.audit.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * Request bodies with a field twice are refused (400 naming the field), not read as "the last one
 * wins" (S9): {@code {"mode":"daily","mode":"immediate"}} was stored as {@code immediate} with a
 * 200, and two readers of one body must never see different values.
 */
@Singleton
public class StrictJson implements ObjectMapperCustomizer {
  @Override
  public void customize(ObjectMapper mapper) {
    mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  }
}
