package io.keywarden.key.usekey;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What to render a client configuration for.
 *
 * @param client the client application
 * @param os the operating system the client runs on
 * @param model the model id to configure, or {@code null} to choose the group's best fit for the
 *     client; must be one of {@code groupModels}
 * @param baseUrl the gateway root as the public sees it, e.g. {@code https://api.example.com}
 *     (trailing slashes are dropped; no {@code /v1})
 * @param secret the real key, or {@code null} to render {@link UseKeyRenderer#SECRET_PLACEHOLDER}
 * @param keyName the key's display name, used as the provider name; blank means "Keywarden"
 * @param groupModels the model ids of the key's group, in catalogue order
 * @param ccSwitchApp the app a CC Switch link configures; {@code null} means {@link
 *     CcSwitchApp#CLAUDE}; ignored for other clients
 */
public record UseKeyRequest(
    UseKeyClient client,
    TargetOs os,
    String model,
    String baseUrl,
    String secret,
    String keyName,
    List<String> groupModels,
    CcSwitchApp ccSwitchApp) {

  /**
   * Host, port and a plain path only: the URL is pasted unquoted into shell commands and must
   * survive Cherry Studio's parser, which mangles quotes and parentheses.
   */
  private static final Pattern BASE_URL =
      Pattern.compile(
          "(?i)https?://([a-z0-9.-]+|\\[[0-9a-f:]+\\])(:[0-9]{1,5})?(/[a-z0-9._~%/-]*)?");

  public UseKeyRequest {
    if (client == null) {
      UseKeyClient.fromWire(null); // throws the message that lists the accepted values
    }
    if (os == null) {
      TargetOs.fromWire(null);
    }
    if (baseUrl == null || !BASE_URL.matcher(baseUrl).matches()) {
      throw new IllegalArgumentException(
          "baseUrl: must be an http(s) URL of host, optional port and plain path, e.g."
              + " https://api.example.com");
    }
    while (baseUrl.endsWith("/")) {
      baseUrl = baseUrl.substring(0, baseUrl.length() - 1);
    }
    model = model == null || model.isBlank() ? null : model.trim();
    groupModels = groupModels == null ? List.of() : List.copyOf(groupModels);
    ccSwitchApp = Objects.requireNonNullElse(ccSwitchApp, CcSwitchApp.CLAUDE);
  }

  /** Never prints the secret: requests end up in logs and exception messages. */
  @Override
  public String toString() {
    return ("UseKeyRequest[client=%s, os=%s, model=%s, baseUrl=%s, secret=%s, keyName=%s,"
            + " groupModels=%s, ccSwitchApp=%s]")
        .formatted(
            client,
            os,
            model,
            baseUrl,
            secret == null ? "none" : "***",
            keyName,
            groupModels,
            ccSwitchApp);
  }
}
