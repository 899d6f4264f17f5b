package io.keywarden.usage.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.contracts.Money;
import io.keywarden.usage.ledger.BudgetView;
import io.keywarden.usage.ledger.Periods;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.annotation.security.RolesAllowed;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.jwt.JsonWebToken;

/** Accounts: balance and spend of the caller's own account; credits by an admin. */
@Path("/api")
@Produces(MediaType.APPLICATION_JSON)
public class AccountsResource {
  private final Pool pool;
  private final JsonWebToken jwt;
  private final Clock clock;
  private final ObjectMapper mapper;
  private final BudgetView view;

  AccountsResource(Pool pool, JsonWebToken jwt, Clock clock, ObjectMapper mapper, BudgetView view) {
    this.pool = pool;
    this.jwt = jwt;
    this.clock = clock;
    this.mapper = mapper;
    this.view = view;
  }

  private String account() {
    String a = jwt.getClaim("account");
    return a != null && !a.isBlank() ? a : jwt.getSubject();
  }

  @GET
  @Path("/accounts/me")
  @RolesAllowed({"user", "admin"})
  public Uni<Map<String, Object>> me() {
    String account = account();
    Instant now = clock.instant();
    return pool.preparedQuery(
            "select coalesce((select balance_micros from accounts where account = $1), 0),"
                + " coalesce((select reserved_micros from accounts where account = $1), 0),"
                + " coalesce((select -sum(amount_micros) from ledger where account = $1"
                + " and kind = 'charge' and created_at >= $2), 0),"
                + " coalesce((select -sum(amount_micros) from ledger where account = $1"
                + " and kind = 'charge' and created_at >= $3), 0)")
        .execute(
            Tuple.of(
                account,
                Periods.startOfDay(now).atOffset(ZoneOffset.UTC),
                Periods.startOfMonth(now).atOffset(ZoneOffset.UTC)))
        .map(
            rs -> {
              Row r = rs.iterator().next();
              Map<String, Object> out = new LinkedHashMap<>();
              out.put("account", account);
              out.put("balanceUsd", AuthorizeResource.formatSigned(r.getLong(0)));
              out.put("reservedUsd", Money.formatUsd(r.getLong(1)));
              out.put("spentTodayUsd", Money.formatUsd(r.getLong(2)));
              out.put("spentThisMonthUsd", Money.formatUsd(r.getLong(3)));
              return out;
            });
  }

