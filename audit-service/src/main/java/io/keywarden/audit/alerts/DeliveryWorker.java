package io.keywarden.audit.alerts;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.keywarden.audit.config.AuditConfig;
import io.keywarden.audit.domain.AlertDelivery;
import io.keywarden.audit.domain.AlertSettings;
import io.keywarden.audit.domain.AuditKey;
import io.keywarden.audit.domain.Finding;
import io.keywarden.audit.findings.FindingType;
import io.keywarden.contracts.events.CloudEvent;
import io.keywarden.contracts.events.EventCodec;
import io.keywarden.contracts.events.KeyAlert;
import io.quarkus.hibernate.reactive.panache.Panache;
import io.quarkus.mailer.Mail;
import io.quarkus.mailer.reactive.ReactiveMailer;
import io.quarkus.oidc.client.OidcClient;
import io.quarkus.panache.common.Sort;
import io.quarkus.scheduler.Scheduled;
import io.quarkus.vertx.core.runtime.context.VertxContextSafetyToggle;
import io.smallrye.common.vertx.VertxContext;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import io.vertx.core.Context;
import io.vertx.core.http.HttpMethod;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.net.SocketAddress;
import io.vertx.mutiny.ext.web.client.HttpResponse;
import io.vertx.mutiny.ext.web.client.WebClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * Sends due deliveries (webhook, email, Kafka, STALE auto-disable), retrying failures with
 * exponential backoff until {@code kw.audit.alerts.max-attempts}, then marking them failed. Every
 * outcome is in the delivery log.
 */
@ApplicationScoped
public class DeliveryWorker {
  private static final Logger LOG = Logger.getLogger(DeliveryWorker.class);
  private static final int BATCH = 50;

  private final AuditConfig config;
  private final Clock clock;
  private final MutinyEmitter<String> kafka;
  private final ReactiveMailer mailer;
  private final OidcClient oidc;
  private final WebClient http;
  private final String keyServiceUrl;
  private final Vertx vertx;
  private final AtomicInteger lanesBusy = new AtomicInteger();
  private volatile boolean stopping;

  DeliveryWorker(
      AuditConfig config,
      Clock clock,
      @Channel("key-alerts") MutinyEmitter<String> kafka,
      ReactiveMailer mailer,
      OidcClient oidc,
      Vertx vertx,
      @ConfigProperty(name = "kw.key-service.url") String keyServiceUrl) {
    this.config = config;
    this.clock = clock;
    this.kafka = kafka;
    this.mailer = mailer;
    this.oidc = oidc;
    this.vertx = vertx;
    this.http = WebClient.create(vertx);
    this.keyServiceUrl = keyServiceUrl.replaceAll("/+$", "");
  }

  void stopping(@jakarta.enterprise.event.Observes io.quarkus.runtime.ShutdownEvent event) {
    stopping = true;
  }

