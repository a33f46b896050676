#!/usr/bin/env bash
# Lints the Presage chart and renders it in the cases that matter (defaults, no mirror, three
# mirrors, named mirrors, external NATS and PostgreSQL, and values that must be refused), then checks
# each rendering with check_rendered.py: YAML that parses, one coordinator, the mirrors with
# distinct node ids and databases, every node wired to NATS, its database and the coordinator.
#
#   helm/presage/ci/check.sh          (needs helm 3 on PATH, python3 with PyYAML for the checks)
#
# Without helm it says so and exits 0: no machine of the project's has helm by default.
set -uo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
chart=$(dirname -- "$here")

if ! command -v helm >/dev/null 2>&1; then
    echo "check.sh: helm is not on PATH; skipping the chart checks (install helm 3 to run them)"
    exit 0
fi
checker=(python3 "$here/check_rendered.py")
if ! python3 -c 'import yaml' >/dev/null 2>&1; then
    echo "check.sh: python3 with PyYAML is missing: the renderings are made but not inspected"
    checker=()
fi

# helm template's default Kubernetes version depends on how helm was built; name one.
kube=(--kube-version "${KUBE_VERSION:-1.30.0}")
out=$(mktemp -d)
trap 'rm -rf -- "$out"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [[ -f "${2:-}" ]] && sed 's/^/    /' "$2" | tail -20; }

