#!/usr/bin/env bash
# Sweep time over N keys (default 100,000) and the events/s the key-events consumer sustains,
# against the real local stack (PostgreSQL, Kafka, Keycloak) the tests start. Each figure is
# printed with a baseline measured in the same run on the same data, and as a ratio to it:
#   consumer: a bare KafkaConsumer polling and decoding the same records (the ceiling);
#   sweep:    a plain JDBC scan of the same keys with their open findings, pages of 1,000, plus a
#             batched UPDATE of those findings (what a sweep cannot beat).
# The machine's load changes both alike, so the ratios compare across runs better than the
# absolute figures.
#   bench/audit-sweep.sh [keys]
#   bench/audit-sweep.sh scale [keys]   # a sweep that OPENS a finding on every key (default 2,000)
#     and queues its alerts on 3 channels, then a sweep with all of them open: ms and the SQL
#     statements each sweep sent (SweepScaleTests). Results: bench/audit-sweep-results.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
keys="${1:-100000}"
if [ -z "${JAVA_HOME:-}" ]; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64; do
    [ -x "$j/bin/java" ] && export JAVA_HOME="$j" && break
  done
fi
cd "$here"
if [ "${1:-}" = "scale" ]; then
  keys="${2:-2000}"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
  ./mvnw -B -q --no-transfer-progress -pl contracts,local-stack,service-support,audit-service install -DskipTests -Dspotless.check.skip=true
  ./mvnw -B --no-transfer-progress -pl audit-service test -Dspotless.check.skip=true \
    -Dtest=SweepScaleTests -Dsurefire.failIfNoSpecifiedTests=false -Dkw.sweep-scale.keys="$keys" \
    | grep '^SWEEP-SCALE'
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
./mvnw -B -q --no-transfer-progress -pl contracts,local-stack,audit-service install -DskipTests -Dspotless.check.skip=true
./mvnw -B --no-transfer-progress -pl audit-service test -Dspotless.check.skip=true \
  -Dtest=SweepBenchmark -Dsurefire.failIfNoSpecifiedTests=false -Dkw.bench=true -Dkw.bench.keys="$keys" \
  | grep '^BENCH'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
