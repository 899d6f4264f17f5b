package io.keywarden.usage.rest;

import io.keywarden.usage.authz.Authorizer;
import io.keywarden.usage.authz.DecisionCode;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.Logger;

/**
 * Forward-auth for reverse proxies: nginx {@code auth_request}, Traefik ForwardAuth, Envoy
 * ext_authz (HTTP). The proxy forwards the client's headers; this reads the key ({@code
 * Authorization: Bearer} or {@code x-api-key}), the client IP ({@code X-Real-IP}, else the first
 * {@code X-Forwarded-For}, else the peer), the model ({@code X-Keywarden-Model}), an optional
 * request id ({@code X-Keywarden-Request-Id} or {@code X-Request-Id}) and estimated cost ({@code
 * X-Keywarden-Estimated-Cost-Usd}). The proxy itself authenticates with the static shared secret
 * {@code kw.gateway.shared-secret} in header {@code X-Keywarden-Gateway-Secret} (every proxy can
 * set a fixed header); without a configured secret the endpoint is off.
 *
 * <ul>
 *   <li>{@code /api/forward-auth}: 200 with {@code X-Keywarden-Key-Id}, {@code
 *       X-Keywarden-Account}, {@code X-Keywarden-Group}; else 401 / 403 / 429 with OpenAI's JSON
 *       error and {@code Retry-After} (Traefik, Envoy pass these to the client).
 *   <li>{@code /api/forward-auth/nginx}: the same, except 429 is sent as 403 (nginx's {@code
 *       auth_request} turns anything but 2xx, 401, 403 into 500); the real status, the error JSON
 *       and Retry-After are in {@code X-Keywarden-Status}, {@code X-Keywarden-Error}, {@code
 *       Retry-After} for {@code auth_request_set} (see README-gateway.md).
 * </ul>
 */
@ApplicationScoped
public class ForwardAuth {
  private static final Logger LOG = Logger.getLogger(ForwardAuth.class);

  static final String SECRET_HEADER = "X-Keywarden-Gateway-Secret";

  private final Authorizer authorizer;
  private final io.keywarden.usage.security.GatewaySecretAuthentication gatewaySecret;

  ForwardAuth(
      Authorizer authorizer,
      io.keywarden.usage.security.GatewaySecretAuthentication gatewaySecret) {
    this.authorizer = authorizer;
    this.gatewaySecret = gatewaySecret;
  }

  void routes(@Observes Router router) {
    // ahead of Quarkus' security filters: the proxy's secret is checked here (AuthorizeRoute.ORDER)
    router.route("/api/forward-auth").order(AuthorizeRoute.ORDER).handler(rc -> handle(rc, false));
    router
        .route("/api/forward-auth/nginx")
        .order(AuthorizeRoute.ORDER)
        .handler(rc -> handle(rc, true));
  }

  private boolean gatewayAuthenticated(HttpServerRequest req) {
    return gatewaySecret.matches(req.getHeader(SECRET_HEADER));
  }

  private void handle(RoutingContext rc, boolean nginx) {
    HttpServerRequest req = rc.request();
    HttpServerResponse res = rc.response();
    if (!gatewayAuthenticated(req)) {
      // 500-class for the proxy: this is a configuration error, not the client's key
      res.setStatusCode(nginx ? 403 : 401)
          .putHeader("Content-Type", "application/json")
          .putHeader("X-Keywarden-Status", "401")
          .end(
              new JsonObject()
                  .put(
                      "error",
                      new JsonObject()
                          .put("message", "The gateway is not authenticated to usage-service.")
                          .put("type", "invalid_request_error")
                          .put("code", "gateway_unauthenticated"))
                  .encode());
      return;
    }
    String secret = ApiKeys.fromHeaders(req.getHeader("Authorization"), req.getHeader("x-api-key"));
    String ip = req.getHeader("X-Real-IP");
    if (ip == null) {
      String xff = req.getHeader("X-Forwarded-For");
      if (xff != null) {
        int comma = xff.indexOf(',');
        ip = (comma < 0 ? xff : xff.substring(0, comma)).trim();
      }
    }
    if (ip == null && req.remoteAddress() != null) {
      ip = req.remoteAddress().hostAddress();
    }
    if (ip != null && !Json.isIpLiteral(ip)) {
      ip = null;
    }
    String requestId = req.getHeader("X-Keywarden-Request-Id");
    if (requestId == null) {
      requestId = req.getHeader("X-Request-Id");
    }
    if (requestId != null && !Json.REQUEST_ID.matcher(requestId).matches()) {
      requestId = null;
    }
    long est = 0;
    String estText = req.getHeader("X-Keywarden-Estimated-Cost-Usd");
    if (estText != null) {
      try {
        est = io.keywarden.contracts.Money.parseUsd(estText);
      } catch (IllegalArgumentException e) {
        est = 0;
      }
    }
    String model = req.getHeader("X-Keywarden-Model");
    if (model != null && (model.isEmpty() || model.length() > 128)) {
      model = null;
    }
    Authorizer.Ask ask =
        new Authorizer.Ask(
            secret == null ? "" : secret,
            null,
            ip,
            model,
            requestId,
            est,
            req.getHeader("User-Agent"));
    if (!Authorizer.needsHold(ask)) {
      respond(res, authorizer.decide(ask), nginx);
      return;
    }
    authorizer
        .authorize(ask)
        .subscribe()
        .with(
            d -> respond(res, d, nginx),
            failure -> {
              // E8: the hold could not be written (PostgreSQL unreachable): 503 in OpenAI's
              // shape, like a projection that is catching up; never a bare 500
              if (DatabaseUnavailable.unreachable(failure)) {
                respond(
                    res,
                    new Authorizer.Decision(DecisionCode.UNAVAILABLE, null, null, null, null, 1),
                    nginx);
              } else if (!res.ended()) {
                LOG.errorf("forward-auth failed: %s", failure.getClass().getName());
                res.setStatusCode(500).end();
              }
            });
  }

  private static void respond(HttpServerResponse res, Authorizer.Decision d, boolean nginx) {
    if (res.ended()) {
      return;
    }
    if (d.allowed()) {
      res.setStatusCode(200)
          .putHeader("X-Keywarden-Key-Id", d.key().keyId())
          .putHeader("X-Keywarden-Account", d.key().account())
          .putHeader("X-Keywarden-Group", d.key().group());
      if (d.requestsRemaining() != null) {
        res.putHeader("X-RateLimit-Remaining-Requests", String.valueOf(d.requestsRemaining()));
      }
      res.end();
      return;
    }
    DecisionCode c = d.code();
    String body =
        new JsonObject()
            .put(
                "error",
                new JsonObject()
                    .put("message", c.message())
                    .put("type", c.openAiType())
                    .putNull("param")
                    .put("code", c.openAiCode()))
            .encode();
    int status = c.httpStatus();
    res.putHeader("Content-Type", "application/json")
        .putHeader("X-Keywarden-Status", String.valueOf(status))
        .putHeader("X-Keywarden-Code", c.name())
        .putHeader("X-Keywarden-Error", body);
    if (d.retryAfterSeconds() != null) {
      res.putHeader("Retry-After", String.valueOf(d.retryAfterSeconds()));
    }
    res.setStatusCode(nginx && status == 429 ? 403 : status).end(body);
  }
}