# render CASE "CHECKER ARGS" HELM ARGS...: renders the chart and checks the result.
render() {
    local name=$1 checks=$2
    shift 2
    if ! helm template presage-ci "$chart" "${kube[@]}" "$@" >"$out/$name.yaml" 2>"$out/$name.err"; then
        fail "$name: helm template failed" "$out/$name.err"
        return
    fi
    if ((${#checker[@]})); then
        # shellcheck disable=SC2086 # the checker's arguments are words
        if "${checker[@]}" "$out/$name.yaml" $checks >"$out/$name.check" 2>&1; then
            pass "$name"
            cat "$out/$name.check"
        else
            fail "$name" "$out/$name.check"
        fi
    else
        pass "$name (rendered, $(grep -c '^kind:' "$out/$name.yaml") manifests)"
    fi
}

# refuse CASE PATTERN HELM ARGS...: the rendering must fail, with PATTERN (an extended regular
# expression: helm's schema messages name a value as a.b before 3.18 and as /a/b since) in its error.
refuse() {
    local name=$1 pattern=$2
    shift 2
    if helm template presage-ci "$chart" "${kube[@]}" "$@" >"$out/$name.yaml" 2>"$out/$name.err"; then
        fail "$name: rendered, but should have been refused"
    elif grep -qE -- "$pattern" "$out/$name.err"; then
        pass "$name (refused: $pattern)"
    else
        fail "$name: refused, but not with '$pattern'" "$out/$name.err"
    fi
}

echo "== helm $(helm version --short 2>/dev/null || helm version)"
if helm lint --strict "$chart" >"$out/lint.txt" 2>&1; then
    pass "helm lint --strict"
else
    fail "helm lint --strict" "$out/lint.txt"
fi

render defaults "--mirrors 2 --mirror-names mirror1,mirror2 --env mirror1:PRESAGE_MIRROR_COORDINATOR_URL=http://presage-ci-coordinator:8080
    --env coordinator:JAVA_OPTS_APPEND=-XX:+UseShenandoahGC --env mirror1:JAVA_OPTS_APPEND=-XX:+UseG1GC"
render no-mirrors "--mirrors 0" --set mirrors.count=0
render three-mirrors "--mirrors 3 --mirror-names mirror1,mirror2,mirror3" --set mirrors.count=3
render named-mirrors "--mirrors 3 --mirror-names eu-west,us-east-1,ap-south
    --env us-east-1:QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://presage-ci-postgresql:5432/presage_useast
    --env eu-west:PRESAGE_CERTIFICATION_WINDOW_KEYS=1048576
    --env eu-west:PRESAGE_MIRROR_CALIBRATION_SAMPLE_RATE=0.01
    --env eu-west:QUARKUS_LOG_CATEGORY__IO_PRESAGE__LEVEL=DEBUG
    --env eu-west:PRESAGE_MIRROR_MAX_LAG_SECONDS=10
    --env us-east-1:PRESAGE_MIRROR_MAX_LAG_SECONDS=3
    --env coordinator:PRESAGE_CERTIFICATION_WINDOW_KEYS=1048576
    --env-absent coordinator:PRESAGE_MIRROR_MAX_LAG_SECONDS" \
    -f "$here/values-named-mirrors.yaml"
render external "--mirrors 1 --nats external --postgresql external --secret presage-nats --secret presage-pg
    --env coordinator:PRESAGE_NATS_URL=secret:presage-nats/url
    --env coordinator:QUARKUS_DATASOURCE_PASSWORD=secret:presage-pg/pg-password
    --env coordinator:QUARKUS_DATASOURCE_USERNAME=presage_app
    --env mirror1:QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://pg.example.internal:6432/presage_mirror1?sslmode=require" \
    -f "$here/values-external.yaml"
render external-inline "--mirrors 2 --nats external --postgresql external
    --env mirror2:PRESAGE_NATS_URL=nats://nats.example.internal:4222
    --env mirror2:QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://pg.example.internal:5432/presage_mirror2" \
    --set nats.enabled=false --set externalNats.url=nats://nats.example.internal:4222 \
    --set postgresql.enabled=false --set externalDatabase.host=pg.example.internal \
    --set externalDatabase.password=not-a-real-password
render prefix-and-ids "--mirrors 1 --mirror-names m-1
    --env m-1:QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://presage-ci-postgresql:5432/staging_m_1
    --env primary:QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://presage-ci-postgresql:5432/staging_primary" \
    --set databasePrefix=staging_ --set coordinator.nodeId=primary --set 'mirrors.list[0].name=a' \
    --set 'mirrors.list[0].nodeId=m-1'

render collector-in-java-opts "--mirrors 2 --env coordinator:JAVA_OPTS_APPEND=-XX:+UseParallelGC
    --env mirror2:JAVA_OPTS_APPEND=-XX:+UseParallelGC" --set javaOpts=-XX:+UseParallelGC
render collector-per-node "--mirrors 2 --mirror-names a,b --env-absent coordinator:JAVA_OPTS_APPEND
    --env a:JAVA_OPTS_APPEND=-XX:+UseG1GC --env b:JAVA_OPTS_APPEND=-XX:+UseShenandoahGC" \
    --set coordinator.garbageCollector= --set 'mirrors.list[0].name=a' --set 'mirrors.list[1].name=b' \
    --set 'mirrors.list[1].garbageCollector=shenandoah'
render standby "--mirrors 2 --coordinators 2
    --env coordinator:PRESAGE_LEASE_TTL=3s --env coordinator-standby:PRESAGE_LEASE_TTL=3s
    --env coordinator-standby:JAVA_OPTS_APPEND=-XX:+UseShenandoahGC
    --env mirror1:PRESAGE_MIRROR_COORDINATOR_URL=http://presage-ci-coordinator:8080,http://presage-ci-coordinator-standby:8080
    --env coordinator-standby:QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://presage-ci-postgresql:5432/presage_coordinator_standby" \
    --set coordinator.standby.enabled=true --set coordinator.leaseTtl=3s

refuse unknown-collector "garbageCollector" --set coordinator.garbageCollector=zgc
refuse same-node-id "is used twice" --set 'mirrors.list[0].name=a' --set 'mirrors.list[0].nodeId=coordinator'
refuse same-database "is used by two nodes" --set 'mirrors.list[0].name=a' --set 'mirrors.list[0].database=presage_coordinator'
refuse same-name "two mirrors are named" --set 'mirrors.list[0].name=a' --set 'mirrors.list[1].name=a'
refuse reserved-name "is taken by another object" --set 'mirrors.list[0].name=nats'
refuse standby-name "is taken by another object" --set 'mirrors.list[0].name=coordinator-standby'
refuse standby-same-node-id "is used twice" --set coordinator.standby.enabled=true --set coordinator.standby.nodeId=coordinator
refuse bad-lease-ttl "leaseTtl" --set coordinator.leaseTtl=soon
refuse short-lease-ttl "leaseTtl" --set coordinator.leaseTtl=200ms
refuse bad-name "EU_West|mirrors[./]list[./]0[./]name" --set 'mirrors.list[0].name=EU_West'
refuse reserved-config "is set by the chart itself" --set 'config.presage\.node-id=x'
refuse negative-count "mirrors[./]count" --set mirrors.count=-1
refuse external-nats-missing "externalNats.url" --set nats.enabled=false
refuse external-db-missing "externalDatabase.host" --set postgresql.enabled=false
refuse external-db-no-password "externalDatabase.password" --set postgresql.enabled=false \
    --set externalDatabase.host=pg.example.internal

echo "$passed passed, $failed failed"
((failed == 0))
