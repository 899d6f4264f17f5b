package io.keywarden.audit.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.audit.domain.AlertSettings;
import org.junit.jupiter.api.Test;

class AlertPlannerTests {
  static AlertSettings settings(String types) {
    AlertSettings s = new AlertSettings();
    s.findingTypes = types;
    return s;
  }

  @Test
  void emptyTypeListMeansEveryTypeAndAListFiltersExactly() {
    assertThat(AlertPlanner.wants(settings(""), "STALE")).isTrue();
    assertThat(AlertPlanner.wants(settings("NEVER_USED,STALE"), "STALE")).isTrue();
    assertThat(AlertPlanner.wants(settings("NEVER_USED"), "STALE")).isFalse();
    assertThat(AlertPlanner.wants(settings("NEVER_USED_X"), "NEVER_USED")).isFalse();
  }
}
