#!/usr/bin/env bash
# Key create benchmark (issue 4): creates/s and p50/p99 of POST /api/keys at 32 concurrent callers
# with the outbox relay running, commit -> Kafka latency p50/p99, and a plain JDBC INSERT baseline
# of the same rows measured in the same run, with ratios.
#
# Self-contained: builds what is missing, starts its own PostgreSQL, Kafka, Keycloak (random
# loopback ports) and the packaged key-service, and stops them at the end. The modules' own
# target/classes come first on the class path, so an older snapshot in ~/.m2 cannot shadow them.
#   bench/key-create.sh                 # 32 callers, 20,000 creates after 3,000 warm-up
#   CALLERS=16 CREATES=5000 bench/key-create.sh
#   SERVICE_PROPS="quarkus.datasource.reactive.max-size=40" bench/key-create.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
MVN=(./mvnw -B -q --no-transfer-progress)

if [[ ! -f key-service/target/quarkus-app/quarkus-run.jar \
   || ! -f key-service/target/test-classes/io/keywarden/key/bench/KeyCreateBench.class \
   || -n "${REBUILD:-}" ]]; then
  echo "bench: building contracts, local-stack, key-service"
  "${MVN[@]}" -pl contracts,local-stack,key-service install -DskipTests -Dspotless.check.skip=true
fi
CP_FILE=key-service/target/bench-classpath.txt
if [[ ! -s "$CP_FILE" || key-service/pom.xml -nt "$CP_FILE" ]]; then
  "${MVN[@]}" -pl key-service dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench-classpath.txt
fi

exec "$JAVA_HOME/bin/java" -Xmx1g \
  -Dbench.callers="${CALLERS:-32}" -Dbench.creates="${CREATES:-20000}" \
  -Dbench.warmup="${WARMUP:-3000}" -Dbench.service-props="${SERVICE_PROPS:-}" \
  -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
  -cp "key-service/target/test-classes:contracts/target/classes:local-stack/target/classes:$(cat "$CP_FILE")" \
  io.keywarden.key.bench.KeyCreateBench
