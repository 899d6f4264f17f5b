#!/usr/bin/env bash
# Revoke -> denied on every usage-service instance, end to end (see bench/usage-revoke-driver.java):
# key-service and two usage-service instances on a private local stack (PostgreSQL durable, as the
# run command); each trial creates a key through key-service, revokes it (DELETE /api/keys/{id})
# and polls both instances until each denies it. Prints p50 / p99 / max over the trials.
#   bench/usage-revoke.sh [trials, default 100]   (WARMUP=300 trials first, not counted;
#                                                  SKIP_BUILD=1 reuses the packaged jars)
source "$(dirname "${BASH_SOURCE[0]}")/usage-common.sh"
if [[ "${SKIP_BUILD:-0}" != 1 || ! -f key-service/target/quarkus-app/quarkus-run.jar ]]; then
  ./mvnw -B -q --no-transfer-progress install -DskipTests -Dspotless.check.skip=true -pl key-service -am
fi
WORK="$(mktemp -d /tmp/kw-usage-revoke.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
usage_classpath "$WORK/cp.txt" test
CP="$(cat "$WORK/cp.txt"):$ROOT/contracts/target/classes:$ROOT/local-stack/target/classes"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" -cp "$CP" bench/usage-revoke-driver.java "$WORK" "$ROOT" "${1:-100}" "${WARMUP:-300}" \
  2>"$WORK/stderr.log" \
  || { tail -30 "$WORK/stderr.log" >&2; for l in "$WORK"/logs-*/*.log; do tail -20 "$l" >&2; done; exit 1; }
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
