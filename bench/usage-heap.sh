#!/usr/bin/env bash
# Heap per 1M keys in the usage-service projection and its rebuild time (see usage-heap.java).
#   bench/usage-heap.sh [keys, default 1000000]     (SKIP_BUILD=1 to reuse target/classes)
source "$(dirname "${BASH_SOURCE[0]}")/usage-common.sh"
CPF="$(mktemp)"
trap 'rm -f "$CPF"' EXIT
usage_classpath "$CPF"
CP="$(cat "$CPF"):$ROOT/usage-service/target/classes:$ROOT/contracts/target/classes"
# one JVM with the service's own kind of heap settings: G1, 6 GiB max: the 1M JSON records are held in memory before the rebuild
exec "$JAVA_HOME/bin/java" ${HEAP_OPTS:-} -Xmx6g -XX:+UseG1GC -cp "$CP" bench/usage-heap.java "${1:-1000000}"
