package io.keywarden.audit.findings;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.audit.findings.FindingRules.Desired;
import io.keywarden.audit.findings.Reconciliation.Existing;
import io.keywarden.audit.findings.Reconciliation.Open;
import io.keywarden.audit.findings.Reconciliation.Resolve;
import io.keywarden.audit.findings.Reconciliation.Update;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ReconciliationTests {
  final UUID id = UUID.randomUUID();
  final Desired never = new Desired(FindingType.NEVER_USED, "since:2026-11-01", "never used");

  @Test
  void aNewFindingOpensOnceAndTheSameOneAgainChangesNothing() {
    assertThat(Reconciliation.plan(List.of(never), List.of())).containsExactly(new Open(never));
    Existing held = new Existing(id, FindingType.NEVER_USED, "since:2026-11-01", "never used");
    assertThat(Reconciliation.plan(List.of(never), List.of(held))).isEmpty();
  }

  @Test
  void aNewPeriodIsAnUpdateThatAlertsAndANewSentenceIsOneThatDoesNot() {
    Existing held = new Existing(id, FindingType.EXPIRING, "7d:2026-12-01", "within 7 days");
    Desired three = new Desired(FindingType.EXPIRING, "3d:2026-12-01", "within 3 days");
    assertThat(Reconciliation.plan(List.of(three), List.of(held)))
        .containsExactly(new Update(id, three, true));
    Desired reworded = new Desired(FindingType.EXPIRING, "7d:2026-12-01", "reworded");
    assertThat(Reconciliation.plan(List.of(reworded), List.of(held)))
        .containsExactly(new Update(id, reworded, false));
  }

  @Test
  void aFindingThatNoLongerHoldsResolves() {
    Existing held = new Existing(id, FindingType.NEVER_USED, "since:2026-11-01", "never used");
    assertThat(Reconciliation.plan(List.of(), List.of(held))).containsExactly(new Resolve(id));
  }
}
