package io.keywarden.audit.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CsvTests {
  @Test
  void cellsThatASpreadsheetWouldRunAsFormulasGetAnApostrophe() {
    for (String evil : List.of("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx")) {
      assertThat(Csv.cell(evil)).startsWith("\"'").doesNotStartWith("=");
    }
    assertThat(Csv.cell("plain")).isEqualTo("plain");
  }

  @Test
  void quotesCommasAndLineBreaksFollowRfc4180() {
    assertThat(Csv.row(List.of("a,b", "say \"hi\"", "x\ny")))
        .isEqualTo("\"a,b\",\"say \"\"hi\"\"\",\"x\ny\"\r\n");
  }
}