  /**
   * Starts a sending lane in every free slot, up to {@code kw.audit.alerts.concurrency}, and
   * returns at once: a lane stuck on a slow receiver (up to twice the timeout) holds its slot only,
   * the other lanes and the next ticks go on sending everything else.
   */
  @Scheduled(
      every = "${kw.audit.delivery-every}",
      delayed = "5s", // after the Kafka emitter is connected
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void tick() {
    if (stopping) {
      return; // the database pool is closing: every run would fail until the process ends
    }
    int lanes = config.alerts().concurrency();
    for (int busy = lanesBusy.get(); busy < lanes; busy = lanesBusy.get()) {
      if (lanesBusy.compareAndSet(busy, busy + 1)) {
        lane()
            .onFailure()
            .invoke(e -> LOG.warnf("delivery run failed: %s", e.getClass().getSimpleName()))
            .onFailure()
            .recoverWithItem(0)
            .subscribe()
            .with(sent -> lanesBusy.decrementAndGet(), e -> lanesBusy.decrementAndGet());
      }
    }
  }

  /**
   * Sends what is due now in {@code kw.audit.alerts.concurrency} parallel lanes, each at most
   * {@value #BATCH} deliveries, one after the other; the number of deliveries attempted.
   */
  public Uni<Integer> sendDue() {
    List<Uni<Integer>> lanes = new ArrayList<>();
    for (int i = 0; i < config.alerts().concurrency(); i++) {
      lanes.add(lane());
    }
    return Uni.join()
        .all(lanes)
        .andCollectFailures()
        .map(l -> l.stream().mapToInt(Integer::intValue).sum());
  }

  /** One lane on a Vert.x context of its own (its own session and connection). */
  private Uni<Integer> lane() {
    Context ctx = VertxContext.createNewDuplicatedContext(vertx.getDelegate().getOrCreateContext());
    VertxContextSafetyToggle.setContextSafe(ctx, true);
    return Uni.createFrom()
        .emitter(e -> ctx.runOnContext(x -> sendFrom(0).subscribe().with(e::complete, e::fail)));
  }

  private Uni<Integer> sendFrom(int done) {
    if (done >= BATCH) {
      return Uni.createFrom().item(done);
    }
    return claimAndSend().chain(sent -> sent ? sendFrom(done + 1) : Uni.createFrom().item(done));
  }

  /**
   * Claims the next due delivery with {@code FOR UPDATE SKIP LOCKED} and holds the row lock while
   * it is sent and its outcome recorded, all in one transaction: another worker (a second tick, a
   * second instance) skips a row that is being sent instead of sending it again, whatever time the
   * send takes; no lease can expire under a slow send. If the process dies mid-send, PostgreSQL
   * drops the lock with the connection and the row is sent again (at least once; receivers
   * de-duplicate on {@code X-Keywarden-Delivery}). False when nothing is due.
   */
  Uni<Boolean> claimAndSend() {
    Instant now = clock.instant();
    Context context = io.vertx.core.Vertx.currentContext();
    return Panache.withTransaction(
        () ->
            Panache.getSession()
                .chain(
                    s ->
                        s.createNativeQuery(
                                "select * from alert_deliveries where status = :pending and"
                                    + " next_attempt_at <= :now order by next_attempt_at"
                                    + " limit 1 for update skip locked",
                                AlertDelivery.class)
                            .setParameter("pending", AlertDelivery.PENDING)
                            .setParameter("now", now)
                            .getResultList())
                .chain(
                    claimed -> {
                      if (claimed.isEmpty()) {
                        return Uni.createFrom().item(false);
                      }
                      AlertDelivery d = claimed.get(0);
                      Uni<Throwable> outcome =
                          content(d)
                              .chain(c -> send(d, c))
                              .ifNoItem()
                              .after(config.alerts().timeout().multipliedBy(2))
                              .failWith(() -> new DeliveryFailed("timed out"))
                              .map(x -> (Throwable) null)
                              .onFailure()
                              .recoverWithItem(t -> t);
                      if (context != null) {
                        // back on the session's context: the send may complete on another thread
                        outcome = outcome.emitOn(r -> context.runOnContext(x -> r.run()));
                      }
                      return outcome.invoke(failure -> record(d, failure)).replaceWith(true);
                    }));
  }

  private void record(AlertDelivery stored, Throwable failure) {
    Instant now = clock.instant();
    String error = failure == null ? null : describe(failure);
    boolean final_ = failure instanceof DeliveryFailed f && f.permanent;
    stored.attempts += 1;
    if (error == null) {
      stored.status = AlertDelivery.DELIVERED;
      stored.deliveredAt = now;
      stored.lastError = null;
    } else {
      stored.lastError = error.length() > 500 ? error.substring(0, 500) : error;
      if (final_ || stored.attempts >= config.alerts().maxAttempts()) {
        stored.status = AlertDelivery.FAILED;
        LOG.warnf(
            "alert %s on %s failed for good after %d attempts: %s",
            stored.id, stored.channel, stored.attempts, stored.lastError);
      } else {
        stored.nextAttemptAt = now.plus(backoff(stored.attempts));
      }
    }
  }

  Duration backoff(int attemptsSoFar) {
    return config.alerts().backoff().multipliedBy(1L << Math.min(20, attemptsSoFar - 1));
  }

  /** What to send: the alert (or the digest) and the account's settings. */
  record Content(KeyAlert alert, Map<String, Object> digest, AlertSettings settings) {}

  private Uni<Content> content(AlertDelivery d) {
    Uni<AlertSettings> settings = AlertSettings.findById(d.account);
    if (AlertPlanner.DIGEST.equals(d.findingType)) {
      return settings.chain(
          s ->
              Finding.<Finding>list(
                      "account = ?1 and status = ?2",
                      Sort.by("type").and("keyId"),
                      d.account,
                      Finding.OPEN)
                  .map(fs -> new Content(null, digest(d, fs), s)));
    }
    return settings.chain(
        s ->
            Finding.<Finding>findById(d.findingId)
                .chain(
                    f ->
                        AuditKey.<AuditKey>findById(d.keyId)
                            .map(k -> new Content(alert(d, f, k), null, s))));
  }

  private KeyAlert alert(AlertDelivery d, Finding f, AuditKey k) {
    FindingType type = FindingType.valueOf(d.findingType);
    return new KeyAlert(
        d.findingId == null ? null : d.findingId.toString(),
        d.keyId,
        d.account,
        k == null ? null : k.name,
        d.findingType,
        d.period,
        f == null ? type.name() : f.detail,
        type.action(),
        d.createdAt);
  }

  private Map<String, Object> digest(AlertDelivery d, List<Finding> findings) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("type", "keywarden.alert.digest");
    out.put("account", d.account);
    out.put("day", d.period);
    List<Map<String, Object>> items = new ArrayList<>();
    for (Finding f : findings) {
      Map<String, Object> i = new LinkedHashMap<>();
      i.put("findingId", f.id.toString());
      i.put("keyId", f.keyId);
      i.put("findingType", f.type);
      i.put("message", f.detail);
      i.put("action", FindingType.valueOf(f.type).action());
      items.add(i);
    }
    out.put("findings", items);
    return out;
  }

