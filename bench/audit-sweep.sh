#!/usr/bin/env bash
# Sweep time over N keys (default 100,000) and the events/s the key-events consumer sustains,
# against the real local stack (PostgreSQL, Kafka, Keycloak) the tests start.
#   bench/audit-sweep.sh [keys]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
keys="${1:-100000}"
if [ -z "${JAVA_HOME:-}" ]; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64; do
    [ -x "$j/bin/java" ] && export JAVA_HOME="$j" && break
  done
fi
cd "$here"
./mvnw -B -q --no-transfer-progress -pl audit-service -am install -DskipTests -Dspotless.check.skip=true
./mvnw -B --no-transfer-progress -pl audit-service test -Dspotless.check.skip=true \
  -Dtest=SweepBenchmark -Dsurefire.failIfNoSpecifiedTests=false -Dkw.bench=true -Dkw.bench.keys="$keys" \
  | grep '^BENCH'
