#!/usr/bin/env bash
# Heap per 1M keys in the usage-service projection and its rebuild time (see usage-heap.java).
#   bench/usage-heap.sh [keys, default 1000000]     (SKIP_BUILD=1 to reuse target/classes)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  ./mvnw -B -q --no-transfer-progress install -DskipTests -Dspotless.check.skip=true -pl usage-service -am
fi
CPF="$(mktemp)"
trap 'rm -f "$CPF"' EXIT
./mvnw -B -q --no-transfer-progress -pl usage-service dependency:build-classpath \
  -Dmdep.outputFile="$CPF" >/dev/null
CP="$(cat "$CPF"):$ROOT/usage-service/target/classes:$ROOT/contracts/target/classes"
# one JVM with the service's own kind of heap settings: G1, 6 GiB max: the 1M JSON records are held in memory before the rebuild
exec "$JAVA_HOME/bin/java" ${HEAP_OPTS:-} -Xmx6g -XX:+UseG1GC -cp "$CP" bench/usage-heap.java "${1:-1000000}"
