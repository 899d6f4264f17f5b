package io.keywarden.usage.ledger;

import io.keywarden.contracts.events.EventCodec;
import io.keywarden.usage.events.UsageEvents;
import io.quarkus.scheduler.Scheduled;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * E4: quota and balance threshold events survive a {@code kill -9} between the charge's commit and
 * Kafka's acknowledgement. Each event is stored with its mark in the charge's transaction ({@code
 * threshold_marks.event}), sent after the commit, and cleared once Kafka acknowledged it. Marks
 * still pending after {@code kw.thresholds.resend-after} (the instance that charged died, or Kafka
 * was away) are sent again by this relay, on every instance, the same CloudEvent with the same id:
 * consumers absorb a duplicate by its id.
 */
@ApplicationScoped
public class ThresholdRelay {
  private static final Logger LOG = Logger.getLogger(ThresholdRelay.class);

  private final Pool pool;
  private final UsageEvents events;
  private final Duration resendAfter;

  ThresholdRelay(
      Pool pool,
      UsageEvents events,
      @ConfigProperty(name = "kw.thresholds.resend-after", defaultValue = "30s")
          Duration resendAfter) {
    this.pool = pool;
    this.events = events;
    this.resendAfter = resendAfter;
  }

  /** Sends a mark's stored event; the mark is cleared when Kafka acknowledged it. */
  public void send(String scope, String subject, int percent, String period, String event) {
    if (event == null) {
      return;
    }
    String keyId = EventCodec.decode(event).subject();
    events.thresholdEncoded(keyId, event, () -> clear(scope, subject, percent, period));
  }

  private void clear(String scope, String subject, int percent, String period) {
    pool.preparedQuery(
            "update threshold_marks set event = null where scope = $1 and subject = $2"
                + " and percent = $3 and period = $4")
        .execute(Tuple.of(scope, subject, percent, period))
        .subscribe()
        .with(
            ok -> {},
            e ->
                LOG.warnf(
                    "threshold mark not cleared (it will be sent again): %s", e.getMessage()));
  }

  @Scheduled(
      every = "${kw.thresholds.resend-every:10s}",
      delayed = "2s",
      concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
  void resend() {
    try {
      int n = 0;
      for (Row r :
          pool.preparedQuery(
                  "select scope, subject, percent, period, event from threshold_marks"
                      + " where event is not null"
                      + " and created_at < now() - make_interval(secs => $1)"
                      + " order by created_at limit 1000")
              .execute(Tuple.of((double) resendAfter.toMillis() / 1000))
              .await()
              .atMost(Duration.ofSeconds(30))) {
        send(r.getString(0), r.getString(1), r.getInteger(2), r.getString(3), r.getString(4));
        n++;
      }
      if (n > 0) {
        LOG.infof("resent %d pending threshold events", n);
      }
    } catch (RuntimeException e) {
      LOG.warnf("threshold resend failed: %s", e.getMessage());
    }
  }
}
