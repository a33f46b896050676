#!/usr/bin/env bash
#
# scripts/test-infra.sh - end-to-end test of scripts/infra.sh on this machine.
#
# Runs the real thing: nats-server and PostgreSQL are started, used, stopped,
# restarted and wiped. Everything happens in a throw-away project directory
# (a 0700 directory under /tmp, which also exercises how PostgreSQL, running as
# the postgres user, is given a way in) and on ports other than the defaults,
# so neither a running `./presage up` of this checkout nor other servers on the
# machine are touched. Nothing is left running: the EXIT trap stops what the
# test started (by pid) and deletes the directory.
#
# Nodes are tested with a stand-in for the application: a tiny Java program,
# compiled here into target/quarkus-app/quarkus-run.jar, that serves
# /q/health/ready and reports the environment it was given. The build is
# tested with a stand-in ./mvnw. Both need javac and jar; without them those
# tests are skipped.
#
# Usage: scripts/test-infra.sh        (ports: TEST_PORT_BASE, default 24000:
#        NATS base+222, monitoring base+4222, PostgreSQL base+1432, nodes base+4081..)
# Ends with a line "N passed, N failed"; exit status 0 only if nothing failed.

set -euo pipefail
# The strictest umask a user may have: everything the launcher creates is then its owner's alone, so
# whatever another user (PostgreSQL's) must reach has to be granted explicitly, as it is.
umask 077

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
base=${TEST_PORT_BASE:-24000}

tmp=$(mktemp -d /tmp/presage-infra-test.XXXXXX)
export PRESAGE_HOME="$tmp/project"
export PRESAGE_NATS_PORT=$((base + 222))
export PRESAGE_NATS_HTTP_PORT=$((base + 4222))
export PRESAGE_PG_PORT=$((base + 1432))
export PRESAGE_NODE_HEAP=256m
node_port1=$((base + 4081))
node_port2=$((base + 4082))
node_port3=$((base + 4083))
node_port4=$((base + 4084))
node_port5=$((base + 4085))
node_port6=$((base + 4086))
node_port7=$((base + 4087))
mkdir -p "$PRESAGE_HOME"
chmod 0700 "$tmp" "$PRESAGE_HOME"

# shellcheck source=scripts/infra.sh
source "$script_dir/infra.sh"

passed=0
failed=0
skipped=0
decoy_pid=''
out="$tmp/out.txt" # output of the last captured call

ok() {
    passed=$((passed + 1))
    printf 'ok     %s\n' "$1"
}
not_ok() {
    failed=$((failed + 1))
    printf 'FAILED %s\n' "$1"
    if [[ -s "$out" ]]; then sed 's/^/       | /' "$out" | tail -n 40; fi
}
skip() {
    skipped=$((skipped + 1))
    printf 'skip   %s\n' "$1"
}
# check DESC CMD...: CMD must succeed.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# run CMD...: runs CMD with its output (stdout and stderr) shown and kept in $out.
run() {
    local rc=0
    "$@" >"$out" 2>&1 || rc=$?
    sed 's/^/       > /' "$out"
    return "$rc"
}
# fails DESC CMD...: CMD must fail.
fails() {
    local desc=$1
    shift
    if run "$@"; then not_ok "$desc (it succeeded)"; else ok "$desc"; fi
}
not() { ! "$@"; }
eq() { [[ "$1" == "$2" ]]; }
between() { (($1 >= $2 && $1 < $3)); }
alive() { ! gone "$1"; }
# all_gone PID...: every pid (0 = none) is gone.
all_gone() {
    local p
    for p; do
        [[ "$p" == 0 ]] || gone "$p" || return 1
    done
}
all_closed() {
    local p
    for p; do port_closed "$p" || return 1; done
}
empty_dir() { [[ -z "$(ls -A -- "$1")" ]]; }
# out_has TEXT: the last captured output contains TEXT.
out_has() { grep -qF -- "$1" "$out"; }
# abort MSG: a step the rest depends on failed.
abort() {
    printf 'FAILED %s; stopping the test here\n' "$1"
    failed=$((failed + 1))
    exit 1
}

