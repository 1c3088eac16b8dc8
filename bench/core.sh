#!/usr/bin/env bash
# Core performance benchmark for Herald, on SQLite and on PostgreSQL:
#   1. idle RSS of `herald serve` a few seconds after it is healthy;
#   2. exec -> first 200 from GET /api/health (median of N fresh starts;
#      restarts on the populated data are shown too, for context);
#   3. GET /api/posts (50 posts, API-key auth) at a fixed request rate with oha:
#      achieved rate, p50 / p99 latency, errors and non-200 responses.
# Prints a summary table with the targets of the issue beside the results.
#
# Usage: ./bench/core.sh            (from anywhere; see bench/README.md)
# Tunables (environment):
#   BENCH_RATE=1000         requests per second for the load test
#   BENCH_DURATION=15       seconds of measured load (after BENCH_WARMUP)
#   BENCH_WARMUP=2          seconds of unmeasured load first
#   BENCH_STARTS=5          fresh starts for the start-time median
#   BENCH_IDLE_WAIT=3       seconds between healthy and the RSS reading
#   BENCH_POSTS=50          posts created before the load test
#   BENCH_BACKENDS="sqlite postgres"
#   BENCH_SKIP_BUILD=1      use the existing target/release/herald
#   BENCH_KEEP=1            keep the work directory (logs, oha JSON)
#   PGHOST / PGPORT / PGUSER  (default 127.0.0.1 / 5432 / postgres)
set -euo pipefail

RATE=${BENCH_RATE:-1000}
DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-2}
STARTS=${BENCH_STARTS:-5}
IDLE_WAIT=${BENCH_IDLE_WAIT:-3}
POSTS=${BENCH_POSTS:-50}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG_HOST=${PGHOST:-127.0.0.1}
PG_PORT=${PGPORT:-5432}
PG_USER=${PGUSER:-postgres}
# Load-generator connections; at a fixed rate they only need to cover
# rate x latency, 50 is oha's default.
CONNECTIONS=${BENCH_CONNECTIONS:-50}

# Targets from the issue.
TARGET_RSS_MB=25
TARGET_START_MS=300
TARGET_P99_MS=10

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERALD=$ROOT/target/release/herald
OHA=${OHA:-$HOME/.cargo/bin/oha}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- cleanup: every process we start and every database we create ---------

