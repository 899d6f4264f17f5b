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

  /** Whether the ask reserves its estimate (then the decision writes a hold to PostgreSQL). */
  public static boolean needsHold(Ask ask) {
    return ask.estimatedMicros() > 0 && ask.requestId() != null;
  }

  public Uni<Decision> authorize(Ask ask) {
    Instant now = clock.instant();
    Object step = evaluate(ask, now);
    if (step instanceof Decision d) {
      return Uni.createFrom().item(d);
    }
    return reserve((HoldStep) step, ask, now);
  }

  /**
   * The decision for an ask without a hold ({@link #needsHold} false): no I/O, no {@link Uni}, for
   * the gateway routes' hot path.
   */
  public Decision decide(Ask ask) {
    if (needsHold(ask)) {
      throw new IllegalArgumentException("an ask with a hold is decided by authorize()");
    }
    return (Decision) evaluate(ask, clock.instant());
  }

  /** Everything allowed so far; what is left is the hold in PostgreSQL. */
  private record HoldStep(
      KeyCheck.Result check,
      KeyEntry key,
      Long quotaLeft,
      long balance,
      Integer rpmLeft,
      RateLimiter.Verdict verdict) {}

  /** The final {@link Decision}, or the {@link HoldStep} when the ask needs a hold. */
  private Object evaluate(Ask ask, Instant now) {
    KeyCheck.Result r =
        ask.secret() != null
            ? check.checkSecret(ask.secret(), ask.clientIp(), ask.model())
            : check.checkHash(ask.keyHash(), ask.clientIp(), ask.model());
    if (r.code() != DecisionCode.VALID) {
      Integer retry = r.retryAfterSeconds(); // set when the client address is blocked
      if (r.code() == DecisionCode.UNAVAILABLE) {
        retry = 1;
      }
      return deny(r, r.code(), ask, null, null, null, retry);
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
      return deny(r, DecisionCode.KEY_QUOTA_EXCEEDED, ask, quotaLeft, balance, rpmLeft, null);
    }
    if (balance <= 0 || balance < est) {
      return deny(r, DecisionCode.BALANCE_EXHAUSTED, ask, quotaLeft, balance, rpmLeft, null);
    }
    RateLimiter.Verdict v = limiter.tryAcquire(k.keyId(), k.rateLimit(), ask.requestId(), now);
    if (!v.allowed()) {
      return deny(
          r,
          DecisionCode.RATE_LIMITED,
          ask,
          quotaLeft,
          balance,
          v.requestsRemaining(),
          v.retryAfterSeconds());
    }
    if (!needsHold(ask)) {
      events.allowed(k, ask.clientIp(), ask.userAgent(), now);
      return new Decision(DecisionCode.VALID, r, quotaLeft, balance, v.requestsRemaining(), null);
    }
    return new HoldStep(r, k, quotaLeft, balance, rpmLeft, v);
  }

  private Uni<Decision> reserve(HoldStep s, Ask ask, Instant now) {
    KeyEntry k = s.key();
    long est = ask.estimatedMicros();
    return holds
        .reserve(k, ask.requestId(), est, now)
        // the hold could not be written (the database unreachable): the request is not allowed,
        // so it uses no rate limit either
        .onFailure()
        .invoke(e -> limiter.undo(k.keyId(), ask.requestId()))
        .map(
            code -> {
              if (code != DecisionCode.VALID) {
                limiter.undo(k.keyId(), ask.requestId());
                return deny(s.check(), code, ask, s.quotaLeft(), s.balance(), s.rpmLeft(), null);
              }
              events.allowed(k, ask.clientIp(), ask.userAgent(), now);
              return new Decision(
                  DecisionCode.VALID,
                  s.check(),
                  s.quotaLeft() == null ? null : s.quotaLeft() - est,
                  s.balance() - est,
                  s.verdict().requestsRemaining(),
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
