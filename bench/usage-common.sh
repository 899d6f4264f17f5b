# Sourced by the usage-service benchmark scripts: the repository root as the working directory, a
# JDK, the packaged usage-service (rebuilt unless SKIP_BUILD=1) and its class path.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  ./mvnw -B -q --no-transfer-progress install -DskipTests -Dspotless.check.skip=true -pl usage-service -am
fi

# usage_classpath FILE [SCOPE]: writes usage-service's dependency class path to FILE (only up to
# SCOPE, e.g. test, when given; every scope otherwise).
usage_classpath() {
  ./mvnw -B -q --no-transfer-progress -pl usage-service dependency:build-classpath \
    ${2:+-Dmdep.includeScope="$2"} -Dmdep.outputFile="$1" >/dev/null
}
