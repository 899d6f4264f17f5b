package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class ReportTests {

  @Test
  void csvReportHasAHeaderRowAndDefusesFormulaCells() {
    KeySnapshot k =
        Api.created(
            Events.key(
                Api.account("alice"), "=HYPERLINK(\"x\")", KeyStatus.ACTIVE, TestClock.now(), 1));
    String csv =
        Api.as("alice")
            .get("/api/audit/report?format=csv")
            .then()
            .statusCode(200)
            .contentType(org.hamcrest.Matchers.startsWith("text/csv"))
            .extract()
            .asString();
    assertThat(csv).startsWith("key_id,name,account,group,status,created,last_used");
    assertThat(csv).contains("\r\n");
    assertThat(csv).contains(k.keyId() + ",\"'=HYPERLINK(\"\"x\"\")\"");
    assertThat(csv).doesNotContain("\n=").doesNotContain(",=");
  }

  @Test
  void userReportHoldsOnlyTheirKeysAndAdminSeesAnyAccount() {
    KeySnapshot alices =
        Api.created(
            Events.key(Api.account("alice"), "alice-report", KeyStatus.ACTIVE, TestClock.now(), 1));
    List<Map<String, Object>> bobRows =
        Api.as("bob")
            .get("/api/audit/report?format=json")
            .then()
            .statusCode(200)
            .extract()
            .jsonPath()
            .getList("keys");
    assertThat(bobRows).noneMatch(r -> alices.keyId().equals(r.get("keyId")));
    Api.as("bob").get("/api/audit/report?account=" + Api.account("alice")).then().statusCode(404);

    List<Map<String, Object>> adminRows =
        Api.as("carol")
            .get("/api/audit/report?account=" + Api.account("alice"))
            .then()
            .statusCode(200)
            .extract()
            .jsonPath()
            .getList("keys");
    assertThat(adminRows).anyMatch(r -> alices.keyId().equals(r.get("keyId")));
  }

  @Test
  void htmlReportShowsSummaryCountsTheKeyAndExplainsEachFinding() throws Exception {
    KeySnapshot k =
        Api.created(
            Events.key(
                Api.account("alice"),
                "<script>alert(1)</script>",
                KeyStatus.ACTIVE,
                TestClock.now().minus(Duration.ofDays(100)),
                1));
    Api.sweep();
    String html =
        Api.as("alice")
            .accept("text/html")
            .get("/api/audit/report")
            .then()
            .statusCode(200)
            .contentType(org.hamcrest.Matchers.startsWith("text/html"))
            .extract()
            .asString();
    Path out = Path.of("target", "report-artifacts");
    Files.createDirectories(out);
    Files.writeString(out.resolve("alice-report.html"), html);
    assertThat(html).contains("Keys by status").contains("Open findings by type");
    assertThat(html).contains("data-key=\"" + k.keyId() + "\"");
    assertThat(html).doesNotContain("<script>alert(1)</script>").contains("&lt;script&gt;");
    assertThat(html).contains("has never been used").contains("Delete it if nobody needs it");
  }
}
