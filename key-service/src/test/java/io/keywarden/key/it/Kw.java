package io.keywarden.key.it;

import static io.restassured.RestAssured.given;

import io.keywarden.contracts.Topics;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.keywarden.stack.testing.Tokens;
import io.restassured.response.Response;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

/** Helpers shared by the key-service tests of this package (beside {@link Stack}). */
final class Kw {
  private Kw() {}

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ALNUM =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  static String uniqueName(String base) {
    return base + " " + UUID.randomUUID().toString().substring(0, 8);
  }

  static Response create(String user, String body) {
    return Stack.as(user).body(body).post("/api/keys");
  }

  static Response createNamed(String user, String base) {
    return create(user, "{\"name\":\"" + uniqueName(base) + "\",\"group\":\"default\"}");
  }

  /** A strong custom key: 48 random alphanumerics. */
  static String customKey() {
    StringBuilder b = new StringBuilder("Cx");
    for (int i = 0; i < 46; i++) {
      b.append(ALNUM.charAt(RANDOM.nextInt(ALNUM.length())));
    }
    return b.toString();
  }

  /** Shared buffers one run of {@code sql} touched (EXPLAIN ANALYZE, BUFFERS), nested ones too. */
  static long buffers(java.sql.Statement st, String sql) throws Exception {
    try (java.sql.ResultSet rs =
        st.executeQuery("explain (analyze, buffers, format json) " + sql)) {
      rs.next();
      var plan =
          new com.fasterxml.jackson.databind.ObjectMapper()
              .readTree(rs.getString(1))
              .get(0)
              .get("Plan");
      return plan.get("Shared Hit Blocks").asLong() + plan.get("Shared Read Blocks").asLong();
    }
  }

  /** The plan of {@code sql} as one line (for a failure's message). */
  static String plan(java.sql.Statement st, String sql) {
    StringBuilder b = new StringBuilder();
    try (java.sql.ResultSet rs = st.executeQuery("explain (costs off) " + sql)) {
      while (rs.next()) {
        b.append(rs.getString(1).strip()).append(" | ");
      }
    } catch (SQLException e) {
      b.append("(no plan: ").append(e.getMessage()).append(')');
    }
    return b.toString();
  }

  static Connection db() throws SQLException {
    return DriverManager.getConnection(KeywardenStackResource.stack().jdbcUrl("keyservice"));
  }

  /** Live keys of an account as key-service counts them for the cap. */
  static long liveKeys(String account) {
    try (Connection c = db();
        PreparedStatement ps =
            c.prepareStatement(
                "select count(*) from api_keys where account = ? and status in"
                    + " ('active','disabled')")) {
      ps.setString(1, account);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  static void sql(String statement) {
    try (Connection c = db()) {
      c.createStatement().executeUpdate(statement);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  static long longQuery(String query) {
    try (Connection c = db();
        ResultSet rs = c.createStatement().executeQuery(query)) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether the outbox row of this record key is marked published. */
  static boolean published(String recordKey) {
    return longQuery(
            "select count(*) from outbox where published_at is not null and record_key = '"
                + recordKey
                + "'")
        == 1;
  }

  static long unpublishedOutboxRows() {
    try (Connection c = db();
        ResultSet rs =
            c.createStatement()
                .executeQuery("select count(*) from outbox where published_at is null")) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  static String gatewayToken() {
    return Tokens.clientCredentials(Stack.issuer(), "keywarden-gateway", "gateway-secret");
  }

  static Response admin(String method, String path, String body) {
    var spec = Stack.as("carol");
    if (body != null) {
      spec = spec.body(body);
    }
    return spec.request(method, path);
  }

  /** Sets the operator policy (JSON object). */
  static void policy(String json) {
    admin("PUT", "/api/admin/policy", json).then().statusCode(200);
  }

  /** Back to the state of a fresh database: every setting falls back to the configuration. */
  static void clearPolicy() {
    policy(
        "{\"maxLiveKeysPerAccount\":null,\"maxQuotaUsd\":null,\"maxLifetime\":null,"
            + "\"defaultLifetime\":null}");
  }

  static List<String> allTopics() {
    return List.of(Topics.KEY_EVENTS, Topics.GROUPS, Topics.USAGE_EVENTS);
  }

  static Response anonymous(String method, String path) {
    return given().contentType("application/json").body("{}").request(method, path);
  }
}
