package io.keywarden.usage;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import io.keywarden.usage.authz.KeyCheck;
import io.keywarden.usage.projection.KeyProjection;
import io.keywarden.usage.security.GatewaySecretAuthentication;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * S8: a presented secret is never compared in time that depends on how much of it matches
 * (RELIABILITY.md (d): "isEqual on hashes, lookup by hash index, asserted with ArchUnit";
 * wall-clock statistics are unreliable on 2 cores). What usage-service does with a presented API
 * key: {@code KeyCheck} hashes it ({@code KeyFormat.sha256}, bytes), turns the digest into a {@code
 * KeyProjection.Hash} and finds the key through the projection's hash index, never by comparing
 * secrets or scanning keys. The gateway's shared secret is compared with {@link
 * MessageDigest#isEqual}. Each rule is checked on the production classes and, in {@link
 * #eachRuleFailsOnACounterexample}, shown to fail on a class that breaks it.
 */
class TimingArchTests {
  private static final String USAGE = "io.keywarden.usage";
  private static final String HASH_INDEX = "io.keywarden.usage.projection.HashIndex";

  /** usage-service's production classes only (target/classes, no tests, no jars). */
  private static final JavaClasses PRODUCTION =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
          .importPackages(USAGE);

  // ------------------------------------------------------------------------------ predicates

  private static DescribedPredicate<JavaMethodCall> calling(
      String description, Predicate<JavaMethodCall> p) {
    return DescribedPredicate.describe(description, p);
  }

  private static boolean firstParamIs(JavaMethodCall c, Class<?>... types) {
    List<JavaClass> params = c.getTarget().getRawParameterTypes();
    return !params.isEmpty() && Arrays.stream(types).anyMatch(t -> params.get(0).isEquivalentTo(t));
  }

  /** Early-exit equality of raw bytes or chars: Arrays.equals/mismatch/compare, buffer equals. */
  private static final DescribedPredicate<JavaMethodCall> ARRAY_OR_BUFFER_EQUALITY =
      calling(
          "Arrays.equals/mismatch/compare on byte[] or char[], or ByteBuffer/CharBuffer equality",
          c -> {
            String owner = c.getTarget().getOwner().getName();
            String name = c.getTarget().getName();
            if (owner.equals("java.util.Arrays")) {
              return Set.of("equals", "mismatch", "compare", "compareUnsigned").contains(name)
                  && firstParamIs(c, byte[].class, char[].class);
            }
            return (owner.equals("java.nio.ByteBuffer") || owner.equals("java.nio.CharBuffer"))
                && Set.of("equals", "compareTo", "mismatch").contains(name);
          });

  /** Comparing text: String equality/ordering, Objects.equals, or making a hash's hex text. */
  private static final DescribedPredicate<JavaMethodCall> TEXT_EQUALITY =
      calling(
          "String.equals/equalsIgnoreCase/contentEquals/compareTo/regionMatches, Objects.equals or"
              + " KeyFormat.sha256Hex",
          c -> {
            String owner = c.getTarget().getOwner().getName();
            String name = c.getTarget().getName();
            return owner.equals("java.lang.String")
                    && Set.of(
                            "equals",
                            "equalsIgnoreCase",
                            "contentEquals",
                            "compareTo",
                            "compareToIgnoreCase",
                            "regionMatches")
                        .contains(name)
                || owner.equals("java.util.Objects") && name.equals("equals")
                || owner.equals("io.keywarden.contracts.KeyFormat") && name.equals("sha256Hex");
          });

  private static boolean isIteration(JavaMethodCall c) {
    JavaClass owner = c.getTarget().getOwner();
    String name = c.getTarget().getName();
    boolean collection =
        owner.isAssignableTo(Iterable.class)
            || owner.isAssignableTo(java.util.Map.class)
            || owner.isAssignableTo(java.util.stream.BaseStream.class);
    return collection
        && Set.of(
                "iterator",
                "forEach",
                "stream",
                "parallelStream",
                "values",
                "keySet",
                "entrySet",
                "spliterator",
                "contains",
                "containsValue",
                "indexOf",
                "filter",
                "anyMatch",
                "findFirst")
            .contains(name);
  }

  private static ArchCondition<JavaMethod> callMethodWhere(
      String description, Predicate<JavaMethodCall> p) {
    return new ArchCondition<>(description) {
      @Override
      public void check(JavaMethod m, ConditionEvents events) {
        if (m.getMethodCallsFromSelf().stream().noneMatch(p)) {
          events.add(
              SimpleConditionEvent.violated(
                  m,
                  m.getFullName() + " does not " + description + " " + m.getSourceCodeLocation()));
        }
      }
    };
  }

