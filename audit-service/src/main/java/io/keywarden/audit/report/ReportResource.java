package io.keywarden.audit.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.keywarden.audit.config.AuditConfig;
import io.keywarden.audit.domain.Finding;
import io.keywarden.support.rest.ApiProblem;
import io.keywarden.support.rest.Caller;
import io.keywarden.support.rest.ProblemMappers;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Transaction;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Singleton;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.NotAcceptableException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.RestMulti;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * {@code GET /api/audit/report}: JSON, CSV or HTML by {@code ?format=} or {@code Accept}. A user
 * sees their account; an admin all accounts or {@code ?account=}.
 *
 * <p>Streamed: the summary counts come from aggregate queries first, then the keys are read in
 * pages (keyset pagination on the report's order: account, created, key id) with their open
 * findings (one query per page), and each page is written as one chunk before the next is read.
 * Memory stays at about one page, whatever the number of keys. Everything that can be refused
 * (format, account, Accept) is checked before the first byte.
 *
 * <p>One snapshot: every query of a report runs on one connection, in one {@code READ ONLY
 * REPEATABLE READ} transaction held while it streams, so the summary counts are those of the rows
 * that follow, whatever changes while the report is read. The hold is bounded: at most {@code
 * kw.audit.report.max-concurrent} reports at once (one more is a 503 problem with Retry-After,
 * never a wait for a pool the rest of the service needs), a client that stops reading for {@code
 * idle-timeout} loses its report (PostgreSQL ends the idle transaction), none streams longer than
 * {@code max-duration}, and a client that goes away ends its report's transaction at once.
 */
@Path("/api/audit/report")
@Singleton
@RolesAllowed({"user", "admin"})
@Tag(name = "report")
public class ReportResource {
  static final int PAGE = 1000;
  private static final Logger LOG = Logger.getLogger(ReportResource.class);
  private static final List<MediaType> PRODUCED =
      List.of(
          MediaType.APPLICATION_JSON_TYPE, MediaType.valueOf("text/csv"), MediaType.TEXT_HTML_TYPE);
  private static final String KEY_COLUMNS =
      "select key_id, account, name, group_name, status, created_at, last_used_at,"
          + " last_client_ip, expires_at, rotated_at, total_spend_micros, quota_micros"
          + " from audit_keys ";
  // keyset pagination on (account, created_at, key_id): index audit_keys_report_ix
  private static final String ALL_FIRST =
      KEY_COLUMNS + "order by account, created_at, key_id limit $1";
  private static final String ALL_NEXT =
      KEY_COLUMNS
          + "where (account, created_at, key_id) > ($1, $2, $3)"
          + " order by account, created_at, key_id limit $4";
  private static final String ONE_FIRST =
      KEY_COLUMNS + "where account = $1 order by account, created_at, key_id limit $2";
  private static final String ONE_NEXT =
      KEY_COLUMNS
          + "where account = $1 and (account, created_at, key_id) > ($1, $2, $3)"
          + " order by account, created_at, key_id limit $4";

  /** The application name a report's connection shows while it holds its snapshot. */
  static final String APPLICATION_NAME = "keywarden-audit-report";

  /** Reports streaming now, shared by every request (one resource instance: @Singleton). */
  private final Semaphore permits;

  private final Caller caller;
  private final Clock clock;
  private final Pool pool;
  private final ObjectMapper json;
  private final AuditConfig.Report limits;
  private final Template head;
  private final Template row;
  private final Template tail;

  ReportResource(
      Caller caller,
      Clock clock,
      Pool pool,
      ObjectMapper json,
      AuditConfig config,
      @Location("report-head.html") Template head,
      @Location("report-row.html") Template row,
      @Location("report-tail.html") Template tail) {
    this.caller = caller;
    this.clock = clock;
    this.pool = pool;
    this.json = json;
    this.limits = config.report();
    this.permits = new Semaphore(limits.maxConcurrent());
    this.head = head;
    this.row = row;
    this.tail = tail;
  }

  // no @Produces: a streamed answer has one media type per method, and this one has three (the
  // Accept check Quarkus did with @Produces is done in acceptable(), before the first byte)
  @GET
  @Operation(summary = "The audit report: one row per key, summary counts, open findings")
  @APIResponse(
      responseCode = "200",
      description = "The report, streamed",
      content = {
        @Content(
            mediaType = "application/json",
            schema = @Schema(implementation = AuditReport.class)),
        @Content(mediaType = "text/csv"),
        @Content(mediaType = "text/html")
      })
  @APIResponse(
      responseCode = "503",
      description =
          "Too many reports streaming at once (kw.audit.report.max-concurrent): retry after"
              + " Retry-After seconds")
  public Multi<byte[]> get(
      @QueryParam("format") String format,
      @QueryParam("account") String account,
      @HeaderParam("Accept") String accept,
      @Context HttpServerResponse response) {
    acceptable(accept);
    String fmt = format(format, accept);
    String scope =
        scope(io.keywarden.audit.rest.AuditResource.checkLength("account", account, 255));
    boolean admin = caller.isAdmin();
    Instant now = clock.instant();
    Writer writer = new Writer(fmt, admin);
    io.vertx.core.Context context = io.vertx.core.Vertx.currentContext();
    Multi<String> parts =
        Multi.createFrom()
            .resourceFromUni(
                () -> snapshot(response, context),
                snapshot ->
                    summary(snapshot.connection, scope, now)
                        .onItem()
                        .transformToMulti(
                            s ->
                                Multi.createBy()
                                    .concatenating()
                                    .streams(
                                        Multi.createFrom().item(() -> writer.head(s)),
                                        pages(snapshot.connection, scope, now)
                                            .map(writer::rows)
                                            .onFailure()
                                            .invoke(
                                                t -> {
                                                  // the head is out: no error answer is possible
                                                  // any more; reset the connection so the client
                                                  // sees a broken transfer, not a short report
                                                  LOG.errorf(
                                                      "audit report failed after the head: %s",
                                                      t.getClass().getSimpleName());
                                                  response.reset();
                                                }),
                                        Multi.createFrom().item(writer::tail))))
            .withFinalizer(
                snapshot -> snapshot.end(true),
                (snapshot, failure) -> snapshot.end(false),
                snapshot -> snapshot.end(false));
    Multi<byte[]> body =
        parts.select().where(s -> !s.isEmpty()).map(s -> s.getBytes(StandardCharsets.UTF_8));
    // each chunk is written as is: with no @Produces Quarkus treats the stream as octet-stream
    // (no JSON array brackets around the items), and encodeAsJsonArray must keep its default
    // (false would add a line break after every chunk); the Content-Type header says the format
    RestMulti.SyncRestMulti.Builder<byte[]> b = RestMulti.fromMultiData(body).status(200);
    switch (fmt) {
      case "csv" ->
          b.header("Content-Type", "text/csv; charset=UTF-8; header=present")
              .header("Content-Disposition", "attachment; filename=\"keywarden-audit.csv\"");
      case "html" -> b.header("Content-Type", "text/html; charset=UTF-8");
      default -> b.header("Content-Type", "application/json");
    }
    return b.build();
  }

  /** The summary counts: small, from aggregate queries. */
  record Summary(
      int accounts,
      long total,
      Map<String, Integer> keysByStatus,
      Map<String, Integer> findingsByType,
      String account,
      Instant generatedAt) {}

  /** Too many reports streaming at once: a 503 problem, retry shortly. */
  static final class ReportsBusy extends RuntimeException {
    ReportsBusy() {
      super(null, null, false, false);
    }
  }

  @ServerExceptionMapper
  public Response busy(ReportsBusy e) {
    return Response.fromResponse(
            ProblemMappers.problem(
                503,
                "Service unavailable",
                "too many audit reports are being generated at once (at most "
                    + limits.maxConcurrent()
                    + "); retry in a few seconds",
                null))
        .header("Retry-After", "5")
        .build();
  }

  /**
   * One report's snapshot: a connection of the pool in a read-only repeatable-read transaction,
   * ended (and the connection given back) once, whichever comes first: the report's end, its
   * failure, the client going away, the connection closing under it, or {@code max-duration}.
   */
  private final class Snapshot {
    final SqlConnection connection;
    final Transaction transaction;
    final Semaphore permits;
    final AtomicBoolean ended = new AtomicBoolean();
    volatile long timer = -1;
    volatile io.vertx.core.Vertx vertx;

    Snapshot(SqlConnection connection, Transaction transaction, Semaphore permits) {
      this.connection = connection;
      this.transaction = transaction;
      this.permits = permits;
    }

    Uni<Void> end(boolean commit) {
      if (!ended.compareAndSet(false, true)) {
        return Uni.createFrom().voidItem();
      }
      if (timer >= 0 && vertx != null) {
        vertx.cancelTimer(timer);
      }
      // read only: a commit and a rollback end it alike; either way the connection goes back
      return (commit ? transaction.commit() : transaction.rollback())
          .onFailure()
          .recoverWithNull()
          .chain(() -> connection.close())
          .onFailure()
          .recoverWithNull()
          .eventually(() -> permits.release())
          .replaceWithVoid();
    }

    /** Cuts the report off: its transaction ends and the client sees a broken transfer. */
    void abort(String why, HttpServerResponse response, io.vertx.core.Context context) {
      if (ended.get()) {
        return;
      }
      LOG.warnf("audit report cut off: %s", why);
      end(false).subscribe().with(x -> {}, e -> {});
      context.runOnContext(x -> response.reset());
    }
  }

  /**
   * A permit, a connection and its snapshot transaction; a 503 problem when {@code max-concurrent}
   * reports are already streaming.
   */
  private Uni<Snapshot> snapshot(HttpServerResponse response, io.vertx.core.Context context) {
    Semaphore p = permits;
    if (!p.tryAcquire()) {
      return Uni.createFrom().failure(new ReportsBusy());
    }
    long idle = Math.max(1, limits.idleTimeout().toMillis());
    long max = Math.max(1, limits.maxDuration().toMillis());
    Uni<Snapshot> open =
        pool.getConnection()
            .onFailure()
            .invoke(() -> p.release())
            .chain(
                c ->
                    c.begin()
                        .chain(
                            tx ->
                                c.query(
                                        "set transaction isolation level repeatable read, read only;"
                                            + " set local idle_in_transaction_session_timeout = "
                                            + idle
                                            + "; set local statement_timeout = "
                                            + max
                                            + "; set local application_name = '"
                                            + APPLICATION_NAME
                                            + "'")
                                    .execute()
                                    .map(x -> new Snapshot(c, tx, p)))
                        .onFailure()
                        .call(
                            () ->
                                c.close()
                                    .onFailure()
                                    .recoverWithNull()
                                    .eventually(() -> p.release())));
    // taken on a subscription of its own: a pool cannot be told to forget a connection it is
    // about to hand over, so a client that goes away while it is taken must not leave it (and the
    // permit) held; the snapshot is ended at once instead
    AtomicBoolean gone = new AtomicBoolean();
    return Uni.createFrom()
        .<Snapshot>emitter(
            e ->
                open.subscribe()
                    .with(
                        s -> {
                          watch(s, max, response, context);
                          e.complete(s);
                          if (gone.get()) {
                            // dropped, or taken by a report already being called off: ending
                            // twice is harmless
                            s.end(false).subscribe().with(x -> {}, x -> {});
                          }
                        },
                        e::fail))
        .onCancellation()
        .invoke(() -> gone.set(true));
  }

  /**
   * Cuts the report off when its connection closes under it (the idle timeout ended the session
   * under a stalled client, or the database went away: at once, not when the client next reads) or
   * when it has streamed for {@code max-duration}.
   */
  private void watch(
      Snapshot s, long max, HttpServerResponse response, io.vertx.core.Context context) {
    s.connection.closeHandler(() -> s.abort("its database connection closed", response, context));
    if (context != null) {
      s.vertx = context.owner();
      s.timer =
          context
              .owner()
              .setTimer(
                  max,
                  id ->
                      s.abort(
                          "it streamed longer than " + limits.maxDuration(), response, context));
    }
  }

  private Uni<Summary> summary(SqlConnection c, String scope, Instant now) {
    // timestamptz holds microseconds: "expires_at <= now" is the same on the truncated instant
    OffsetDateTime at = now.truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
    String keysWhere = scope == null ? "" : " where account = $2";
    // one after the other on the snapshot's connection
    return c.preparedQuery(
            "select case when status = 'active' and expires_at is not null"
                + " and expires_at <= $1 then 'expired' else status end, count(*)"
                + " from audit_keys"
                + keysWhere
                + " group by 1")
        .execute(scope == null ? Tuple.of(at) : Tuple.of(at, scope))
        .chain(
            statuses ->
                c.preparedQuery(
                        "select count(distinct account), count(*) from audit_keys"
                            + (scope == null ? "" : " where account = $1"))
                    .execute(scope == null ? Tuple.tuple() : Tuple.of(scope))
                    .chain(
                        totals ->
                            c.preparedQuery(
                                    "select type, count(*) from findings where status = $1"
                                        + (scope == null ? "" : " and account = $2")
                                        + " group by type")
                                .execute(
                                    scope == null
                                        ? Tuple.of(Finding.OPEN)
                                        : Tuple.of(Finding.OPEN, scope))
                                .map(types -> summary(statuses, totals, types, scope, now))));
  }

  private static Summary summary(
      RowSet<Row> statuses, RowSet<Row> totals, RowSet<Row> types, String scope, Instant now) {
    Map<String, Integer> s = AuditReport.emptyStatusCounts();
    statuses.forEach(r -> s.merge(r.getString(0), (int) r.getLong(1).longValue(), Integer::sum));
    Map<String, Integer> t = AuditReport.emptyTypeCounts();
    types.forEach(r -> t.merge(r.getString(0), (int) r.getLong(1).longValue(), Integer::sum));
    Row c = totals.iterator().next();
    return new Summary(c.getLong(0).intValue(), c.getLong(1), s, t, scope, now);
  }

  /** Where the next page starts: after the last key of the previous one. */
  private static final class Cursor {
    String account;
    OffsetDateTime created;
    String keyId;
    boolean done;
  }

  /** The keys of the report, one list per page, each with its open findings. */
  private Multi<List<AuditReport.Row>> pages(SqlConnection db, String scope, Instant now) {
    return Multi.createBy()
        .repeating()
        .uni(Cursor::new, c -> page(db, c, scope, now))
        .whilst(p -> p.size() == PAGE)
        .select()
        .where(p -> !p.isEmpty());
  }

  private Uni<List<AuditReport.Row>> page(SqlConnection db, Cursor c, String scope, Instant now) {
    Uni<RowSet<Row>> keys;
    if (c.keyId == null) {
      keys =
          scope == null
              ? db.preparedQuery(ALL_FIRST).execute(Tuple.of((long) PAGE))
              : db.preparedQuery(ONE_FIRST).execute(Tuple.of(scope, (long) PAGE));
    } else {
      keys =
          scope == null
              ? db.preparedQuery(ALL_NEXT)
                  .execute(Tuple.of(c.account, c.created, c.keyId, (long) PAGE))
              : db.preparedQuery(ONE_NEXT)
                  .execute(Tuple.of(scope, c.created, c.keyId, (long) PAGE));
    }
    return keys.chain(
        rows -> {
          List<Row> list = new ArrayList<>(rows.size());
          rows.forEach(list::add);
          if (list.isEmpty()) {
            return Uni.createFrom().item(List.<AuditReport.Row>of());
          }
          Row last = list.get(list.size() - 1);
          c.account = last.getString("account");
          c.created = last.getOffsetDateTime("created_at");
          c.keyId = last.getString("key_id");
          String[] ids = list.stream().map(r -> r.getString("key_id")).toArray(String[]::new);
          // the open findings of this page's keys, by key, each key's ordered by type
          return db.preparedQuery(
                  "select id, key_id, type, detail from findings"
                      + " where status = $1 and key_id = any($2)"
                      + (scope == null ? "" : " and account = $3")
                      + " order by key_id, type")
              .execute(
                  scope == null ? Tuple.of(Finding.OPEN, ids) : Tuple.of(Finding.OPEN, ids, scope))
              .map(
                  found -> {
                    Map<String, List<AuditReport.OpenFinding>> byKey = new HashMap<>();
                    for (Row f : found) {
                      byKey
                          .computeIfAbsent(f.getString("key_id"), x -> new ArrayList<>())
                          .add(
                              AuditReport.openFinding(
                                  f.getUUID("id").toString(),
                                  f.getString("type"),
                                  f.getString("detail")));
                    }
                    List<AuditReport.Row> out = new ArrayList<>(list.size());
                    for (Row k : list) {
                      out.add(
                          AuditReport.row(
                              now,
                              k.getString("key_id"),
                              k.getString("name"),
                              k.getString("account"),
                              k.getString("group_name"),
                              k.getString("status"),
                              instant(k, "created_at"),
                              instant(k, "last_used_at"),
                              k.getString("last_client_ip"),
                              instant(k, "expires_at"),
                              instant(k, "rotated_at"),
                              k.getLong("total_spend_micros"),
                              k.getLong("quota_micros"),
                              byKey.getOrDefault(k.getString("key_id"), List.of())));
                    }
                    return out;
                  });
        });
  }

  private static Instant instant(Row r, String column) {
    OffsetDateTime t = r.getOffsetDateTime(column);
    return t == null ? null : t.toInstant();
  }

  /** Renders the head, each page of rows and the tail of one format. */
  private final class Writer {
    private final String fmt;
    private final boolean admin;
    private boolean first = true;

    Writer(String fmt, boolean admin) {
      this.fmt = fmt;
      this.admin = admin;
    }

    String head(Summary s) {
      AuditReport r =
          new AuditReport(
              s.generatedAt(),
              s.account(),
              s.accounts(),
              s.keysByStatus(),
              s.findingsByType(),
              List.of());
      return switch (fmt) {
        case "csv" -> Csv.row(AuditReport.CSV_HEADER);
        case "html" -> head.data("r", r).data("admin", admin).data("total", s.total()).render();
        default -> {
          // the report with no keys, cut open before the end of its (last) keys array
          String whole = write(r);
          if (!whole.endsWith("[]}")) {
            throw new IllegalStateException("keys is not the last field of the report");
          }
          yield whole.substring(0, whole.length() - 2);
        }
      };
    }

    String rows(List<AuditReport.Row> page) {
      StringBuilder sb = new StringBuilder(page.size() * 400);
      for (AuditReport.Row r : page) {
        switch (fmt) {
          case "csv" -> sb.append(Csv.row(r.csv()));
          case "html" -> sb.append(row.data("row", r).render());
          default -> {
            if (!first) {
              sb.append(',');
            }
            sb.append(write(r));
          }
        }
        first = false;
      }
      return sb.toString();
    }

    String tail() {
      return switch (fmt) {
        case "csv" -> "";
        case "html" -> tail.render();
        default -> "]}";
      };
    }

    private String write(Object o) {
      try {
        return json.writeValueAsString(o);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("report row not serializable", e);
      }
    }
  }

  /**
   * 406 when the Accept header names none of the three formats (what {@code @Produces} of JSON, CSV
   * and HTML did before the report was streamed).
   */
  static void acceptable(String accept) {
    if (accept == null || accept.isBlank()) {
      return;
    }
    boolean any = false;
    for (String part : accept.split(",")) {
      MediaType m;
      try {
        m = MediaType.valueOf(part.trim());
      } catch (IllegalArgumentException e) {
        continue;
      }
      any = true;
      String q = m.getParameters().get("q");
      if (q != null) {
        try {
          if (Double.parseDouble(q.trim()) <= 0) {
            continue;
          }
        } catch (NumberFormatException e) {
          continue;
        }
      }
      for (MediaType p : PRODUCED) {
        if (p.isCompatible(m)) {
          return;
        }
      }
    }
    if (any) {
      throw new NotAcceptableException();
    }
  }

  static String format(String format, String accept) {
    if (format != null && !format.isBlank()) {
      String f = format.trim().toLowerCase(Locale.ROOT);
      if (!List.of("json", "csv", "html").contains(f)) {
        throw ApiProblem.badRequest("format", "must be json, csv or html");
      }
      return f;
    }
    if (accept != null) {
      if (accept.contains("text/csv")) {
        return "csv";
      }
      if (accept.contains("text/html")) {
        return "html";
      }
    }
    return "json";
  }

  private String scope(String account) {
    if (caller.isAdmin()) {
      return account == null || account.isBlank() ? null : account.trim();
    }
    String own = caller.account();
    if (account != null && !account.isBlank() && !account.trim().equals(own)) {
      throw ApiProblem.notFound("account " + account.trim());
    }
    return own;
  }
}
