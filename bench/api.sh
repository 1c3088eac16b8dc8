#!/usr/bin/env bash
# API latency at fixed request rates, on SQLite and on PostgreSQL, beside the
# floor of this machine: a mixed workload of five requests (list 50 posts,
# get one post, the calendar's week page, validate a post, create a draft)
# sent by five oha processes at the same time, each at its share of the
# total rate, with latency correction. The floor is a minimal axum server
# (bench/floor) answering the same requests with the bytes Herald answered,
# run in the same command: Herald's figures are also given as ratios of it.
#
# Usage: ./bench/api.sh            (from anywhere; see bench/README.md)
# Tunables (environment):
#   BENCH_RATES="250 500 1000"   total requests per second, one step each
#   BENCH_DURATION=10            seconds measured per step (after BENCH_WARMUP)
#   BENCH_WARMUP=2               seconds of unmeasured load before each step
#   BENCH_POSTS=200              posts in the workspace (a week of them)
#   BENCH_CONNECTIONS=8          connections per request kind
#   BENCH_BACKENDS="sqlite postgres"
#   BENCH_SKIP_BUILD=1           use the existing builds
#   BENCH_KEEP=1                 keep the work directory (logs, oha JSON)
#   BENCH_PERF=1                 record a perf profile of Herald during each step
#   HERALD_BIN=path              benchmark that binary (target/profiling/herald has symbols)
#   PGHOST / PGPORT / PGUSER     (default 127.0.0.1 / 5432 / postgres)
set -euo pipefail

RATES=${BENCH_RATES:-250 500 1000}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
POSTS=${BENCH_POSTS:-200}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}

# Goals of issue #23 at 1,000 req/s.
TARGET_READ_P99_MS=10
TARGET_WRITE_P99_MS=25

# The mix: name, share of the total rate (percent), kind (read/write),
# method, path. Validation stores nothing: a read.
MIX=(
    "list   30 read  GET  /api/posts?limit=50"
    "get    25 read  GET  /api/posts/{post}"
    "week   15 read  GET  /calendar?view=week"
    "valid  15 read  POST /api/posts/validate"
    "create 15 write POST /api/posts"
)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
FLOOR=$ROOT/target/bench-floor/release/herald-api-floor

require_tools curl python3 awk
ensure_oha
build_herald
if [[ ${BENCH_SKIP_BUILD:-0} != 1 || ! -x $FLOOR ]]; then
    log "building the floor (bench/floor, axum only)"
    CARGO_TARGET_DIR=$ROOT/target/bench-floor cargo build --release --locked \
        --manifest-path "$ROOT/bench/floor/Cargo.toml" >&2 || die "building bench/floor failed"
fi
# Herald may call this loopback webhook "platform" (it never does: drafts).
export HERALD_ALLOW_PRIVATE_TARGETS=true
flush_disk

declare -A R   # results: R[server.rate.request.metric]

# seed: account, session, API key, one webhook integration, POSTS drafts
# spread over this week. Sets KEY, JAR, POST_ID, BODY_CREATE, BODY_VALID.
seed() {
    local backend=$1 i when integration
    JAR=$WORK/$backend.cookies
    api POST /api/auth/register 201 -c "$JAR" \
        -d '{"email":"bench@example.com","password":"benchmark-password-1"}' >/dev/null
    KEY=$(api POST /api/api-keys 201 -b "$JAR" -d '{"name":"bench"}' | json_field key)
    integration=$(api POST /api/integrations 201 -b "$JAR" \
        -d '{"platform":"webhook","name":"bench","credentials":{"url":"http://127.0.0.1:9/hook","secret":"bench-secret-0123456789"}}' \
        | json_field id)
    BODY_CREATE="{\"content\":\"A draft about fixed-rate benchmarks, with a link https://example.com/bench and #herald\",\"status\":\"DRAFT\",\"platforms\":[\"$integration\"]}"
    BODY_VALID="{\"content\":\"Validated, never stored: https://example.com/bench #herald\",\"platforms\":[\"$integration\"],\"scheduledFor\":\"$(date -u -d '+2 days' +%Y-%m-%dT09:00:00Z)\"}"
    log "$backend: creating $POSTS posts"
    for i in $(seq "$POSTS"); do
        # Over the next seven days, so the week page has them.
        when=$(date -u -d "+$(( (i * 7 * 24 * 60) / POSTS + 60 )) minutes" +%Y-%m-%dT%H:%M:00Z)
        api POST /api/posts 201 -H "Authorization: Bearer $KEY" \
            -d "{\"content\":\"post $i of the benchmark week\",\"status\":\"DRAFT\",\"platforms\":[\"$integration\"],\"scheduledFor\":\"$when\"}" \
            >"$WORK/post.json"
        [[ $i == 1 ]] && POST_ID=$(json_field id <"$WORK/post.json")
    done
    return 0
}

