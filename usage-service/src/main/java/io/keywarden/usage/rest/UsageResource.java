package io.keywarden.usage.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.keywarden.usage.ledger.Charger;
import io.keywarden.usage.ledger.UsageRecord;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;

/**
 * {@code POST /api/usage} (role gateway): one record (an object) or a batch (an array of up to
 * 1,000). Idempotent by requestId. A single record answers 200 when charged, 429 {@code
 * insufficient_quota} when the key quota or the balance does not cover it; a batch answers 200 with
 * one result per record. Answered only after the PostgreSQL commit.
 */
@Path("/api/usage")
@RolesAllowed("gateway")
public class UsageResource {
  static final int MAX_BATCH = 1000;
  private static final Set<String> FIELDS =
      Set.of("requestId", "keyId", "model", "inputTokens", "outputTokens", "costUsd");

  private final Charger charger;
  private final ObjectMapper mapper;
  private final String keyPrefix;

  UsageResource(
      Charger charger,
      ObjectMapper mapper,
      @org.eclipse.microprofile.config.inject.ConfigProperty(name = "kw.keys.prefix")
          String keyPrefix) {
    this.charger = charger;
    this.mapper = mapper;
    this.keyPrefix = keyPrefix;
  }

  @POST
  @Consumes(MediaType.WILDCARD)
  @Produces(MediaType.APPLICATION_JSON)
  public Uni<Response> record(byte[] body) {
    List<UsageRecord> records = new ArrayList<>();
    boolean batch;
    try {
      JsonNode root = Json.parse(mapper, body);
      batch = root.isArray();
      if (batch) {
        if (root.isEmpty() || root.size() > MAX_BATCH) {
          throw new Problem.BadInput("body", "a batch holds 1 to " + MAX_BATCH + " records");
        }
        for (int i = 0; i < root.size(); i++) {
          records.add(noKeys(parse(root.get(i), "[" + i + "]."), "[" + i + "]."));
        }
      } else {
        records.add(noKeys(parse(root, ""), ""));
      }
    } catch (Problem.BadInput e) {
      return Uni.createFrom().item(e.response());
    }
    return Uni.createFrom()
        .completionStage(charger.submit(records))
        .map(results -> batch ? batchAnswer(results) : singleAnswer(results.get(0)))
        .onFailure()
        .recoverWithItem(
            e -> {
              Throwable c =
                  e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
              if (c instanceof Charger.Overloaded) {
                return OpenAiErrorWithRetry.overloaded();
              }
              return Response.status(503)
                  .header("Retry-After", 1)
                  .type(MediaType.APPLICATION_JSON)
                  .entity(
                      Map.of(
                          "error",
                          Map.of(
                              "message",
                              "usage could not be recorded; retry with the same requestId",
                              "type",
                              "server_error",
                              "code",
                              "unavailable")))
                  .build();
            });
  }

  static UsageRecord parse(JsonNode o, String prefix) {
    Json.onlyFields(o, prefix.isEmpty() ? "" : prefix, FIELDS);
    String requestId = Json.requestId(o, prefix, true);
    String keyId = Json.text(o, "keyId", prefix, true, 64);
    String model = Json.text(o, "model", prefix, false, 128);
    long in = Json.count(o, "inputTokens", prefix);
    long out = Json.count(o, "outputTokens", prefix);
    Long cost = Json.usd(o, "costUsd", prefix);
    return new UsageRecord(requestId, keyId, model, in, out, cost);
  }

  /**
   * S6: the ledger keeps the model and request id of every record, so an API key reported in either
   * (a client that pasted its key into the model setting) is refused, never stored.
   */
  private UsageRecord noKeys(UsageRecord r, String prefix) {
    if (io.keywarden.contracts.KeyFormat.containsKey(r.model(), keyPrefix)) {
      throw new Problem.BadInput(prefix + "model", "holds an API key, not a model name");
    }
    if (io.keywarden.contracts.KeyFormat.containsKey(r.keyId(), keyPrefix)) {
      // the answer names the key id it was given
      throw new Problem.BadInput(prefix + "keyId", "holds an API key, not a key id");
    }
    if (io.keywarden.contracts.KeyFormat.containsKey(r.requestId(), keyPrefix)) {
      throw new Problem.BadInput(prefix + "requestId", "holds an API key");
    }
    return r;
  }

  private Response singleAnswer(Charger.Result r) {
    ObjectNode node = mapper.valueToTree(r.outcome());
    int status = r.outcome().httpStatus();
    if (!r.outcome().accepted()) {
      ObjectNode err = node.putObject("error");
      err.put("message", message(r.outcome().code()));
      err.put(
          "type",
          switch (status) {
            case 429 -> "insufficient_quota";
            case 503 -> "server_error";
            default -> "invalid_request_error";
          });
      err.put("code", status == 429 ? "insufficient_quota" : r.outcome().code().toLowerCase());
    }
    Response.ResponseBuilder b =
        Response.status(status).header("X-Keywarden-Replay", r.replay()).entity(node);
    if (status == 503) {
      // not decided (its first answer could not be read back): retry with the same requestId
      b.header("Retry-After", 1);
    }
    return b.build();
  }

  /**
   * {@code {"results": [outcome + "replay", ...]}}, written as text from each outcome's stored JSON
   * (no tree per record).
   */
  private Response batchAnswer(List<Charger.Result> results) {
    StringBuilder out = new StringBuilder(results.size() * 320).append("{\"results\":[");
    for (int i = 0; i < results.size(); i++) {
      Charger.Result r = results.get(i);
      String json = charger.json(r);
      if (i > 0) {
        out.append(',');
      }
      if (json.length() > 2 && json.charAt(0) == '{' && json.charAt(json.length() - 1) == '}') {
        out.append(json, 0, json.length() - 1)
            .append(",\"replay\":")
            .append(r.replay())
            .append('}');
      } else {
        ObjectNode node = mapper.valueToTree(r.outcome());
        node.put("replay", r.replay());
        out.append(node);
      }
    }
    return Response.ok(out.append("]}").toString(), MediaType.APPLICATION_JSON_TYPE).build();
  }

  private static String message(String code) {
    return switch (code) {
      case "KEY_QUOTA_EXCEEDED" -> "This API key has used up its quota.";
      case "BALANCE_EXHAUSTED" -> "Your account balance is exhausted. Add credits to continue.";
      case "INVALID_KEY" -> "Unknown key id.";
      default -> "Usage could not be recorded.";
    };
  }

  /** 503 with Retry-After: the queue is full (back-pressure; nothing is dropped silently). */
  static final class OpenAiErrorWithRetry {
    static Response overloaded() {
      return Response.status(503)
          .header("Retry-After", 1)
          .type(MediaType.APPLICATION_JSON)
          .entity(
              Map.of(
                  "error",
                  Map.of(
                      "message", "usage-service is overloaded; retry with the same requestId",
                      "type", "server_error",
                      "code", "overloaded")))
          .build();
    }
  }
}