  private Uni<Void> send(AlertDelivery d, Content c) {
    String unwanted = unwanted(d, c.settings());
    if (unwanted != null) {
      // queued under settings the account has changed since: never sent to a destination it
      // removed, nor in a mode or for a type it no longer wants; final at once (not retried)
      return Uni.createFrom().failure(new DeliveryFailed(unwanted, true));
    }
    return switch (io.keywarden.audit.alerts.Channel.fromWire(d.channel)) {
      case KAFKA -> sendKafka(c.alert());
      case WEBHOOK -> sendWebhook(d, c);
      case EMAIL -> sendEmail(d, c);
      case DISABLE -> disableKey(d.keyId);
    };
  }

  /**
   * Why a queued delivery is no longer wanted by the account's settings as they are now, or null
   * when it still is. A delivery follows the current settings, not those it was queued under: a
   * webhook or email alert goes to the current address (a fixed URL gets the retries), but not when
   * the address was removed, the mode changed (a digest queued in daily mode is not sent once the
   * account is back to immediate alerts, nor an immediate alert once it is in daily mode), or the
   * finding type was taken out of the account's types; a STALE key is not disabled once the account
   * opted out. Kafka alerts go out whatever the settings.
   */
  static String unwanted(AlertDelivery d, AlertSettings s) {
    io.keywarden.audit.alerts.Channel channel =
        io.keywarden.audit.alerts.Channel.fromWire(d.channel);
    boolean digest = AlertPlanner.DIGEST.equals(d.findingType);
    switch (channel) {
      case KAFKA -> {
        return null;
      }
      case DISABLE -> {
        return s != null && s.autoDisableStale && AlertPlanner.wants(s, d.findingType)
            ? null
            : "cancelled: the account no longer has stale keys disabled";
      }
      case WEBHOOK -> {
        if (s == null || s.webhookUrl == null) {
          return "cancelled: no webhook configured any more";
        }
      }
      case EMAIL -> {
        if (s == null || s.email == null) {
          return "cancelled: no email address configured any more";
        }
      }
    }
    if (digest && !AlertSettings.DAILY.equals(s.mode)) {
      return "cancelled: the account no longer wants a daily digest (mode " + s.mode + ")";
    }
    if (!digest && !AlertSettings.IMMEDIATE.equals(s.mode)) {
      return "cancelled: the account now gets its alerts in the daily digest";
    }
    if (!digest && !AlertPlanner.wants(s, d.findingType)) {
      return "cancelled: the account no longer wants " + d.findingType + " alerts";
    }
    return null;
  }

  private Uni<Void> sendKafka(KeyAlert alert) {
    String json =
        EventCodec.encode(
            CloudEvent.of(KeyAlert.TYPE, "/audit-service", alert.keyId(), clock.instant(), alert));
    return kafka.sendMessage(
        Message.of(json)
            .addMetadata(
                OutgoingKafkaRecordMetadata.<String>builder().withKey(alert.keyId()).build()));
  }

  private Uni<Void> sendWebhook(AlertDelivery d, Content c) {
    AlertSettings s = c.settings();
    try {
      // a URL stored before the check (a metadata or link-local address) is never called
      io.keywarden.audit.rest.AlertsResource.webhookUrl(s.webhookUrl);
    } catch (RuntimeException e) {
      return Uni.createFrom().failure(new DeliveryFailed("the webhook URL is refused"));
    }
    URI uri = URI.create(s.webhookUrl);
    boolean https = "https".equalsIgnoreCase(uri.getScheme());
    String host = uri.getHost();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = uri.getPort() != -1 ? uri.getPort() : (https ? 443 : 80);
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    if (uri.getRawQuery() != null) {
      path += "?" + uri.getRawQuery();
    }
    String name = host;
    String target = path;
    // the host's addresses are checked now, at every delivery (a name may be re-pointed at the
    // metadata service after the settings were saved: DNS rebinding), and the request goes to
    // the address checked, never to a second resolution; Host header and TLS SNI keep the name
    return checkedAddress(name)
        .chain(
            address -> {
              String body = json(c.alert() != null ? c.alert() : c.digest());
              long ts = clock.instant().getEpochSecond();
              var request =
                  http.request(
                          HttpMethod.POST,
                          SocketAddress.inetSocketAddress(port, address.getHostAddress()),
                          port,
                          name,
                          target)
                      .ssl(https)
                      .timeout(config.alerts().timeout().toMillis())
                      .putHeader("Content-Type", "application/json")
                      .putHeader(WebhookSignature.TIMESTAMP_HEADER, Long.toString(ts))
                      .putHeader(WebhookSignature.DELIVERY_HEADER, d.id.toString());
              if (s.webhookSecret != null) {
                request.putHeader(
                    WebhookSignature.SIGNATURE_HEADER,
                    WebhookSignature.sign(s.webhookSecret, ts, body));
              }
              return request.sendBuffer(Buffer.buffer(body));
            })
        .invoke(DeliveryWorker::requireSuccess)
        .replaceWithVoid();
  }

