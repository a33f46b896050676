#!/usr/bin/env bash
# How fast the coordinator's own applier catches up after its PostgreSQL stalled under load.
#
#   scripts/bench-apply-catchup.sh [FREEZE_SECONDS (15)]
#
# Starts a fresh cluster (./presage up --mirrors 0), drives blind writes at it with
# ./presage bench commit, freezes the project's own PostgreSQL (SIGSTOP to the processes whose PIDs
# ./presage recorded) for FREEZE_SECONDS while commits go on into memory, resumes it, and reports how
# long the applier took to reach the log position committed at the moment of the resume. The load
# goes on meanwhile. Ends with ./presage down --wipe: run it on a checkout whose data you do not need.
# The coordinator is on PRESAGE_PORT (8080), as ./presage up puts it.
set -euo pipefail
cd "$(dirname "$0")/.."
freeze=${1:-15}
port=${PRESAGE_PORT:-8080}
# status_field NAME: the number NAME in the coordinator's /v1/status; fails, saying so, without one.
status_field() {
  local v
  v=$(curl -s --noproxy '*' --max-time 5 "http://127.0.0.1:$port/v1/status" | grep -o "\"$1\":[0-9-]*" | cut -d: -f2) || v=''
  [[ "$v" =~ ^-?[0-9]+$ ]] || { echo "bench-apply-catchup: no $1 from http://127.0.0.1:$port/v1/status; nothing measured" >&2; return 1; }
  printf '%s' "$v"
}

./presage down --wipe >/dev/null 2>&1 || true
./presage up --mirrors 0 >/dev/null
out=$(mktemp)
./presage bench commit --no-mirrors --reads none --clients 32 --seconds $((freeze + 40)) --warmup 0 >"$out" 2>&1 &
bench=$!
sleep 8
pm=$(cat .presage/pids/postgres.pid)
pgs="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
echo "freezing PostgreSQL (pids $pgs) for $freeze s under load…"
# Interrupted (Ctrl-C) or failed while PostgreSQL is frozen, the script must not leave it frozen.
trap 'kill -CONT $pgs 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
kill -STOP $pgs
sleep "$freeze"
committed=$(status_field committedSequence)
applied=$(status_field appliedSequence)
held=$(status_field recentWrites)
kill -CONT $pgs
trap - EXIT INT TERM
t0=$(date +%s%N)
while :; do
  # A failed /v1/status is an error, not a catch-up: its empty answer failed the test and ended the loop.
  now=$(status_field appliedSequence) || exit 1
  [ "$now" -lt "$committed" ] || break
  sleep 0.2
done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "at the resume: committed $committed, applied $applied ($((committed - applied)) messages behind), $held keys held in memory"
echo "caught up in $ms ms ($(( (committed - applied) * 1000 / (ms > 0 ? ms : 1) )) messages/s, with the load going on)"
wait $bench || true
grep -E "^  commit:" "$out" || true
rm -f "$out"
./presage down --wipe >/dev/null
