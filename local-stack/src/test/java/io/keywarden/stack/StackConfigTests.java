package io.keywarden.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The PostgreSQL settings: their defaults and a bad value named with its variable. */
class StackConfigTests {
  private final StackConfig tests = StackConfig.forTests(Path.of("target/stack-config-tests"));

  @AfterEach
  void clear() {
    System.clearProperty(StackConfig.WAL_SEGMENTS_ENV);
    System.clearProperty(StackConfig.PG_SETTINGS_ENV);
  }

  @Test
  void walSegmentsDefaultToOneGibibyteWhenDurableAndNoneForTests() {
    assertThat(tests.walSegments()).isZero();
    assertThat(tests.withDurable(true).walSegments()).isEqualTo(64);
  }

  @Test
  void theVariableOverridesTheDefaultAndZeroTurnsItOff() {
    System.setProperty(StackConfig.WAL_SEGMENTS_ENV, "0");
    assertThat(tests.withDurable(true).walSegments()).isZero();
    System.setProperty(StackConfig.WAL_SEGMENTS_ENV, " 8 ");
    assertThat(tests.walSegments()).isEqualTo(8);
  }

  @Test
  void aBadValueIsNamedWithItsVariable() {
    for (String bad : new String[] {"many", "-1", "1025", "1.5"}) {
      System.setProperty(StackConfig.WAL_SEGMENTS_ENV, bad);
      assertThatThrownBy(() -> tests.withDurable(true).walSegments())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("KW_PG_WAL_SEGMENTS=" + bad)
          .hasMessageContaining("0-1024");
    }
  }

  @Test
  void extraServerSettingsAreReadInOrderAndABadPairIsNamed() {
    assertThat(tests.postgresSettings()).isEmpty();
    System.setProperty(
        StackConfig.PG_SETTINGS_ENV,
        " shared_preload_libraries=pg_stat_statements,auto_explain ;"
            + "auto_explain.log_min_duration = 20ms;; Work_Mem=8MB ");
    assertThat(tests.postgresSettings())
        .containsExactly(
            java.util.Map.entry("shared_preload_libraries", "pg_stat_statements,auto_explain"),
            java.util.Map.entry("auto_explain.log_min_duration", "20ms"),
            java.util.Map.entry("work_mem", "8MB"));
    for (String bad : new String[] {"fsync", "=on", "fsync on", "a-b=1", "x;y=1"}) {
      System.setProperty(StackConfig.PG_SETTINGS_ENV, bad);
      assertThatThrownBy(tests::postgresSettings)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("KW_PG_SETTINGS")
          .hasMessageContaining("is not name=value");
    }
  }
}