  /**
   * The first address of a webhook host, resolved off the event loop (the JDK resolver); refused
   * for good when ANY of its addresses is link-local (the metadata service), unspecified or
   * multicast: a name is not safer than the literal address it stands for.
   */
  private Uni<InetAddress> checkedAddress(String host) {
    return Uni.createFrom()
        .item(
            () -> {
              InetAddress[] all;
              try {
                all = InetAddress.getAllByName(host);
              } catch (UnknownHostException e) {
                throw new DeliveryFailed("cannot resolve the webhook host");
              }
              for (InetAddress a : all) {
                String why = io.keywarden.audit.rest.AlertsResource.refusedAddress(a);
                if (why != null) {
                  throw new DeliveryFailed(
                      "the webhook host resolves to "
                          + a.getHostAddress()
                          + ", "
                          + why
                          + " address: not sent",
                      true);
                }
              }
              return all[0];
            })
        .runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
  }

  private Uni<Void> sendEmail(AlertDelivery d, Content c) {
    AlertSettings s = c.settings();
    String subject;
    StringBuilder text = new StringBuilder();
    if (c.alert() != null) {
      KeyAlert a = c.alert();
      subject =
          "[Keywarden] "
              + a.findingType()
              + ": key "
              + (a.keyName() == null ? a.keyId() : a.keyName());
      text.append(a.message()).append("\n\nWhat to do: ").append(a.action());
      text.append("\n\nKey id: ").append(a.keyId()).append("\nFinding: ").append(a.findingId());
    } else {
      subject = "[Keywarden] daily digest " + d.period;
      text.append("Open findings of your keys on ").append(d.period).append(":\n");
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> items = (List<Map<String, Object>>) c.digest().get("findings");
      for (Map<String, Object> i : items) {
        text.append("\n- ")
            .append(i.get("findingType"))
            .append(" (key ")
            .append(i.get("keyId"))
            .append("): ")
            .append(i.get("message"))
            .append(" ")
            .append(i.get("action"));
      }
    }
    Mail mail =
        Mail.withText(s.email, subject, text.toString()).setFrom(config.alerts().mailFrom());
    mail.addHeader("X-Keywarden-Delivery", d.id.toString());
    return mailer.send(mail);
  }

  private Uni<Void> disableKey(String keyId) {
    return oidc.getTokens()
        .chain(
            tokens ->
                http.postAbs(keyServiceUrl + "/api/admin/keys/" + keyId + "/disable")
                    .timeout(config.alerts().timeout().toMillis())
                    .bearerTokenAuthentication(tokens.getAccessToken())
                    .putHeader("Content-Type", "application/json")
                    .sendBuffer(Buffer.buffer("{}")))
        .invoke(
            r -> {
              // 409: already disabled or final; either way nothing left to do
              if (r.statusCode() != 409) {
                requireSuccess(r);
              }
            })
        .replaceWithVoid();
  }

  private static void requireSuccess(HttpResponse<Buffer> r) {
    if (r.statusCode() < 200 || r.statusCode() > 299) {
      throw new DeliveryFailed("HTTP " + r.statusCode());
    }
  }

  private static String json(Object o) {
    try {
      return EventCodec.mapper().writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode alert", e);
    }
  }

  private static String describe(Throwable t) {
    if (t instanceof DeliveryFailed) {
      return t.getMessage();
    }
    if (t instanceof java.net.ConnectException && t.getMessage() != null) {
      // host and port only, which is what an operator needs here
      return "cannot connect: " + t.getMessage().replaceAll("^.*?: ", "");
    }
    // the class name only: exception messages may carry URLs with credentials
    return t.getClass().getSimpleName();
  }

  /** A delivery the receiver refused. */
  static final class DeliveryFailed extends RuntimeException {
    /** Not worth another attempt (a refused address): the delivery fails at once. */
    final boolean permanent;

    DeliveryFailed(String message) {
      this(message, false);
    }

    DeliveryFailed(String message, boolean permanent) {
      super(message, null, false, false);
      this.permanent = permanent;
    }
  }
}
