# shellcheck shell=bash
#
# scripts/infra.sh - local infrastructure for the ./presage launcher.
#
# This file is a library: ./presage sources it and calls the infra_* functions.
# It starts, on loopback only, what a Presage node needs (NATS with JetStream and
# a PostgreSQL cluster), installs them from Debian packages when missing, keeps
# their data under the project-local folder .presage/ (gitignored), and starts
# and stops the application nodes themselves.
#
# Layout under $PRESAGE_HOME/.presage/:
#   nats/          JetStream store (nats-server -sd)
#   pg/            PostgreSQL cluster (owned by the user PostgreSQL runs as)
#   pg-socket/     PostgreSQL's unix socket directory
#   logs/          nats.log, postgres.log, initdb.log, apt.log, build.log, <node>.log
#   pids/          <name>.pid (the pid, one line), <name>.cmdline (the exact
#                  command line we launched, NUL-separated as in /proc/PID/cmdline)
#                  and <name>.port (the port it was started on, for ./presage up to
#                  see a changed PRESAGE_*PORT); nats.pid, postgres.pid, and one
#                  per node (any other name is a node to infra_stop_all)
#
# Environment (read when a function runs, so the launcher may set them after
# sourcing this file):
#   PRESAGE_HOME            project root; default: the parent of this scripts/ dir,
#                           i.e. the directory holding ./presage
#   PRESAGE_NATS_PORT       NATS client port            (default 14222)
#   PRESAGE_NATS_HTTP_PORT  NATS HTTP monitoring port   (default 18222)
#   PRESAGE_PG_PORT         PostgreSQL port             (default 15432)
#   PRESAGE_PG_USER         OS user PostgreSQL runs as when we are root
#                           (default postgres, created by Debian's package)
#   PRESAGE_PG_BINDIR       PostgreSQL server binaries  (default: newest
#                           /usr/lib/postgresql/*/bin, or the cluster's version)
#   PRESAGE_NODE_HEAP       -Xmx of each node           (default 1g)
#   PRESAGE_NODE_GC         garbage collector of each node: auto (default:
#                           a coordinator gets Shenandoah where the JVM has
#                           it, anything else G1), shenandoah or g1; a
#                           -XX:+Use...GC in PRESAGE_JVM_OPTS wins over it
#   PRESAGE_JVM_OPTS        extra JVM options for nodes, split on spaces
#   JAVA_HOME               if set, $JAVA_HOME/bin/java is used instead of `java`
#
# Conventions, so that the launcher can run under `set -euo pipefail`:
#   - every function returns 0 on success and non-zero on failure, after
#     printing `presage: error: ...` on stderr; none of them calls `exit`;
#   - nothing relies on `set -e` inside a function (bash disables it when a
#     function is called from `if` or `||`), every failure is checked explicitly;
#   - progress is one line per step on stdout, prefixed `presage:`;
#   - every function is idempotent: calling it again when its work is done is a
#     no-op that says so.
#
# How PostgreSQL runs without root: PostgreSQL refuses to run as root. When the
# launcher runs as root we run initdb/pg_ctl as the `postgres` system user (the
# Debian package creates it; PRESAGE_PG_USER overrides) through
# `runuser -u postgres --`, from `/` so that an unreadable current directory
# does not matter. The cluster stays inside the project in .presage/pg, owned by
# that user with mode 0700 (initdb requires it). That user must be able to
# traverse every directory from / down to .presage/; where it cannot (a project
# under /root, or a 0700 temporary directory) we grant only the search (x) bit
# on those directories: an ACL entry for that user alone when setfacl works
# there, otherwise `chmod o+x`. Search permission lets the user reach a path it
# already knows; it does not let anyone list or read the directories. Each
# change is printed. When the launcher runs as an ordinary user, PostgreSQL
# simply runs as that user and nothing needs changing.

if [[ -z "${PRESAGE_HOME:-}" ]]; then
    # The launcher lives in the project root and this file in scripts/.
    PRESAGE_HOME=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P) || PRESAGE_HOME=$PWD
fi

# ---------------------------------------------------------------------------
# Small helpers (prefix _infra_, not part of the launcher's contract)
# ---------------------------------------------------------------------------

_infra_say() { printf 'presage: %s\n' "$*"; }
_infra_err() { printf 'presage: error: %s\n' "$*" >&2; }

# Prints the absolute project root, or fails if PRESAGE_HOME is not a directory.
_infra_home() {
    local home=${PRESAGE_HOME:-}
    if [[ -z "$home" || ! -d "$home" ]]; then
        _infra_err "PRESAGE_HOME ('$home') is not a directory"
        return 1
    fi
    (cd -- "$home" && pwd -P)
}

# Creates .presage/{logs,pids} and prints the path of .presage.
_infra_state() {
    local home
    home=$(_infra_home) || return 1
    if ! mkdir -p "$home/.presage/logs" "$home/.presage/pids"; then
        _infra_err "cannot create $home/.presage/ (check permissions)"
        return 1
    fi
    printf '%s\n' "$home/.presage"
}

