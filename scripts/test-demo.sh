#!/usr/bin/env bash
#
# scripts/test-demo.sh - the README's first command, ./presage demo, end to end.
#
# A stranger's first contact with Presage is `./presage demo`; this runs it for real: the launcher
# starts nats-server, PostgreSQL, the coordinator and two mirrors from the packaged application,
# runs a short workload and the report, and stops everything. It passes only if the demo exits 0
# (it fails on its own when the bank total differs at some node, a causal read misses its write, or
# nothing commits) and its report holds what the README promises.
#
# Like scripts/test-infra.sh it works in a throw-away copy of the launcher (a 0700 directory under
# /tmp) and on ports other than the defaults, so a `./presage up` of this checkout is not touched;
# the EXIT trap stops what the copy started (by pid, `presage down --wipe`) and deletes it.
#
# Usage: scripts/test-demo.sh   (after ./mvnw package; ports: TEST_PORT_BASE, default 25000:
#        nodes base+80.., NATS base+222, monitoring base+4222, PostgreSQL base+1432)

set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
base=${TEST_PORT_BASE:-25000}
if [[ ! -f "$root/target/quarkus-app/quarkus-run.jar" ]]; then
    echo "test-demo: target/quarkus-app/quarkus-run.jar is missing: run ./mvnw package first" >&2
    exit 1
fi

tmp=$(mktemp -d /tmp/presage-demo-test.XXXXXX)
project="$tmp/project"
mkdir -p "$project/target"
chmod 0700 "$tmp" "$project"
# No pom.xml or sources in the copy: the launcher finds nothing newer than the jar and does not build.
cp "$root/presage" "$project/"
cp -r "$root/scripts" "$project/"
cp -r "$root/target/quarkus-app" "$project/target/"

export PRESAGE_PORT=$((base + 80))
export PRESAGE_NATS_PORT=$((base + 222))
export PRESAGE_NATS_HTTP_PORT=$((base + 4222))
export PRESAGE_PG_PORT=$((base + 1432))

cleanup() {
    "$project/presage" down --wipe >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

out="$tmp/demo.txt"
started=$(date +%s)
status=0
"$project/presage" demo --seconds 5 >"$out" 2>&1 || status=$?
echo "test-demo: ./presage demo --seconds 5 took $(($(date +%s) - started)) s, exit status $status"

failed=0
expect() {
    local what=$1 pattern=$2
    if grep -qF -- "$pattern" "$out"; then
        printf 'ok     %s\n' "$what"
    else
        printf 'FAILED %s (no "%s" in the output)\n' "$what" "$pattern"
        failed=$((failed + 1))
    fi
}
if [[ "$status" -eq 0 ]]; then
    printf 'ok     the demo exits 0\n'
else
    printf 'FAILED the demo exits %s\n' "$status"
    failed=$((failed + 1))
fi
expect "the workload commits through the coordinator and the mirrors" "transactions committed"
expect "read-your-writes at the other mirror, three times" "mirror2 with after="
expect "the bank total holds at every node" "no money created or lost anywhere"
expect "the mirrors' lag is measured (causal probes)" "commits sampled"
expect "speculative increments are decided" "speculation: "
expect "the mirrors' own calibration check is reported" "calibration error"
expect "everything is stopped at the end" "everything is stopped"
expect "the demo says it is done" "demo done"
if [[ $(grep -cF "✓ the write is there" "$out") -ne 3 ]]; then
    printf 'FAILED every causal read finds its write (%s of 3)\n' "$(grep -cF "✓ the write is there" "$out")"
    failed=$((failed + 1))
else
    printf 'ok     every causal read finds its write (3 of 3)\n'
fi
if ((failed > 0)); then
    echo "---- the demo's output ----"
    cat "$out"
    echo "test-demo: $failed check(s) failed"
    exit 1
fi
echo "test-demo: passed"
