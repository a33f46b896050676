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
# Then the benchmarks, with no cluster up, must fail at once and name the ports up uses
# (PRESAGE_PORT), and the demo is interrupted, three times, each in a copy and on ports of its own: Ctrl-C (SIGINT
# to its process group, as a terminal sends it) while the workload runs, SIGTERM to the launcher's
# pid alone (`kill PID`) while the workload runs, and Ctrl-C while the cluster is still starting.
# Each time it must say "demo interrupted", stop everything it started (no process left from its pid
# files or naming its directory, and nothing answering on its ports) and exit 128 + the signal's
# number (130 for SIGINT, 143 for SIGTERM), promptly. The first demo runs without a locale (LANG and
# LC_* unset, as in many containers), so its report must still be UTF-8. Last, a demo started beside a
# running server of `up` must refuse and leave it running.
#
# Like scripts/test-infra.sh it works in a throw-away copy of the launcher (a 0700 directory under
# /tmp) and on ports other than the defaults, so a `./presage up` of this checkout is not touched;
# the EXIT trap stops what the copy started (by pid, `presage down --wipe`) and deletes it.
#
# Usage: scripts/test-demo.sh   (after ./mvnw package; ports: TEST_PORT_BASE, default 25000:
#        nodes base+80.., NATS base+222, monitoring base+4222, PostgreSQL base+1432; the
#        interrupted demos, N = 1..3: nodes base+80+10N.., NATS base+222+N, monitoring
#        base+4222+N, PostgreSQL base+1432+N)

set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
base=${TEST_PORT_BASE:-25000}
if [[ ! -f "$root/target/quarkus-app/quarkus-run.jar" ]]; then
    echo "test-demo: target/quarkus-app/quarkus-run.jar is missing: run ./mvnw package first" >&2
    exit 1
fi

tmp=$(mktemp -d /tmp/presage-demo-test.XXXXXX)
chmod 0700 "$tmp"
# make_copy DIR: a copy of the launcher and the packaged application, with a .presage/ of its own.
# No pom.xml or sources in the copy: the launcher finds nothing newer than the jar and does not build.
make_copy() {
    mkdir -p "$1/target"
    chmod 0700 "$1"
    cp "$root/presage" "$1/"
    cp -r "$root/scripts" "$1/"
    cp -r "$root/target/quarkus-app" "$1/target/"
}
project="$tmp/project"
copies=("$project")
# The process group of the interrupted demo running now, if any (each is a job of its own).
demo_groups=()
make_copy "$project"

export PRESAGE_PORT=$((base + 80))
export PRESAGE_NATS_PORT=$((base + 222))
export PRESAGE_NATS_HTTP_PORT=$((base + 4222))
export PRESAGE_PG_PORT=$((base + 1432))

# stray_pids DIR: processes whose command line names DIR (nodes have -Dpresage.home=DIR,
# nats-server its store and PostgreSQL's postmaster its data directory under DIR/.presage).
stray_pids() {
    local d
    local -a argv
    for d in /proc/[0-9]*; do
        # 2>/dev/null first: redirections apply left to right, and a process gone since the glob would
        # otherwise print "No such file or directory" from the failed <.
        mapfile -d '' argv 2>/dev/null <"$d/cmdline" || continue
        [[ "${argv[*]}" == *"$1"* ]] && printf '%s\n' "${d#/proc/}"
    done
    return 0
}

# group_pids PGID: processes in process group PGID.
group_pids() {
    local d stat
    local -a fields
    for d in /proc/[0-9]*; do
        read -r stat <"$d/stat" 2>/dev/null || continue
        # After the command's name in parentheses: state, parent pid, process group.
        read -r -a fields <<<"${stat##*) }"
        [[ "${fields[2]:-}" == "$1" ]] && printf '%s\n' "${d#/proc/}"
    done
    return 0
}