# capture BACKEND: Herald's answer to each request of the mix, and the
# floor's manifest serving the same bytes.
capture() {
    local line name share kind method path url code ctype
    : >"$WORK/floor.manifest"
    for line in "${MIX[@]}"; do
        read -r name share kind method path <<<"$line"
        path=${path//\{post\}/$POST_ID}
        local -a args=(-H "Authorization: Bearer $KEY")
        [[ $name == week ]] && args=(-b "$JAR")
        [[ $name == create ]] && args+=(-H 'Content-Type: application/json' -d "$BODY_CREATE")
        [[ $name == valid ]] && args+=(-H 'Content-Type: application/json' -d "$BODY_VALID")
        read -r code ctype < <(curl -sS -o "$WORK/answer-$name" -w '%{http_code} %{content_type}\n' \
            -X "$method" "${args[@]}" "http://127.0.0.1:$PORT$path")
        [[ $code == 2* ]] || die "$method $path answered $code: $(head -c 300 "$WORK/answer-$name")"
        echo "$method $path $code ${ctype// /} $WORK/answer-$name" >>"$WORK/floor.manifest"
    done
}

# run_mix SERVER RATE SECONDS [OUT]: the five request kinds at once, each at
# its share of RATE, against 127.0.0.1:$PORT; with OUT, oha's JSON is kept.
run_mix() {
    local server=$1 rate=$2 seconds=$3 out=${4:-} line name share kind method path q
    local -a pids=()
    for line in "${MIX[@]}"; do
        read -r name share kind method path <<<"$line"
        path=${path//\{post\}/$POST_ID}
        q=$(awk -v r="$rate" -v s="$share" 'BEGIN { printf "%.2f", r * s / 100 }')
        local -a args=(--no-tui -q "$q" -c "$CONNECTIONS" --latency-correction -w -z "${seconds}s" -m "$method")
        if [[ $name == week ]]; then
            # Netscape cookie file; HttpOnly cookies are the lines starting "#HttpOnly_".
            args+=(-H "Cookie: $(awk '(!/^#/ || /^#HttpOnly_/) && NF >= 7 { printf "%s%s=%s", sep, $6, $7; sep="; " }' "$JAR")")
        else
            args+=(-H "Authorization: Bearer $KEY")
        fi
        [[ $name == create ]] && args+=(-T application/json -d "$BODY_CREATE")
        [[ $name == valid ]] && args+=(-T application/json -d "$BODY_VALID")
        if [[ -n $out ]]; then
            "$OHA" "${args[@]}" --output-format json "http://127.0.0.1:$PORT$path" >"$out-$name.json" &
        else
            "$OHA" "${args[@]}" "http://127.0.0.1:$PORT$path" >/dev/null &
        fi
        pids+=($!)
    done
    local pid
    for pid in "${pids[@]}"; do wait "$pid" || die "oha failed against $server"; done
}

# measure SERVER: every rate step; figures into R[SERVER.RATE.NAME.*].
measure() {
    local server=$1 rate line name share kind method path parsed
    for rate in $RATES; do
        log "$server: ${WARMUP}s warm-up, then ${DURATION}s of the mix at $rate req/s"
        run_mix "$server" "$rate" "$WARMUP"
        local ticks0 t0
        [[ $server != floor ]] && ticks0=$(cpu_ticks "$SERVER_PID") && t0=$(date +%s.%N)
        local perf=""
        if [[ -n ${BENCH_PERF:-} && $server != floor ]]; then
            # Where Herald's CPU goes during the step (needs symbols: HERALD_BIN=target/profiling/herald).
            perf record -q -F 999 -g -p "$SERVER_PID" -o "$WORK/$server-$rate.perf" -- sleep "$DURATION" 2>/dev/null &
            perf=$!
        fi
        run_mix "$server" "$rate" "$DURATION" "$WORK/$server-$rate"
        [[ -n $perf ]] && wait "$perf" && log "profile: perf report -i $WORK/$server-$rate.perf (work directory kept)" && touch "$WORK/keep"
        if [[ $server != floor ]]; then
            R[$server.$rate.cpu]=$(awk -v d=$(($(cpu_ticks "$SERVER_PID") - ticks0)) -v hz="$(getconf CLK_TCK)" \
                -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", 100 * d / hz / (e - s) }')
        fi
        for line in "${MIX[@]}"; do
            read -r name share kind method path <<<"$line"
            parsed=$(python3 - "$WORK/$server-$rate-$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = {str(k): v for k, v in (d.get("statusCodeDistribution") or {}).items()}
ok = sum(v for k, v in codes.items() if k.startswith("2"))
bad = sum(v for k, v in codes.items() if not k.startswith("2"))
errors = sum((d.get("errorDistribution") or {}).values())
ms = lambda v: "n/a" if v is None else f"{v * 1000:.2f}"
print(f'{(ok + bad) / s["total"]:.1f} {ms(p.get("p50"))} {ms(p.get("p99"))} {ms(s.get("slowest"))} {bad + errors}')
PY
)
            read -r R[$server.$rate.$name.rps] R[$server.$rate.$name.p50] R[$server.$rate.$name.p99] \
                R[$server.$rate.$name.max] R[$server.$rate.$name.errors] <<<"$parsed"
        done
        log "$server at $rate req/s: list p99 ${R[$server.$rate.list.p99]} ms, create p99 ${R[$server.$rate.create.p99]} ms"
    done
}

# --- run ---------------------------------------------------------------------

LOADAVG_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
SERVERS=()
FLOOR_DONE=0
for backend in $BACKENDS; do
    url=""
    if [[ $backend == postgres ]]; then
        if ! pg_available; then
            log "PostgreSQL at $PG_HOST:$PG_PORT is not reachable: PostgreSQL part skipped"
            SKIPPED_PG=1
            continue
        fi
        new_pg_db "herald_bench_api_$$"
        url=$PG_URL
    elif [[ $backend != sqlite ]]; then
        die "unknown backend $backend (sqlite or postgres)"
    fi
    PORT=$(free_port)
    start_herald "$WORK/$backend-data" "$PORT" "$backend" "$url"
    BASE=http://127.0.0.1:$PORT
    seed "$backend"
    if [[ $FLOOR_DONE == 0 ]]; then
        # The floor first, answering with this backend's bytes.
        capture
        HERALD_PORT=$PORT
        PORT=$(free_port)
        "$FLOOR" "$PORT" "$WORK/floor.manifest" >"$WORK/floor.log" 2>&1 &
        EXTRA_PIDS+=($!)
        for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.05; done
        measure floor
        stop_pid "${EXTRA_PIDS[-1]}"
        SERVERS+=(floor)
        FLOOR_DONE=1
        PORT=$HERALD_PORT
    fi
    measure "$backend"
    SERVERS+=("$backend")
    stop_pid "$SERVER_PID"
    SERVER_PID=""
done
[[ ${#SERVERS[@]} -gt 1 ]] || die "no backend was benchmarked"

# --- summary -----------------------------------------------------------------

# cell SERVER RATE NAME: "p50 / p99 / max ms" and, beside the floor, "(×p99)".
cell() {
    local s=$1 rate=$2 name=$3 text
    text="${R[$s.$rate.$name.p50]} / ${R[$s.$rate.$name.p99]} / ${R[$s.$rate.$name.max]}"
    if [[ $s != floor ]]; then
        text+=$(awk -v h="${R[$s.$rate.$name.p99]}" -v f="${R[floor.$rate.$name.p99]}" \
            'BEGIN { if (f > 0) printf " (%.1f×)", h / f }')
    fi
    [[ ${R[$s.$rate.$name.errors]} != 0 ]] && text+=" ERR ${R[$s.$rate.$name.errors]}"
    printf '%s' "$text"
}

# worst SERVER RATE KIND METRIC: the largest METRIC among the kind's requests
# (a bound on the kind's combined percentile: no request kind has more than
# 1 % of its answers above its own p99).
worst() {
    local s=$1 rate=$2 kind=$3 metric=$4 line name share k method path
    for line in "${MIX[@]}"; do
        read -r name share k method path <<<"$line"
        if [[ $k == "$kind" ]]; then echo "${R[$s.$rate.$name.$metric]}"; fi
    done | sort -g | tail -n 1
}

errors_of() {
    local s=$1 rate=$2 line name rest sum=0
    for line in "${MIX[@]}"; do
        read -r name rest <<<"$line"
        sum=$((sum + ${R[$s.$rate.$name.errors]}))
    done
    echo "$sum"
}

echo
echo "Herald API benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
echo "1-min load average at the start: $LOADAVG_BEFORE (near 0 = quiet machine)"
echo "mix (share of the rate): list 50 posts 30 %, get one post 25 %, calendar week page 15 %, validate 15 %, create a draft 15 %;"
echo "oha with latency correction, $CONNECTIONS connections per kind, ${DURATION}s per step after ${WARMUP}s warm-up, $POSTS posts; all on this machine"
echo "cells: p50 / p99 / max in ms; beside Herald, its p99 as a multiple of the floor's; ERR n = non-2xx answers and transport errors"
for rate in $RATES; do
    echo
    printf '%s req/s\n' "$rate"
    printf '%-22s' "request"
    for s in "${SERVERS[@]}"; do printf ' %-34s' "$s"; done
    printf '\n'
    for line in "${MIX[@]}"; do
        read -r name share kind method path <<<"$line"
        printf '%-22s' "$name ($kind)"
        for s in "${SERVERS[@]}"; do printf ' %-34s' "$(cell "$s" "$rate" "$name")"; done
        printf '\n'
    done
    printf '%-22s' "achieved req/s"
    for s in "${SERVERS[@]}"; do
        printf ' %-34s' "$(for l in "${MIX[@]}"; do read -r n _ <<<"$l"; echo "${R[$s.$rate.$n.rps]}"; done | awk '{ t += $1 } END { printf "%.0f", t }')"
    done
    printf '\n%-22s' "server CPU (%)"
    for s in "${SERVERS[@]}"; do printf ' %-34s' "${R[$s.$rate.cpu]:-}"; done
    printf '\n'
done

echo
echo "Goals at 1000 req/s (issue #23): reads p99 <= $TARGET_READ_P99_MS ms, writes p99 <= $TARGET_WRITE_P99_MS ms, 0 errors"
for s in "${SERVERS[@]}"; do
    [[ $s == floor ]] && continue
    [[ " $RATES " == *" 1000 "* ]] || { echo "$s: no 1000 req/s step in BENCH_RATES"; continue; }
    reads=$(worst "$s" 1000 read p99); writes=$(worst "$s" 1000 write p99)
    freads=$(worst floor 1000 read p99); fwrites=$(worst floor 1000 write p99)
    printf '%-9s reads p99 %s ms (%s; floor %s ms, %.1f×)  writes p99 %s ms (%s; floor %s ms, %.1f×)  errors %s\n' \
        "$s" "$reads" "$(verdict "$reads" "$TARGET_READ_P99_MS")" "$freads" \
        "$(awk -v a="$reads" -v b="$freads" 'BEGIN { print a / b }')" \
        "$writes" "$(verdict "$writes" "$TARGET_WRITE_P99_MS")" "$fwrites" \
        "$(awk -v a="$writes" -v b="$fwrites" 'BEGIN { print a / b }')" "$(errors_of "$s" 1000)"
done
if [[ ${SKIPPED_PG:-0} == 1 ]]; then
    echo "PostgreSQL part skipped: server not reachable at $PG_HOST:$PG_PORT"
fi
