#!/usr/bin/env bash
# Two builds of the coordinator side by side under ./presage bench commit, as BENCHMARKS.md compares them.
#
#   scripts/bench-commit-ab.sh OLD_CHECKOUT NEW_CHECKOUT [PAIRS (3)] [-- BENCH_ARGS...]
#
# Each checkout must be built (./mvnw package -DskipTests). Per run: ./presage down --wipe and
# ./presage up --mirrors 0 in that checkout, then ./presage bench commit --no-mirrors BENCH_ARGS from
# this one (the same client for both), then ./presage down. The order is swapped every pair, since a
# shared machine drifts over minutes. The two clusters use the same ports, so only one runs at a time.
# Logs go to $AB_DIR (default /tmp/presage-ab); the last lines are one row per run and the medians.
# Ends with both checkouts' clusters down and wiped: run it on checkouts whose data you do not need.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -lt 2 ]]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
old=$(cd "$1" && pwd)
new=$(cd "$2" && pwd)
shift 2
pairs=3
if [[ $# -gt 0 && $1 != -- ]]; then
    pairs=$1
    shift
fi
[[ ${1:-} == -- ]] && shift
out=${AB_DIR:-/tmp/presage-ab}
mkdir -p "$out"

run() { # run <checkout> <tag>
    local dir=$1 tag=$2
    shift 2
    echo "$(date -u +%H:%M:%S) $tag: load $(cut -d' ' -f1-3 /proc/loadavg), starting $dir" >&2
    (cd "$dir" && ./presage down --wipe >/dev/null 2>&1 || true)
    (cd "$dir" && ./presage up --mirrors 0 >"$out/$tag.up" 2>&1) || { echo "$tag: up failed, see $out/$tag.up" >&2; return 1; }
    (cd "$here" && ./presage bench commit --no-mirrors "$@") >"$out/$tag.log" 2>&1 || echo "$tag: bench failed, see $out/$tag.log" >&2
    (cd "$dir" && ./presage down --wipe >/dev/null 2>&1 || true)
}

for ((i = 1; i <= pairs; i++)); do
    if ((i % 2)); then
        run "$old" "old$i" "$@"; run "$new" "new$i" "$@"
    else
        run "$new" "new$i" "$@"; run "$old" "old$i" "$@"
    fi
done

python3 - "$out" "$pairs" <<'EOF'
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
keys = ["commit_tps", "coordinator_cpu_us_per_commit", "coordinator_cpu_us_per_ping", "commit_p99_ms",
        "http_ceiling_rps", "commit_vs_http_ceiling", "commit_vs_sync_publish"]
def result(tag):
    try:
        with open(f"{out}/{tag}.log") as f:
            lines = [l for l in f if l.startswith("RESULT ")]
        return json.loads(lines[-1][7:]) if lines else None
    except OSError:
        return None
rows = {side: [r for r in (result(f"{side}{i}") for i in range(1, pairs + 1)) if r] for side in ("old", "new")}
print("run   " + " ".join(k.replace("coordinator_", "") for k in keys))
for side in ("old", "new"):
    for i, r in enumerate(rows[side], 1):
        print(f"{side}{i}  " + " ".join(str(r.get(k)) for k in keys))
for side in ("old", "new"):
    if rows[side]:
        med = [statistics.median(r[k] for r in rows[side] if r.get(k) is not None) for k in keys]
        print(f"median {side}: " + " ".join(f"{k.replace('coordinator_', '')}={m:g}" for k, m in zip(keys, med)))
if rows["old"] and rows["new"]:
    o = statistics.median(r["commit_tps"] for r in rows["old"])
    n = statistics.median(r["commit_tps"] for r in rows["new"])
    print(f"new/old commit_tps: {n / o:.2f}")
EOF
