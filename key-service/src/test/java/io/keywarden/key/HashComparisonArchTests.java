package io.keywarden.key;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noCodeUnits;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.AccessTarget.CodeUnitCallTarget;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaFieldAccess.AccessType;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import io.keywarden.contracts.KeyFormat;
import io.keywarden.key.domain.ApiKey;
import io.keywarden.key.service.KeyService;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * S8 (RELIABILITY.md): secrets and their hashes are compared in constant time and keys are found
 * through the hash index, asserted on the byte code (wall-clock statistics are unreliable on two
 * cores). Only production classes are imported; each rule is also run against {@link Violations}
 * (test code that breaks it) to show it can fail.
 */
class HashComparisonArchTests {
  static final JavaClasses PRODUCTION =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.keywarden.key", "io.keywarden.contracts", "io.keywarden.support");

  static final JavaClasses VIOLATIONS =
      new ClassFileImporter().importClasses(Violations.class, Violations.BadFormat.class);

  static final String STRING_EQUALS = "java.lang.String.equals(java.lang.Object)";
  static final String STRING_HASH_CODE = "java.lang.String.hashCode()";

  static final Set<String> HASH_FIELDS = Set.of("keyHash", "previousKeyHash");

  /** Early-exit comparisons: their run time tells how many leading characters match. */
  static final List<String> VARIABLE_TIME_EQUALITY =
      List.of(
          "java.lang.String.equals(java.lang.Object)",
          "java.lang.String.equalsIgnoreCase(java.lang.String)",
          "java.lang.String.contentEquals(java.lang.CharSequence)",
          "java.lang.String.contentEquals(java.lang.StringBuffer)",
          "java.lang.String.compareTo(java.lang.String)",
          "java.lang.String.compareToIgnoreCase(java.lang.String)",
          "java.lang.String.startsWith(java.lang.String)",
          "java.lang.String.regionMatches(int, java.lang.String, int, int)",
          "java.lang.String.regionMatches(boolean, int, java.lang.String, int, int)",
          "java.lang.Object.equals(java.lang.Object)",
          "java.util.Objects.equals(java.lang.Object, java.lang.Object)",
          "java.util.Arrays.equals(byte[], byte[])",
          "java.util.Arrays.equals(char[], char[])",
          "java.util.Arrays.mismatch(byte[], byte[])",
          "java.util.Arrays.compare(byte[], byte[])");

  // ---------------------------------------------------------------- the rules

  /**
   * Code that reads a stored hash ({@code ApiKey.keyHash}, {@code ApiKey.previousKeyHash}) or
   * hashes a presented secret ({@code KeyFormat.sha256Hex}, {@code KeyFormat.sha256}) compares
   * nothing with an early-exit equality: it leaves comparing to {@code KeyFormat.hashesEqual} or to
   * the database's index.
   */
  static final ArchRule NO_VARIABLE_TIME_HASH_COMPARISON =
      noCodeUnits()
          .that(readAStoredHashOrHashASecret())
          .should(callAnyOf(VARIABLE_TIME_EQUALITY))
          .because("a hash compared with an early-exit equality leaks its prefix through timing");

  /** The one comparison of hashes walks every byte: {@code MessageDigest.isEqual}. */
  static ArchRule comparatorUsesIsEqual(Class<?> owner) {
    return methods()
        .that()
        .areDeclaredIn(owner)
        .and()
        .haveName("hashesEqual")
        .should(callExactly("java.security.MessageDigest.isEqual(byte[], byte[])"))
        .because("MessageDigest.isEqual runs in time independent of where the inputs differ");
  }

  /**
   * The check of a presented secret against the stored hash (Use key POST) hashes the secret and
   * compares through {@code KeyFormat.hashesEqual}.
   */
  static ArchRule secretCheckUsesTheComparator(Class<?> owner) {
    return methods()
        .that()
        .areDeclaredIn(owner)
        .and()
        .haveName("secretMatches")
        .should(
            callExactly(
                "io.keywarden.contracts.KeyFormat.sha256Hex(java.lang.String)",
                "io.keywarden.contracts.KeyFormat.hashesEqual(java.lang.String,"
                    + " java.lang.String)"));
  }

  /** Keys are never loaded wholesale (to be matched in Java): only by id or indexed column. */
  static final ArchRule NO_FULL_SCAN_OF_KEYS =
      noCodeUnits()
          .should(callAnyOn(ApiKey.class, Set.of("listAll", "findAll", "streamAll")))
          .because("a key is found by its hash through the unique index, not by scanning");

