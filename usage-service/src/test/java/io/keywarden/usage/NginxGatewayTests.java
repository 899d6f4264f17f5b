package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.keywarden.contracts.KeyFormat;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.contracts.events.RateLimit;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.usage.projection.KeyProjection;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Debian's real nginx with {@code auth_request} to usage-service's forward-auth endpoint, in front
 * of a JDK HttpServer upstream: allowed, denied and rate-limited requests through it. The nginx
 * config is the one in README-gateway.md ({@link #nginxConf}).
 */
@QuarkusTest
@QuarkusTestResource(value = KeywardenStackResource.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NginxGatewayTests {
  static final String SECRET = "test-gateway-secret";

  @jakarta.inject.Inject KeyProjection projection;
  @jakarta.inject.Inject TestClock clock;

  @ConfigProperty(name = "kafka.bootstrap.servers")
  String bootstrap;

  @ConfigProperty(name = "kw.oidc.url")
  String issuer;

  Fixtures fx;
  HttpServer upstream;
  Process nginx;
  Path dir;
  int nginxPort;
  final Map<String, String> seenByUpstream = new ConcurrentHashMap<>();
  final HttpClient http = HttpClient.newHttpClient();

  /** Started by the first test that needs it: RestAssured.port is known only then. */
  void startNginx() throws Exception {
    if (nginx != null) {
      return;
    }
    String nginxBin = findOrInstallNginx();
    upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    upstream.createContext(
        "/",
        ex -> {
          seenByUpstream.put(
              "keyId", String.valueOf(ex.getRequestHeaders().getFirst("X-Keywarden-Key-Id")));
          seenByUpstream.put(
              "account", String.valueOf(ex.getRequestHeaders().getFirst("X-Keywarden-Account")));
          seenByUpstream.put(
              "authorization", String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
          byte[] b = "{\"upstream\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().add("Content-Type", "application/json");
          ex.sendResponseHeaders(200, b.length);
          ex.getResponseBody().write(b);
          ex.close();
        });
    upstream.start();
    dir = Files.createTempDirectory("kw-nginx");
    Files.createDirectories(dir.resolve("tmp"));
    nginxPort = freePort();
    String conf =
        nginxConf(nginxPort, RestAssured.port, upstream.getAddress().getPort(), SECRET)
            .replace("#PATHS#", paths(dir));
    Files.writeString(dir.resolve("nginx.conf"), conf);
    nginx =
        new ProcessBuilder(
                nginxBin,
                "-p",
                dir.toString(),
                "-c",
                dir.resolve("nginx.conf").toString(),
                "-g",
                "daemon off;")
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("stdout.log").toFile())
            .start();
    try {
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> !nginx.isAlive() || accepts(nginxPort));
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      // reported below with nginx's output
    }
    if (!nginx.isAlive() || !accepts(nginxPort)) {
      throw new IllegalStateException(
          "nginx did not start: " + Files.readString(dir.resolve("stdout.log")));
    }
  }

  @AfterAll
  void stop() {
    if (nginx != null) {
      nginx.destroy();
    }
    if (upstream != null) {
      upstream.stop(0);
    }
  }

  @BeforeEach
  void setUp() {
    fx = new Fixtures(bootstrap, issuer, projection);
    clock.reset();
  }

  @org.junit.jupiter.api.AfterEach
  void resetClock() {
    clock.reset();
  }

  static String findOrInstallNginx() throws Exception {
    for (String p : new String[] {"/usr/sbin/nginx", "/usr/bin/nginx"}) {
      if (Files.isExecutable(Path.of(p))) {
        return p;
      }
    }
    Process p =
        new ProcessBuilder(
                "sh",
                "-c",
                "command -v nginx || (DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light >/dev/null 2>&1 && command -v nginx)")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor();
    if (out.isEmpty()) {
      throw new IllegalStateException("nginx is missing and apt-get install -y nginx-light failed");
    }
    return out.lines().reduce((a, b) -> b).orElseThrow();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static String paths(Path dir) {
    String t = dir.resolve("tmp").toString();
    return "client_body_temp_path "
        + t
        + "/body; proxy_temp_path "
        + t
        + "/proxy; fastcgi_temp_path "
        + t
        + "/fcgi; uwsgi_temp_path "
        + t
        + "/uwsgi; scgi_temp_path "
        + t
        + "/scgi;";
  }

  /** The nginx configuration documented in README-gateway.md. */
  static String nginxConf(int listen, int usagePort, int appPort, String secret) {
    return """
        worker_processes 1;
        error_log error.log warn;
        pid nginx.pid;
        events { worker_connections 1024; }
        http {
          access_log off;
          #PATHS#
          upstream keywarden { server 127.0.0.1:%d; keepalive 32; }
          upstream app { server 127.0.0.1:%d; keepalive 32; }
          server {
            listen 127.0.0.1:%d;
            location /v1/ {
              auth_request /_keywarden;
              auth_request_set $kw_key_id  $upstream_http_x_keywarden_key_id;
              auth_request_set $kw_account $upstream_http_x_keywarden_account;
              auth_request_set $kw_group   $upstream_http_x_keywarden_group;
              auth_request_set $kw_status  $upstream_http_x_keywarden_status;
              auth_request_set $kw_error   $upstream_http_x_keywarden_error;
              auth_request_set $kw_retry   $upstream_http_retry_after;
              error_page 401 403 = @keywarden_denied;
              proxy_set_header X-Keywarden-Key-Id  $kw_key_id;
              proxy_set_header X-Keywarden-Account $kw_account;
              proxy_set_header X-Keywarden-Group   $kw_group;
              proxy_set_header Authorization "";
              proxy_http_version 1.1;
              proxy_set_header Connection "";
              proxy_pass http://app;
            }
            location = /_keywarden {
              internal;
              proxy_pass http://keywarden/api/forward-auth/nginx;
              proxy_pass_request_body off;
              proxy_set_header Content-Length "";
              proxy_set_header X-Keywarden-Gateway-Secret "%s";
              proxy_set_header X-Real-IP $remote_addr;
              proxy_set_header X-Keywarden-Request-Id $request_id;
              proxy_http_version 1.1;
              proxy_set_header Connection "";
            }
            location @keywarden_denied {
              default_type application/json;
              add_header Retry-After $kw_retry always;
              if ($kw_status = 429) { return 429 $kw_error; }
              if ($kw_status = 401) { return 401 $kw_error; }
              return 403 $kw_error;
            }
          }
        }
        """
        .formatted(usagePort, appPort, listen, secret);
  }

  HttpResponse<String> call(String secret, String model) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nginxPort + "/v1/chat/completions"))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\"}"));
    if (secret != null) {
      b.header("Authorization", "Bearer " + secret);
    }
    if (model != null) {
      b.header("X-Keywarden-Model", model);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void nginxAuthRequestAllowsDeniesAndRateLimitsThroughUsageService() throws Exception {
    startNginx();
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    String group = fx.group(true);
    var ok = fx.key(group, account, s -> s.rateLimit = new RateLimit(3, null, null));
    clock.startOfAMinute(); // every call below shares one fixed per-minute window

    // allowed: the upstream answers and sees the identity headers, never the key
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = call(ok.secret, "gpt-4o-mini");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).contains("upstream");
    }
    assertThat(seenByUpstream.get("keyId")).isEqualTo(ok.id());
    assertThat(seenByUpstream.get("account")).isEqualTo(account);
    assertThat(seenByUpstream.get("authorization")).isEqualTo("null");

    // rate limited: 429 with Retry-After and OpenAI's error
    HttpResponse<String> limited = call(ok.secret, "gpt-4o-mini");
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).isPresent();
    assertThat(limited.body())
        .contains("\"code\":\"rate_limit_exceeded\"")
        .doesNotContain(ok.secret);

    // denied: unknown, bad checksum, revoked (401); leaked, model not in group (403)
    var revoked = fx.key(group, account, s -> s.status = KeyStatus.REVOKED);
    var leaked = fx.key(group, account, s -> s.status = KeyStatus.LEAKED);
    var other = fx.key(group, account);
    String badCrc = KeyFormat.generate(KeyFormat.DEFAULT_PREFIX).substring(0, 44) + "00";
    assertThat(call(null, null).statusCode()).isEqualTo(401);
    for (String s :
        new String[] {KeyFormat.generate(KeyFormat.DEFAULT_PREFIX), badCrc, revoked.secret}) {
      HttpResponse<String> r = call(s, "gpt-4o-mini");
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.body()).contains("\"code\":\"invalid_api_key\"").doesNotContain(s);
    }
    HttpResponse<String> l = call(leaked.secret, "gpt-4o-mini");
    assertThat(l.statusCode()).isEqualTo(403);
    assertThat(l.body()).contains("\"code\":\"key_leaked\"");
    HttpResponse<String> m = call(other.secret, "claude-opus");
    assertThat(m.statusCode()).isEqualTo(403);
    assertThat(m.body()).contains("\"code\":\"model_not_allowed\"");
  }

  @Test
  void forwardAuthAnswersTrueStatusesForTraefikAndRequiresTheGatewaySecret() {
    String account = Fixtures.account();
    fx.credit(account, "1.00");
    var k = fx.key(fx.group(true), account, s -> s.rateLimit = new RateLimit(1, null, null));
    clock.startOfAMinute(); // every call below shares one fixed per-minute window
    given()
        .header("Authorization", "Bearer " + k.secret)
        .get("/api/forward-auth")
        .then()
        .statusCode(401)
        .body("error.code", org.hamcrest.Matchers.equalTo("gateway_unauthenticated"));
    given()
        .header(ForwardAuthHeader.NAME, "wrong")
        .header("Authorization", "Bearer " + k.secret)
        .get("/api/forward-auth")
        .then()
        .statusCode(401);
    given()
        .header(ForwardAuthHeader.NAME, SECRET)
        .header("Authorization", "Bearer " + k.secret)
        .header("X-Forwarded-For", "10.2.3.4, 10.0.0.1")
        .get("/api/forward-auth")
        .then()
        .statusCode(200)
        .header("X-Keywarden-Key-Id", k.id())
        .header("X-Keywarden-Account", account)
        .header("X-Keywarden-Group", k.snapshot.group());
    given()
        .header(ForwardAuthHeader.NAME, SECRET)
        .header("x-api-key", k.secret)
        .post("/api/forward-auth")
        .then()
        .statusCode(429)
        .header("Retry-After", org.hamcrest.Matchers.notNullValue())
        .body("error.code", org.hamcrest.Matchers.equalTo("rate_limit_exceeded"));
  }

  static final class ForwardAuthHeader {
    static final String NAME = "X-Keywarden-Gateway-Secret";
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
