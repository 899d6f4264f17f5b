package io.keywarden.audit.findings;

import io.keywarden.audit.findings.FindingRules.Desired;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Turns what should hold (from {@link FindingRules}) and what is open into changes: a finding opens
 * once, is updated while it holds, and resolves itself when it no longer holds.
 */
public final class Reconciliation {
  private Reconciliation() {}

  /** An unresolved finding as stored. */
  public record Existing(UUID id, FindingType type, String period, String detail) {}

  /** A change to apply to the stored findings of one key. */
  public sealed interface Change permits Open, Update, Resolve {}

  /** A new finding: alert. */
  public record Open(Desired desired) implements Change {}

  /**
   * The finding still holds. {@code periodChanged}: it is a new occurrence (e.g. 3 days left
   * instead of 7): an acknowledgement ends and people are alerted again.
   */
  public record Update(UUID id, Desired desired, boolean periodChanged) implements Change {}

  /** The finding no longer holds. */
  public record Resolve(UUID id) implements Change {}

  public static List<Change> plan(List<Desired> desired, List<Existing> existing) {
    Map<FindingType, Existing> open = new HashMap<>();
    for (Existing e : existing) {
      open.put(e.type(), e);
    }
    List<Change> changes = new ArrayList<>();
    for (Desired d : desired) {
      Existing e = open.remove(d.type());
      if (e == null) {
        changes.add(new Open(d));
      } else if (!e.period().equals(d.period())) {
        changes.add(new Update(e.id(), d, true));
      } else if (!e.detail().equals(d.detail())) {
        changes.add(new Update(e.id(), d, false));
      }
    }
    for (Existing e : open.values()) {
      changes.add(new Resolve(e.id()));
    }
    return changes;
  }
}
