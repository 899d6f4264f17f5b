package io.keywarden.support.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * Request bodies with a field twice are refused (400 naming the field), not read as "the last one
 * wins" (S9), in the services of this module: two readers of one body must never see different
 * values. Before it, key-service answered a one-field body such as {@code
 * {"overlap":"P7D","overlap":"P1D"}} with a 500 (Jackson's record binding failed: "no fallback
 * setter for creator property"), and audit-service stored {@code
 * {"mode":"daily","mode":"immediate"}} as {@code immediate} with a 200. (usage-service, which does
 * not use this module, reads its bodies itself with the same check.)
 */
@Singleton
public class StrictJson implements ObjectMapperCustomizer {
  @Override
  public void customize(ObjectMapper mapper) {
    mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  }
}
