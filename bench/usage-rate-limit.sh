#!/usr/bin/env bash
# Per-key rate limits with two usage-service instances (see bench/usage-rate-limit-driver.java):
# admitted / limit per UTC-minute window at 0.9x, 1x and 2x the limit, one instance (baseline:
# what consistent hashing on the key at the balancer gives) against two instances behind a
# round-robin balancer.
#   bench/usage-rate-limit.sh [limit per minute, default 600] [full windows, default 3]
#   (SKIP_BUILD=1 to reuse the packaged jar; takes the stack start-up plus windows+1 minutes)
source "$(dirname "${BASH_SOURCE[0]}")/usage-common.sh"
WORK="$(mktemp -d /tmp/kw-usage-rl.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
usage_classpath "$WORK/cp.txt" test
CP="$(cat "$WORK/cp.txt"):$ROOT/contracts/target/classes:$ROOT/local-stack/target/classes"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" -cp "$CP" bench/usage-rate-limit-driver.java "$WORK" "$ROOT" "${1:-600}" "${2:-3}" 2>"$WORK/stderr.log" \
  || { tail -30 "$WORK/stderr.log" >&2; exit 1; }
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
