# Shared by bench/core.sh and bench/api.sh: work directory and cleanup,
# the load generator, the release build, starting Herald, PostgreSQL
# databases of the run's own, and /proc readings. Source it after setting
# ROOT; it sets WORK, HERALD, OHA and the cleanup trap.

PG_HOST=${PGHOST:-127.0.0.1}
PG_PORT=${PGPORT:-5432}
PG_USER=${PGUSER:-postgres}
# HERALD_BIN: benchmark another build (e.g. target/profiling/herald, with symbols).
HERALD=${HERALD_BIN:-$ROOT/target/release/herald}
OHA=${OHA:-$HOME/.cargo/bin/oha}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- cleanup: every process we start and every database we create ---------

SERVER_PID=""     # the herald server left running (one at a time)
EXTRA_PIDS=()     # other processes of the run (the floor server)
CREATED_DBS=()    # PostgreSQL databases this run created (and only those)

psql_admin() {
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
        -v ON_ERROR_STOP=1 -Atqc "$1"
}

stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? db pidfile pid
    trap - EXIT INT TERM
    [[ -n $SERVER_PID ]] && stop_pid "$SERVER_PID"
    for pid in "${EXTRA_PIDS[@]}"; do stop_pid "$pid"; done
    # A server of the start-time helper, in case it was interrupted.
    for pidfile in "$WORK"/*.pid; do
        [[ -f $pidfile ]] && stop_pid "$(cat "$pidfile")"
    done
    for db in "${CREATED_DBS[@]}"; do
        psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 \
            || log "could not drop database $db"
    done
    if [[ $status -ne 0 || ${BENCH_KEEP:-0} == 1 || -e $WORK/keep ]]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- prerequisites ----------------------------------------------------------

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is required"
    done
}

ensure_oha() {
    if [[ ! -x $OHA ]]; then
        if command -v oha >/dev/null; then
            OHA=$(command -v oha)
        else
            log "installing oha (cargo install oha --locked; takes a few minutes)"
            cargo install oha --locked >"$WORK/oha-install.log" 2>&1 \
                || die "cargo install oha failed, see $WORK/oha-install.log"
        fi
    fi
    log "load generator: $("$OHA" --version)"
}

build_herald() {
    if [[ ${BENCH_SKIP_BUILD:-0} != 1 && -z ${HERALD_BIN:-} ]]; then
        log "building herald (cargo build --release -p herald)"
        (cd "$ROOT" && cargo build --release -p herald) >&2 \
            || die "cargo build failed (BENCH_SKIP_BUILD=1 benchmarks the existing binary)"
    fi
    [[ -x $HERALD ]] || die "$HERALD not found (build it or unset BENCH_SKIP_BUILD)"
}

# A build leaves gigabytes of dirty pages; while the kernel writes them back
# every fsync (each PostgreSQL commit, SQLite checkpoints) waits behind
# them, for up to a second here. Flush them before measuring.
flush_disk() {
    log "flushing dirty pages (sync) so that earlier writes do not slow the database's fsyncs"
    sync
}

# Quiet server, no rate limiting (the load would hit it).
export HERALD_RATE_LIMIT=0 HERALD_RATE_LIMIT_POSTS=0 HERALD_RATE_LIMIT_UI=0
export HERALD_LOG_FORMAT=json RUST_LOG=warn
unset DATABASE_URL HERALD_CONFIG

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a command, polls GET /api/health on 127.0.0.1:PORT with http.client
# every 2 ms and prints the milliseconds from exec to the first 200.
# --stop: terminate the server afterwards; otherwise it keeps running and its
# PID is in PIDFILE.
cat >"$WORK/start_timer.py" <<'PY'
import http.client, os, subprocess, sys, time

stop = sys.argv[1] == "--stop"
port, timeout, pidfile, logfile = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
cmd = sys.argv[6:]
log = open(logfile, "ab")
t0 = time.perf_counter()
proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
with open(pidfile, "w") as f:
    f.write(str(proc.pid))
healthy = False
try:
    while True:
        if proc.poll() is not None:
            sys.exit(f"server exited with status {proc.returncode} before it was healthy (log: {logfile})")
        if time.perf_counter() - t0 > timeout:
            sys.exit(f"server not healthy after {timeout} s (log: {logfile})")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/api/health")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                elapsed_ms = (time.perf_counter() - t0) * 1000
                healthy = True
                break
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.002)
    print(f"{elapsed_ms:.1f}")
finally:
    if stop or not healthy:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.remove(pidfile)  # so cleanup never signals a recycled PID
PY

# run_herald MODE DATA_DIR PORT NAME [DATABASE_URL] -> prints ms to healthy
run_herald() {
    local mode=$1 dir=$2 port=$3 name=$4 url=${5:-}
    local -a envs=()
    [[ -n $url ]] && envs=(DATABASE_URL="$url")
    env "${envs[@]}" python3 "$WORK/start_timer.py" "$mode" "$port" 30 \
        "$WORK/$name.pid" "$WORK/$name.log" \
        "$HERALD" serve --host 127.0.0.1 --port "$port" --data-dir "$dir"
}

# start_herald DATA_DIR PORT NAME [DATABASE_URL]: a server left running,
# its PID in SERVER_PID (not meant for $(...): the cleanup must see it).
start_herald() {
    run_herald --keep "$@" >/dev/null
    SERVER_PID=$(cat "$WORK/$3.pid")
    rm -f "$WORK/$3.pid"
}

# new_pg_db NAME: creates the database and sets PG_URL. Not meant for $(...):
# CREATED_DBS must be recorded in this shell for the cleanup.
new_pg_db() {
    local db=$1
    CREATED_DBS+=("$db")
    psql_admin "CREATE DATABASE \"$db\"" >/dev/null
    PG_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$db"
}

drop_pg_db() {
    psql_admin "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
}

pg_available() {
    command -v psql >/dev/null && command -v pg_isready >/dev/null || return 1
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && return 0
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [[ -n $version ]] && command -v pg_ctlcluster >/dev/null; then
        log "PostgreSQL not reachable; trying pg_ctlcluster $version main start"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
        for _ in $(seq 20); do
            pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && return 0
            sleep 0.5
        done
    fi
    return 1
}

median() { python3 -c 'import statistics, sys; print(f"{statistics.median(float(a) for a in sys.argv[1:]):.1f}")' "$@"; }

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Samples VmRSS of PID every 100 ms into FILE until the PID file STOP exists.
sample_rss() {
    local pid=$1 file=$2 stop=$3
    while [[ ! -e $stop ]] && kill -0 "$pid" 2>/dev/null; do
        awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" >>"$file" 2>/dev/null || true
        sleep 0.1
    done
}

# api METHOD PATH EXPECTED_STATUS [curl args...] -> body on stdout ($BASE is the prefix)
api() {
    local method=$1 path=$2 expected=$3 code
    shift 3
    code=$(curl -sS -o "$WORK/response.json" -w '%{http_code}' -X "$method" \
        "$BASE$path" -H 'Content-Type: application/json' "$@")
    [[ $code == "$expected" ]] \
        || die "$method $path answered $code, expected $expected: $(head -c 300 "$WORK/response.json")"
    cat "$WORK/response.json"
}

json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# verdict VALUE TARGET -> "ok" or "MISS +x%"; lower is better.
verdict() {
    awk -v v="$1" -v t="$2" 'BEGIN {
        if (v == "n/a" || v == "") { print "?"; exit }
        if (v + 0 <= t + 0) { print "ok"; exit }
        miss = 100 * (v - t) / t
        printf (miss < 10 ? "MISS +%.1f%%" : "MISS +%.0f%%"), miss }'
}
