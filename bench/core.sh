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
#   BENCH_SETTLE=60         seconds after the load before RSS is read again
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
SETTLE=${BENCH_SETTLE:-60}
POSTS=${BENCH_POSTS:-50}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
# Load-generator connections; at a fixed rate they only need to cover
# rate x latency, 50 is oha's default.
CONNECTIONS=${BENCH_CONNECTIONS:-50}

# Targets from the issues (#23 for memory).
TARGET_RSS_MB=15
TARGET_START_MS=300
TARGET_P99_MS=10

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

require_tools curl python3 awk
ensure_oha
build_herald
flush_disk

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
    start_herald "$dir" "$port" "$backend-load" "$url"
    pid=$SERVER_PID
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
    sample_rss "$pid" "$WORK/$backend-rss.txt" "$WORK/$backend-rss.stop" &
    local sampler=$!
    "$OHA" -z "${DURATION}s" --output-format json "${oha_args[@]}" >"$WORK/$backend-oha.json"
    ticks1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
    touch "$WORK/$backend-rss.stop"; wait "$sampler"
    R[$backend.rss_load_mb]=$(sort -n "$WORK/$backend-rss.txt" | tail -n 1 | awk '{ printf "%.1f", $1 / 1024 }')
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
    # Memory returned once the burst has passed.
    log "$backend: RSS right after the load ${R[$backend.rss_after_mb]} MB; waiting ${SETTLE}s"
    sleep "$SETTLE"
    R[$backend.rss_settled_mb]=$(rss_mb "$pid")
    log "$backend: RSS ${SETTLE}s after the load ${R[$backend.rss_settled_mb]} MB"

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
row "RSS under load, max (MB)" "" rss_load_mb
row "RSS right after load (MB)" "" rss_after_mb
row "RSS ${SETTLE}s after load (MB)" "<= $TARGET_RSS_MB" rss_settled_mb "$TARGET_RSS_MB"
row "peak RSS, VmHWM (MB)" "" hwm_mb
echo
for b in "${RAN[@]}"; do echo "$b start times (ms): ${R[$b.start_all]}"; done
if [[ ${SKIPPED_PG:-0} == 1 ]]; then
    echo "PostgreSQL part skipped: server not reachable at $PG_HOST:$PG_PORT"
fi
echo "RSS is VmRSS of the herald process only (1 MB = 1024 kB); PostgreSQL's own processes are not counted."
