package io.keywarden.key.rest;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.key.rest.KeyRequests.CreateKey;
import io.keywarden.key.service.KeyService;
import io.keywarden.key.service.KeyService.WithSecret;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.keywarden.support.rest.Problem;
import io.keywarden.support.rest.ProblemMappers;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.vertx.http.runtime.security.QuarkusHttpUser;
import io.smallrye.mutiny.Uni;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.impl.RoutingContextInternal;
import io.vertx.pgclient.PgException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.ws.rs.core.Response;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.hibernate.HibernateException;

/**
 * {@code POST /api/keys} served on a plain Vert.x route, ahead of Quarkus REST: per create, the
 * REST layer, its security interceptors, CDI request context and context propagation cost more CPU
 * than the create itself. The caller's identity comes from Quarkus' proactive HTTP authentication
 * (the bearer token is verified before any route runs), and the {@code user} role is checked here.
 *
 * <p>This route answers a create that succeeds (201). Everything else is handed on, untouched, to
 * {@link KeysResource#create}, which answers it exactly as it always did: no identity or a missing
 * role, another content type or Accept header, a body over 8 KiB or one that is not a plain create,
 * and every refusal of the create (400, 409: nothing was written), which REST simply runs again. A
 * failure that is not a refusal (the database, a bug: it may come after the commit) is never run a
 * second time; it is answered here by the same problem mappers REST uses. So every error body stays
 * the one the REST layer writes.
 */
@ApplicationScoped
public class CreateKeyRoute {
  private static final ProblemMappers MAPPERS = new ProblemMappers();

  /** After authentication (negative orders), before Quarkus REST. */
  static final int ORDER = 1_000;

  /** An authority this route copies into Location as it is; anything else goes to REST. */
  private static final Pattern PLAIN_HOST = Pattern.compile("[A-Za-z0-9.\\-]+(:[0-9]{1,5})?");

  private final KeyService keys;
  private final CreateAnswer answer;
  private final ObjectMapper json;
  private final boolean enabled;
  private final long maxBody;
  private final AtomicLong served = new AtomicLong();
  private final AtomicLong handedOn = new AtomicLong();

  CreateKeyRoute(
      KeyService keys,
      CreateAnswer answer,
      ObjectMapper json,
      @ConfigProperty(name = "kw.create-route.enabled", defaultValue = "true") boolean enabled,
      @ConfigProperty(name = "quarkus.rest.input-buffer-size", defaultValue = "10k")
          MemorySize restInputBuffer) {
    // Quarkus REST takes a body it finds already read only below its input buffer size (a larger
    // one it streams from the connection, which this route would have drained): larger bodies are
    // handed on unread. A create is a few hundred bytes.
    this.maxBody = Math.min(8192, restInputBuffer.asLongValue() / 2);
    this.keys = keys;
    this.answer = answer;
    this.json = json;
    this.enabled = enabled;
  }

  void install(@Observes Router router) {
    if (enabled) {
      router.post("/api/keys").order(ORDER).handler(this::handle);
    }
  }

  /** Creates answered here, and requests handed on to Quarkus REST (tests, diagnostics). */
  public long[] counts() {
    return new long[] {served.get(), handedOn.get()};
  }

  private void handle(RoutingContext rc) {
    HttpServerRequest req = rc.request();
    String account = eligible(rc) ? account(rc) : null;
    long length = contentLength(req);
    if (account == null || length <= 0 || length > maxBody || req.isEnded()) {
      handOn(rc, null);
      return;
    }
    req.body()
        .onComplete(
            ar -> {
              if (ar.failed()) {
                rc.fail(ar.cause());
                return;
              }
              create(rc, account, ar.result());
            });
    req.resume();
  }

  private void create(RoutingContext rc, String account, Buffer body) {
    CreateKey request;
    Uni<WithSecret> created;
    try {
      request = json.readValue(body.getBytes(), CreateKey.class);
      if (request == null) {
        handOn(rc, body);
        return;
      }
      created = keys.create(account, request);
    } catch (Exception e) {
      handOn(rc, body); // not JSON, an unknown field, a bad value: REST names the field
      return;
    }
    created.subscribe().with(ks -> answer(rc, ks), e -> failed(rc, body, e));
  }

  /**
   * A refusal ({@link ApiProblem}: nothing was written) goes to REST, which runs the create again
   * and names the field. Any other failure may have come after the commit, so it is not run again:
   * it is answered here, by the same mappers REST uses.
   */
  private void failed(RoutingContext rc, Buffer body, Throwable e) {
    if (e instanceof ApiProblem) {
      handOn(rc, body);
      return;
    }
    answerFailure(rc, e);
  }

