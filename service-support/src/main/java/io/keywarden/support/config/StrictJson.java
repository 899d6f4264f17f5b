package io.keywarden.support.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.deser.std.StringDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.keywarden.contracts.Unicode;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;
import java.io.IOException;

/**
 * Request bodies are read strictly in the services of this module (usage-service, which does not
 * use it, reads its bodies itself with the same checks):
 *
 * <ul>
 *   <li>A field given twice is refused (400 naming the field), not read as "the last one wins"
 *       (S9): two readers of one body must never see different values. Before it, key-service
 *       answered a one-field body such as {@code {"overlap":"P7D","overlap":"P1D"}} with a 500
 *       (Jackson's record binding failed: "no fallback setter for creator property"), and
 *       audit-service stored {@code {"mode":"daily","mode":"immediate"}} as {@code immediate} with
 *       a 200.
 *   <li>A string that is not well-formed Unicode (a lone surrogate, {@code "\udbe5"}) is refused
 *       (400 naming the field, {@link MalformedText}). Before it, a key named or grouped so reached
 *       PostgreSQL, which refused the row (22021), and the create was answered 503.
 * </ul>
 */
@Singleton
public class StrictJson implements ObjectMapperCustomizer {
  @Override
  public void customize(ObjectMapper mapper) {
    mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    mapper.registerModule(
        new SimpleModule("keywarden-strict-text")
            .addDeserializer(String.class, new WellFormedString()));
  }

  /** Jackson's own string reading, then the Unicode check. */
  static final class WellFormedString extends StdScalarDeserializer<String> {
    WellFormedString() {
      super(String.class);
    }

    @Override
    public String deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String s = StringDeserializer.instance.deserialize(p, ctxt);
      String problem = s == null ? null : Unicode.problem(s);
      if (problem != null) {
        throw new MalformedText(p, problem);
      }
      return s;
    }
  }
}