cleanup() {
    local g p pid
    for g in ${demo_groups[@]+"${demo_groups[@]}"}; do
        [[ -z "$(group_pids "$g")" ]] || kill -KILL -- "-$g" 2>/dev/null || true
    done
    for p in "${copies[@]}"; do
        "$p/presage" down --wipe >/dev/null 2>&1 || true
        # Whatever down did not know about (no pid file) but runs from the copy.
        for pid in $(stray_pids "$p"); do
            kill -KILL "$pid" 2>/dev/null || true
        done
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

out="$tmp/demo.txt"
# As if the user had run `./presage up --mirrors 3 --standby` (and down) here before: the demo must run its
# own cluster (two mirrors, no standby) and leave that remembered for the next plain `up`. It wrote its
# own 2 and ran with the remembered standby.
mkdir -p "$project/.presage"
printf '3\n' >"$project/.presage/mirrors"
printf '1\n' >"$project/.presage/standby"
started=$(date +%s)
status=0
env -u LANG -u LC_ALL -u LC_CTYPE -u LC_MESSAGES "$project/presage" demo --seconds 5 >"$out" 2>&1 || status=$?
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
if [[ "$(cat "$project/.presage/mirrors" 2>&1)" == 3 && "$(cat "$project/.presage/standby" 2>&1)" == 1 ]] &&
    ! grep -qE "started node standby|stopping standby" "$out"; then
    printf 'ok     the demo runs without a standby and leaves what up remembered (3 mirrors, a standby) as it was\n'
else
    printf 'FAILED the demo leaves what up remembered as it was (mirrors: %s, standby: %s, want 3 and 1; a standby started: %s)\n' \
        "$(cat "$project/.presage/mirrors" 2>&1)" "$(cat "$project/.presage/standby" 2>&1)" \
        "$(grep -qE "started node standby|stopping standby" "$out" && echo yes || echo no)"
    failed=$((failed + 1))
fi
if [[ $(grep -cF "✓ the write is there" "$out") -ne 3 ]]; then
    printf 'FAILED every causal read finds its write (%s of 3)\n' "$(grep -cF "✓ the write is there" "$out")"
    failed=$((failed + 1))
else
    printf 'ok     every causal read finds its write (3 of 3)\n'
fi
if ((failed > 0)); then
    echo "---- the demo's output ----"
    cat "$out"
fi

# The benchmarks right after the demo, with no cluster up: each fails at once and says where it looked,
# which must be where up puts the nodes (PRESAGE_PORT, and the port after it for a mirror). They
# ignored PRESAGE_PORT and looked at :8080 and :8081, another program's ports perhaps.
bench_without_cluster() {
    local what=$1 url=$2 bout="$tmp/bench-$1.txt" bstatus=0 t0=$SECONDS
    timeout 120 "$project/presage" bench "$what" --seconds 1 >"$bout" 2>&1 || bstatus=$?
    if [[ $bstatus -ne 0 && $bstatus -ne 124 ]] && grep -qF -- "cannot reach the $3 at $url " "$bout"; then
        printf 'ok     bench %s with no cluster up fails (exit %s, %s s), naming %s\n' "$what" "$bstatus" "$((SECONDS - t0))" "$url"
    else
        printf 'FAILED bench %s with no cluster up: exit status %s, no "cannot reach the %s at %s" in its output\n' \
            "$what" "$bstatus" "$3" "$url"
        sed 's/^/       | /' "$bout"
        failed=$((failed + 1))
    fi
}
bench_without_cluster commit "http://127.0.0.1:$PRESAGE_PORT" coordinator
bench_without_cluster read "http://127.0.0.1:$((PRESAGE_PORT + 1))" mirror

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    # shellcheck disable=SC2016 # $1 belongs to the inner shell
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# interrupted N WHAT SIGNAL TARGET AFTER EXPECTED: ./presage demo --seconds 60 in copy N, on ports of
# its own, sent SIGNAL once its output shows AFTER; TARGET is group (its process group, as a terminal's
# Ctrl-C) or launcher (its pid alone, as `kill PID`). EXPECTED: the pid files the launcher must have
# written by then. Then the demo must exit 128 + the signal's number within 45 s (the workload would still have most of its
# 60 s to go), say it was interrupted, and leave nothing running.
interrupted() {
    local n=$1 what=$2 signal=$3 target=$4 after=$5 expected=$6
    local dir="$tmp/interrupted$n" copy="$tmp/interrupted$n/project" case_failed=0
    local nodes=$((base + 80 + 10 * n)) nats=$((base + 222 + n)) nats_http=$((base + 4222 + n)) pg=$((base + 1432 + n))
    local iout="$dir/demo.txt" pid p status=0 started f name port left='' missing='' closed='' deadline want_status
    want_status=$((128 + $(kill -l "$signal")))
    local -a ports=("$nodes" $((nodes + 1)) $((nodes + 2)) "$nats" "$nats_http" "$pg")
    # Listening when the signal is sent: NATS and PostgreSQL, and the nodes once the workload runs.
    local -a open_before=("$nats" "$nats_http" "$pg")
    [[ " $expected " != *" mirror2 "* ]] || open_before+=("$nodes" $((nodes + 1)) $((nodes + 2)))
    fail() {
        printf 'FAILED %s: %s\n' "$what" "$1"
        case_failed=$((case_failed + 1))
    }
    mkdir -p "$dir"
    chmod 0700 "$dir"
    make_copy "$copy"
    copies+=("$copy")
    started=$SECONDS
    # As a job of its own (set -m): in a process group of its own, like a command started from a
    # terminal, and with SIGINT not ignored (bash makes background commands ignore it otherwise, and
    # the launcher's trap could then never see a Ctrl-C).
    : >"$iout"
    set -m
    PRESAGE_PORT=$nodes PRESAGE_NATS_PORT=$nats PRESAGE_NATS_HTTP_PORT=$nats_http PRESAGE_PG_PORT=$pg \
        "$copy/presage" demo --seconds 60 >"$iout" 2>&1 &
    pid=$!
    set +m
    demo_groups+=("$pid")
    deadline=$((SECONDS + 240))
    while ! grep -qF -- "$after" "$iout"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            grep -qF -- "$after" "$iout" && break
            wait "$pid" || status=$?
            fail "the demo ended (exit status $status) before its output showed \"$after\""
            break
        fi
        if ((SECONDS >= deadline)); then
            fail "no \"$after\" in the demo's output after 240 s"
            break
        fi
        sleep 0.5
    done
    if ((case_failed == 0)); then
        # What it started so far, as recorded by the launcher (pid and command line of each).
        cp -r "$copy/.presage/pids" "$dir/pids-before"
        for name in $expected; do
            [[ -s "$dir/pids-before/$name.pid" ]] || missing+=" $name"
        done
        [[ -z "$missing" ]] || fail "no pid file for$missing in .presage/pids/ when interrupted (the test looks in the wrong place?)"
        for port in "${open_before[@]}"; do
            port_open "$port" || closed+=" $port"
        done
        [[ -z "$closed" ]] || fail "nothing answers on port(s)$closed before the interrupt (the test checks the wrong ports?)"
        started=$SECONDS
        if [[ $target == group ]]; then
            kill -s "$signal" -- "-$pid"
        else
            kill -s "$signal" "$pid"
        fi
        deadline=$((SECONDS + 45))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            fail "the demo is still running 45 s after SIG$signal"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        wait "$pid" || status=$?
        echo "test-demo: $what: exit status $status, $((SECONDS - started)) s after SIG$signal"
        [[ "$status" -eq "$want_status" ]] || fail "exit status $status, not $want_status"
        grep -qF -- "demo interrupted; stopping the cluster" "$iout" || fail "no \"demo interrupted\" in the output"
        # Nothing it started runs any more: neither what its pid files named (then or now), nor
        # anything else from the copy, nor anything of its process group (the workload's client);
        # and nothing answers on its ports.
        for f in "$dir/pids-before"/*.pid "$copy/.presage/pids"/*.pid; do
            [[ -s "$f" && -s "${f%.pid}.cmdline" ]] || continue
            read -r p <"$f" || true
            [[ "$p" =~ ^[0-9]+$ ]] || continue
            if cat "/proc/$p/cmdline" 2>/dev/null | cmp -s -- "${f%.pid}.cmdline" - && [[ " $left " != *" $(basename "$f" .pid) "* ]]; then
                left+=" $(basename "$f" .pid)"
            fi
        done
        [[ -z "$left" ]] || fail "still running:$left"
        left=$(stray_pids "$copy" | tr '\n' ' ')
        [[ -z "$left" ]] || fail "processes of the copy still running: pids $left"
        left=$(group_pids "$pid" | tr '\n' ' ')
        [[ -z "$left" ]] || fail "processes of the demo's process group still running: pids $left"
        closed=''
        for port in "${ports[@]}"; do
            ! port_open "$port" || closed+=" $port"
        done
        [[ -z "$closed" ]] || fail "port(s)$closed still accept connections"
    fi
    # After a failure, what is left of its process group (the launcher, the workload's client).
    [[ -z "$(group_pids "$pid")" ]] || kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    demo_groups=()
    # Whatever is left (after a failure) is stopped now, so that the next case starts clean.
    "$copy/presage" down --wipe >/dev/null 2>&1 || true
    if ((case_failed == 0)); then
        printf 'ok     %s: exits %s, says so, nothing left running or listening\n' "$what" "$want_status"
    else
        failed=$((failed + case_failed))
        echo "---- the interrupted demo's output ($what) ----"
        cat "$iout"
        echo "----"
    fi
}

interrupted 1 "Ctrl-C while the workload runs" INT group "commits so far" "nats postgres coordinator mirror1 mirror2"
interrupted 2 "kill (SIGTERM to the launcher alone) while the workload runs" TERM launcher "commits so far" "nats postgres coordinator mirror1 mirror2"
interrupted 3 "Ctrl-C while the cluster starts" INT group "started node coordinator" "nats postgres coordinator"

# A demo beside a running `up`: it stopped that cluster at its end. Now it refuses, at once, and the
# server it found keeps running (NATS alone stands for the cluster: nothing else needs to start).
refusal() {
    local what="a demo refuses to run beside a cluster of ./presage up" rout="$tmp/refused.txt" rstatus=0
    if ! (cd "$project" && PRESAGE_HOME="$project" bash -c 'source scripts/infra.sh && infra_start_nats' >"$rout" 2>&1); then
        printf 'FAILED %s: NATS did not start for it\n' "$what"
        cat "$rout"
        failed=$((failed + 1))
        return
    fi
    timeout 60 "$project/presage" demo --seconds 5 >"$rout" 2>&1 || rstatus=$?
    if [[ "$rstatus" -eq 1 ]] && grep -qF -- "a cluster started by ./presage up is running here (nats)" "$rout" &&
        (cd "$project" && PRESAGE_HOME="$project" bash -c 'source scripts/infra.sh && infra_is_running .presage/pids/nats.pid'); then
        printf 'ok     %s (exit 1, says why, stops nothing)\n' "$what"
    else
        printf 'FAILED %s (exit status %s)\n' "$what" "$rstatus"
        cat "$rout"
        failed=$((failed + 1))
    fi
    "$project/presage" down >/dev/null 2>&1 || true
}
refusal

if ((failed > 0)); then
    echo "test-demo: $failed check(s) failed"
    exit 1
fi
echo "test-demo: passed"
