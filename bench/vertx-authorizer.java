// Baseline for bench/usage-bench.sh: a bare Vert.x authorizer (PERFORMANCE.md's "raw Vert.x
// /authorize": SHA-256 + hex + map lookup), with the same request and answer shapes as usage-service's
// POST /api/authorize with the shared secret. It shows what the JVM and Vert.x alone cost on this
// machine at the same fixed rate, so the service's latency can be read against it as well as against
// nginx. No framework (Quarkus, Vert.x Web), no checks beyond the secret and the key's hash.
//
//   java -cp <usage-service's class path> bench/vertx-authorizer.java PORT EVENT_LOOPS
//   (environment: KW_KEY, the one key it knows; KW_GATEWAY_SECRET, the gateway's header value)
//
// Prints "listening PORT" once every event loop listens.
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

public class VertxAuthorizer {
  static final JsonFactory JSON = new JsonFactory();
  static final Map<String, String> KEYS = new ConcurrentHashMap<>();
  static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          });

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    int loops = Integer.parseInt(args[1]);
    String key = System.getenv("KW_KEY");
    String secret = System.getenv("KW_GATEWAY_SECRET");
    KEYS.put(hash(key), "{\"allowed\":true,\"code\":\"VALID\",\"keyId\":\"baseline\"}");
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops));
    vertx
        .deployVerticle(
            () ->
                new AbstractVerticle() {
                  @Override
                  public void start(Promise<Void> started) {
                    vertx
                        .createHttpServer()
                        .requestHandler(req -> handle(req, secret))
                        .listen(port, "127.0.0.1")
                        .<Void>mapEmpty()
                        .onComplete(started);
                  }
                },
            new DeploymentOptions().setInstances(loops))
        .toCompletionStage()
        .toCompletableFuture()
        .get();
    System.out.println("listening " + port);
  }

  static void handle(HttpServerRequest req, String secret) {
    if (!secret.equals(req.getHeader("X-Keywarden-Gateway-Secret"))) {
      req.response().setStatusCode(401).end();
      return;
    }
    req.body()
        .onSuccess(
            body -> {
              String known = KEYS.get(hash(keyOf(body)));
              if (known == null) {
                req.response()
                    .setStatusCode(401)
                    .putHeader("Content-Type", "application/json")
                    .end("{\"allowed\":false,\"code\":\"INVALID_KEY\"}");
              } else {
                req.response().putHeader("Content-Type", "application/json").end(known);
              }
            });
  }

  static String keyOf(Buffer body) {
    try (JsonParser p = JSON.createParser(body.getBytes())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return "";
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        if (name.equals("key")) {
          return p.getText();
        }
        p.skipChildren();
      }
      return "";
    } catch (Exception e) {
      return "";
    }
  }

  static String hash(String key) {
    MessageDigest d = SHA256.get();
    return HexFormat.of().formatHex(d.digest(key.getBytes(StandardCharsets.UTF_8)));
  }
}