# _infra_port_open PORT: true when something accepts TCP connections on
# 127.0.0.1:PORT. Uses bash's /dev/tcp so that no extra tool is needed.
_infra_port_open() {
    # shellcheck disable=SC2016 # $1 belongs to the inner shell
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# _infra_check_port PORT VARNAME: validates a port number from the environment:
# plain decimal, no leading zero. Bash's arithmetic reads 015432 as octal (6938)
# and refuses 08080, and PostgreSQL reads "port = 015432" as octal too, while
# the JDBC URL's 015432 is 15432: the nodes looked for PostgreSQL elsewhere.
_infra_check_port() {
    if [[ ! "$1" =~ ^[1-9][0-9]{0,4}$ ]] || (($1 > 65535)); then
        _infra_err "$2: '$1' is not a valid TCP port (1-65535, without leading zeros)"
        return 1
    fi
}

# _infra_port_free PORT WHAT HINT: fails with a clear message if the port is
# already taken by some other program.
_infra_port_free() {
    if _infra_port_open "$1"; then
        _infra_err "port $1 on 127.0.0.1 (for $2) is already in use by another program; stop it or $3"
        return 1
    fi
}

# _infra_tail FILE [N]: shows the end of a log on stderr, for error messages.
_infra_tail() {
    local file=$1 n=${2:-30}
    if [[ -s "$file" ]]; then
        printf 'presage: ---- last %s lines of %s ----\n' "$n" "$file" >&2
        tail -n "$n" -- "$file" >&2 || true
        printf 'presage: ---- end of %s ----\n' "$file" >&2
    else
        printf 'presage: (%s is empty or missing)\n' "$file" >&2
    fi
}

# _infra_abs_pidfile PIDFILE: pid files may be given relative to PRESAGE_HOME.
_infra_abs_pidfile() {
    local f=$1 home
    if [[ "$f" != /* ]]; then
        home=$(_infra_home) || return 1
        f="$home/$f"
    fi
    printf '%s\n' "$f"
}

# _infra_read_pid PIDFILE: prints the pid recorded in PIDFILE, fails if the file
# is missing or does not hold a plain number.
_infra_read_pid() {
    local pid=
    [[ -r "$1" ]] || return 1
    read -r pid <"$1" || [[ -n "$pid" ]] || return 1
    [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
    printf '%s\n' "$pid"
}

# _infra_pid_is_ours PID CMDLINEFILE: the process exists, is not a zombie, and
# its command line is byte for byte the one we recorded when we launched it.
# Our command lines always contain an absolute path inside this project's
# .presage/ (or -Dpresage.home=...), so a pid recycled by the kernel for some
# other program never matches and is never signalled.
_infra_pid_is_ours() {
    local pid=$1 expected=$2
    [[ -s "$expected" && -r "/proc/$pid/cmdline" ]] || return 1
    # Through a pipe: /proc files report size 0, and cmp would call two files
    # of different sizes different without reading them.
    cat -- "/proc/$pid/cmdline" 2>/dev/null | cmp -s -- "$expected" -
}

# _infra_pid_alive PID: the process exists and is not a zombie (a zombie's
# cmdline is empty). /proc files report size 0, so read rather than test -s.
_infra_pid_alive() {
    local arg0=''
    IFS= read -r -d '' arg0 2>/dev/null <"/proc/$1/cmdline" || true
    [[ -n "$arg0" ]]
}

# _infra_remove_pidfile PIDFILE: removes the pid file, its recorded command line and port.
_infra_remove_pidfile() {
    rm -f -- "$1" "${1%.pid}.cmdline" "${1%.pid}.port"
}

# _infra_spawn HOME PIDFILE LOG NENV [NAME=VALUE ...] ARGV...
# Starts ARGV in the background, detached from the launcher (own session, so a
# Ctrl-C or a closed terminal does not take it down; `down` stops it), with the
# NENV environment assignments, working directory HOME, stdin from /dev/null and
# stdout/stderr appended to LOG. The pid is written by the process itself right
# before it execs ARGV (a shell's $$ survives exec), so the pid file is right
# even if setsid had to fork. The exact ARGV is recorded next to the pid file
# for infra_is_running. Prints the pid.
_infra_spawn() {
    local home=$1 pidfile=$2 log=$3 nenv=$4
    shift 4
    local -a envs=("${@:1:nenv}")
    shift "$nenv"
    local pid='' i

    _infra_remove_pidfile "$pidfile"
    printf '%s\0' "$@" >"${pidfile%.pid}.cmdline" || return 1
    (
        cd -- "$home" || exit 1
        # The launcher's lock (./presage holds it on fd 9 while it runs) must not live on in a server.
        exec 9>&-
        # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner shell
        setsid env "${envs[@]}" bash -c 'echo "$$" >"$0.tmp" && mv -f -- "$0.tmp" "$0" && exec "$@"' \
            "$pidfile" "$@" </dev/null >>"$log" 2>&1 &
    )
    # The pid file appears within milliseconds, written just before the exec;
    # then wait for the exec itself, so that the process passes the identity
    # check as soon as we return. Give up after 5 s, or when it died.
    for ((i = 0; i < 50; i++)); do
        if [[ -z "$pid" ]]; then
            pid=$(_infra_read_pid "$pidfile") || pid=''
        fi
        if [[ -n "$pid" ]]; then
            if _infra_pid_is_ours "$pid" "${pidfile%.pid}.cmdline"; then
                printf '%s\n' "$pid"
                return 0
            fi
            if ! _infra_pid_alive "$pid"; then
                break # exited (gone, or a zombie)
            fi
        fi
        sleep 0.1
    done
    _infra_err "could not start '$1' (${pid:+pid $pid }not running as launched); see $log"
    _infra_tail "$log"
    return 1
}

# _infra_signal_and_wait GRACE PIDFILE...: stops the processes recorded in the
# pid files, all at once: SIGTERM, wait up to GRACE seconds, then SIGKILL. Only
# processes that pass the identity check are signalled. Pid files are removed.
_infra_signal_and_wait() {
    local grace=$1
    shift
    local -a pids=() files=() names=()
    local f pid name i left

    for f in "$@"; do
        name=$(basename -- "$f" .pid)
        if pid=$(_infra_read_pid "$f") && _infra_pid_is_ours "$pid" "${f%.pid}.cmdline"; then
            _infra_say "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            files+=("$f")
            names+=("$name")
        else
            if [[ -n "$pid" ]] && _infra_pid_alive "$pid"; then
                _infra_say "$name: pid $pid now belongs to another program; not touching it (stale pid file removed)"
            else
                _infra_say "$name was not running (stale pid file removed)"
            fi
            _infra_remove_pidfile "$f"
        fi
        pid=
    done
    ((${#pids[@]} > 0)) || return 0

    for ((i = 0; i <= grace * 10; i++)); do
        left=0
        for f in "${!pids[@]}"; do
            _infra_pid_is_ours "${pids[$f]}" "${files[$f]%.pid}.cmdline" && left=1
        done
        ((left)) || break
        sleep 0.1
    done
    for f in "${!pids[@]}"; do
        if _infra_pid_is_ours "${pids[$f]}" "${files[$f]%.pid}.cmdline"; then
            _infra_say "${names[$f]} (pid ${pids[$f]}) did not stop within ${grace} s; sending SIGKILL"
            kill -KILL "${pids[$f]}" 2>/dev/null || true
        fi
    done
    for f in "${!pids[@]}"; do
        for ((i = 0; i < 50; i++)); do
            _infra_pid_is_ours "${pids[$f]}" "${files[$f]%.pid}.cmdline" || break
            sleep 0.1
        done
        if _infra_pid_is_ours "${pids[$f]}" "${files[$f]%.pid}.cmdline"; then
            _infra_err "${names[$f]} (pid ${pids[$f]}) is still alive even after SIGKILL"
            return 1
        fi
        _infra_remove_pidfile "${files[$f]}"
    done
}

# _infra_sudo CMD...: runs CMD as root (directly when we are root, else with sudo).
_infra_sudo() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _infra_err "installing packages needs root, and sudo is not available: run ./presage up once as root, or install nats-server, postgresql and curl yourself"
        return 1
    fi
}

# ---------------------------------------------------------------------------
# Java and the build
# ---------------------------------------------------------------------------

# Prints the java command to use: $JAVA_HOME/bin/java if JAVA_HOME is set, else
# java from PATH (resolved to an absolute path so the recorded command line is
# stable).
_infra_java_bin() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        printf '%s\n' "$JAVA_HOME/bin/java"
    else
        command -v java 2>/dev/null
    fi
}

# _infra_gc_flag JAVA PROFILE: the collector option for a node, on stdout;
# nothing when PRESAGE_JVM_OPTS already picks a collector (two would stop the
# JVM at start). A coordinator gets Shenandoah: the values it keeps for every
# key die in G1's old generation, and its young pauses then came up to 6 times
# a second at 20-25 ms each (commit p99 about a third higher). A mirror gets
# G1: it mostly reads, and Shenandoah's barriers slowed its reads more than
# G1's pauses do. Measurements and the cost (mirrors sharing the machine lag
# more while the JIT warms up): BENCHMARKS.md, issue 5, 2026-11-26. Not every
# JDK build has Shenandoah (Oracle's has not), hence the probe.
_infra_gc_flag() {
    local java=$1 profile=${2:-} choice=${PRESAGE_NODE_GC:-auto}
    if [[ " ${PRESAGE_JVM_OPTS:-} " =~ [[:space:]]-XX:\+Use[A-Za-z0-9]+GC[[:space:]] ]]; then
        return 0
    fi
    case $choice in
        auto)
            if [[ $profile == coordinator ]] && _infra_java_has_shenandoah "$java"; then
                printf '%s\n' -XX:+UseShenandoahGC
            else
                printf '%s\n' -XX:+UseG1GC
            fi ;;
        shenandoah)
            if ! _infra_java_has_shenandoah "$java"; then
                _infra_err "PRESAGE_NODE_GC=shenandoah, but $java has no Shenandoah collector; use auto or g1"
                return 1
            fi
            printf '%s\n' -XX:+UseShenandoahGC ;;
        g1) printf '%s\n' -XX:+UseG1GC ;;
        *)
            _infra_err "PRESAGE_NODE_GC must be auto, shenandoah or g1, not '$choice'"
            return 1 ;;
    esac
}

# _infra_java_has_shenandoah JAVA: whether that JVM starts with Shenandoah
# (a `java -version`, about 0.1 s, once per coordinator started).
_infra_java_has_shenandoah() {
    "$1" -XX:+UseShenandoahGC -version >/dev/null 2>&1
}

# infra_ensure_java: checks that Java 17 or newer is available.
infra_ensure_java() {
    local java ver major
    if ! java=$(_infra_java_bin) || [[ -z "$java" ]]; then
        _infra_err "Java 17 or newer is required but no 'java' was found (PATH, or JAVA_HOME/bin). On Debian: apt-get install -y openjdk-17-jdk-headless"
        return 1
    fi
    # java.specification.version is "17", "21", ... (or "1.8" for Java 8).
    ver=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n 1)
    if [[ "$ver" == 1.* ]]; then major=${ver#1.}; else major=${ver%%.*}; fi
    if [[ ! "$major" =~ ^[0-9]+$ ]]; then
        _infra_err "cannot tell the version of $java (is it a working Java?); Presage needs Java 17 or newer"
        return 1
    fi
    if ((major < 17)); then
        _infra_err "Java $ver found at $java, but Presage needs Java 17 or newer. On Debian: apt-get install -y openjdk-17-jdk-headless, then set JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 (or put it first in PATH)"
        return 1
    fi
    _infra_say "using Java $major ($java)"
}

# infra_build_if_needed: builds the application (./mvnw -B package -DskipTests)
# when target/quarkus-app/quarkus-run.jar is missing or older than pom.xml or
# any file under src/main. Maven's output is shown as it goes and kept in
# .presage/logs/build.log.
infra_build_if_needed() {
    local home state jar reason='' newer log javac
    home=$(_infra_home) || return 1
    jar="$home/target/quarkus-app/quarkus-run.jar"

    if [[ ! -f "$jar" ]]; then
        reason="target/quarkus-app/quarkus-run.jar is missing"
    else
        local -a inputs=()
        [[ -e "$home/pom.xml" ]] && inputs+=("$home/pom.xml")
        [[ -d "$home/src/main" ]] && inputs+=("$home/src/main")
        if ((${#inputs[@]} > 0)); then
            newer=$(find "${inputs[@]}" -newer "$jar" -print -quit 2>/dev/null) || newer=
            [[ -n "$newer" ]] && reason="${newer#"$home"/} changed since the last build"
        fi
    fi
    if [[ -z "$reason" ]]; then
        _infra_say "build is up to date (target/quarkus-app/quarkus-run.jar)"
        return 0
    fi

    if [[ ! -f "$home/mvnw" ]]; then
        _infra_err "cannot build: $home/mvnw is missing"
        return 1
    fi
    # A JRE can run Presage but not build it; Maven's own error for that is obscure.
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/javac" ]]; then javac="$JAVA_HOME/bin/javac"; else javac=$(command -v javac 2>/dev/null) || javac=; fi
    if [[ -z "$javac" ]]; then
        _infra_err "building Presage needs a JDK (javac not found). On Debian: apt-get install -y openjdk-17-jdk-headless"
        return 1
    fi
    state=$(_infra_state) || return 1
    log="$state/logs/build.log"
    _infra_say "building Presage ($reason): ./mvnw -B package -DskipTests (output also in .presage/logs/build.log)"
    # `local -` keeps pipefail local to this function: we need Maven's status,
    # not tee's, whatever options the caller has.
    local -
    set -o pipefail
    if ! (cd -- "$home" && bash ./mvnw -B package -DskipTests) 2>&1 | tee "$log"; then
        _infra_err "the build failed; see the Maven output above or .presage/logs/build.log"
        return 1
    fi
    if [[ ! -f "$jar" ]]; then
        _infra_err "the build succeeded but target/quarkus-app/quarkus-run.jar was not produced"
        return 1
    fi
    _infra_say "build done"
}

# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------

# Prints the path of nats-server (Debian puts it in /usr/sbin, which is not in
# an ordinary user's PATH).
_infra_nats_bin() {
    if command -v nats-server 2>/dev/null; then return 0; fi
    if [[ -x /usr/sbin/nats-server ]]; then printf '%s\n' /usr/sbin/nats-server; return 0; fi
    return 1
}

# _infra_pg_bindir [PGDATA]: prints the directory holding initdb, pg_ctl,
# postgres and psql. An existing cluster must be run by its own major version;
# otherwise the newest installed version is used. PRESAGE_PG_BINDIR overrides.
_infra_pg_bindir() {
    local data=${1:-} want='' d best=
    if [[ -n "${PRESAGE_PG_BINDIR:-}" ]]; then
        best=$PRESAGE_PG_BINDIR
    elif [[ -n "$data" && -r "$data/PG_VERSION" ]]; then
        read -r want <"$data/PG_VERSION" || true
        best="/usr/lib/postgresql/$want/bin"
    else
        best=$(for d in /usr/lib/postgresql/*/bin; do
            [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" && -x "$d/psql" ]] && printf '%s\n' "$d"
        done | sort -V | tail -n 1)
    fi
    if [[ -z "$best" ]]; then
        return 1
    fi
    for d in initdb pg_ctl postgres psql; do
        if [[ ! -x "$best/$d" ]]; then
            if [[ -n "$want" ]]; then
                _infra_err "the cluster in $data was made by PostgreSQL $want, whose binaries are not in $best (install postgresql-$want, or wipe with ./presage down --wipe)"
            fi
            return 1
        fi
    done
    printf '%s\n' "$best"
}

# infra_apt_install LOG PACKAGE...: apt-get update and install, as root (sudo
# when not root), output to LOG. Waits up to 5 minutes for the dpkg lock: on a
# machine just booted, unattended-upgrades often holds it, and apt-get would
# fail at once. File descriptor 9 (the launcher's lock, see ./presage) is
# closed, so that a service the package starts does not hold it.
infra_apt_install() {
    local log=$1
    shift
    _infra_say "installing $* with apt-get (log: $log)"
    if ! _infra_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update >"$log" 2>&1 9>&-; then
        _infra_err "apt-get update failed"
        _infra_tail "$log"
        return 1
    fi
    if ! _infra_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" >>"$log" 2>&1 9>&-; then
        _infra_err "apt-get install $* failed"
        _infra_tail "$log"
        return 1
    fi
}

# infra_ensure_packages: installs the Debian packages nats-server, postgresql
# (server binaries) and curl (readiness checks) when they are missing.
infra_ensure_packages() {
    local -a need=()
    _infra_nats_bin >/dev/null || need+=(nats-server)
    _infra_pg_bindir >/dev/null 2>&1 || need+=(postgresql)
    command -v curl >/dev/null 2>&1 || need+=(curl)
    if ((${#need[@]} == 0)); then
        _infra_say "nats-server, PostgreSQL and curl are installed"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        _infra_err "missing: ${need[*]}; this launcher installs them with apt-get (Debian/Ubuntu) but apt-get is not available: install them yourself"
        return 1
    fi

    local state log
    state=$(_infra_state) || return 1
    log="$state/logs/apt.log"

    if [[ " ${need[*]} " == *" postgresql "* ]]; then
        # On a first install Debian's postinst creates a cluster `main` (port
        # 5432 or the next free one) and starts it. We run our own cluster, so
        # tell postgresql-common not to create one. createcluster.conf includes
        # createcluster.d/*.conf, and the postinst reads create_main_cluster
        # through it. The file stays, so that a later PostgreSQL major version
        # does not create one either; delete it to get Debian's default back.
        _infra_say "telling Debian not to create a default PostgreSQL cluster (/etc/postgresql-common/createcluster.d/presage.conf)"
        if ! _infra_sudo mkdir -p /etc/postgresql-common/createcluster.d ||
            ! printf '%s\n' \
                "# Written by Presage's scripts/infra.sh: Presage runs its own cluster in" \
                "# the project's .presage/pg, so no default 'main' cluster is needed." \
                "# Delete this file to get Debian's default behaviour back." \
                "create_main_cluster = false" |
            _infra_sudo tee /etc/postgresql-common/createcluster.d/presage.conf >/dev/null; then
            _infra_err "cannot write /etc/postgresql-common/createcluster.d/presage.conf"
            return 1
        fi
    fi

    infra_apt_install "$log" "${need[@]}" || return 1
    if ! _infra_nats_bin >/dev/null || ! _infra_pg_bindir >/dev/null || ! command -v curl >/dev/null 2>&1; then
        _infra_err "apt-get reported success but nats-server, the PostgreSQL server binaries (/usr/lib/postgresql/*/bin) or curl are still missing"
        return 1
    fi
    _infra_say "installed ${need[*]}"
}

# ---------------------------------------------------------------------------
# Process identity
# ---------------------------------------------------------------------------

# infra_is_running PIDFILE: true when the pid in PIDFILE is alive AND is the
# process we started (its /proc/PID/cmdline equals the command line recorded
# next to the pid file when we launched it). A relative PIDFILE is taken
# relative to PRESAGE_HOME. Prints nothing.
infra_is_running() {
    local f pid
    f=$(_infra_abs_pidfile "${1:?infra_is_running needs a pid file}") || return 1
    pid=$(_infra_read_pid "$f") || return 1
    _infra_pid_is_ours "$pid" "${f%.pid}.cmdline"
}

# ---------------------------------------------------------------------------
# NATS
# ---------------------------------------------------------------------------

# infra_start_nats: runs nats-server with JetStream on 127.0.0.1:$PRESAGE_NATS_PORT
# (monitoring on $PRESAGE_NATS_HTTP_PORT), data in .presage/nats, log in
# .presage/logs/nats.log, pid in .presage/pids/nats.pid; waits (20 s at most)
# until the port accepts connections.
infra_start_nats() {
    local port=${PRESAGE_NATS_PORT:-14222} http=${PRESAGE_NATS_HTTP_PORT:-18222}
    local state pidfile log bin pid i
    _infra_check_port "$port" PRESAGE_NATS_PORT || return 1
    _infra_check_port "$http" PRESAGE_NATS_HTTP_PORT || return 1
    state=$(_infra_state) || return 1
    pidfile="$state/pids/nats.pid"
    log="$state/logs/nats.log"

    if infra_is_running "$pidfile"; then
        _infra_say "NATS is already running (pid $(_infra_read_pid "$pidfile"))"
        return 0
    fi
    if ! bin=$(_infra_nats_bin); then
        _infra_err "nats-server is not installed (infra_ensure_packages installs it: apt-get install nats-server)"
        return 1
    fi
    _infra_port_free "$port" "NATS" "set PRESAGE_NATS_PORT" || return 1
    _infra_port_free "$http" "NATS monitoring" "set PRESAGE_NATS_HTTP_PORT" || return 1
    mkdir -p "$state/nats" || return 1

    _infra_say "starting NATS with JetStream on 127.0.0.1:$port (monitoring :$http, data .presage/nats)"
    # max_payload has no command-line flag. NATS' default (1 MB) held one log message, so one transaction,
    # under the 1 MiB value the node's limits allow by default (presage.limits.value-bytes); 8 MB is the
    # most NATS recommends, and covers presage.limits.txn-bytes' 8 MiB less the message's framing.
    printf 'max_payload: 8MB\n' >"$state/nats.conf" || return 1
    # -a binds the client and the monitoring listeners to loopback only.
    pid=$(_infra_spawn "$state/.." "$pidfile" "$log" 0 \
        "$bin" -c "$state/nats.conf" -a 127.0.0.1 -p "$port" -m "$http" -js -sd "$state/nats" -l "$log") || return 1
    printf '%s\n' "$port" >"$state/pids/nats.port" || return 1

    for ((i = 0; i < 200; i++)); do
        if ! infra_is_running "$pidfile"; then
            _infra_err "nats-server (pid $pid) exited right after starting; see .presage/logs/nats.log"
            _infra_tail "$log"
            _infra_remove_pidfile "$pidfile"
            return 1
        fi
        if _infra_port_open "$port"; then
            _infra_say "NATS is up on nats://127.0.0.1:$port (pid $pid)"
            return 0
        fi
        sleep 0.1
    done
    _infra_err "NATS did not accept connections on 127.0.0.1:$port within 20 s; stopping it. See .presage/logs/nats.log"
    _infra_tail "$log"
    _infra_signal_and_wait 5 "$pidfile" >/dev/null || true
    return 1
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# The OS user PostgreSQL runs as: PRESAGE_PG_USER (default postgres) when we are
# root, since PostgreSQL refuses to run as root; ourselves otherwise.
_infra_pg_user() {
    if ((EUID == 0)); then
        printf '%s\n' "${PRESAGE_PG_USER:-postgres}"
    else
        id -un
    fi
}

# _infra_as_pg CMD...: runs CMD as the PostgreSQL user, from / (the caller's
# working directory may not be readable by that user, and initdb complains).
_infra_as_pg() {
    local user
    user=$(_infra_pg_user) || return 1
    if ((EUID == 0)); then
        (cd / && runuser -u "$user" -- "$@")
    else
        (cd / && "$@")
    fi
}

# _infra_grant_traverse USER DIR: makes sure USER can traverse every directory
# from / down to DIR (see the header for why and how).
_infra_grant_traverse() {
    local user=$1 dir=$2 path='' comp
    # Every check below runs through runuser: without it (/usr/sbin not on a
    # root PATH, under cron or a plain su), "command not found" read as "cannot
    # traverse", and others were granted search on every directory, /root too.
    if ! command -v runuser >/dev/null 2>&1; then
        _infra_err "runuser (util-linux, in /usr/sbin) is not on PATH, and PostgreSQL must run as user $user through it; put /usr/sbin on PATH (./presage does). Nothing was changed"
        return 1
    fi
    runuser -u "$user" -- test -x "$dir" 2>/dev/null && return 0
    local -a comps
    IFS=/ read -r -a comps <<<"${dir#/}"
    for comp in / "${comps[@]}"; do
        [[ -n "$comp" ]] || continue
        if [[ "$comp" == / ]]; then path=/; else path="${path%/}/$comp"; fi
        runuser -u "$user" -- test -x "$path" 2>/dev/null && continue
        if command -v setfacl >/dev/null 2>&1 && setfacl -m "u:$user:x" -- "$path" 2>/dev/null &&
            runuser -u "$user" -- test -x "$path" 2>/dev/null; then
            _infra_say "granted user $user search (x) permission on $path (ACL) so PostgreSQL can reach .presage/pg"
        elif chmod o+x -- "$path"; then
            _infra_say "granted search (x) permission to others on $path (chmod o+x) so PostgreSQL, running as $user, can reach .presage/pg"
        else
            _infra_err "user $user cannot traverse $path and its permissions cannot be changed"
            return 1
        fi
    done
    if ! runuser -u "$user" -- test -x "$dir" 2>/dev/null; then
        _infra_err "user $user still cannot reach $dir"
        return 1
    fi
}

# _infra_pg_prepare STATE USER: creates the directories PostgreSQL writes to,
# owned by USER, and makes them reachable.
_infra_pg_prepare() {
    local state=$1 user=$2 owner
    if ((EUID == 0)); then
        if ! id -u "$user" >/dev/null 2>&1; then
            _infra_err "PostgreSQL must not run as root, and the user '$user' it should run as does not exist (Debian's postgresql package creates 'postgres'; or set PRESAGE_PG_USER)"
            return 1
        fi
        # Down to logs/ too: PostgreSQL writes its log there, and under a umask of 077 the
        # directory is root's alone.
        _infra_grant_traverse "$user" "$state/logs" || return 1
    fi
    mkdir -p "$state/pg" "$state/pg-socket" || return 1
    touch "$state/logs/postgres.log" "$state/logs/initdb.log" || return 1
    if ((EUID == 0)); then
        owner=$(stat -c %U -- "$state/pg")
        if [[ "$owner" != "$user" ]]; then
            if [[ -n "$(ls -A -- "$state/pg")" ]]; then
                _infra_err "$state/pg belongs to $owner, but PostgreSQL runs as $user (PRESAGE_PG_USER); fix its owner or wipe it with ./presage down --wipe"
                return 1
            fi
        fi
        chown "$user:" "$state/pg" "$state/pg-socket" "$state/logs/postgres.log" || return 1
    fi
    chmod 0700 "$state/pg" "$state/pg-socket" || return 1
}

# _infra_pg_write_conf STATE USER PORT: (re)writes .presage/pg/presage.conf,
# included from postgresql.conf; rewritten at each start so that a changed
# PRESAGE_PG_PORT or project path takes effect.
_infra_pg_write_conf() {
    local state=$1 user=$2 port=$3 sockdir sock_line
    sockdir="$state/pg-socket"
    # A unix socket path is limited to 107 bytes; with a deep project path we
    # go without the socket (we only connect over TCP anyway, and pg_ctl -w
    # watches postmaster.pid, not the socket).
    # Counted in bytes (the limit is the kernel's, in bytes), not in characters as ${#var} does
    # in a UTF-8 locale.
    if (($(LC_ALL=C; printf '%s' "${#sockdir}") + 20 > 107)); then
        _infra_say "project path too long for a unix socket; PostgreSQL will listen on TCP 127.0.0.1:$port only"
        sock_line="unix_socket_directories = ''"
    else
        sock_line="unix_socket_directories = '${sockdir//\'/\'\'}'"
    fi
    {
        printf '%s\n' "# Written by Presage's scripts/infra.sh at every start; edits are lost."
        printf '%s\n' "listen_addresses = '127.0.0.1'"
        printf 'port = %s\n' "$port"
        printf '%s\n' "$sock_line"
        printf '%s\n' "unix_socket_permissions = 0700"
        # Coordinator and mirrors each open JDBC and reactive pools.
        printf '%s\n' "max_connections = 200"
        printf '%s\n' "cluster_name = 'presage'"
        printf '%s\n' "logging_collector = off"
        printf '%s\n' "log_line_prefix = '%m [%p] %q%u@%d '"
    } >"$state/pg/presage.conf" || return 1
    if ((EUID == 0)); then chown "$user:" "$state/pg/presage.conf" || return 1; fi
}

# _infra_pg_postmaster_is_ours STATE: true if the pid in STATE/pg/postmaster.pid
# is a live PostgreSQL serving STATE/pg (started with -D on it, or working in
# it, as a postmaster does). pg_ctl only checks that the pid is alive: after a
# crash or a reboot the file stays, the pid may be any other process of the
# PostgreSQL user, and pg_ctl status would call it running and pg_ctl stop
# would signal it.
_infra_pg_postmaster_is_ours() {
    local pgdata="$1/pg" pid arg cwd
    pid=$(_infra_read_pid "$pgdata/postmaster.pid" 2>/dev/null) || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || cwd=
    [[ "$cwd" == "$pgdata" ]] && return 0
    while IFS= read -r -d '' arg; do
        [[ "$arg" == "$pgdata" ]] && return 0
    done <"/proc/$pid/cmdline"
    return 1
}

# _infra_pg_drop_stale_lock STATE: removes a postmaster.pid whose pid is not
# our PostgreSQL (see above), saying so; PostgreSQL would refuse to start over
# it while that pid lives.
_infra_pg_drop_stale_lock() {
    local state=$1 pid
    [[ -f "$state/pg/postmaster.pid" ]] || return 0
    _infra_pg_postmaster_is_ours "$state" && return 0
    pid=$(_infra_read_pid "$state/pg/postmaster.pid" 2>/dev/null) || pid='?'
    _infra_say "removing a stale .presage/pg/postmaster.pid (pid $pid is not our PostgreSQL; left alone)"
    rm -f -- "$state/pg/postmaster.pid"
}

# _infra_pg_record_pid STATE: writes the postmaster's pid (first line of
# postmaster.pid) to .presage/pids/postgres.pid, with its command line, and its
# port to postgres.port: the one in presage.conf, written right before it
# started (a cluster adopted after an interrupted up was not started here).
_infra_pg_record_pid() {
    local state=$1 pid port
    if ! pid=$(_infra_read_pid "$state/pg/postmaster.pid"); then
        _infra_err "PostgreSQL started but $state/pg/postmaster.pid holds no pid"
        return 1
    fi
    if ! cat "/proc/$pid/cmdline" >"$state/pids/postgres.cmdline" 2>/dev/null || [[ ! -s "$state/pids/postgres.cmdline" ]]; then
        _infra_err "PostgreSQL's postmaster (pid $pid) is not running"
        return 1
    fi
    printf '%s\n' "$pid" >"$state/pids/postgres.pid"
    port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$state/pg/presage.conf" 2>/dev/null) || port=
    if [[ -n "$port" ]]; then printf '%s\n' "$port" >"$state/pids/postgres.port"; else rm -f -- "$state/pids/postgres.port"; fi
    printf '%s\n' "$pid"
}

# infra_start_postgres: initialises a cluster in .presage/pg when there is none
# (superuser postgres, trust authentication on loopback only, UTF8, C locale),
# then starts it on 127.0.0.1:$PRESAGE_PG_PORT with `pg_ctl -w` as the
# PostgreSQL user, and records the postmaster's pid in .presage/pids/postgres.pid.
infra_start_postgres() {
    local port=${PRESAGE_PG_PORT:-15432}
    local state user bindir pid log pgdata
    _infra_check_port "$port" PRESAGE_PG_PORT || return 1
    state=$(_infra_state) || return 1
    pgdata="$state/pg"
    log="$state/logs/postgres.log"

    if infra_is_running "$state/pids/postgres.pid"; then
        _infra_say "PostgreSQL is already running (pid $(_infra_read_pid "$state/pids/postgres.pid"))"
        return 0
    fi
    if ! bindir=$(_infra_pg_bindir "$pgdata"); then
        # With an existing cluster, _infra_pg_bindir has said which version is missing.
        [[ -f "$pgdata/PG_VERSION" ]] ||
            _infra_err "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (infra_ensure_packages installs them: apt-get install postgresql)"
        return 1
    fi
    user=$(_infra_pg_user) || return 1
    _infra_pg_prepare "$state" "$user" || return 1

    # Our cluster may be running without our pid file (pid file deleted, or a
    # previous launcher run interrupted): adopt it rather than fail on the port.
    # A lock file left by a crash, naming some other process, is removed instead.
    _infra_pg_drop_stale_lock "$state"
    if [[ -f "$pgdata/PG_VERSION" ]] && _infra_pg_postmaster_is_ours "$state" &&
        _infra_as_pg "$bindir/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
        pid=$(_infra_pg_record_pid "$state") || return 1
        _infra_say "PostgreSQL is already running (pid $pid)"
        return 0
    fi

    if [[ ! -f "$pgdata/PG_VERSION" ]]; then
        if [[ -n "$(ls -A -- "$pgdata")" ]]; then
            _infra_err "$pgdata is not empty but holds no PostgreSQL cluster (no PG_VERSION); remove it or run ./presage down --wipe"
            return 1
        fi
        _infra_say "creating a PostgreSQL cluster in .presage/pg ($(basename -- "$(dirname -- "$bindir")"), as user $user; log .presage/logs/initdb.log)"
        if ! _infra_as_pg "$bindir/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C >"$state/logs/initdb.log" 2>&1; then
            _infra_err "initdb failed"
            _infra_tail "$state/logs/initdb.log"
            return 1
        fi
        # Trust, but only on the socket (mode 0700, so only $user) and on
        # 127.0.0.1; listen_addresses keeps every other interface closed anyway.
        if ! printf '%s\n' \
            "# Written by Presage's scripts/infra.sh: a local development cluster." \
            "# TYPE  DATABASE  USER  ADDRESS       METHOD" \
            "local   all       all                 trust" \
            "host    all       all   127.0.0.1/32  trust" >"$pgdata/pg_hba.conf" ||
            ! printf '\n%s\n' "include 'presage.conf'    # added by Presage's scripts/infra.sh" >>"$pgdata/postgresql.conf"; then
            _infra_err "cannot write the configuration of $pgdata"
            return 1
        fi
    fi
    _infra_pg_write_conf "$state" "$user" "$port" || return 1
    _infra_port_free "$port" "PostgreSQL" "set PRESAGE_PG_PORT" || return 1

    _infra_say "starting PostgreSQL on 127.0.0.1:$port (data .presage/pg, log .presage/logs/postgres.log)"
    local out
    if ! out=$(_infra_as_pg "$bindir/pg_ctl" -D "$pgdata" -l "$log" -w -t 60 start 2>&1 9>&-); then
        _infra_err "PostgreSQL did not start; pg_ctl said: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
        _infra_tail "$log"
        return 1
    fi
    pid=$(_infra_pg_record_pid "$state") || return 1
    _infra_say "PostgreSQL is up on 127.0.0.1:$port (pid $pid)"
}

# _infra_psql ARGS...: psql as superuser postgres on our cluster, over TCP.
_infra_psql() {
    local bindir state port=${PRESAGE_PG_PORT:-15432}
    state=$(_infra_state) || return 1
    bindir=$(_infra_pg_bindir "$state/pg") || {
        _infra_err "psql not found (PostgreSQL binaries missing)"
        return 1
    }
    PGCONNECT_TIMEOUT=5 "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

# infra_create_db NAME: creates database NAME on our cluster unless it exists.
# NAME: letters, digits, _ and -, at most 63 characters.
infra_create_db() {
    local name=${1:-} exists
    if [[ ! "$name" =~ ^[A-Za-z0-9_-]{1,63}$ ]]; then
        _infra_err "invalid database name '$name' (letters, digits, _ and -, at most 63)"
        return 1
    fi
    if ! exists=$(_infra_psql -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$name'" 2>&1); then
        _infra_err "cannot query PostgreSQL on 127.0.0.1:${PRESAGE_PG_PORT:-15432} (is it running? see .presage/logs/postgres.log): $exists"
        return 1
    fi
    if [[ "$exists" == 1 ]]; then
        _infra_say "database $name exists"
        return 0
    fi
    if ! _infra_psql -d postgres -c "CREATE DATABASE \"$name\"" >/dev/null; then
        # Someone may have created it meanwhile.
        exists=$(_infra_psql -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$name'" 2>/dev/null) || exists=
        if [[ "$exists" != 1 ]]; then
            _infra_err "cannot create database $name"
            return 1
        fi
    fi
    _infra_say "created database $name"
}

# ---------------------------------------------------------------------------
# Application nodes
# ---------------------------------------------------------------------------

# infra_start_node NAME PROFILE PORT [VAR=VALUE ...]: starts one Presage node
# (java -jar target/quarkus-app/quarkus-run.jar) in the background, after
# creating its database presage_NAME. Environment given to the node:
#   QUARKUS_PROFILE=PROFILE  QUARKUS_HTTP_PORT=PORT  QUARKUS_HTTP_HOST=127.0.0.1
#   PRESAGE_NODE_ID=NAME     PRESAGE_NATS_URL=nats://127.0.0.1:$PRESAGE_NATS_PORT
#   QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:$PRESAGE_PG_PORT/presage_NAME
#   QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://127.0.0.1:$PRESAGE_PG_PORT/presage_NAME
#   QUARKUS_DATASOURCE_USERNAME=postgres
# then the extra VAR=VALUE arguments (which may override those). Log:
# .presage/logs/NAME.log (appended, with a header per start); pid:
# .presage/pids/NAME.pid. Returns once the process is launched; use
# infra_wait_ready to wait for it. NAME: letters, digits, _ and -, not
# "nats" or "postgres".
infra_start_node() {
    local name=${1:-} profile=${2:-} port=${3:-}
    if (($# < 3)); then
        _infra_err "usage: infra_start_node NAME PROFILE PORT [VAR=VALUE ...]"
        return 1
    fi
    shift 3
    local nats_port=${PRESAGE_NATS_PORT:-14222} pg_port=${PRESAGE_PG_PORT:-15432}
    local heap=${PRESAGE_NODE_HEAP:-1g}
    local home state pidfile log java pid db kv gc

    if [[ ! "$name" =~ ^[A-Za-z0-9_-]{1,50}$ || "$name" == nats || "$name" == postgres ]]; then
        _infra_err "invalid node name '$name' (letters, digits, _ and -; not nats or postgres)"
        return 1
    fi
    if [[ -z "$profile" ]]; then
        _infra_err "infra_start_node $name: empty profile"
        return 1
    fi
    _infra_check_port "$port" "the port of node $name" || return 1
    for kv in "$@"; do
        if [[ ! "$kv" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
            _infra_err "infra_start_node $name: extra environment must be VAR=VALUE, got '$kv'"
            return 1
        fi
    done
    home=$(_infra_home) || return 1
    state=$(_infra_state) || return 1
    pidfile="$state/pids/$name.pid"
    log="$state/logs/$name.log"

    if infra_is_running "$pidfile"; then
        _infra_say "node $name is already running (pid $(_infra_read_pid "$pidfile"))"
        return 0
    fi
    if [[ ! -f "$home/target/quarkus-app/quarkus-run.jar" ]]; then
        _infra_err "target/quarkus-app/quarkus-run.jar is missing; build first (infra_build_if_needed)"
        return 1
    fi
    if ! java=$(_infra_java_bin) || [[ -z "$java" ]]; then
        _infra_err "java not found (infra_ensure_java)"
        return 1
    fi
    gc=$(_infra_gc_flag "$java" "$profile") || return 1
    _infra_port_free "$port" "node $name" "give node $name another port" || return 1
    db="presage_$name"
    infra_create_db "$db" || return 1

    # -Dpresage.home/-Dpresage.node make the command line unique to this project
    # and node, which is what infra_is_running compares.
    local -a argv=("$java" "-Xmx$heap" --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
        "-Dpresage.home=$home" "-Dpresage.node=$name")
    if [[ -n "$gc" ]]; then
        argv+=("$gc")
    fi
    if [[ -n "${PRESAGE_JVM_OPTS:-}" ]]; then
        local -a opts
        read -r -a opts <<<"$PRESAGE_JVM_OPTS"
        argv+=("${opts[@]}")
    fi
    argv+=(-jar target/quarkus-app/quarkus-run.jar)
    local -a envs=(
        "QUARKUS_PROFILE=$profile"
        "QUARKUS_HTTP_PORT=$port"
        "QUARKUS_HTTP_HOST=127.0.0.1"
        "PRESAGE_NODE_ID=$name"
        "PRESAGE_NATS_URL=nats://127.0.0.1:$nats_port"
        "QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:$pg_port/$db"
        "QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://127.0.0.1:$pg_port/$db"
        "QUARKUS_DATASOURCE_USERNAME=postgres"
        "$@"
    )
    printf '\n==== presage: node %s (profile %s, port %s) starting at %s ====\n' \
        "$name" "$profile" "$port" "$(date '+%Y-%m-%d %H:%M:%S')" >>"$log" || return 1
    pid=$(_infra_spawn "$home" "$pidfile" "$log" "${#envs[@]}" "${envs[@]}" "${argv[@]}") || return 1
    printf '%s\n' "$port" >"$state/pids/$name.port" || return 1
    _infra_say "started node $name (profile $profile) on http://127.0.0.1:$port, pid $pid, log .presage/logs/$name.log"
}

# _infra_duration SECONDS: "45 s", "3 min", "2 h 5 min" for a progress line.
_infra_duration() {
    local s=$1
    if ((s < 120)); then
        printf '%d s' "$s"
    elif ((s < 7200)); then
        printf '%d min' $(((s + 30) / 60))
    else
        printf '%d h %d min' $((s / 3600)) $(((s % 3600 + 30) / 60))
    fi
}

# infra_wait_ready NAME PORT TIMEOUT: polls http://127.0.0.1:PORT/q/health/ready
# every second until it answers 200. Fails at once if the node's process is
# gone, or after TIMEOUT seconds without progress; on failure shows the last 30
# lines of its log. Progress is the applied log sequence its health reports: a
# node working through a long log (a mirror that was down while the coordinator
# committed, a coordinator replaying on restart) is not ready until it has
# caught up, however long that takes, and says how far it has got every 10 s,
# with the time left at the rate so far. A node whose readiness reports a
# logProblem for 10 s (the log cut past what it applied, or replaced) fails at
# once with that problem: only an operator repairs it.
infra_wait_ready() {
    local name=${1:-} port=${2:-} timeout=${3:-}
    local state pidfile log code='' resp body deadline applied='' seen='' behind lag rate togo hinted=''
    local since=$SECONDS from='' next_report problem problem_since=''
    if [[ -z "$name" || ! "$timeout" =~ ^[0-9]+$ ]]; then
        _infra_err "usage: infra_wait_ready NAME PORT TIMEOUT_SECONDS"
        return 1
    fi
    _infra_check_port "$port" "the port of node $name" || return 1
    state=$(_infra_state) || return 1
    pidfile="$state/pids/$name.pid"
    log="$state/logs/$name.log"
    deadline=$((SECONDS + timeout))
    next_report=$((SECONDS + 5))
    _infra_say "waiting for node $name to be ready (http://127.0.0.1:$port/q/health/ready, up to $timeout s without progress)"
    while :; do
        if ! infra_is_running "$pidfile"; then
            _infra_err "node $name is not running (it exited, or was never started); see .presage/logs/$name.log"
            _infra_tail "$log" 30
            return 1
        fi
        # --noproxy: a proxy from the environment must never see loopback calls.
        resp=$(curl -s --noproxy '*' --max-time 2 -w '\n%{http_code}' \
            "http://127.0.0.1:$port/q/health/ready" 2>/dev/null) || true
        code=${resp##*$'\n'}
        if [[ "$code" == 200 ]]; then
            _infra_say "node $name is ready"
            return 0
        fi
        body=$(tr -d ' \t\r\n' <<<"${resp%$'\n'*}")
        # A log problem (the stream cut past what the node applied, replaced, or ending before it) needs an
        # operator: said at once (after 10 s, so that a passing state does not count), not after the timeout.
        if [[ "$resp" =~ \"logProblem\"\ *:\ *\"([^\"]*)\" ]]; then
            problem=${BASH_REMATCH[1]}
            [[ -z "$problem_since" ]] && problem_since=$SECONDS
            if ((SECONDS - problem_since >= 10)); then
                _infra_err "node $name cannot get ready: $problem; see .presage/logs/$name.log"
                _infra_tail "$log" 30
                return 1
            fi
        else
            problem_since=''
        fi
        if [[ "$body" =~ \"appliedSequence\":([0-9]+) ]]; then
            applied=${BASH_REMATCH[1]}
            [[ -z "$from" ]] && from=$applied since=$SECONDS
            if [[ -n "$seen" ]] && ((applied > seen)); then
                deadline=$((SECONDS + timeout)) # still applying the log: not stuck
            fi
            seen=$applied
        fi
        if ((SECONDS >= next_report)) && [[ -n "$applied" ]]; then
            behind='' lag=''
            if [[ "$body" =~ \"lagSequences\":([0-9]+) ]]; then
                lag=${BASH_REMATCH[1]}
                behind=", $lag behind the log"
            fi
            if ((applied > from)); then
                rate=$(((applied - from) / (SECONDS - since > 0 ? SECONDS - since : 1)))
                togo=''
                if [[ -n "$lag" ]] && ((rate > 0)); then
                    togo="; about $(_infra_duration $((lag / rate))) to go"
                fi
                _infra_say "node $name is catching up: applied the log to sequence $applied$behind ($rate/s$togo)"
                if [[ -z "$hinted" && -n "$lag" ]] && ((rate > 0 && lag / rate >= 60)); then
                    _infra_say "  (the log keeps every commit since the cluster was last wiped, benchmarks' too; ./presage down --wipe starts afresh)"
                    hinted=1
                fi
            else
                _infra_say "node $name is not ready yet: applied the log to sequence $applied$behind"
            fi
            next_report=$((SECONDS + 10))
        fi
        if ((SECONDS >= deadline)); then
            _infra_err "node $name was not ready after $timeout s without progress (last HTTP status: ${code:-none}); see .presage/logs/$name.log"
            _infra_tail "$log" 30
            return 1
        fi
        sleep 1
    done
}

# ---------------------------------------------------------------------------
# Stopping
# ---------------------------------------------------------------------------

# _infra_stop_postgres STATE: `pg_ctl stop -m fast` as the PostgreSQL user; if
# that fails, an immediate shutdown.
_infra_stop_postgres() {
    local state=$1 pidfile bindir pid=
    pidfile="$state/pids/postgres.pid"
    if [[ ! -f "$state/pg/PG_VERSION" ]]; then
        [[ -e "$pidfile" ]] && _infra_say "postgres was not running (stale pid file removed)"
        _infra_remove_pidfile "$pidfile"
        return 0
    fi
    if ! bindir=$(_infra_pg_bindir "$state/pg" 2>/dev/null); then
        # Without pg_ctl, fall back to signals on the recorded pid.
        _infra_signal_and_wait 30 "$pidfile"
        return
    fi
    _infra_pg_drop_stale_lock "$state"
    if infra_is_running "$pidfile" || { _infra_pg_postmaster_is_ours "$state" &&
        _infra_as_pg "$bindir/pg_ctl" -D "$state/pg" status >/dev/null 2>&1; }; then
        pid=$(_infra_read_pid "$state/pg/postmaster.pid" 2>/dev/null) || pid=$(_infra_read_pid "$pidfile") || pid='?'
        _infra_say "stopping postgres (pid $pid)"
        if ! _infra_as_pg "$bindir/pg_ctl" -D "$state/pg" -m fast -w -t 30 stop >/dev/null 2>&1; then
            _infra_say "PostgreSQL did not stop within 30 s; trying an immediate shutdown"
            if ! _infra_as_pg "$bindir/pg_ctl" -D "$state/pg" -m immediate -w -t 30 stop >/dev/null 2>&1; then
                _infra_err "cannot stop PostgreSQL (pid $pid); see .presage/logs/postgres.log"
                return 1
            fi
        fi
    elif [[ -e "$pidfile" ]]; then
        _infra_say "postgres was not running (stale pid file removed)"
    fi
    _infra_remove_pidfile "$pidfile"
}

# infra_stop_all [--wipe]: stops the nodes (SIGTERM, SIGKILL after 10 s), then
# PostgreSQL (pg_ctl stop -m fast), then NATS, only processes recorded in
# .presage/pids/ that are still the ones we started, and removes the pid
# files. Data is kept unless --wipe, which then deletes .presage/ entirely.
infra_stop_all() {
    local wipe=0 arg home state f
    for arg in "$@"; do
        case "$arg" in
            --wipe) wipe=1 ;;
            *)
                _infra_err "usage: infra_stop_all [--wipe]"
                return 1
                ;;
        esac
    done
    home=$(_infra_home) || return 1
    state="$home/.presage"
    if [[ ! -d "$state" ]]; then
        _infra_say "nothing to stop (no .presage/)"
        return 0
    fi

    local -a nodes=()
    if [[ -d "$state/pids" ]]; then
        for f in "$state/pids"/*.pid; do
            [[ -e "$f" ]] || continue
            case "$(basename -- "$f")" in
                nats.pid | postgres.pid) ;;
                *) nodes+=("$f") ;;
            esac
        done
    fi
    local failed=0
    # Nodes first: they hold connections to PostgreSQL and NATS.
    if ((${#nodes[@]} > 0)); then
        _infra_signal_and_wait 10 "${nodes[@]}" || failed=1
    fi
    _infra_stop_postgres "$state" || failed=1
    if [[ -e "$state/pids/nats.pid" ]]; then
        _infra_signal_and_wait 10 "$state/pids/nats.pid" || failed=1
    fi
    if ((failed)); then
        if ((wipe)); then
            _infra_err "some processes could not be stopped; not wiping .presage/"
        else
            _infra_err "some processes could not be stopped"
        fi
        return 1
    fi
    _infra_say "everything is stopped"

    if ((wipe)); then
        # Guard against a surprising PRESAGE_HOME: only ever delete <home>/.presage.
        if [[ "$(basename -- "$state")" != .presage || "$home" == / ]]; then
            _infra_err "refusing to delete $state"
            return 1
        fi
        if ! rm -rf -- "$state"; then
            _infra_err "cannot delete $state"
            return 1
        fi
        _infra_say "wiped .presage/ (NATS streams, PostgreSQL data, logs)"
    fi
}

# Sourcing is the only supported use.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    printf 'presage: %s is a library for ./presage; source it instead of running it\n' "$0" >&2
    exit 1
fi
