package io.keywarden.audit.it;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** A webhook endpoint (JDK HttpServer) that records requests and can fail the first N. */
public final class WebhookReceiver {
  /** A received request. */
  public record Received(String path, int answered, Map<String, String> headers, String body) {}

  public static final List<Received> RECEIVED = new CopyOnWriteArrayList<>();
  private static final Map<String, AtomicInteger> FAIL_FIRST = new ConcurrentHashMap<>();
  private static HttpServer server;

  private WebhookReceiver() {}

  /**
   * The receiver's port, chosen once per JVM and kept in a system property: the test resource
   * (which names it to the service before it starts) and the tests may see this class through
   * different class loaders.
   */
  public static synchronized int port() {
    String p = System.getProperty("audit.test.receiver-port");
    if (p == null) {
      try (java.net.ServerSocket s =
          new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        p = String.valueOf(s.getLocalPort());
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      System.setProperty("audit.test.receiver-port", p);
    }
    return Integer.parseInt(p);
  }

  public static synchronized String url(String path) {
    if (server == null) {
      try {
        server =
            HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port()), 50);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      server.createContext(
          "/",
          ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String p = ex.getRequestURI().getPath();
            AtomicInteger fails = FAIL_FIRST.get(p);
            int status = fails != null && fails.getAndDecrement() > 0 ? 500 : 204;
            Map<String, String> h = new ConcurrentHashMap<>();
            ex.getRequestHeaders().forEach((k, v) -> h.put(k.toLowerCase(), v.get(0)));
            RECEIVED.add(new Received(p, status, h, body));
            ex.sendResponseHeaders(status, -1);
            ex.close();
          });
      server.start();
    }
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  public static void failFirst(String path, int n) {
    FAIL_FIRST.put(path, new AtomicInteger(n));
  }

  public static List<Received> at(String path) {
    return RECEIVED.stream().filter(r -> r.path().equals(path)).toList();
  }
}