  private void answerFailure(RoutingContext rc, Throwable e) {
    Response r = mapped(e);
    if (r.getEntity() instanceof Problem p) {
      problem(rc, p);
    } else {
      rc.fail(500, e);
    }
  }

  /** The answer Quarkus REST's problem mappers (service-support) give for a create failure. */
  public static Response mapped(Throwable e) {
    return switch (e) {
      case ApiProblem p -> MAPPERS.apiProblem(p);
      case PgException pg -> MAPPERS.database(pg);
      case HibernateException h -> MAPPERS.hibernate(h);
      default -> MAPPERS.any(e);
    };
  }

  private void answer(RoutingContext rc, WithSecret ks) {
    // the key exists from here on: never hand on (that would create a second one)
    byte[] bytes;
    try {
      bytes = answer.created(ks);
    } catch (RuntimeException e) {
      answerFailure(rc, e);
      return;
    }
    served.incrementAndGet();
    HttpServerRequest req = rc.request();
    rc.response()
        .setStatusCode(201)
        .putHeader(
            HttpHeaders.LOCATION,
            req.scheme() + "://" + authority(req) + CreateAnswer.location(ks.key()))
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(Buffer.buffer(bytes));
  }

  private void problem(RoutingContext rc, Problem p) {
    byte[] body;
    try {
      body = json.writeValueAsBytes(p);
    } catch (Exception e) {
      rc.fail(500, e);
      return;
    }
    rc.response()
        .setStatusCode(p.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, Problem.MEDIA_TYPE)
        .end(Buffer.buffer(body));
  }

  /** To Quarkus REST, with the body already read (if it was) for it to read again. */
  private void handOn(RoutingContext rc, Buffer body) {
    handedOn.incrementAndGet();
    if (body != null) {
      ((RoutingContextInternal) rc).setBody(body);
    }
    rc.next();
  }

  /**
   * The plain case: HTTP/1.x, JSON in, JSON (or anything) accepted, an authority to build Location
   * from. An HTTP/2 request (e.g. the JDK's HttpClient after its h2c upgrade) cannot be handed on
   * once its body was read (Vert.x refuses to pause an ended HTTP/2 stream, so a refusal became a
   * 500): it goes to Quarkus REST unread.
   */
  private static boolean eligible(RoutingContext rc) {
    HttpServerRequest req = rc.request();
    if (req.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
      return false;
    }
    String type = req.getHeader(HttpHeaders.CONTENT_TYPE);
    String accept = req.getHeader(HttpHeaders.ACCEPT);
    String host = authority(req);
    return type != null
        && isJson(type)
        && (accept == null || accept.equals("*/*") || accept.equals("application/json"))
        && host != null
        && PLAIN_HOST.matcher(host).matches()
        && req.getHeader(HttpHeaders.TRANSFER_ENCODING) == null;
  }

  /**
   * Host and port as Quarkus REST puts them into an absolute Location (the request's authority,
   * which honours forwarded headers when Quarkus is configured to), or null.
   */
  private static String authority(HttpServerRequest req) {
    HostAndPort a = req.authority();
    if (a == null) {
      return null;
    }
    return a.port() >= 0 ? a.host() + ":" + a.port() : a.host();
  }

  /** application/json, optionally with charset=UTF-8, as Quarkus REST reads it. */
  public static boolean isJson(String type) {
    int semi = type.indexOf(';');
    String base = (semi < 0 ? type : type.substring(0, semi)).trim();
    if (!base.equalsIgnoreCase("application/json")) {
      return false;
    }
    if (semi < 0) {
      return true;
    }
    String param = type.substring(semi + 1).trim();
    return param.equalsIgnoreCase("charset=UTF-8") || param.equalsIgnoreCase("charset=\"UTF-8\"");
  }

  private static long contentLength(HttpServerRequest req) {
    String v = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (v == null) {
      return -1;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * The caller's account when it holds role {@code user}, as {@code Caller.account()} names it: the
   * token's {@code account} claim, else its subject; null hands the request on.
   */
  private static String account(RoutingContext rc) {
    if (!(rc.user() instanceof QuarkusHttpUser user)) {
      return null;
    }
    SecurityIdentity id = user.getSecurityIdentity();
    if (id == null
        || id.isAnonymous()
        || !id.hasRole("user")
        || !(id.getPrincipal() instanceof JsonWebToken jwt)) {
      return null;
    }
    return Caller.account(jwt);
  }
}