  /**
   * Where a secret is compared with a key's hash in Java, that key was fetched by id: the same code
   * never queries keys (a list of keys walked with hashesEqual would be a scan, with a timing
   * signal per key).
   */
  static final ArchRule SECRET_COMPARED_ONLY_WITH_ONE_FETCHED_KEY =
      noCodeUnits()
          .that(callAny("hashesEqual", "secretMatches"))
          .should(callAnyOn(ApiKey.class, Set.of("list", "find", "stream", "listAll", "findAll")))
          .because("a presented secret is looked up by its hash in the database, never by a walk");

  static final List<ArchRule> RULES =
      List.of(
          NO_VARIABLE_TIME_HASH_COMPARISON,
          comparatorUsesIsEqual(KeyFormat.class),
          secretCheckUsesTheComparator(KeyService.class),
          NO_FULL_SCAN_OF_KEYS,
          SECRET_COMPARED_ONLY_WITH_ONE_FETCHED_KEY);

  // ---------------------------------------------------------------- tests

  @Test
  void productionCodeComparesHashesInConstantTimeAndLooksKeysUpByHash() {
    assertThat(PRODUCTION.contain(KeyService.class)).isTrue();
    assertThat(PRODUCTION.contain(KeyFormat.class)).isTrue();
    assertThat(PRODUCTION.contain(Violations.class)).as("test classes are not imported").isFalse();
    // the rules have something to look at: the stored hash is read in several places
    assertThat(PRODUCTION.stream().flatMap(c -> c.getCodeUnits().stream()))
        .filteredOn(readAStoredHashOrHashASecret())
        .extracting(JavaCodeUnit::getFullName)
        .contains(
            "io.keywarden.key.service.KeyService.secretMatches("
                + "io.keywarden.key.domain.ApiKey, java.lang.String)",
            "io.keywarden.key.service.KeyService.knownHashes(java.util.Set)");
    List<String> violations = new ArrayList<>();
    for (ArchRule rule : RULES) {
      try {
        rule.check(PRODUCTION);
      } catch (AssertionError e) {
        violations.add(e.getMessage());
      }
    }
    assertThat(violations).isEmpty();
  }

  @Test
  void eachRuleFailsOnCodeThatBreaksIt() {
    assertFails(NO_VARIABLE_TIME_HASH_COMPARISON, "Violations.secretMatches", "String.equals");
    assertFails(NO_VARIABLE_TIME_HASH_COMPARISON, "Violations.arraysEquals", "Arrays.equals");
    assertFails(NO_VARIABLE_TIME_HASH_COMPARISON, "Violations.objectsEquals", "Objects.equals");
    assertFails(
        comparatorUsesIsEqual(Violations.BadFormat.class), "BadFormat.hashesEqual", "isEqual");
    assertFails(
        secretCheckUsesTheComparator(Violations.class), "Violations.secretMatches", "hashesEqual");
    assertFails(NO_FULL_SCAN_OF_KEYS, "Violations.scan", "listAll");
    assertFails(SECRET_COMPARED_ONLY_WITH_ONE_FETCHED_KEY, "Violations.walk", "ApiKey.list");
    // a rule whose method is gone (renamed) fails instead of passing on nothing
    assertThatThrownBy(() -> comparatorUsesIsEqual(Violations.class).check(VIOLATIONS))
        .isInstanceOf(AssertionError.class);
  }

  private static void assertFails(ArchRule rule, String where, String mention) {
    assertThatThrownBy(() -> rule.check(VIOLATIONS))
        .as("%s must fail on %s", rule.getDescription(), where)
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining(where)
        .hasMessageContaining(mention);
  }

  // ---------------------------------------------------------------- predicates and conditions

  static DescribedPredicate<JavaCodeUnit> readAStoredHashOrHashASecret() {
    return DescribedPredicate.describe(
        "read ApiKey.keyHash/previousKeyHash or call KeyFormat.sha256Hex/sha256",
        u ->
            u.getFieldAccesses().stream()
                    .anyMatch(
                        a ->
                            a.getAccessType() == AccessType.GET
                                && a.getTarget().getOwner().isEquivalentTo(ApiKey.class)
                                && HASH_FIELDS.contains(a.getTarget().getName()))
                || u.getMethodCallsFromSelf().stream()
                    .anyMatch(
                        c ->
                            c.getTarget().getOwner().isEquivalentTo(KeyFormat.class)
                                && (c.getTarget().getName().equals("sha256Hex")
                                    || c.getTarget().getName().equals("sha256"))));
  }

  static DescribedPredicate<JavaCodeUnit> callAny(String... names) {
    Set<String> wanted = Set.of(names);
    return DescribedPredicate.describe(
        "call " + String.join(" or ", names),
        u ->
            u.getMethodCallsFromSelf().stream()
                .anyMatch(c -> wanted.contains(c.getTarget().getName())));
  }

