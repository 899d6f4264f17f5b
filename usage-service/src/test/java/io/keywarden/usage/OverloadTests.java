package io.keywarden.usage;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Overload: usage records the queue cannot hold are refused with 503 + Retry-After before any of
 * them is queued, so a refused batch has charged nothing and is safe to retry (never a silent
 * drop). A queue of 3 records makes any batch of 10 an overload.
 */
@QuarkusTest
@TestProfile(OverloadTests.TinyQueue.class)
@QuarkusTestResource(value = KeywardenStackResource.class)
class OverloadTests {
  public static class TinyQueue implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
      return Map.of("kw.usage.queue-capacity", "3");
    }
  }

  @Inject Pool pool;

  private long ledgerRows(String prefix) {
    return pool.preparedQuery("select count(*) from ledger where request_id like $1")
        .execute(Tuple.of(prefix + "%"))
        .await()
        .indefinitely()
        .iterator()
        .next()
        .getLong(0);
  }

  private static String record(String requestId, String keyId) {
    return "{\"requestId\":\""
        + requestId
        + "\",\"keyId\":\""
        + keyId
        + "\",\"model\":\"gpt-4o-mini\",\"costUsd\":\"0.01\"}";
  }

  @Test
  void aBatchTheQueueCannotHoldIsRefusedWhole503AndRecordsNothing() {
    String prefix = "ov-" + UUID.randomUUID() + "-";
    String keyId = UUID.randomUUID().toString();
    StringBuilder batch = new StringBuilder("[");
    for (int i = 0; i < 10; i++) {
      batch.append(i == 0 ? "" : ",").append(record(prefix + i, keyId));
    }
    given()
        .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
        .contentType(ContentType.JSON)
        .body(batch.append(']').toString())
        .post("/api/usage")
        .then()
        .statusCode(503)
        .header("Retry-After", "1")
        .body("error.code", equalTo("overloaded"));
    assertThat(ledgerRows(prefix)).isZero();

    // what fits is taken and answered (an unknown key id: refused, but not for overload)
    int status =
        given()
            .header("X-Keywarden-Gateway-Secret", "test-gateway-secret")
            .contentType(ContentType.JSON)
            .body(record(prefix + "single", keyId))
            .post("/api/usage")
            .statusCode();
    assertThat(status).isNotEqualTo(503);
  }
}
