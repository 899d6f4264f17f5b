package io.keywarden.support.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import io.keywarden.contracts.Unicode;

/**
 * A string in a request body that cannot be stored (an unpaired surrogate, a NUL character: {@link
 * Unicode#problem}): a 400 naming the field, never the value (it may be a pasted secret).
 */
public class MalformedText extends InvalidFormatException {
  private final String problem;

  public MalformedText(JsonParser p, String problem) {
    super(p, problem, "(withheld)", String.class);
    this.problem = problem;
  }

  /** The wording after the field's name. */
  public String problem() {
    return problem;
  }
}
