#!/usr/bin/env bash
# Rebuild of usage-service's projection from the real broker (see bench/usage-replay-driver.java):
# N key events produced to a private broker, then the time for a fresh usage-service to be ready
# (projection read to the end offsets), next to a bare KafkaConsumer reading the same records
# (floor) and that consumer plus decode + apply in-process.
#   bench/usage-replay.sh [N, default 1000000]    (SKIP_BUILD=1 to reuse the packaged jar)
source "$(dirname "${BASH_SOURCE[0]}")/usage-common.sh"
WORK="$(mktemp -d /tmp/kw-usage-replay.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
usage_classpath "$WORK/cp.txt" test
CP="$(cat "$WORK/cp.txt"):$ROOT/usage-service/target/classes:$ROOT/contracts/target/classes:$ROOT/local-stack/target/classes"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" -Xmx2g -cp "$CP" bench/usage-replay-driver.java "$WORK" "$ROOT" "${1:-1000000}" 2>"$WORK/stderr.log" \
  || { tail -30 "$WORK/stderr.log" >&2; tail -30 "$WORK/usage.log" >&2 || true; exit 1; }
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
