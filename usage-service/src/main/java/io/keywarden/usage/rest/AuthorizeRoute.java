package io.keywarden.usage.rest;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.usage.authz.Authorizer;
import io.keywarden.usage.security.GatewaySecretAuthentication;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * {@code POST /api/authorize} for a gateway that sends the static shared secret (the request path
 * of every gateway call): answered on the Vert.x route itself, without the Quarkus REST and
 * security layers, which cost more than the decision. Same body reading ({@link AuthorizeRequest}),
 * same decision, same answer and problem bodies as {@link AuthorizeResource}; a request without the
 * secret header (an OIDC bearer token) goes on to that resource unchanged.
 *
 * <p>The route runs ahead of Quarkus' HTTP security filters ({@link #ORDER}): they would only set
 * up a deferred identity and a permission check this request does not use (the secret is checked
 * here), and that set-up allocated more per request than the decision itself. Bodies are capped at
 * {@link #MAX_BODY} bytes (413), also when sent chunked.
 */
@ApplicationScoped
public class AuthorizeRoute {
  static final int MAX_BODY = 64 * 1024;

  /**
   * Route order of the gateway routes: before Quarkus' filters (CORS -300, authentication -200,
   * authorization -100 are registered as routes of order minus their priority).
   */
  public static final int ORDER = -1000;

  private final Authorizer authorizer;
  private final GatewaySecretAuthentication gatewaySecret;
  private final ObjectMapper mapper;

  AuthorizeRoute(
      Authorizer authorizer, GatewaySecretAuthentication gatewaySecret, ObjectMapper mapper) {
    this.authorizer = authorizer;
    this.gatewaySecret = gatewaySecret;
    this.mapper = mapper;
  }

  void routes(@Observes Router router) {
    // ahead of the security filters and of the REST layer's route for the same path
    router.post("/api/authorize").order(ORDER).handler(this::handle);
  }

  private void handle(RoutingContext rc) {
    HttpServerRequest req = rc.request();
    String given = req.getHeader(GatewaySecretAuthentication.HEADER);
    if (given == null || !gatewaySecret.configured()) {
      rc.next();
      return;
    }
    HttpServerResponse res = rc.response();
    if (!gatewaySecret.matches(given)) {
      res.setStatusCode(401)
          .putHeader("Content-Type", Problem.TYPE)
          .end(
              "{\"type\":\"about:blank\",\"title\":\"Unauthorized\",\"status\":401,"
                  + "\"detail\":\"X-Keywarden-Gateway-Secret: is not the configured secret\"}");
      return;
    }
    String length = req.getHeader("Content-Length");
    if (length != null && tooLong(length)) {
      tooLarge(res);
      return;
    }
    Body body = new Body();
    req.handler(
        chunk -> {
          if (res.ended()) {
            return;
          }
          if (!body.add(chunk)) {
            tooLarge(res);
          }
        });
    req.exceptionHandler(e -> {}); // a broken connection: nothing to answer
    req.endHandler(
        v -> {
          if (!res.ended()) {
            decide(rc, res, body.bytes);
          }
        });
  }

  /** The body received: the one chunk as it came (the common case), or the chunks gathered. */
  private static final class Body {
    Buffer bytes;
    boolean gathered;

    /** False when the body would pass {@link #MAX_BODY}. */
    boolean add(Buffer chunk) {
      int have = bytes == null ? 0 : bytes.length();
      if (have + chunk.length() > MAX_BODY) {
        return false;
      }
      if (bytes == null) {
        bytes = chunk;
      } else if (!gathered) {
        bytes = Buffer.buffer(have + chunk.length()).appendBuffer(bytes).appendBuffer(chunk);
        gathered = true;
      } else {
        bytes.appendBuffer(chunk);
      }
      return true;
    }
  }

  private void decide(RoutingContext rc, HttpServerResponse res, Buffer body) {
    Authorizer.Ask ask;
    try {
      ask = AuthorizeRequest.parse(mapper, body);
    } catch (Problem.BadInput e) {
      res.setStatusCode(400)
          .putHeader("Content-Type", Problem.TYPE)
          .end(Problem.json(e.field(), e.getMessage()));
      return;
    }
    if (!Authorizer.needsHold(ask)) {
      answer(res, authorizer.decide(ask));
      return;
    }
    authorizer.authorize(ask).subscribe().with(d -> answer(res, d), e -> failed(res, e));
  }

  /** The hold could not be written: 503 problem+json when the database is unreachable (E8). */
  private static void failed(HttpServerResponse res, Throwable e) {
    if (res.ended()) {
      return;
    }
    jakarta.ws.rs.core.Response r = DatabaseUnavailable.response(e);
    res.setStatusCode(r.getStatus()).putHeader("Content-Type", Problem.TYPE);
    if (r.getStatus() == 503) {
      res.putHeader("Retry-After", "1");
    }
    res.end((String) r.getEntity());
  }

  private static void answer(HttpServerResponse res, Authorizer.Decision d) {
    if (res.ended()) {
      return;
    }
    res.putHeader("Content-Type", "application/json");
    if (d.retryAfterSeconds() != null) {
      res.putHeader("Retry-After", String.valueOf(d.retryAfterSeconds()));
    }
    io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.buffer(320);
    AuthorizeResource.write(b, d);
    res.end(Buffer.buffer(b));
  }

  /** True unless the header is a number of bytes within the cap (a malformed one is refused). */
  private static boolean tooLong(String length) {
    try {
      long n = Long.parseLong(length.trim());
      return n < 0 || n > MAX_BODY;
    } catch (NumberFormatException e) {
      return true;
    }
  }

  private static void tooLarge(HttpServerResponse res) {
    res.setStatusCode(413)
        .putHeader("Content-Type", Problem.TYPE)
        .putHeader("Connection", "close")
        .end(
            "{\"type\":\"about:blank\",\"title\":\"Content Too Large\",\"status\":413,"
                + "\"detail\":\"body: must be at most "
                + MAX_BODY
                + " bytes\",\"field\":\"body\"}");
  }
}
