package io.keywarden.audit.it;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A small real SMTP server on loopback for the tests: the Quarkus mailer delivers to it over TCP
 * and the tests read the messages back. (GreenMail would do the same; its version is not in the
 * root POM yet.)
 */
public class SmtpServer implements QuarkusTestResourceLifecycleManager {
  public static final List<String> MESSAGES = new CopyOnWriteArrayList<>();
  private static ServerSocket server;

  @Override
  public synchronized Map<String, String> start() {
    try {
      if (server == null) {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(SmtpServer::acceptLoop, "test-smtp");
        t.setDaemon(true);
        t.start();
      }
      // key-service's admin API is played by the webhook receiver (it records every call)
      return Map.of(
          "kw.smtp.host",
          "127.0.0.1",
          "kw.smtp.port",
          String.valueOf(server.getLocalPort()),
          "kw.key-service.url",
          "http://127.0.0.1:" + WebhookReceiver.port() + "/key-service");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void stop() {}

  private static void acceptLoop() {
    while (true) {
      try {
        Socket s = server.accept();
        Thread t = new Thread(() -> session(s), "test-smtp-session");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private static void session(Socket s) {
    try (s;
        BufferedReader in =
            new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        OutputStream out = s.getOutputStream()) {
      reply(out, "220 localhost test SMTP");
      String line;
      while ((line = in.readLine()) != null) {
        String cmd = line.length() >= 4 ? line.substring(0, 4).toUpperCase() : line.toUpperCase();
        switch (cmd) {
          case "EHLO" -> reply(out, "250-localhost\r\n250 8BITMIME");
          case "HELO", "MAIL", "RCPT", "RSET", "NOOP" -> reply(out, "250 OK");
          case "DATA" -> {
            reply(out, "354 end with .");
            StringBuilder msg = new StringBuilder();
            String l;
            while ((l = in.readLine()) != null && !l.equals(".")) {
              msg.append(l.startsWith("..") ? l.substring(1) : l).append("\n");
            }
            MESSAGES.add(msg.toString());
            reply(out, "250 queued");
          }
          case "QUIT" -> {
            reply(out, "221 bye");
            return;
          }
          default -> reply(out, "502 not implemented");
        }
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  private static void reply(OutputStream out, String text) throws IOException {
    out.write((text + "\r\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
