package io.keywarden.support.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import io.keywarden.contracts.Unicode;

/**
 * A string in a request body that is not well-formed Unicode (an unpaired surrogate): a 400 naming
 * the field, never the value (it may be a pasted secret).
 */
public class MalformedText extends InvalidFormatException {
  public MalformedText(JsonParser p) {
    super(p, Unicode.PROBLEM, "(withheld)", String.class);
  }
}