  @GET
  @Path("/accounts/me/usage")
  @RolesAllowed({"user", "admin"})
  public Uni<Response> usage(
      @QueryParam("from") String fromText,
      @QueryParam("to") String toText,
      @QueryParam("groupBy") String groupBy) {
    Instant to;
    Instant from;
    String by = groupBy == null ? "day" : groupBy;
    try {
      to = toText == null ? clock.instant() : time("to", toText, true);
      from = fromText == null ? to.minus(Duration.ofDays(30)) : time("from", fromText, false);
      if (!from.isBefore(to)) {
        throw new Problem.BadInput("from", "must be before to");
      }
      if (Duration.between(from, to).compareTo(Duration.ofDays(366)) > 0) {
        throw new Problem.BadInput("from", "the range may span at most 366 days");
      }
      if (!Set.of("key", "model", "day").contains(by)) {
        throw new Problem.BadInput("groupBy", "must be key, model or day");
      }
    } catch (Problem.BadInput e) {
      return Uni.createFrom().item(e.response());
    }
    String expr =
        switch (by) {
          case "key" -> "key_id";
          case "model" -> "coalesce(model, '')";
          default -> "to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')";
        };
    String account = account();
    final Instant f = from;
    final Instant t = to;
    return pool.preparedQuery(
            "select "
                + expr
                + ", count(*), coalesce(-sum(amount_micros), 0), coalesce(sum(input_tokens), 0),"
                + " coalesce(sum(output_tokens), 0) from ledger where account = $1 and kind = 'charge'"
                + " and created_at >= $2 and created_at < $3 group by 1 order by 1")
        .execute(Tuple.of(account, f.atOffset(ZoneOffset.UTC), t.atOffset(ZoneOffset.UTC)))
        .map(
            rs -> {
              List<Map<String, Object>> rows = new ArrayList<>();
              for (Row r : rs) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put(by, r.getString(0));
                m.put("requests", r.getLong(1));
                m.put("spendUsd", Money.formatUsd(r.getLong(2)));
                m.put("inputTokens", r.getLong(3));
                m.put("outputTokens", r.getLong(4));
                rows.add(m);
              }
              Map<String, Object> out = new LinkedHashMap<>();
              out.put("account", account);
              out.put("from", f.toString());
              out.put("to", t.toString());
              out.put("groupBy", by);
              out.put("data", rows);
              return Response.ok(out).build();
            });
  }

  private static Instant time(String field, String text, boolean endOfDay) {
    try {
      if (text.length() == 10) {
        LocalDate d = LocalDate.parse(text);
        return (endOfDay ? d.plusDays(1) : d).atStartOfDay().toInstant(ZoneOffset.UTC);
      }
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw new Problem.BadInput(
          field, "must be a date (2026-11-23) or an instant (2026-11-23T10:00:00Z)");
    }
  }

  @POST
  @Path("/admin/accounts/{account}/credits")
  @RolesAllowed("admin")
  @Consumes(MediaType.WILDCARD)
  public Uni<Response> credit(@PathParam("account") String account, byte[] body) {
    long amount;
    String reference;
    try {
      if (account == null || account.isBlank() || account.length() > 255) {
        throw new Problem.BadInput("account", "must be 1 to 255 characters");
      }
      JsonNode o = Json.parse(mapper, body);
      Json.onlyFields(o, "", Set.of("amountUsd", "reference"));
      Long a = Json.usd(o, "amountUsd", "");
      if (a == null || a <= 0) {
        throw new Problem.BadInput("amountUsd", "is required and must be above 0");
      }
      amount = a;
      reference = Json.text(o, "reference", "", true, 128);
    } catch (Problem.BadInput e) {
      return Uni.createFrom().item(e.response());
    }
    var ts = clock.instant().atOffset(ZoneOffset.UTC);
    return pool.withTransaction(
        conn ->
            conn.preparedQuery(
                    "insert into ledger (account, kind, amount_micros, reference, created_at)"
                        + " values ($1, 'credit', $2, $3, $4)"
                        + " on conflict (account, reference) where reference is not null do nothing"
                        + " returning id")
                .execute(Tuple.of(account, amount, reference, ts))
                .flatMap(
                    ins -> {
                      boolean fresh = ins.rowCount() == 1;
                      String sql =
                          fresh
                              ? "insert into accounts (account, balance_micros, credited_micros)"
                                  + " values ($1, $2, $2)"
                                  + " on conflict (account) do update set balance_micros ="
                                  + " accounts.balance_micros + excluded.balance_micros,"
                                  + " credited_micros = accounts.credited_micros"
                                  + " + excluded.credited_micros,"
                                  + " updated_at = now() returning balance_micros, reserved_micros"
                              : "select balance_micros, reserved_micros from accounts where account = $1"
                                  + " and $2::int8 is not null";
                      return conn.preparedQuery(sql)
                          .execute(Tuple.of(account, amount))
                          .map(
                              rs -> {
                                Row r = rs.iterator().next();
                                view.putAccount(
                                    account,
                                    new BudgetView.AccountBalance(r.getLong(0), r.getLong(1)));
                                Map<String, Object> out = new LinkedHashMap<>();
                                out.put("account", account);
                                out.put("creditedUsd", Money.formatUsd(amount));
                                out.put("reference", reference);
                                out.put("balanceUsd", AuthorizeResource.formatSigned(r.getLong(0)));
                                out.put("replay", !fresh);
                                return Response.status(fresh ? 201 : 200).entity(out).build();
                              });
                    }));
  }
}