  private static final ArchCondition<JavaMethod> ITERATE_NOTHING =
      new ArchCondition<>("iterate over no collection, map or stream") {
        @Override
        public void check(JavaMethod m, ConditionEvents events) {
          m.getMethodCallsFromSelf().stream()
              .filter(TimingArchTests::isIteration)
              .forEach(c -> events.add(SimpleConditionEvent.violated(m, c.getDescription())));
        }
      };

  // ------------------------------------------------------------------------------ rules

  /** No usage-service class compares raw bytes or chars with an early-exit comparison. */
  static ArchRule noEarlyExitComparisonOfBytes(String pkg) {
    return noClasses()
        .that()
        .resideInAPackage(pkg + "..")
        .should()
        .callMethodWhere(ARRAY_OR_BUFFER_EQUALITY)
        .because("secrets and hashes are compared with MessageDigest.isEqual (S8)");
  }

  /**
   * The classes a presented key or the gateway secret passes through compare no text: the key is
   * found by its digest in the hash index, the gateway secret with MessageDigest.isEqual.
   */
  static ArchRule theSecretPathComparesNoText(Class<?>... secretPath) {
    return noClasses()
        .that()
        .belongToAnyOf(secretPath)
        .should()
        .callMethodWhere(TEXT_EQUALITY)
        .because("String.equals stops at the first differing character (S8)");
  }

  /** The shared-secret check of the gateway compares with MessageDigest.isEqual. */
  static ArchRule theSharedSecretIsComparedWithIsEqual(Class<?> owner) {
    return methods()
        .that()
        .areDeclaredIn(owner)
        .and()
        .haveName("matches")
        .should(
            callMethodWhere(
                "call MessageDigest.isEqual(byte[], byte[])",
                c ->
                    c.getTarget().getOwner().isEquivalentTo(MessageDigest.class)
                        && c.getTarget().getName().equals("isEqual")))
        .because("the configured secret must not leak through the time a wrong guess takes (S8)");
  }

  /** Every class that holds the shared-secret check uses it (no comparison of its own). */
  static ArchRule theSecretHeaderIsCheckedThroughMatches(String pkg) {
    return classes()
        .that()
        .resideInAPackage(pkg + "..")
        .and(
            DescribedPredicate.describe(
                "depend on GatewaySecretAuthentication",
                (JavaClass c) ->
                    c.getDirectDependenciesFromSelf().stream()
                        .anyMatch(
                            d ->
                                d.getTargetClass()
                                    .isEquivalentTo(GatewaySecretAuthentication.class))))
        .and()
        .doNotBelongToAnyOf(GatewaySecretAuthentication.class)
        .should()
        .callMethod(GatewaySecretAuthentication.class, "matches", String.class)
        .because("X-Keywarden-Gateway-Secret is compared in constant time only there (S8)");
  }

  /** The projection finds a hash through its hash index, scanning nothing. */
  static ArchRule theProjectionLooksKeysUpByTheirHash(String owner, String index) {
    return methods()
        .that()
        .areDeclaredInClassesThat()
        .haveFullyQualifiedName(owner)
        .and()
        .haveName("byHash")
        .and()
        .haveRawParameterTypes(KeyProjection.Hash.class, Instant.class)
        .should(
            callMethodWhere(
                "call " + index + ".get",
                c ->
                    c.getTarget().getOwner().getName().equals(index)
                        && c.getTarget().getName().equals("get")))
        .andShould(ITERATE_NOTHING)
        .because("a lookup by hash index costs the same for every key; a scan does not (S8)");
  }

  /** The index probe itself iterates nothing either. */
  static ArchRule theHashIndexProbeIteratesNothing(String index) {
    return methods()
        .that()
        .areDeclaredInClassesThat()
        .haveFullyQualifiedName(index)
        .and()
        .haveName("get")
        .should(ITERATE_NOTHING);
  }

  /** Outside the projection nothing scans its keys to find one. */
  static ArchRule nothingOutsideTheProjectionScansItsKeys(String pkg) {
    return noClasses()
        .that()
        .resideInAPackage(pkg + "..")
        .and()
        .resideOutsideOfPackage("io.keywarden.usage.projection..")
        .should()
        .callMethod(KeyProjection.class, "keys")
        .because("the request path looks a key up by its hash, it never walks all keys (S8)");
  }

  // ------------------------------------------------------------------------------ tests

  @Test
  void noBytesOrCharsAreComparedWithAnEarlyExitComparison() {
    noEarlyExitComparisonOfBytes(USAGE).check(PRODUCTION);
  }

