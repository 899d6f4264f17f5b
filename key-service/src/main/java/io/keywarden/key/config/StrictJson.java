package io.keywarden.key.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * Request bodies with a field twice are refused (400 naming the field), not read as "the last one
 * wins": a one-field body such as {@code {"overlap":"P7D","overlap":"P1D"}} failed inside Jackson's
 * record binding ("no fallback setter for creator property") and was answered 500 (S9), and two
 * readers of one body must never see different values.
 */
@Singleton
public class StrictJson implements ObjectMapperCustomizer {
  @Override
  public void customize(ObjectMapper mapper) {
    mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  }
}
