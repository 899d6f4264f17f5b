package io.keywarden.key.it;

import com.sun.net.httpserver.HttpServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Map;

/**
 * Serves GitHub's secret-scanning public keys document for a P-256 pair generated here, on
 * 127.0.0.1, and points key-service at it ({@code kw.leaks.github.keys-url}). The pair lives in
 * system properties, so the test classes (whatever class loader they are in) sign with the same
 * private key the server publishes.
 */
public class GithubKeyServerResource implements QuarkusTestResourceLifecycleManager {
  static final String KEY_ID = "kw-test-" + "4f1c2a9e";
  private static final String PRIVATE_PROP = "kw.test.github.private-key";
  private static final String PUBLIC_PROP = "kw.test.github.public-key";
  private HttpServer server;

  static synchronized void ensurePair() {
    if (System.getProperty(PRIVATE_PROP) != null) {
      return;
    }
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair p = g.generateKeyPair();
      System.setProperty(
          PRIVATE_PROP, Base64.getEncoder().encodeToString(p.getPrivate().getEncoded()));
      System.setProperty(
          PUBLIC_PROP, Base64.getEncoder().encodeToString(p.getPublic().getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The private key whose public half the server publishes under {@link #KEY_ID}. */
  static PrivateKey privateKey() {
    ensurePair();
    try {
      return KeyFactory.getInstance("EC")
          .generatePrivate(
              new PKCS8EncodedKeySpec(
                  Base64.getDecoder().decode(System.getProperty(PRIVATE_PROP))));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static PublicKey publicKey() {
    ensurePair();
    try {
      return KeyFactory.getInstance("EC")
          .generatePublic(
              new X509EncodedKeySpec(Base64.getDecoder().decode(System.getProperty(PUBLIC_PROP))));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Base64 DER ECDSA-SHA256 signature over the exact bytes. */
  static String sign(byte[] body) {
    try {
      Signature s = Signature.getInstance("SHA256withECDSA");
      s.initSign(privateKey());
      s.update(body);
      return Base64.getEncoder().encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String document() {
    String b64 =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(publicKey().getEncoded());
    String pem = "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n";
    return "{\"public_keys\":[{\"key_identifier\":\""
        + KEY_ID
        + "\",\"key\":\""
        + pem.replace("\n", "\\n")
        + "\",\"is_current\":true}]}";
  }

  @Override
  public Map<String, String> start() {
    ensurePair();
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    byte[] doc = document().getBytes(StandardCharsets.UTF_8);
    server.createContext(
        "/meta/public_keys/secret_scanning",
        ex -> {
          ex.getResponseHeaders().add("Content-Type", "application/json");
          ex.sendResponseHeaders(200, doc.length);
          try (OutputStream o = ex.getResponseBody()) {
            o.write(doc);
          }
        });
    server.start();
    return Map.of(
        "kw.leaks.github.keys-url",
        "http://127.0.0.1:" + server.getAddress().getPort() + "/meta/public_keys/secret_scanning");
  }

  @Override
  public void stop() {
    if (server != null) {
      server.stop(0);
    }
  }
}
