package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.contracts.KeyFormat;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.specification.RequestSpecification;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Every {@link AuthorizeCases} case, with the gateway authenticated by the static shared secret:
 * that request is answered by the Vert.x route ({@code AuthorizeRoute}), not by the REST resource,
 * and must decide, answer and refuse exactly alike. Plus what only that route does.
 */
@QuarkusTest
@QuarkusTestResource(value = KeywardenStackResource.class)
class AuthorizeSharedSecretTests extends AuthorizeCases {
  @Override
  protected RequestSpecification gateway() {
    return given().header("X-Keywarden-Gateway-Secret", "test-gateway-secret");
  }

  static String bodyOfSize(int bytes) {
    String head =
        "{\"key\":\"" + KeyFormat.generate(KeyFormat.DEFAULT_PREFIX) + "\",\"userAgent\":\"";
    return head + "a".repeat(bytes - head.length() - 2) + "\"}";
  }

  @Test
  void aBodyOverTheCapIs413WithContentLengthAndChunked() {
    String ok = bodyOfSize(64 * 1024);
    assertThat(ok.getBytes(StandardCharsets.UTF_8)).hasSize(64 * 1024);
    // within the cap: read (the user agent is then too long for the field: 400 naming it)
    gateway()
        .contentType(ContentType.JSON)
        .body(ok)
        .post("/api/authorize")
        .then()
        .statusCode(400)
        .body("field", equalTo("userAgent"));
    String big = bodyOfSize(64 * 1024 + 1);
    gateway()
        .contentType(ContentType.JSON)
        .body(big)
        .post("/api/authorize")
        .then()
        .statusCode(413)
        .body("field", equalTo("body"));
    // no Content-Length: a stream is sent chunked
    gateway()
        .contentType(ContentType.JSON)
        .body(new ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8)))
        .post("/api/authorize")
        .then()
        .statusCode(413)
        .body("field", equalTo("body"));
    gateway()
        .contentType(ContentType.JSON)
        .body(new ByteArrayInputStream("{\"key\":\"x\"}".getBytes(StandardCharsets.UTF_8)))
        .post("/api/authorize")
        .then()
        .statusCode(200)
        .body("code", equalTo("INVALID_KEY"));
  }

  @Test
  void aWrongSecretIs401WithoutReadingTheBody() {
    given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret-not")
        .contentType(ContentType.JSON)
        .body(bodyOfSize(64 * 1024 + 1))
        .post("/api/authorize")
        .then()
        .statusCode(401);
  }
}
