package io.keywarden.audit.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keywarden.contracts.events.KeySnapshot;
import io.keywarden.contracts.events.KeyStatus;
import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Opens the HTML report in Debian's headless Chromium (installed by
 * src/test/setup/install-chromium.sh; skipped when absent) and checks what a person sees after the
 * page's script ran. The screenshot is kept in target/report-artifacts.
 */
@QuarkusTest
@QuarkusTestResource(KeywardenStackResource.class)
@QuarkusTestResource(SmtpServer.class)
class HtmlReportInBrowserTests {

  static String chromium() {
    for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
      if (Files.isExecutable(Path.of(c))) {
        return c;
      }
    }
    return null;
  }

  @Test
  void adminReportRendersInChromiumWithSummaryTableAndWorkingFilter() throws Exception {
    String chromium = chromium();
    if (System.getenv("CI") != null) {
      // in CI the test command installs it: a missing browser is a failure, not a skip
      org.assertj.core.api.Assertions.assertThat(chromium)
          .as("Debian chromium (installed by src/test/setup/install-chromium.sh)")
          .isNotNull();
    }
    assumeTrue(
        chromium != null, "Debian chromium is not installed (src/test/setup/install-chromium.sh)");
    KeySnapshot k =
        Api.created(
            Events.key(
                Api.account("bob"),
                "browser-check",
                KeyStatus.ACTIVE,
                TestClock.now().minus(Duration.ofDays(9)),
                1));
    KeySnapshot other =
        Api.created(
            Events.key(
                Api.account("alice"), "browser-other", KeyStatus.ACTIVE, TestClock.now(), 1));
    Api.sweep();
    String html =
        Api.as("carol")
            .get("/api/audit/report?format=html")
            .then()
            .statusCode(200)
            .extract()
            .asString();
    Path dir = Path.of("target", "report-artifacts").toAbsolutePath();
    Files.createDirectories(dir);
    Path page = dir.resolve("admin-report.html");
    Files.writeString(page, html);
    String url = page.toUri() + "#filter=browser-check";

    Path png = dir.resolve("admin-report.png");
    run(chromium, "--screenshot=" + png, "--window-size=1400,1000", url);
    String dom = run(chromium, "--dump-dom", url);

    assertThat(png).exists();
    assertThat(Files.size(png)).isGreaterThan(1000);
    assertThat(dom).contains("data-ready=\"true\""); // the page's script ran
    assertThat(dom).contains("Keys by status").contains("Open findings by type");
    assertThat(dom).contains("All accounts");
    // the filter from the fragment hid the other key's row and kept this one
    assertThat(rowStyle(dom, k.keyId())).doesNotContain("display: none");
    assertThat(rowStyle(dom, other.keyId())).contains("display: none");
    assertThat(dom).contains("has never been used");
  }

  private static String rowStyle(String dom, String keyId) {
    int i = dom.indexOf("data-key=\"" + keyId + "\"");
    assertThat(i).as("row of " + keyId).isGreaterThan(0);
    int start = dom.lastIndexOf("<tr", i);
    return dom.substring(start, dom.indexOf('>', i));
  }

  private static String run(String chromium, String... args) throws Exception {
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of(
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--virtual-time-budget=3000",
                "--user-data-dir=" + Files.createTempDirectory("chromium")));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