  static String signature(CodeUnitCallTarget t) {
    return t.getOwner().getName()
        + "."
        + t.getName()
        + t.getRawParameterTypes().stream()
            .map(p -> p.getName())
            .collect(Collectors.joining(", ", "(", ")"))
            .replace("[B", "byte[]")
            .replace("[C", "char[]");
  }

  /**
   * Calls one of these methods (full signatures; any {@code equals(Object)} counts too). One
   * exception: a {@code switch} on a string, which javac compiles to {@code hashCode()} and then
   * {@code String.equals} against the constant case labels on the switch's line.
   */
  static ArchCondition<JavaCodeUnit> callAnyOf(List<String> signatures) {
    return new ArchCondition<>("call an early-exit equality " + signatures) {
      @Override
      public void check(JavaCodeUnit unit, ConditionEvents events) {
        Set<Integer> stringSwitchLines =
            unit.getCallsFromSelf().stream()
                .filter(c -> c.getTarget() instanceof CodeUnitCallTarget)
                .filter(c -> signature((CodeUnitCallTarget) c.getTarget()).equals(STRING_HASH_CODE))
                .map(JavaAccess::getLineNumber)
                .collect(Collectors.toSet());
        for (JavaAccess<?> call : unit.getCallsFromSelf()) {
          if (call.getTarget() instanceof CodeUnitCallTarget t) {
            String sig = signature(t);
            if (sig.equals(STRING_EQUALS) && stringSwitchLines.contains(call.getLineNumber())) {
              continue;
            }
            boolean objectEquals =
                t.getName().equals("equals")
                    && t.getRawParameterTypes().size() == 1
                    && t.getRawParameterTypes().get(0).isEquivalentTo(Object.class);
            if (signatures.contains(sig) || objectEquals) {
              events.add(SimpleConditionEvent.satisfied(unit, call.getDescription()));
            }
          }
        }
      }
    };
  }

  /** Calls static or instance methods with one of these names on {@code owner}. */
  static ArchCondition<JavaCodeUnit> callAnyOn(Class<?> owner, Set<String> names) {
    return new ArchCondition<>("call " + owner.getSimpleName() + "." + names) {
      @Override
      public void check(JavaCodeUnit unit, ConditionEvents events) {
        unit.getMethodCallsFromSelf().stream()
            .filter(c -> c.getTarget().getOwner().isAssignableTo(owner))
            .filter(c -> names.contains(c.getTarget().getName()))
            .forEach(c -> events.add(SimpleConditionEvent.satisfied(unit, c.getDescription())));
      }
    };
  }

  /** Calls every one of these methods (full signatures). */
  static ArchCondition<JavaCodeUnit> callExactly(String... signatures) {
    return new ArchCondition<>("call " + String.join(" and ", signatures)) {
      @Override
      public void check(JavaCodeUnit unit, ConditionEvents events) {
        Set<String> called =
            unit.getCallsFromSelf().stream()
                .filter(c -> c.getTarget() instanceof CodeUnitCallTarget)
                .map(c -> signature((CodeUnitCallTarget) c.getTarget()))
                .collect(Collectors.toSet());
        for (String s : signatures) {
          events.add(
              new SimpleConditionEvent(
                  unit,
                  called.contains(s),
                  unit.getFullName() + (called.contains(s) ? " calls " : " does not call ") + s));
        }
      }
    };
  }

  // ---------------------------------------------------------------- code that breaks each rule

  /** Never run: only imported, to show each rule fails on what it forbids. */
  @SuppressWarnings("unused")
  static final class Violations {
    static boolean secretMatches(ApiKey k, String secret) {
      return k.keyHash.equals(KeyFormat.sha256Hex(secret));
    }

    static boolean arraysEquals(String stored, String secret) {
      return Arrays.equals(stored.getBytes(StandardCharsets.US_ASCII), KeyFormat.sha256(secret));
    }

    static boolean objectsEquals(ApiKey k, String hash) {
      return Objects.equals(k.previousKeyHash, hash);
    }

    static Object scan() {
      return ApiKey.listAll();
    }

    static Object walk(String account, String secret) {
      return ApiKey.<ApiKey>list("account", account)
          .map(keys -> keys.stream().filter(k -> KeyFormat.hashesEqual(k.keyHash, secret)));
    }

    static final class BadFormat {
      static boolean hashesEqual(String a, String b) {
        return a.equals(b);
      }

      static boolean unrelated() {
        return MessageDigest.isEqual(new byte[0], new byte[0]);
      }
    }
  }
}
