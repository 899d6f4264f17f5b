package io.keywarden.usage.authz;

import io.keywarden.usage.events.UsageEvents;
import io.keywarden.usage.ledger.BudgetView;
import io.keywarden.usage.ledger.Holds;
import io.keywarden.usage.ledger.Periods;
import io.keywarden.usage.limits.RateLimiter;
import io.keywarden.usage.projection.KeyProjection.KeyEntry;
import io.keywarden.usage.rest.DenialRecorder;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Instant;

/**
 * The whole per-request decision: the static key check, then key quota and account balance from the
 * in-memory {@link BudgetView}, then rate limits (acquired last, so a refused request uses no
 * limit), then, only when the gateway sends a requestId and an estimated cost, a hold in
 * PostgreSQL. Without a hold the decision does no I/O.
 */
@ApplicationScoped
public class Authorizer {
  /** What the gateway asked. Exactly one of secret and keyHash is set. */
  public record Ask(
      String secret,
      String keyHash,
      String clientIp,
      String model,
      String requestId,
      long estimatedMicros,
      String userAgent) {}

  /** The decision with what remains. Null amounts mean unlimited or unknown. */
  public record Decision(
      DecisionCode code,
      KeyCheck.Result check,
      Long quotaRemainingMicros,
      Long balanceMicros,
      Integer requestsRemaining,
      Integer retryAfterSeconds) {
    public boolean allowed() {
      return code == DecisionCode.VALID;
    }

    public KeyEntry key() {
      return check == null ? null : check.key();
    }
  }

  private final KeyCheck check;
  private final BudgetView view;
  private final RateLimiter limiter;
  private final Holds holds;
  private final DenialRecorder denials;
  private final UsageEvents events;
  private final Clock clock;

  Authorizer(
      KeyCheck check,
      BudgetView view,
      RateLimiter limiter,
      Holds holds,
      DenialRecorder denials,
      UsageEvents events,
      Clock clock) {
    this.check = check;
    this.view = view;
    this.limiter = limiter;
    this.holds = holds;
    this.denials = denials;
    this.events = events;
    this.clock = clock;
  }

  public Uni<Decision> authorize(Ask ask) {
    Instant now = clock.instant();
    KeyCheck.Result r =
        ask.secret() != null
            ? check.checkSecret(ask.secret(), ask.clientIp(), ask.model())
            : check.checkHash(ask.keyHash(), ask.clientIp(), ask.model());
    if (r.code() != DecisionCode.VALID) {
      Integer retry = r.code() == DecisionCode.UNAVAILABLE ? 1 : null;
      return Uni.createFrom().item(deny(r, r.code(), ask, null, null, null, retry));
    }
    KeyEntry k = r.key();
    String period = Periods.current(k.quotaReset(), now);
    Long quotaLeft =
        k.quotaMicros() > 0
            ? k.quotaMicros() - view.spentIn(k.keyId(), period) - view.reserved(k.keyId())
            : null;
    long balance = view.account(k.account()).availableMicros();
    long est = ask.estimatedMicros();
    Integer rpmLeft = limiter.remaining(k.keyId(), k.rateLimit(), now);
    if (quotaLeft != null && (quotaLeft <= 0 || quotaLeft < est)) {
      return Uni.createFrom()
          .item(deny(r, DecisionCode.KEY_QUOTA_EXCEEDED, ask, quotaLeft, balance, rpmLeft, null));
    }
    if (balance <= 0 || balance < est) {
      return Uni.createFrom()
          .item(deny(r, DecisionCode.BALANCE_EXHAUSTED, ask, quotaLeft, balance, rpmLeft, null));
    }
    RateLimiter.Verdict v = limiter.tryAcquire(k.keyId(), k.rateLimit(), ask.requestId(), now);
    if (!v.allowed()) {
      return Uni.createFrom()
          .item(
              deny(
                  r,
                  DecisionCode.RATE_LIMITED,
                  ask,
                  quotaLeft,
                  balance,
                  v.requestsRemaining(),
                  v.retryAfterSeconds()));
    }
    Decision ok =
        new Decision(DecisionCode.VALID, r, quotaLeft, balance, v.requestsRemaining(), null);
    if (est <= 0 || ask.requestId() == null) {
      events.allowed(k, ask.clientIp(), ask.userAgent(), now);
      return Uni.createFrom().item(ok);
    }
    return holds
        .reserve(k, ask.requestId(), est, now)
        .map(
            code -> {
              if (code != DecisionCode.VALID) {
                limiter.undo(k.keyId(), ask.requestId());
                return deny(r, code, ask, quotaLeft, balance, rpmLeft, null);
              }
              events.allowed(k, ask.clientIp(), ask.userAgent(), now);
              return new Decision(
                  DecisionCode.VALID,
                  r,
                  quotaLeft == null ? null : quotaLeft - est,
                  balance - est,
                  v.requestsRemaining(),
                  null);
            });
  }

  private Decision deny(
      KeyCheck.Result r,
      DecisionCode code,
      Ask ask,
      Long quotaLeft,
      Long balance,
      Integer rpmLeft,
      Integer retryAfter) {
    KeyCheck.Result withCode = new KeyCheck.Result(code, r.entry(), r.group());
    denials.denied(withCode, ask.clientIp(), ask.userAgent());
    return new Decision(code, withCode, quotaLeft, balance, rpmLeft, retryAfter);
  }
}
