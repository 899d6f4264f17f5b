package io.keywarden.support.rest;

import com.fasterxml.jackson.annotation.JsonInclude;

/** RFC 9457 problem details, plus the field at fault. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, String field) {
  public static final String MEDIA_TYPE = "application/problem+json";
}