  @Test
  void thePresentedKeyAndTheGatewaySecretAreNeverComparedAsText() throws Exception {
    theSecretPathComparesNoText(
            KeyCheck.class,
            KeyProjection.class,
            KeyProjection.Hash.class,
            KeyProjection.KeyEntry.class,
            Class.forName(HASH_INDEX),
            GatewaySecretAuthentication.class)
        .check(PRODUCTION);
  }

  @Test
  void theGatewaySharedSecretIsComparedWithMessageDigestIsEqualAndOnlyThere() {
    theSharedSecretIsComparedWithIsEqual(GatewaySecretAuthentication.class).check(PRODUCTION);
    theSecretHeaderIsCheckedThroughMatches(USAGE).check(PRODUCTION);
  }

  @Test
  void theProjectionLooksAPresentedKeyUpByItsHashInItsIndex() {
    theProjectionLooksKeysUpByTheirHash(KeyProjection.class.getName(), HASH_INDEX)
        .check(PRODUCTION);
    theHashIndexProbeIteratesNothing(HASH_INDEX).check(PRODUCTION);
    nothingOutsideTheProjectionScansItsKeys(USAGE).check(PRODUCTION);
    // and KeyCheck, the only reader of presented keys, goes through byHash
    classes()
        .that()
        .belongToAnyOf(KeyCheck.class)
        .should()
        .callMethod(KeyProjection.class, "byHash", KeyProjection.Hash.class, Instant.class)
        .check(PRODUCTION);
  }

  // ------------------------------------------------------------------------------ the rules fail

  /** Compares a secret's bytes with Arrays.equals. */
  static final class ComparesBytes {
    private final byte[] secret = "s".getBytes(StandardCharsets.UTF_8);

    boolean matches(String given) {
      return Arrays.equals(given.getBytes(StandardCharsets.UTF_8), secret);
    }
  }

  /** Compares a hash's hex text with String.equals. */
  static final class ComparesHexText {
    private final String hash = "00";

    boolean matches(String given) {
      return io.keywarden.contracts.KeyFormat.sha256Hex(given).equals(hash);
    }
  }

  /** Holds the shared-secret check but compares the header itself. */
  static final class ChecksTheHeaderItself {
    private final GatewaySecretAuthentication auth = null;

    boolean authenticated(String header) {
      return auth != null && "test-gateway-secret".equals(header);
    }
  }

  /** Finds a key by walking every key. */
  static final class ScanningProjection {
    private final List<KeyProjection.KeyEntry> entries = new ArrayList<>();

    Optional<KeyProjection.KeyEntry> byHash(KeyProjection.Hash h, Instant now) {
      for (KeyProjection.KeyEntry e : entries) {
        if (e.sameHash(h)) {
          return Optional.of(e);
        }
      }
      return Optional.empty();
    }
  }

  /** Scans the projection's keys from outside it. */
  static final class ScansTheProjection {
    Optional<KeyProjection.KeyEntry> find(KeyProjection p, KeyProjection.Hash h) {
      return p.keys().stream().filter(e -> e.sameHash(h)).findFirst();
    }
  }

  @Test
  void eachRuleFailsOnACounterexample() {
    JavaClasses bad =
        new ClassFileImporter()
            .importClasses(
                ComparesBytes.class,
                ComparesHexText.class,
                ChecksTheHeaderItself.class,
                ScanningProjection.class,
                ScansTheProjection.class);
    assertThatThrownBy(() -> noEarlyExitComparisonOfBytes(USAGE).check(bad))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("ComparesBytes.matches")
        .hasMessageContaining("Arrays.equals");
    assertThatThrownBy(() -> theSecretPathComparesNoText(ComparesHexText.class).check(bad))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("KeyFormat.sha256Hex")
        .hasMessageContaining("String.equals");
    assertThatThrownBy(() -> theSharedSecretIsComparedWithIsEqual(ComparesBytes.class).check(bad))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("ComparesBytes.matches")
        .hasMessageContaining("does not call MessageDigest.isEqual");
    assertThatThrownBy(() -> theSecretHeaderIsCheckedThroughMatches(USAGE).check(bad))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("ChecksTheHeaderItself");
    assertThatThrownBy(
            () ->
                theProjectionLooksKeysUpByTheirHash(ScanningProjection.class.getName(), HASH_INDEX)
                    .check(bad))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("does not call " + HASH_INDEX + ".get")
        .hasMessageContaining("iterator");
    assertThatThrownBy(() -> nothingOutsideTheProjectionScansItsKeys(USAGE).check(bad))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("ScansTheProjection.find")
        .hasMessageContaining("KeyProjection.keys()");
  }
}
