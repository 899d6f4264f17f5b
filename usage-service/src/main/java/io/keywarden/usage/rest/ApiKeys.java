package io.keywarden.usage.rest;

/** Reads an API key from {@code Authorization: Bearer} or {@code x-api-key}. */
public final class ApiKeys {
  private ApiKeys() {}

  public static String fromHeaders(String authorization, String xApiKey) {
    if (authorization != null) {
      String a = authorization.trim();
      if (a.regionMatches(true, 0, "Bearer ", 0, 7)) {
        return a.substring(7).trim();
      }
      return null;
    }
    return xApiKey == null ? null : xApiKey.trim();
  }
}
