#!/usr/bin/env bash
# Key create benchmark (issue 4): creates/s and p50/p99 of POST /api/keys at 32 concurrent callers
# with the outbox relay running, commit -> Kafka latency p50/p99, and a plain JDBC INSERT baseline
# of the same rows measured in the same run, with ratios.
#
# Self-contained: builds what is missing, starts its own PostgreSQL, Kafka, Keycloak (random
# loopback ports) and the packaged key-service, and stops them at the end. The modules' own
# target/classes come first on the class path, so an older snapshot in ~/.m2 cannot shadow them.
#   bench/key-create.sh                 # 32 callers, 40,000 creates after a warm-up until steady
#   CALLERS=16 CREATES=5000 WARMUP=3000 bench/key-create.sh   # WARMUP: a fixed count instead
#   SERVICE_PROPS="quarkus.datasource.reactive.max-size=40" bench/key-create.sh
#   GENERATOR=java bench/key-create.sh  # the former Vert.x generator instead of bench/closedloop.c
#   DURABLE=0 bench/key-create.sh       # PostgreSQL with fsync off (default: fsync and
#                                       # synchronous_commit on, as ./keywarden run starts it)
#   KAFKA_TIME=consumer bench/key-create.sh  # commit -> Kafka taken by a consumer polling during the
#                                       # run (sessions 2-5) instead of the broker's append time
#                                       # (LogAppendTime on the topic, read after the run: the default)
#
# The load generator is bench/closedloop.c (C, epoll, one keep-alive connection per caller), built
# here with cc (gcc installed with apt-get when missing); its CPU is printed beside the others'.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
MVN=(./mvnw -B -q --no-transfer-progress)

if [[ ! -f key-service/target/quarkus-app/quarkus-run.jar \
   || ! -f key-service/target/test-classes/io/keywarden/key/bench/KeyCreateBench.class \
   || -n "${REBUILD:-}" ]]; then
  echo "bench: building contracts, local-stack, service-support, key-service"
  "${MVN[@]}" -pl contracts,local-stack,service-support,key-service install -DskipTests -Dspotless.check.skip=true
fi
CP_FILE=key-service/target/bench-classpath.txt
if [[ ! -s "$CP_FILE" || key-service/pom.xml -nt "$CP_FILE" ]]; then
  "${MVN[@]}" -pl key-service dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench-classpath.txt
fi

if [[ "${GENERATOR:-c}" == c ]]; then
  if ! command -v cc >/dev/null 2>&1; then
    echo "bench: installing gcc (Debian)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
  fi
  mkdir -p key-service/target
  if [[ ! -x key-service/target/closedloop || bench/closedloop.c -nt key-service/target/closedloop ]]; then
    cc -O2 -Wall -o key-service/target/closedloop bench/closedloop.c
  fi
fi

exec "$JAVA_HOME/bin/java" -Xmx1g \
  -Dbench.callers="${CALLERS:-32}" -Dbench.creates="${CREATES:-40000}" \
  -Dbench.warmup="${WARMUP:-0}" -Dbench.service-props="${SERVICE_PROPS:-}" \
  -Dbench.fetch-min-bytes="${FETCH_MIN_BYTES:-1}" -Dbench.fetch-max-wait-ms="${FETCH_MAX_WAIT_MS:-5}" \
  -Dbench.durable="$([[ "${DURABLE:-1}" == 0 ]] && echo false || echo true)" \
  -Dbench.kafka-time="${KAFKA_TIME:-append}" \
  -Dbench.generator="${GENERATOR:-c}" -Dbench.closedloop="$PWD/key-service/target/closedloop" \
  -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -cp "key-service/target/test-classes:contracts/target/classes:local-stack/target/classes:$(cat "$CP_FILE")" \
  io.keywarden.key.bench.KeyCreateBench