pid_of() { _infra_read_pid "$PRESAGE_HOME/.presage/pids/$1.pid"; }
# gone PID: no such process, or only a zombie left.
gone() { [[ ! -e "/proc/$1" ]] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
port_closed() { ! _infra_port_open "$1"; }
# listens_on_loopback_only PORT: every listening socket on PORT is on 127.0.0.1.
listens_on_loopback_only() {
    local lines
    if ! command -v ss >/dev/null 2>&1; then
        echo "       (ss not installed: listening address not checked)"
        return 0
    fi
    lines=$(ss -Hltn "sport = :$1")
    # Java's sockets show IPv4 addresses IPv6-mapped: [::ffff:127.0.0.1]:PORT.
    [[ -n "$lines" ]] && ! grep -qvE '[[:space:]](127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):' <<<"$lines"
}
psql_test() {
    PGCONNECT_TIMEOUT=5 "$(_infra_pg_bindir "$PRESAGE_HOME/.presage/pg")/psql" -X -q -tA \
        -h 127.0.0.1 -p "$PRESAGE_PG_PORT" -U postgres "$@"
}
# Processes whose command line mentions our temporary directory: only the
# test can have started those.
our_processes() {
    local p
    for p in /proc/[0-9]*; do
        tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$tmp" && printf '%s\n' "${p#/proc/}"
    done
    return 0
}

cleanup() {
    local rc=$? p
    set +e
    trap - EXIT INT TERM
    if [[ -d "$PRESAGE_HOME/.presage" ]]; then
        echo "cleanup: stopping what is left"
        infra_stop_all --wipe >/dev/null 2>&1
    fi
    if [[ -n "$decoy_pid" ]] && ! gone "$decoy_pid"; then
        kill "$decoy_pid" 2>/dev/null
        wait "$decoy_pid" 2>/dev/null
    fi
    # Last resort, in case infra_stop_all itself is broken.
    for p in $(our_processes); do
        echo "cleanup: killing leftover pid $p: $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")"
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf -- "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A copy of the launcher (in a folder with a space in its name) runs `up` on these, to see it refuse a
# port taken by another program: its coordinator on PostgreSQL's port, or on the one before it.
copy_nats_port=$((base + 223))
copy_nats_http_port=$((base + 4223))
# Not base + 1433: up --mirrors 09 on PRESAGE_PORT = PRESAGE_PG_PORT - 1 (below) plans its mirrors on
# base + 1432 to base + 1440, and PostgreSQL on one of them is refused before the ports are looked at.
copy_pg_port=$((base + 1442))
for p in "$PRESAGE_NATS_PORT" "$PRESAGE_NATS_HTTP_PORT" "$PRESAGE_PG_PORT" "$node_port1" "$node_port2" "$node_port3" "$node_port4" \
    "$copy_nats_port" "$copy_nats_http_port" "$copy_pg_port" $((PRESAGE_PG_PORT - 1)); do
    if _infra_port_open "$p"; then
        echo "port $p is in use; run with another TEST_PORT_BASE" >&2
        exit 2
    fi
done
echo "test project: $PRESAGE_HOME; NATS :$PRESAGE_NATS_PORT, PostgreSQL :$PRESAGE_PG_PORT"

# --------------------------------------------------------------------------
echo "== prerequisites"
check "infra_ensure_java finds Java 17+" run infra_ensure_java
check "infra_ensure_packages: nats-server, PostgreSQL and curl present (installs if missing)" run infra_ensure_packages
check "a directly executed infra.sh refuses to run" not bash "$script_dir/infra.sh" 2>/dev/null
# A leading zero: octal to bash's arithmetic (015432 is 6938, 08080 an error) and to PostgreSQL's
# "port = 015432", decimal to the nodes' JDBC URL.
fails "_infra_check_port refuses a port with a leading zero" _infra_check_port 015432 PRESAGE_PG_PORT
check "... saying so" out_has "PRESAGE_PG_PORT: '015432' is not a valid TCP port (1-65535, without leading zeros)"
fails "... 08080 too" _infra_check_port 08080 PRESAGE_NATS_PORT
check "... without bash's own complaint" not out_has "value too great"
fails "_infra_check_port refuses 0" _infra_check_port 0 PRESAGE_PG_PORT
fails "_infra_check_port refuses 65536" _infra_check_port 65536 PRESAGE_PG_PORT
check "_infra_check_port accepts 1" run _infra_check_port 1 X
check "_infra_check_port accepts 65535" run _infra_check_port 65535 X
if ((EUID == 0)); then
    # Root without /usr/sbin on PATH (cron, a plain su): runuser is not found. That was read as "the
    # PostgreSQL user cannot traverse", and every folder up to / was given chmod o+x.
    mkdir -p "$tmp/traverse/inner"
    modes_before=$(stat -c %a "$tmp" "$tmp/traverse" "$tmp/traverse/inner" | tr '\n' ' ')
    # shellcheck disable=SC2016 # $1 and $2 belong to the inner shell
    fails "as root without runuser on PATH, _infra_grant_traverse refuses" \
        env PATH=/usr/bin:/bin bash -c 'source "$1"; _infra_grant_traverse "$(_infra_pg_user)" "$2"' _ "$script_dir/infra.sh" "$tmp/traverse/inner"
    check "... saying why" out_has "runuser (util-linux, in /usr/sbin) is not on PATH"
    check "... and changes no permission" eq "$(stat -c %a "$tmp" "$tmp/traverse" "$tmp/traverse/inner" | tr '\n' ' ')" "$modes_before"
    check "... granting nothing" not out_has "granted"
    rm -rf "$tmp/traverse"
else
    skip "_infra_grant_traverse without runuser on PATH (only root runs it)"
fi

# --------------------------------------------------------------------------
echo "== build (stand-in ./mvnw)"
have_java_tools=0
if command -v javac >/dev/null 2>&1 && command -v jar >/dev/null 2>&1; then
    have_java_tools=1
    mkdir -p "$tmp/stub"
    # The stand-in node: serves /q/health/ready (200, or 503 with STUB_MODE=never),
    # exits after 1 s with STUB_MODE=crash, ignores SIGTERM with STUB_MODE=stubborn,
    # and reports its environment and JVM arguments at /env.
    cat >"$tmp/stub/Stub.java" <<'JAVA'
import com.sun.net.httpserver.HttpServer;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.TreeMap;

public class Stub {
    public static void main(String[] args) throws Exception {
        String mode = System.getenv().getOrDefault("STUB_MODE", "ready");
        System.out.println("stub starting, mode " + mode);
        if (mode.equals("crash")) {
            Thread.sleep(1000);
            System.out.println("stub crashing on purpose");
            System.exit(3);
        }
        if (mode.equals("stubborn")) {
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> System.out.println("stub ignores SIGTERM"));
        }
        String host = System.getenv("QUARKUS_HTTP_HOST");
        int port = Integer.parseInt(System.getenv("QUARKUS_HTTP_PORT"));
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
        long started = System.currentTimeMillis();
        server.createContext("/q/health/ready", ex -> {
            // catchup: works through 700 log messages at 100/s, then is ready; stuck: never moves.
            // cut: stopped at a message the log no longer holds, as a mirror's applier says it.
            long applied = mode.equals("catchup") ? Math.min(700, (System.currentTimeMillis() - started) / 10)
                    : mode.equals("stuck") ? 42 : mode.equals("cut") ? 0 : -1;
            int code = mode.equals("never") || (applied >= 0 && applied < 700) ? 503 : 200;
            String json = applied < 0 ? "{\"status\":\"UP\"}"
                    : "{\n    \"status\": \"" + (code == 200 ? "UP" : "DOWN") + "\",\n    \"checks\": [\n"
                    + "        { \"name\": \"replication-lag\", \"status\": \"DOWN\", \"data\": { \"lagSequences\": "
                    + (700 - applied) + " } },\n"
                    + "        { \"name\": \"applier\", \"status\": \"UP\", \"data\": { \"appliedSequence\": "
                    + applied + (mode.equals("cut") ? ", \"logProblem\" : \"the log stream no longer holds message 1\"" : "")
                    + " } }\n    ]\n}";
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(code, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.createContext("/env", ex -> {
            StringBuilder sb = new StringBuilder();
            new TreeMap<>(System.getenv()).forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
            for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                sb.append("jvmarg ").append(a).append('\n');
            }
            byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("stub stopping")));
        server.start();
        System.out.println("stub listening on " + host + ":" + port);
    }
}
JAVA
    if (cd "$tmp/stub" && javac -nowarn -XDignore.symbol.file --release 17 Stub.java 2>/dev/null &&
        jar --create --file stub.jar --main-class Stub ./*.class); then
        ok "stand-in node compiled"
    else
        not_ok "stand-in node compiled"
        have_java_tools=0
    fi
fi

if ((have_java_tools)); then
    # A stand-in ./mvnw: counts its runs, "builds" the stand-in jar, or fails on demand.
    cat >"$PRESAGE_HOME/mvnw" <<EOF
#!/bin/sh
echo "stand-in maven: \$*"
echo run >>"$tmp/mvn-runs"
[ -e "$tmp/mvn-fail" ] && { echo "stand-in maven: BUILD FAILURE"; exit 1; }
mkdir -p target/quarkus-app && cp "$tmp/stub/stub.jar" target/quarkus-app/quarkus-run.jar
EOF
    chmod +x "$PRESAGE_HOME/mvnw"
    mkdir -p "$PRESAGE_HOME/src/main/java"
    echo '<project/>' >"$PRESAGE_HOME/pom.xml"
    echo 'class A {}' >"$PRESAGE_HOME/src/main/java/A.java"
    # Directories count too (a deleted source changes its directory's mtime).
    find "$PRESAGE_HOME/pom.xml" "$PRESAGE_HOME/src" -exec touch -d '-1 hour' {} +
    mvn_runs() { if [[ -f "$tmp/mvn-runs" ]]; then wc -l <"$tmp/mvn-runs"; else echo 0; fi; }
    jar="$PRESAGE_HOME/target/quarkus-app/quarkus-run.jar"

    check "infra_build_if_needed builds when the jar is missing" run infra_build_if_needed
    check "... ran ./mvnw once" eq "$(mvn_runs)" 1
    check "... as ./mvnw -B package -DskipTests" out_has "stand-in maven: -B package -DskipTests"
    check "... kept Maven's output in .presage/logs/build.log" grep -qF "stand-in maven" "$PRESAGE_HOME/.presage/logs/build.log"
    run infra_build_if_needed || true
    check "infra_build_if_needed does nothing when up to date" eq "$(mvn_runs)" 1
    check "... saying so" out_has "up to date"
    touch -d '-10 minutes' "$jar"
    touch "$PRESAGE_HOME/src/main/java/A.java"
    run infra_build_if_needed || true
    check "infra_build_if_needed rebuilds when a file under src/main is newer" eq "$(mvn_runs)" 2
    check "... saying which" out_has "src/main/java/A.java changed"
    touch -d '-10 minutes' "$jar"
    touch "$PRESAGE_HOME/pom.xml"
    run infra_build_if_needed || true
    check "infra_build_if_needed rebuilds when pom.xml is newer" eq "$(mvn_runs)" 3
    touch -d '-10 minutes' "$jar"
    touch "$PRESAGE_HOME/pom.xml" "$tmp/mvn-fail"
    # Called without pipefail: the failure must still be Maven's, not tee's success.
    # shellcheck disable=SC2016 # $1 belongs to the inner shell
    fails "infra_build_if_needed reports a failed build (caller without pipefail)" bash -c 'set +o pipefail; source "$1"; infra_build_if_needed' _ "$script_dir/infra.sh"
    check "... with a clear error" out_has "the build failed"
    rm -f "$tmp/mvn-fail"
    run infra_build_if_needed || true
else
    skip "infra_build_if_needed and node tests (javac/jar not available)"
fi

# --------------------------------------------------------------------------
echo "== NATS"
# The launcher holds its lock on fd 9 while it starts servers (./presage up). A server that kept
# fd 9 open would hold the lock for its whole life, and every later up or down would be refused.
: >"$tmp/launcher.lock"
exec 9<"$tmp/launcher.lock"
flock 9
run infra_start_nats || abort "infra_start_nats"
ok "infra_start_nats starts nats-server"
nats_pid=$(pid_of nats) || abort "no .presage/pids/nats.pid"
check "infra_is_running accepts a pid file relative to PRESAGE_HOME" infra_is_running .presage/pids/nats.pid
check "NATS's port is recorded in .presage/pids/nats.port" eq "$(cat "$PRESAGE_HOME/.presage/pids/nats.port")" "$PRESAGE_NATS_PORT"
check "NATS runs with -js and its data dir in .presage/nats" grep -qF -- "-js" "$PRESAGE_HOME/.presage/pids/nats.cmdline"
nats_info() {
    local line=''
    exec 3<>"/dev/tcp/127.0.0.1/$PRESAGE_NATS_PORT" || return 1
    IFS= read -r -t 5 line <&3 || true
    exec 3>&-
    [[ "$line" == INFO* ]]
}
check "NATS port answers with the NATS INFO greeting" nats_info
check "NATS client port listens on 127.0.0.1 only" listens_on_loopback_only "$PRESAGE_NATS_PORT"
check "NATS monitoring port listens on 127.0.0.1 only" listens_on_loopback_only "$PRESAGE_NATS_HTTP_PORT"
healthz() { curl -sf --noproxy '*' "http://127.0.0.1:$PRESAGE_NATS_HTTP_PORT/healthz" | grep -q ok; }
check "NATS monitoring /healthz says ok" healthz
# 1 MB by default: under the 1 MiB value the node allows, which it then refused as over max_payload.
max_payload() { curl -sf --noproxy '*' "http://127.0.0.1:$PRESAGE_NATS_HTTP_PORT/varz" | grep -q '"max_payload": 8388608'; }
check "NATS takes messages of 8 MB (max_payload in .presage/nats.conf)" max_payload
run infra_start_nats || true
check "infra_start_nats again: already running" out_has "already running"
check "... same pid" eq "$(pid_of nats)" "$nats_pid"

# Creates a file-backed JetStream stream and stores one message in it, speaking
# the NATS protocol over bash's /dev/tcp (no client tool needed).
nats_create_stream() {
    local payload='{"name":"INFRATEST","subjects":["infratest.>"],"storage":"file"}' line reply=''
    exec 3<>"/dev/tcp/127.0.0.1/$PRESAGE_NATS_PORT" || return 1
    IFS= read -r -t 5 line <&3 || return 1 # INFO
    # shellcheck disable=SC2016 # $JS is a NATS subject, not a variable
    printf 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.infratest 1\r\nPUB $JS.API.STREAM.CREATE.INFRATEST _INBOX.infratest %d\r\n%s\r\n' \
        "${#payload}" "$payload" >&3
    while IFS= read -r -t 5 line <&3; do
        if [[ "$line" == MSG* ]]; then
            IFS= read -r -t 5 reply <&3
            break
        fi
        [[ "$line" == PING* ]] && printf 'PONG\r\n' >&3
    done
    printf 'PUB infratest.a 7\r\nsurvive\r\nPING\r\n' >&3
    while IFS= read -r -t 5 line <&3; do [[ "$line" == PONG* ]] && break; done
    exec 3>&-
    [[ "$reply" == *'"name":"INFRATEST"'* && "$reply" != *'"error"'* ]]
}
# jsz_counts: prints "streams messages" from the monitoring endpoint.
jsz_counts() {
    local j
    j=$(curl -sf --noproxy '*' "http://127.0.0.1:$PRESAGE_NATS_HTTP_PORT/jsz") || return 1
    printf '%s %s\n' "$(grep -o '"streams": *[0-9]*' <<<"$j" | grep -o '[0-9]*$')" \
        "$(grep -o '"messages": *[0-9]*' <<<"$j" | head -n 1 | grep -o '[0-9]*$')"
}
check "a JetStream stream can be created and written" nats_create_stream
sleep 0.5
check "JetStream reports 1 stream with 1 message" eq "$(jsz_counts)" "1 1"

# --------------------------------------------------------------------------
echo "== PostgreSQL"
run infra_start_postgres || abort "infra_start_postgres"
ok "infra_start_postgres initialises and starts a cluster"
check "... granted the postgres user a way into the 0700 project directory" out_has "granted search (x) permission"
pg_pid=$(pid_of postgres) || abort "no .presage/pids/postgres.pid"
check "postgres.pid holds the postmaster's pid (postmaster.pid first line)" \
    eq "$pg_pid" "$(head -n 1 "$PRESAGE_HOME/.presage/pg/postmaster.pid")"
if ((EUID == 0)); then
    check "the postmaster runs as user postgres, not root" eq "$(ps -o user= -p "$pg_pid")" postgres
    check "the data directory is owned by postgres, mode 700" eq "$(stat -c '%U %a' "$PRESAGE_HOME/.presage/pg")" "postgres 700"
fi
check "PostgreSQL listens on 127.0.0.1 only" listens_on_loopback_only "$PRESAGE_PG_PORT"
check "PostgreSQL's unix socket is inside .presage/" test -S "$PRESAGE_HOME/.presage/pg-socket/.s.PGSQL.$PRESAGE_PG_PORT"
exec 9>&-
check "NATS and PostgreSQL, started while fd 9 held a lock, do not hold it" flock -n "$tmp/launcher.lock" true
run infra_start_postgres || true
check "infra_start_postgres again: already running" out_has "already running"
check "... same pid" eq "$(pid_of postgres)" "$pg_pid"
rm -f "$PRESAGE_HOME/.presage/pids/postgres.pid" "$PRESAGE_HOME/.presage/pids/postgres.cmdline"
run infra_start_postgres || true
check "infra_start_postgres adopts our running cluster when its pid file was lost" eq "$(pid_of postgres)" "$pg_pid"
check "... recording the port it runs on in .presage/pids/postgres.port" eq "$(cat "$PRESAGE_HOME/.presage/pids/postgres.port")" "$PRESAGE_PG_PORT"

check "infra_create_db creates a database" run infra_create_db presage_infratest
check "... saying so" out_has "created database presage_infratest"
check "infra_create_db again: already exists" run infra_create_db presage_infratest
check "... saying so" out_has "database presage_infratest exists"
fails "infra_create_db rejects a name that is not a plain identifier" infra_create_db "x'; DROP DATABASE postgres; --"
check "psql as postgres over 127.0.0.1 (trust) can write the database" \
    psql_test -d presage_infratest -c "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')"
check "psql reads the row back" eq "$(psql_test -d presage_infratest -c 'SELECT v FROM kept')" survives

# --------------------------------------------------------------------------
echo "== garbage collector of a node"
if java_bin=$(_infra_java_bin) && [[ -n "$java_bin" ]]; then
    # A JVM without Shenandoah (as Oracle's builds are): refuses the option, runs otherwise.
    printf '#!/bin/sh\ncase "$*" in *Shenandoah*) echo "Unrecognized VM option" >&2; exit 1 ;; esac\nexec "%s" "$@"\n' \
        "$java_bin" >"$tmp/java-without-shenandoah"
    chmod +x "$tmp/java-without-shenandoah"
    if "$java_bin" -XX:+UseShenandoahGC -version >/dev/null 2>&1; then
        check "a coordinator gets Shenandoah where the JVM has it" \
            eq "$(PRESAGE_NODE_GC='' PRESAGE_JVM_OPTS='' _infra_gc_flag "$java_bin" coordinator)" -XX:+UseShenandoahGC
        check "PRESAGE_NODE_GC=shenandoah gives a mirror Shenandoah too" \
            eq "$(PRESAGE_NODE_GC=shenandoah PRESAGE_JVM_OPTS='' _infra_gc_flag "$java_bin" mirror)" -XX:+UseShenandoahGC
    else
        skip "Shenandoah by default for a coordinator (this JVM has no Shenandoah)"
    fi
    check "a mirror gets G1" eq "$(PRESAGE_NODE_GC='' PRESAGE_JVM_OPTS='' _infra_gc_flag "$java_bin" mirror)" -XX:+UseG1GC
    check "a coordinator on a JVM without Shenandoah gets G1" \
        eq "$(PRESAGE_NODE_GC='' PRESAGE_JVM_OPTS='' _infra_gc_flag "$tmp/java-without-shenandoah" coordinator)" -XX:+UseG1GC
    check "PRESAGE_NODE_GC=g1 gives a coordinator G1" \
        eq "$(PRESAGE_NODE_GC=g1 PRESAGE_JVM_OPTS='' _infra_gc_flag "$java_bin" coordinator)" -XX:+UseG1GC
    check "a collector chosen in PRESAGE_JVM_OPTS wins (no second one)" \
        eq "$(PRESAGE_NODE_GC='' PRESAGE_JVM_OPTS='-Xss1m -XX:+UseParallelGC' _infra_gc_flag "$java_bin" coordinator)" ""
    PRESAGE_NODE_GC=shenandoah PRESAGE_JVM_OPTS='' fails "PRESAGE_NODE_GC=shenandoah on a JVM without it is refused" \
        _infra_gc_flag "$tmp/java-without-shenandoah" coordinator
    check "... saying what to use instead" out_has "has no Shenandoah collector; use auto or g1"
    PRESAGE_NODE_GC=zgc PRESAGE_JVM_OPTS='' fails "an unknown PRESAGE_NODE_GC is refused" _infra_gc_flag "$java_bin" coordinator
    check "... naming the choices" out_has "must be auto, shenandoah or g1, not 'zgc'"
else
    skip "garbage collector of a node (no java)"
fi

echo "== nodes (stand-in application)"
if ((have_java_tools)); then
    check "infra_start_node starts a node" run infra_start_node n1 prod "$node_port1" STUB_MODE=ready EXTRA_VAR=extra
    check "infra_wait_ready sees it ready" run infra_wait_ready n1 "$node_port1" 30
    check "node n1's port is recorded in .presage/pids/n1.port" eq "$(cat "$PRESAGE_HOME/.presage/pids/n1.port")" "$node_port1"
    n1_pid=$(pid_of n1) || n1_pid=0
    curl -sf --noproxy '*' "http://127.0.0.1:$node_port1/env" >"$tmp/env.txt" || true
    for kv in QUARKUS_PROFILE=prod "QUARKUS_HTTP_PORT=$node_port1" QUARKUS_HTTP_HOST=127.0.0.1 PRESAGE_NODE_ID=n1 \
        "PRESAGE_NATS_URL=nats://127.0.0.1:$PRESAGE_NATS_PORT" \
        "QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:$PRESAGE_PG_PORT/presage_n1" \
        "QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://127.0.0.1:$PRESAGE_PG_PORT/presage_n1" \
        QUARKUS_DATASOURCE_USERNAME=postgres EXTRA_VAR=extra \
        "jvmarg --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED" "jvmarg -Xmx256m" "jvmarg -XX:+UseG1GC"; do
        check "node n1 was given $kv" grep -qxF -- "$kv" "$tmp/env.txt"
    done
    check "node n1's database presage_n1 was created" eq "$(psql_test -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'presage_n1'")" 1
    check "node n1 listens on 127.0.0.1 only" listens_on_loopback_only "$node_port1"
    check "node n1 logs to .presage/logs/n1.log" grep -qF "stub listening" "$PRESAGE_HOME/.presage/logs/n1.log"
    run infra_start_node n1 prod "$node_port1" || true
    check "infra_start_node again: already running" out_has "already running"
    check "... same pid" eq "$(pid_of n1)" "$n1_pid"
    fails "infra_start_node refuses a port in use" infra_start_node n4 prod "$node_port1"
    check "... saying so" out_has "already in use"
    fails "infra_start_node refuses a bad extra variable" infra_start_node n4 prod "$node_port4" "not an assignment"

    run infra_start_node n2 prod "$node_port2" STUB_MODE=crash || true
    t0=$SECONDS
    fails "infra_wait_ready fails when the node dies" infra_wait_ready n2 "$node_port2" 60
    check "... at once, not after the timeout" between "$((SECONDS - t0))" 0 15
    check "... saying it is not running" out_has "node n2 is not running"
    check "... and showing its log" out_has "crashing on purpose"

    run infra_start_node n3 prod "$node_port3" STUB_MODE=never || true
    t0=$SECONDS
    fails "infra_wait_ready gives up after its timeout" infra_wait_ready n3 "$node_port3" 3
    check "... after about 3 s" between "$((SECONDS - t0))" 3 10
    check "... with the last HTTP status" out_has "last HTTP status: 503"
    check "... and the end of the log" out_has "last 30 lines"

    run infra_start_node n5 prod "$node_port5" STUB_MODE=catchup || true
    t0=$SECONDS
    check "infra_wait_ready waits past its timeout for a node that is still applying the log" \
        run infra_wait_ready n5 "$node_port5" 3
    check "... until it is ready (about 7 s)" between "$((SECONDS - t0))" 5 20
    check "... showing how far it has got" out_has "node n5 is catching up: applied the log to sequence"
    check "... and how far behind it is" out_has "behind the log"
    check "... and about how long it has to go" out_has "s to go)"
    check "a progress line's time left reads in seconds" eq "$(_infra_duration 45)" "45 s"
    check "... in minutes past two" eq "$(_infra_duration 180)" "3 min"
    check "... and in hours past two" eq "$(_infra_duration 7500)" "2 h 5 min"

    run infra_start_node n6 prod "$node_port6" STUB_MODE=stuck || true
    t0=$SECONDS
    fails "infra_wait_ready gives up on a node whose applied sequence does not move" infra_wait_ready n6 "$node_port6" 3
    check "... after about 3 s" between "$((SECONDS - t0))" 3 10
    check "... saying there was no progress" out_has "without progress"

    run infra_start_node n7 prod "$node_port7" STUB_MODE=cut || true
    t0=$SECONDS
    fails "infra_wait_ready gives up on a node whose readiness reports a log problem" infra_wait_ready n7 "$node_port7" 120
    check "... after about 10 s, not the timeout" between "$((SECONDS - t0))" 9 30
    check "... saying what the problem is" out_has "node n7 cannot get ready: the log stream no longer holds message 1"

    check "a node that ignores SIGTERM starts" run infra_start_node n4 prod "$node_port4" STUB_MODE=stubborn
    check "... and is ready" run infra_wait_ready n4 "$node_port4" 30
    n3_pid=$(pid_of n3) || n3_pid=0
    n4_pid=$(pid_of n4) || n4_pid=0
    n5_pid=$(pid_of n5) || n5_pid=0
    n6_pid=$(pid_of n6) || n6_pid=0
    n7_pid=$(pid_of n7) || n7_pid=0
else
    skip "infra_start_node / infra_wait_ready (no javac/jar for the stand-in)"
    n1_pid=0 n3_pid=0 n4_pid=0 n5_pid=0 n6_pid=0 n7_pid=0
fi
fails "infra_wait_ready fails at once for a node that was never started" infra_wait_ready nosuch "$node_port4" 30

# --------------------------------------------------------------------------
echo "== pid identity"
# A process that is not ours, recorded under a pid file as if the pid had been
# recycled: it must never be reported as running nor be signalled.
sleep 300 &
decoy_pid=$!
echo "$decoy_pid" >"$PRESAGE_HOME/.presage/pids/decoy.pid"
cp "$PRESAGE_HOME/.presage/pids/nats.cmdline" "$PRESAGE_HOME/.presage/pids/decoy.cmdline"
check "infra_is_running is false for a live pid that is not the recorded program" not infra_is_running "$PRESAGE_HOME/.presage/pids/decoy.pid"
check "infra_is_running is false for a missing pid file" not infra_is_running "$PRESAGE_HOME/.presage/pids/missing.pid"

# --------------------------------------------------------------------------
echo "== stop"
t0=$SECONDS
check "infra_stop_all stops everything" run infra_stop_all
stop_secs=$((SECONDS - t0))
check "... nats, postgres and every node are gone" all_gone "$nats_pid" "$pg_pid" "$n1_pid" "$n3_pid" "$n4_pid" "$n5_pid" "$n6_pid" "$n7_pid"
check "... ports are closed" all_closed "$PRESAGE_NATS_PORT" "$PRESAGE_NATS_HTTP_PORT" "$PRESAGE_PG_PORT" "$node_port1" "$node_port3" "$node_port4"
check "... no postgres process of ours remains" not pgrep -f -- "$PRESAGE_HOME/.presage/pg"
check "... pid files removed" empty_dir "$PRESAGE_HOME/.presage/pids"
check "... the unrelated process behind a stale pid file was left alone" alive "$decoy_pid"
check "... and reported as not ours" out_has "decoy: pid $decoy_pid now belongs to another program"
if ((have_java_tools)); then
    check "... the node ignoring SIGTERM got SIGKILL after 10 s" out_has "n4 (pid $n4_pid) did not stop within 10 s"
    # The upper bound only proves stop does not wait for ever; under a loaded machine 30 s was too tight.
    check "... so stopping took 10 to 60 s" between "$stop_secs" 10 60
    check "... the other nodes stopped on SIGTERM (shutdown hook ran)" grep -qF "stub stopping" "$PRESAGE_HOME/.presage/logs/n1.log"
fi
kill "$decoy_pid" 2>/dev/null || true
wait "$decoy_pid" 2>/dev/null || true
decoy_pid=''
check "infra_stop_all again: nothing to do, succeeds" run infra_stop_all

# --------------------------------------------------------------------------
echo "== restart: data survives"
# A postmaster.pid left behind by a crash, naming a live process of the
# PostgreSQL user that is not our PostgreSQL (its pid was reused): pg_ctl calls
# that running. down must not signal it, and PostgreSQL must start anyway.
stale_lock() { printf '%s\n%s\n' "$1" "$PRESAGE_HOME/.presage/pg" >"$PRESAGE_HOME/.presage/pg/postmaster.pid"; }
if ((EUID == 0)); then
    pg_decoy=$(runuser -u "$(_infra_pg_user)" -- sh -c 'sleep 300 >/dev/null 2>&1 & echo $!')
else
    pg_decoy=$(sh -c 'sleep 300 >/dev/null 2>&1 & echo $!')
fi
stale_lock "$pg_decoy"
check "infra_stop_all with a stale postmaster.pid succeeds" run infra_stop_all
check "... leaves the process it names alone" alive "$pg_decoy"
check "... and removes the stale file, saying so" out_has "removing a stale .presage/pg/postmaster.pid (pid $pg_decoy "
stale_lock "$pg_decoy"
# A stale pid file pointing at a live process that is not nats must not stop
# infra_start_nats from starting a real one.
sleep 300 &
decoy_pid=$!
echo "$decoy_pid" >"$PRESAGE_HOME/.presage/pids/nats.pid"
printf 'nats-server\0' >"$PRESAGE_HOME/.presage/pids/nats.cmdline"
run infra_start_nats || abort "infra_start_nats (restart)"
ok "infra_start_nats starts again despite a stale pid file"
check "... with a new pid" not eq "$(pid_of nats)" "$decoy_pid"
check "... the decoy is untouched" alive "$decoy_pid"
kill "$decoy_pid" 2>/dev/null || true
wait "$decoy_pid" 2>/dev/null || true
decoy_pid=''
run infra_start_postgres || abort "infra_start_postgres (restart)"
ok "infra_start_postgres starts the existing cluster again"
check "... over a stale postmaster.pid, whose process is untouched" alive "$pg_decoy"
check "... with a postmaster of its own" not eq "$(pid_of postgres)" "$pg_decoy"
kill "$pg_decoy" 2>/dev/null || true
check "... without a new initdb" not out_has "creating a PostgreSQL cluster"
check "the PostgreSQL row survived the restart" eq "$(psql_test -d presage_infratest -c 'SELECT v FROM kept')" survives
sleep 0.5
check "the JetStream stream and its message survived the restart" eq "$(jsz_counts)" "1 1"
if ((have_java_tools)); then
    check "a node starts again" run infra_start_node n1 prod "$node_port1"
    check "... and is ready" run infra_wait_ready n1 "$node_port1" 30
    n1_pid=$(pid_of n1) || n1_pid=0
fi
# Another project whose NATS port is taken (here by our PostgreSQL).
mkdir -p "$tmp/other"
# shellcheck disable=SC2016 # $1 belongs to the inner shell
fails "infra_start_nats on a port already taken fails clearly" \
    env PRESAGE_HOME="$tmp/other" PRESAGE_NATS_PORT="$PRESAGE_PG_PORT" bash -c 'source "$1"; infra_start_nats' _ "$script_dir/infra.sh"
check "... naming the port" out_has "port $PRESAGE_PG_PORT on 127.0.0.1 (for NATS) is already in use"
check "... and the variable to change" out_has "PRESAGE_NATS_PORT"

# ./presage up in a copy of the launcher whose ports are taken by this test's PostgreSQL: it must
# refuse before building or starting anything, naming the port and PRESAGE_PORT. Its ./mvnw is a
# stand-in that counts its runs and fails, and it has no jar: getting as far as the build is a failure.
copy="$tmp/launcher copy"
mkdir -p "$copy"
cp -r "$script_dir/../presage" "$script_dir" "$copy/"
printf '#!/bin/sh\necho run >>"%s"\necho "stand-in maven: BUILD FAILURE"\nexit 1\n' "$tmp/copy-mvn-runs" >"$copy/mvnw"
chmod +x "$copy/mvnw"
in_copy() { in_copy_as "$copy/presage" "$@"; }
# in_copy_as LAUNCHER ARG...: runs LAUNCHER (the copy, or a link to it) on the copy's ports.
in_copy_as() {
    PRESAGE_NATS_PORT=$copy_nats_port PRESAGE_NATS_HTTP_PORT=$copy_nats_http_port PRESAGE_PG_PORT=$copy_pg_port \
        "$@"
}
t0=$SECONDS
PRESAGE_PORT="$PRESAGE_PG_PORT" fails "./presage up with the coordinator's port taken by another program fails" \
    in_copy up --mirrors 1
check "... naming the port" out_has "port $PRESAGE_PG_PORT on 127.0.0.1 (for the coordinator) is already in use"
check "... and PRESAGE_PORT, the way out" out_has "set PRESAGE_PORT to a free port"
check "... at once" between "$((SECONDS - t0))" 0 10
check "... before building anything" test ! -e "$tmp/copy-mvn-runs"
check "... or starting NATS and PostgreSQL" test ! -e "$copy/.presage/pids/nats.pid" -a ! -e "$copy/.presage/pids/postgres.pid"
# --mirrors 09: nine mirrors (it was taken for 9 by test, and for a bad octal number by arithmetic).
PRESAGE_PORT=$((PRESAGE_PG_PORT - 1)) fails "./presage up with a mirror's port taken fails" in_copy up --mirrors 09
check "... naming the mirror and how its port follows PRESAGE_PORT" \
    out_has "port $PRESAGE_PG_PORT on 127.0.0.1 (for mirror1) is already in use by another program; stop it or set PRESAGE_PORT (mirror i takes PRESAGE_PORT + i"
check "... before building anything" test ! -e "$tmp/copy-mvn-runs"
PRESAGE_PORT="0$PRESAGE_PG_PORT" fails "a PRESAGE_PORT with a leading zero is the same port" in_copy up
check "... in the error too" out_has "port $PRESAGE_PG_PORT on 127.0.0.1 (for the coordinator)"
# Through a symbolic link (the launcher put on PATH): it works in the folder the link points to.
mkdir -p "$tmp/bin"
ln -s "$copy/presage" "$tmp/bin/presage"
PRESAGE_PORT="$PRESAGE_PG_PORT" fails "./presage up through a symbolic link runs the launcher it points to" \
    in_copy_as "$tmp/bin/presage" up
check "... (it got as far as the copy's port check)" out_has "port $PRESAGE_PG_PORT on 127.0.0.1 (for the coordinator)"
# Bad numbers: a clear refusal each time, never bash's own complaint, and nothing started.
fails "./presage up --mirrors '' is refused, not taken for the last up's count" in_copy up --mirrors ''
check "... saying it needs a number" out_has "--mirrors needs a number"
fails "./presage up --mirrors with 20 digits is refused" in_copy up --mirrors 99999999999999999999
check "... saying at most 16" out_has "--mirrors: at most 16 on one machine"
check "... without bash's 'integer expression expected'" not out_has "integer expression"
fails "./presage demo --seconds with 20 digits is refused" in_copy demo --seconds 99999999999999999999
check "... saying what it takes" out_has "--seconds must be a whole number from 5 to 86400"
check "... and what it was given" out_has "not '99999999999999999999'"
check "... without bash's 'integer expression expected'" not out_has "integer expression"
# The copy's own ports, one changed (in_copy_as would set it back).
copy_env() { env PRESAGE_NATS_PORT=$copy_nats_port PRESAGE_NATS_HTTP_PORT=$copy_nats_http_port PRESAGE_PG_PORT=$copy_pg_port "$@"; }
fails "./presage up with PRESAGE_PG_PORT=0$copy_pg_port (a leading zero) is refused" \
    copy_env PRESAGE_PG_PORT="0$copy_pg_port" "$copy/presage" up
check "... naming the variable and why" out_has "PRESAGE_PG_PORT: '0$copy_pg_port' is not a valid TCP port (1-65535, without leading zeros)"
check "... before building anything" test ! -e "$tmp/copy-mvn-runs"
fails "./presage up with PRESAGE_PG_PORT on mirror2's port is refused" \
    copy_env PRESAGE_PG_PORT="$node_port7" PRESAGE_PORT="$node_port5" "$copy/presage" up --mirrors 2
check "... naming both" out_has "port $node_port7 is planned for both PostgreSQL (PRESAGE_PG_PORT) and mirror2 (PRESAGE_PORT + 2)"
check "... before building anything" test ! -e "$tmp/copy-mvn-runs"
check "... or starting NATS and PostgreSQL" test ! -e "$copy/.presage/pids/nats.pid" -a ! -e "$copy/.presage/pids/postgres.pid"
PRESAGE_PORT=99999999999999999999 fails "a PRESAGE_PORT with 20 digits is refused" in_copy up
check "... saying what it takes" out_has "PRESAGE_PORT must be a TCP port"
check "... without bash's 'integer expression expected'" not out_has "integer expression"
check "... and nothing was built" test ! -e "$tmp/copy-mvn-runs"

# --------------------------------------------------------------------------
echo "== wipe"
nats_pid=$(pid_of nats) || nats_pid=0
pg_pid=$(pid_of postgres) || pg_pid=0
check "infra_stop_all --wipe" run infra_stop_all --wipe
check "... .presage/ is gone" test ! -e "$PRESAGE_HOME/.presage"
check "... the processes are gone" all_gone "$nats_pid" "$pg_pid" "$n1_pid"
check "infra_stop_all --wipe with nothing left succeeds" run infra_stop_all --wipe
fails "infra_stop_all rejects an unknown option" infra_stop_all --bogus

# --------------------------------------------------------------------------
echo "== ./presage up interrupted"
# Ctrl-C while up waits for a coordinator that never gets ready (a stand-in): up must say it was
# interrupted, what it left running and how to go on; then down stops all of it.
if ((have_java_tools)); then
    upcopy="$tmp/up interrupted"
    mkdir -p "$upcopy/target/quarkus-app"
    cp -r "$script_dir/../presage" "$script_dir" "$upcopy/"
    cp "$tmp/stub/stub.jar" "$upcopy/target/quarkus-app/quarkus-run.jar"
    # As root, with the PATH of cron or a plain su (no sbin folder, where runuser is): up finds it.
    upcopy_path=$PATH
    if ((EUID == 0)); then
        upcopy_path=/usr/bin:/bin
        for d in "$(dirname -- "$(_infra_java_bin)")" "$(dirname -- "$(command -v curl)")"; do
            [[ ":$upcopy_path:" == *":$d:"* ]] || upcopy_path="$upcopy_path:$d"
        done
    fi
    # in_upcopy [VAR=VALUE...] ARG...: the copy's launcher on its ports; a VAR=VALUE first moves one.
    in_upcopy() {
        local -a vars=()
        while [[ "${1:-}" == *=* ]]; do
            vars+=("$1")
            shift
        done
        env PATH="$upcopy_path" PRESAGE_PORT="$node_port2" PRESAGE_NATS_PORT="$copy_nats_port" \
            PRESAGE_NATS_HTTP_PORT="$copy_nats_http_port" PRESAGE_PG_PORT="$copy_pg_port" "${vars[@]}" "$upcopy/presage" "$@"
    }
    : >"$tmp/up-interrupted.txt"
    # A job of its own (set -m): a process group, as from a terminal, and SIGINT not ignored.
    set -m
    STUB_MODE=never in_upcopy up >"$tmp/up-interrupted.txt" 2>&1 &
    up_pid=$!
    set +m
    for ((i = 0; i < 600; i++)); do
        grep -qF "waiting for node coordinator" "$tmp/up-interrupted.txt" && break
        sleep 0.1
    done
    kill -INT -- "-$up_pid" 2>/dev/null || true
    up_status=0
    wait "$up_pid" || up_status=$?
    cp "$tmp/up-interrupted.txt" "$out"
    sed 's/^/       > /' "$out"
    check "./presage up interrupted by Ctrl-C exits 130" eq "$up_status" 130
    check "... saying so, what it left running and what to run next" out_has \
        "presage: up interrupted; left running: coordinator, nats, postgres; ./presage up finishes starting the cluster, ./presage down stops it"
    left_pids=$(cat "$upcopy/.presage/pids/"*.pid 2>/dev/null | tr '\n' ' ')
    check "... (three of them: NATS, PostgreSQL, the coordinator)" eq "$(wc -w <<<"$left_pids")" 3
    if ((EUID == 0)); then
        check "... PostgreSQL started, as root with PATH=$upcopy_path" out_has "PostgreSQL is up on 127.0.0.1:$copy_pg_port"
    fi
    # up again with other ports while that runs: refused at once. It said "already running", then
    # waited 120 s for a coordinator on the new port, or started nodes against a port nothing was on.
    t0=$SECONDS
    fails "./presage up with another PRESAGE_PORT while the coordinator runs is refused" in_upcopy PRESAGE_PORT="$node_port3" up
    check "... at once" between "$((SECONDS - t0))" 0 10
    check "... naming the port it runs on and the way out" \
        out_has "coordinator is running on :$node_port2, not :$node_port3; run ./presage down first, or use the same PRESAGE_PORT"
    t0=$SECONDS
    fails "./presage up with another PRESAGE_PG_PORT while PostgreSQL runs is refused" \
        in_upcopy PRESAGE_PG_PORT=$((copy_pg_port + 1)) up
    check "... at once" between "$((SECONDS - t0))" 0 10
    check "... naming the port and the variable" \
        out_has "postgres is running on :$copy_pg_port, not :$((copy_pg_port + 1)); run ./presage down first, or use the same PRESAGE_PG_PORT"
    fails "./presage up with another PRESAGE_NATS_PORT while NATS runs is refused" \
        in_upcopy PRESAGE_NATS_PORT=$((copy_nats_port + 1)) up
    check "... naming the port and the variable" \
        out_has "nats is running on :$copy_nats_port, not :$((copy_nats_port + 1)); run ./presage down first, or use the same PRESAGE_NATS_PORT"
    check "... and what ran is still running" eq "$(cat "$upcopy/.presage/pids/"*.pid 2>/dev/null | tr '\n' ' ')" "$left_pids"
    check "./presage down then stops what it started" run in_upcopy down
    # shellcheck disable=SC2086 # one pid per word
    check "... all of it" all_gone $left_pids
else
    skip "./presage up interrupted (no javac/jar for the stand-in)"
fi
# The launcher checks its own options first (it named infra_stop_all in its error); nothing is stopped.
fails "./presage down rejects an unknown option" "$script_dir/../presage" down --wiped
check "... naming it and what it takes" out_has "unknown option for down: --wiped (only --wipe)"
# One launcher at a time in a folder: a second up, down or demo refuses while the first runs.
mkdir -p "$tmp/locked"
cp -r "$script_dir/../presage" "$script_dir" "$tmp/locked/"
# shellcheck disable=SC2016 # $1 belongs to the inner shell
bash -c 'exec 9<"$1" && flock 9 && exec sleep 30' _ "$tmp/locked/presage" &
holder=$!
for ((i = 0; i < 100; i++)); do # until the holder has the lock
    flock -n "$tmp/locked/presage" true || break
    sleep 0.1
done
fails "./presage down while another launcher runs in its folder is refused" "$tmp/locked/presage" down
check "... saying why" out_has "another ./presage up, down or demo is running"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
check "./presage down once it has ended runs" run "$tmp/locked/presage" down

# --------------------------------------------------------------------------
echo "== ./presage bench jmh: the benchmarks it runs"
# A copy with a stand-in ./mvnw (the benchmarks "compile") and a stand-in java (Java 17 to
# infra_ensure_java; then it prints the arguments JMH's Main would get).
jmhcopy="$tmp/jmh copy"
mkdir -p "$jmhcopy/jdk/bin"
cp -r "$script_dir/../presage" "$script_dir" "$jmhcopy/"
printf '#!/bin/sh\nmkdir -p target && : >target/jmh.classpath\n' >"$jmhcopy/mvnw"
# shellcheck disable=SC2016 # for the stand-in's shell
printf '%s\n' '#!/bin/sh' \
    'case "$*" in *-XshowSettings*) echo "    java.specification.version = 17" >&2; exit 0 ;; esac' \
    'for a; do shift; [ "$a" = org.openjdk.jmh.Main ] && break; done' \
    'echo "jmh got: $*"' >"$jmhcopy/jdk/bin/java"
chmod +x "$jmhcopy/mvnw" "$jmhcopy/jdk/bin/java"
# jmh_gets EXPECTED ARG...: ./presage bench jmh ARG... gives JMH exactly EXPECTED.
jmh_gets() {
    local expected=$1
    shift
    run env JAVA_HOME="$jmhcopy/jdk" "$jmhcopy/presage" bench jmh "$@" && grep -qxF -- "jmh got: $expected" "$out"
}
check "bench jmh runs CertifyBenchmark by default" jmh_gets "CertifyBenchmark"
check "bench jmh -p zipf=0 (the usage's example) too, not every benchmark" jmh_gets "CertifyBenchmark -p zipf=0" -p zipf=0
check "... with options and their values only, too" jmh_gets "CertifyBenchmark -f 1 -wi 2 -prof gc" -f 1 -wi 2 -prof gc
check "bench jmh LogCodecBenchmark -prof gc runs the one named" jmh_gets "LogCodecBenchmark -prof gc" LogCodecBenchmark -prof gc
check "... named after the options too" jmh_gets "-prof gc LogCodecBenchmark" -prof gc LogCodecBenchmark
check "bench jmh -l lists every benchmark, as JMH does" jmh_gets "-l" -l
check "no process of this test is left" eq "$(our_processes)" ""

# --------------------------------------------------------------------------
echo
if ((skipped)); then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
((failed == 0))
