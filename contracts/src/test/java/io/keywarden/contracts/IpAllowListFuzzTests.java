package io.keywarden.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Jazzer: {@link IpAllowList#normalise} on any list of texts (the input split at new lines) either
 * returns normalised entries or throws IllegalArgumentException naming the entry by index; what it
 * returns normalises to itself, builds a matcher, and that matcher admits each network address it
 * was built from. {@link IpAllowList#allows} never throws. Seeds: {@code
 * IpAllowListFuzzTestsInputs}.
 *
 * <p>To fuzz: {@code JAZZER_FUZZ=1 ./mvnw -pl contracts test
 * -Dtest='IpAllowListFuzzTests#normalise'} (5 minutes; a crashing input lands beside the seeds as
 * {@code crash-<sha1>}: keep it, renamed, as a seed).
 */
class IpAllowListFuzzTests {

  @FuzzTest(maxDuration = "5m")
  void normalise(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    List<String> entries = Arrays.asList(text.split("\n", -1));
    int lookups = RecordingResolverProvider.LOOKUPS.size();
    List<String> out;
    try {
      out = IpAllowList.normalise(entries);
    } catch (IllegalArgumentException e) {
      assertThat(e.getMessage()).matches("(?s)(\\[\\d+\\] .+|has \\d+ entries.*)");
      checkAllows(entries, IpAllowList.of(List.of("10.0.0.0/8")));
      assertNoLookup(lookups);
      return;
    }
    assertThat(out).doesNotHaveDuplicates().hasSizeLessThanOrEqualTo(entries.size());
    assertThat(IpAllowList.normalise(out)).as("normalise is idempotent").isEqualTo(out);
    IpAllowList list = IpAllowList.of(out);
    for (String e : out) {
      assertThat(e).matches("[0-9a-f:.]+(/\\d{1,3})?");
      String network = e.contains("/") ? e.substring(0, e.indexOf('/')) : e;
      assertThat(list.allows(network)).as("%s admits its network address", e).isTrue();
      assertThat(IpAllowList.of(List.of(e)).allows(network)).isTrue();
    }
    checkAllows(entries, list);
    assertNoLookup(lookups);
  }

  private static void assertNoLookup(int before) {
    List<String> all = RecordingResolverProvider.LOOKUPS;
    assertThat(all.subList(before, all.size())).as("host names looked up").isEmpty();
  }

  private static void checkAllows(List<String> candidates, IpAllowList list) {
    for (String c : candidates) {
      list.allows(c); // any answer, never an exception
    }
  }
}