SERVER_PID=""     # the herald server left running (one at a time)
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
    local status=$? db pidfile
    trap - EXIT INT TERM
    [[ -n $SERVER_PID ]] && stop_pid "$SERVER_PID"
    # A server of the start-time helper, in case it was interrupted.
    for pidfile in "$WORK"/*.pid; do
        [[ -f $pidfile ]] && stop_pid "$(cat "$pidfile")"
    done
    for db in "${CREATED_DBS[@]}"; do
        psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 \
            || log "could not drop database $db"
    done
    if [[ $status -ne 0 || ${BENCH_KEEP:-0} == 1 ]]; then
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

for tool in curl python3 awk; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

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

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "building herald (cargo build --release -p herald)"
    (cd "$ROOT" && cargo build --release -p herald) >&2 \
        || die "cargo build failed (BENCH_SKIP_BUILD=1 benchmarks the existing binary)"
fi
[[ -x $HERALD ]] || die "$HERALD not found (build it or unset BENCH_SKIP_BUILD)"

# Quiet server, no rate limiting (the load test would hit it).
export HERALD_RATE_LIMIT=0 HERALD_RATE_LIMIT_POSTS=0
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

median() { python3 -c 'import statistics, sys; print(f"{statistics.median(float(a) for a in sys.argv[1:]):.1f}")' "$@"; }

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# api METHOD PATH EXPECTED_STATUS [curl args...] -> body on stdout
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

# --- one backend ------------------------------------------------------------

declare -A R   # results: R[backend.metric]

bench_backend() {
    local backend=$1 i dir port url="" db times=() pid

    # 2. exec -> healthy, each start on a fresh data dir (and fresh database).
    log "$backend: $STARTS fresh starts"
    for i in $(seq "$STARTS"); do
        dir=$WORK/$backend-start-$i
        port=$(free_port)
        if [[ $backend == postgres ]]; then
            db=herald_bench_$$_start_$i
            new_pg_db "$db"
            url=$PG_URL
        fi
        times+=("$(run_herald --stop "$dir" "$port" "$backend-start-$i" "$url")")
        if [[ $backend == postgres ]]; then drop_pg_db "$db"; fi
    done
    R[$backend.start_ms]=$(median "${times[@]}")
    R[$backend.start_all]="${times[*]}"
    log "$backend: start times (ms): ${times[*]}"

    # 1. idle RSS of a fresh server, which then serves the load test.
    dir=$WORK/$backend-load
    port=$(free_port)
    if [[ $backend == postgres ]]; then
        new_pg_db "herald_bench_$$"
        url=$PG_URL
    fi
    run_herald --keep "$dir" "$port" "$backend-load" "$url" >/dev/null
    pid=$(cat "$WORK/$backend-load.pid")
    SERVER_PID=$pid
    rm -f "$WORK/$backend-load.pid"
    sleep "$IDLE_WAIT"
    R[$backend.rss_mb]=$(rss_mb "$pid")
    log "$backend: idle RSS ${R[$backend.rss_mb]} MB"

    # Data: account, API key, posts.
    BASE=http://127.0.0.1:$port/api
    local jar=$WORK/$backend.cookies key
    api POST /auth/register 201 -c "$jar" \
        -d '{"email":"bench@example.com","password":"benchmark-password-1"}' >/dev/null
    key=$(api POST /api-keys 201 -b "$jar" -d '{"name":"bench"}' | json_field key)
    for i in $(seq "$POSTS"); do
        api POST /posts 201 -H "Authorization: Bearer $key" \
            -d "{\"content\":\"post $i\",\"status\":\"DRAFT\"}" >/dev/null
    done
    local listed
    listed=$(api GET /posts 200 -H "Authorization: Bearer $key" \
        | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["posts"]))')
    [[ $listed == "$POSTS" ]] || die "$backend: GET /api/posts listed $listed posts, expected $POSTS"

    # 3. Fixed-rate load on GET /api/posts.
    # -w: requests in flight at the deadline complete instead of being
    # counted as "aborted due to deadline" errors.
    local -a oha_args=(--no-tui -q "$RATE" -c "$CONNECTIONS" --latency-correction -w
        -H "Authorization: Bearer $key" "$BASE/posts")
    log "$backend: warm-up ${WARMUP}s, then ${DURATION}s at $RATE req/s"
    "$OHA" -z "${WARMUP}s" "${oha_args[@]}" >/dev/null
    local ticks0 ticks1 t0 t1
    ticks0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
    "$OHA" -z "${DURATION}s" --output-format json "${oha_args[@]}" >"$WORK/$backend-oha.json"
    ticks1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
    R[$backend.cpu_pct]=$(awk -v d=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" \
        -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", 100 * d / hz / (e - s) }')
    R[$backend.rss_after_mb]=$(rss_mb "$pid")
    R[$backend.hwm_mb]=$(hwm_mb "$pid")

    # Parse oha's JSON: latencies are in seconds.
    local parsed
    parsed=$(python3 - "$WORK/$backend-oha.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = {str(k): v for k, v in (d.get("statusCodeDistribution") or {}).items()}
ok = codes.get("200", 0)
non200 = sum(v for k, v in codes.items() if k != "200")
errors = sum((d.get("errorDistribution") or {}).values())
rate = (ok + non200) / s["total"]  # completed responses per second of the run
ms = lambda v: "n/a" if v is None else f"{v * 1000:.2f}"
print(f'{rate:.1f} {ms(p.get("p50"))} {ms(p.get("p99"))} '
      f'{ms(p.get("p99.9"))} {ms(s.get("slowest"))} {ok} {non200} {errors}')
PY
)
    local rps p50 p99 p999 max ok non200 errors
    read -r rps p50 p99 p999 max ok non200 errors <<<"$parsed"
    R[$backend.rps]=$rps R[$backend.p50]=$p50 R[$backend.p99]=$p99 R[$backend.p999]=$p999
    R[$backend.max]=$max R[$backend.ok]=$ok R[$backend.non200]=$non200 R[$backend.errors]=$errors
    log "$backend: ${R[$backend.rps]} req/s, p50 ${R[$backend.p50]} ms, p99 ${R[$backend.p99]} ms"

    stop_pid "$pid"
    SERVER_PID=""

    # For context: restarts on the now populated data dir / database (no
    # migrations or secrets to create).
    times=()
    for i in $(seq "$STARTS"); do
        times+=("$(run_herald --stop "$dir" "$(free_port)" "$backend-restart-$i" "$url")")
    done
    R[$backend.restart_ms]=$(median "${times[@]}")
    log "$backend: restart times (ms): ${times[*]}"
    if [[ $backend == postgres ]]; then drop_pg_db "herald_bench_$$"; fi
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

# --- run --------------------------------------------------------------------

# Other work on this small machine skews every number: record it.
LOADAVG_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
RAN=()
for backend in $BACKENDS; do
    case $backend in
        sqlite) bench_backend sqlite; RAN+=(sqlite) ;;
        postgres)
            if pg_available; then
                bench_backend postgres; RAN+=(postgres)
            else
                log "PostgreSQL at $PG_HOST:$PG_PORT is not reachable: PostgreSQL part skipped"
                SKIPPED_PG=1
            fi ;;
        *) die "unknown backend $backend (sqlite or postgres)" ;;
    esac
done

# --- summary ----------------------------------------------------------------

# verdict VALUE TARGET -> "ok" or "MISS +x%"; lower is better.
verdict() {
    awk -v v="$1" -v t="$2" 'BEGIN {
        if (v == "n/a" || v == "") { print "?"; exit }
        if (v + 0 <= t + 0) { print "ok"; exit }
        miss = 100 * (v - t) / t
        printf (miss < 10 ? "MISS +%.1f%%" : "MISS +%.0f%%"), miss }'
}

row() {   # row LABEL TARGET_TEXT KEY [TARGET_NUMBER]
    local label=$1 target=$2 key=$3 limit=${4:-} b cell
    printf '%-34s %-12s' "$label" "$target"
    for b in "${RAN[@]}"; do
        cell=${R[$b.$key]}
        [[ -n $limit ]] && cell="$cell ($(verdict "$cell" "$limit"))"
        printf ' %-22s' "$cell"
    done
    printf '\n'
}

echo
echo "Herald core benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
echo "1-min load average at the start: $LOADAVG_BEFORE (near 0 = quiet machine; more means other work competed for the $(nproc) cores)"
echo "load: GET /api/posts ($POSTS posts, API key), ${DURATION}s at $RATE req/s, $CONNECTIONS connections, oha with latency correction, same machine"
echo
if [[ ${#RAN[@]} -eq 0 ]]; then
    echo "no backend was benchmarked"
    exit 1
fi
printf '%-34s %-12s' "metric" "target"
for b in "${RAN[@]}"; do printf ' %-22s' "$b"; done
printf '\n'
printf '%.0s-' $(seq $((47 + 23 * ${#RAN[@]}))); printf '\n'
row "idle RSS (MB)" "<= $TARGET_RSS_MB" rss_mb "$TARGET_RSS_MB"
row "start -> healthy, median (ms)" "<= $TARGET_START_MS" start_ms "$TARGET_START_MS"
row "restart, existing data (ms)" "" restart_ms
row "GET /api/posts p50 (ms)" "" p50
row "GET /api/posts p99 (ms)" "<= $TARGET_P99_MS" p99 "$TARGET_P99_MS"
row "GET /api/posts p99.9 (ms)" "" p999
row "GET /api/posts max (ms)" "" max
row "achieved rate (req/s)" ">= $RATE" rps
row "200 responses" "" ok
row "non-200 responses" "0" non200
row "transport errors (oha)" "0" errors
row "server CPU under load (%)" "" cpu_pct
row "RSS after load (MB)" "" rss_after_mb
row "peak RSS, VmHWM (MB)" "" hwm_mb
echo
for b in "${RAN[@]}"; do echo "$b start times (ms): ${R[$b.start_all]}"; done
if [[ ${SKIPPED_PG:-0} == 1 ]]; then
    echo "PostgreSQL part skipped: server not reachable at $PG_HOST:$PG_PORT"
fi
echo "RSS is VmRSS of the herald process only (1 MB = 1024 kB); PostgreSQL's own processes are not counted."
