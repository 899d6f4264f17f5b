package io.keywarden.usage.rest;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.Money;
import io.keywarden.usage.authz.Authorizer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;

/**
 * {@code POST /api/authorize} for gateways (role gateway): one decision per request, always 200
 * with {@code allowed} and one {@code code}; 400 problem+json naming the field for bad input.
 */
@Path("/api/authorize")
@RolesAllowed("gateway")
public class AuthorizeResource {
  private final Authorizer authorizer;
  private final ObjectMapper mapper;

  AuthorizeResource(Authorizer authorizer, ObjectMapper mapper) {
    this.authorizer = authorizer;
    this.mapper = mapper;
  }

  @POST
  @Consumes(MediaType.WILDCARD)
  @Produces(MediaType.APPLICATION_JSON)
  public Uni<Response> authorize(byte[] body) {
    Authorizer.Ask ask;
    try {
      ask = AuthorizeRequest.parse(mapper, body);
    } catch (Problem.BadInput e) {
      return Uni.createFrom().item(e.response());
    }
    return authorizer.authorize(ask).map(AuthorizeResource::answer);
  }

  /**
   * The answer, written straight into a string: this runs on every gateway request, and a map
   * serialised by Jackson cost about as much as the decision itself.
   */
  static Response answer(Authorizer.Decision d) {
    Response.ResponseBuilder r = Response.ok(json(d), MediaType.APPLICATION_JSON_TYPE);
    if (d.retryAfterSeconds() != null) {
      r.header("Retry-After", d.retryAfterSeconds());
    }
    return r.build();
  }

  /** The answer's JSON. */
  static String json(Authorizer.Decision d) {
    ByteBuf b = Unpooled.buffer(320);
    write(b, d);
    return b.toString(StandardCharsets.UTF_8);
  }

  /**
   * Writes the answer's JSON as UTF-8 into {@code b}: straight to bytes, as the gateway route sends
   * it (no builder, string or encoding copy per answer).
   */
  static void write(ByteBuf b, Authorizer.Decision d) {
    var key = d.key();
    b.writeBytes(d.allowed() ? ALLOWED_TRUE : ALLOWED_FALSE);
    ByteBufUtil.writeAscii(b, d.code().name());
    b.writeBytes(KEY_ID);
    string(b, key == null ? null : key.keyId());
    b.writeBytes(ACCOUNT);
    string(b, key == null ? null : key.account());
    b.writeBytes(GROUP);
    string(b, key == null ? null : key.group());
    b.writeBytes(QUOTA);
    string(
        b,
        d.quotaRemainingMicros() == null
            ? null
            : Money.formatUsd(Math.max(0, d.quotaRemainingMicros())));
    b.writeBytes(BALANCE);
    string(b, d.balanceMicros() == null ? null : formatSigned(d.balanceMicros()));
    b.writeBytes(REQUESTS);
    number(b, d.requestsRemaining());
    b.writeBytes(RETRY_AFTER);
    number(b, d.retryAfterSeconds());
    b.writeByte('}');
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  private static final byte[] ALLOWED_TRUE = ascii("{\"allowed\":true,\"code\":\"");
  private static final byte[] ALLOWED_FALSE = ascii("{\"allowed\":false,\"code\":\"");
  private static final byte[] KEY_ID = ascii("\",\"keyId\":");
  private static final byte[] ACCOUNT = ascii(",\"account\":");
  private static final byte[] GROUP = ascii(",\"group\":");
  private static final byte[] QUOTA = ascii(",\"remaining\":{\"quotaUsd\":");
  private static final byte[] BALANCE = ascii(",\"balanceUsd\":");
  private static final byte[] REQUESTS = ascii(",\"requestsThisMinute\":");
  private static final byte[] RETRY_AFTER = ascii("},\"retryAfterSeconds\":");
  private static final byte[] NULL = ascii("null");

  private static void number(ByteBuf b, Integer n) {
    if (n == null) {
      b.writeBytes(NULL);
    } else {
      ByteBufUtil.writeAscii(b, Integer.toString(n));
    }
  }

  /**
   * A JSON string value as Jackson writes it (raw UTF-8, escapes where Jackson escapes), or null.
   */
  private static void string(ByteBuf b, String value) {
    if (value == null) {
      b.writeBytes(NULL);
      return;
    }
    b.writeByte('"');
    if (printableAscii(value)) {
      ByteBufUtil.writeAscii(b, value);
    } else {
      b.writeBytes(JsonStringEncoder.getInstance().quoteAsUTF8(value));
    }
    b.writeByte('"');
  }

  /** Nothing Jackson would escape: ASCII from space to '~' except the quote and the backslash. */
  private static boolean printableAscii(String s) {
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
        return false;
      }
    }
    return true;
  }

  static String formatSigned(long micros) {
    return micros < 0 ? "-" + Money.formatUsd(-micros) : Money.formatUsd(micros);
  }
}
