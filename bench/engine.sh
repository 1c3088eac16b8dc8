#!/usr/bin/env bash
# Publishing-engine benchmark for Herald: throughput, lateness and duplicates
# of webhook deliveries to a local receiver, beside BullMQ on the local Redis.
#
#   A  SQLite, one process: N posts all due at the same second T
#   B  PostgreSQL, one process: the same
#   C  PostgreSQL, two processes on the same database: the same
#   D  SQLite, 100 posts spread over one minute (one every 0.6 s): lateness
#   E  BullMQ (the reference product's queue): N delayed jobs due at the same
#      time, no-op processor, jobs/s
#   F  BullMQ doing the same work as a Herald delivery: each job sends the
#      webhook provider's signed JSON POST to the same receiver (equivalent
#      work; its state lives in Redis, in memory, not in a durable database)
#
# Posts are created through the API (oha) by a process with HERALD_ROLES=web,api
# (no deliveries), scheduled far enough ahead; that process is stopped and the
# worker process(es) (HERALD_ROLES=worker,scheduler) are started before the
# posts are due. Deliveries go to bench/engine/receiver.js, which records the
# arrival time, idempotency key and scheduledFor of every request.
#
# Usage: ./bench/engine.sh                 (see bench/README.md)
#        N=10000 ./bench/engine.sh         quicker run
# Tunables (environment):
#   N=100000               posts in A, B, C and jobs in E
#   SCENARIOS="A B C D E F" which scenarios to run
#   CONCURRENCY="32 64 128" HERALD_WORKER_CONCURRENCY values (webhook deliveries
#                          may use them all: HERALD_PROVIDER_WEBHOOK_CONCURRENCY
#                          is set to the same value); with several, each
#                          backend is tuned first on SWEEP_N posts (one process)
#                          and the fastest value is used for its scenarios
#   SWEEP_N=5000           posts per tuning run (at most N)
#   D_POSTS=100 D_SPAN=60  scenario D: posts, and seconds they are spread over
#   TIMEOUT=600            seconds a scenario may take after its posts are due
#   STALL=120              give a scenario up after this many seconds without
#                          a delivery (once its last post is due)
#   BULLMQ_CONCURRENCY=64  BullMQ worker concurrency
#   CREATE_CONNECTIONS=16  oha connections while creating posts
#   CREATE_MARGIN          due time = now + CREATE_MARGIN x the creation time
#                          the pilot predicts + 10 s (default 2 on SQLite,
#                          4 on PostgreSQL, where creation slows down more;
#                          1.3 x the rate an earlier run of the same size saw)
#   BENCH_SKIP_BUILD=1     use the existing target/release/herald
#   HERALD_BIN=path        benchmark that binary instead (no build)
#   BENCH_KEEP=1           keep the work directory (logs, receiver stats, data)
#   PGHOST / PGPORT / PGUSER  (default 127.0.0.1 / 5432 / postgres)
set -euo pipefail

N=${N:-100000}
SCENARIOS=${SCENARIOS:-A B C D E F}
CONCURRENCY=${CONCURRENCY:-32 64 128}
SWEEP_N=${SWEEP_N:-5000}
D_POSTS=${D_POSTS:-100}
D_SPAN=${D_SPAN:-60}
TIMEOUT=${TIMEOUT:-600}
STALL=${STALL:-120}
BULLMQ_CONCURRENCY=${BULLMQ_CONCURRENCY:-64}
CREATE_CONNECTIONS=${CREATE_CONNECTIONS:-16}
PG_HOST=${PGHOST:-127.0.0.1}
PG_PORT=${PGPORT:-5432}
PG_USER=${PGUSER:-postgres}
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
# Seconds to keep listening after the last expected delivery, so that late
# duplicates are counted.
SETTLE=3

# Targets from the issue.
TARGET_SQLITE_S=60      # 100k delivered on SQLite, one process
TARGET_PG2_S=30         # 100k delivered on PostgreSQL, two processes
TARGET_D_P99_MS=1000    # lateness p99 at 100 posts/minute

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HELPERS=$ROOT/bench/engine
# HERALD_BIN: benchmark another build (a baseline kept aside, a profiling build).
HERALD=${HERALD_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/herald}
OHA=${OHA:-$HOME/.cargo/bin/oha}
BULLMQ_VERSION=$(sed -n 's/.*"bullmq": *"\([^"]*\)".*/\1/p' "$HELPERS/package.json")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench-engine.XXXXXX")
RUN_ID=$$
QUEUE_NAME="herald-bench-engine-$RUN_ID"

log() { printf '[engine %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[[ $N =~ ^[0-9]+$ && $N -gt 0 ]] || die "N must be a positive integer, not '$N'"

# --- cleanup: every process we start, every database and queue we create ----

PIDS=()           # background processes started by this run
CREATED_DBS=()    # PostgreSQL databases created by this run (only those)
REDIS_PID=""      # set only if this run started redis-server
PG_STARTED=""     # set only if this run started the PostgreSQL cluster
BULLMQ_USED=""

psql_admin() {
    psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -Atqc "$1"
}

# stop_pid PID [GRACE_S]: SIGTERM, then SIGKILL after the grace.
stop_pid() {
    local pid=$1 grace=${2:-15} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    log "process $pid did not stop within ${grace}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? pid db key
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    for db in "${CREATED_DBS[@]}"; do
        psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 \
            || log "could not drop database $db"
    done
    if [[ -n $BULLMQ_USED ]] && redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        # Left-overs of an interrupted BullMQ run: our queue's keys only.
        redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --scan --pattern "bull:$QUEUE_NAME*" 2>/dev/null |
            while read -r key; do redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" del "$key" >/dev/null; done || true
    fi
    if [[ -n $REDIS_PID ]]; then
        log "stopping the redis-server this run started (pid $REDIS_PID)"
        stop_pid "$REDIS_PID" 10
    fi
    if [[ -n $PG_STARTED ]]; then
        log "stopping the PostgreSQL cluster this run started ($PG_STARTED main)"
        pg_ctlcluster --skip-systemctl-redirect "$PG_STARTED" main stop >/dev/null 2>&1 || true
    fi
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

# --- prerequisites (installed when missing) --------------------------------

APT_UPDATED=""
apt_install() {
    command -v apt-get >/dev/null || die "cannot install $* (no apt-get); install it and run again"
    if [[ -z $APT_UPDATED ]]; then
        apt-get update -qq >&2 || true
        APT_UPDATED=1
    fi
    log "installing $* (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || die "apt-get install $* failed"
}
need() { # need COMMAND DEBIAN_PACKAGE
    command -v "$1" >/dev/null || apt_install "$2"
    command -v "$1" >/dev/null || die "$1 is still missing after installing $2"
}

has_scenario() { [[ " $SCENARIOS " == *" $1 "* ]]; }
# BullMQ scenarios need Redis and the bullmq package.
has_bullmq() { has_scenario E || has_scenario F; }

need curl curl
need jq jq
need awk gawk
need node nodejs
need npm npm
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[[ $NODE_MAJOR -ge 18 ]] || die "Node $(node --version) is too old; 18 or later is needed"
if has_scenario B || has_scenario C; then
    need psql postgresql-client
    need pg_isready postgresql-client
fi
if has_bullmq; then
    need redis-cli redis-tools
fi

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

if has_bullmq; then
    installed=$(node -p "try { require('$HELPERS/node_modules/bullmq/package.json').version } catch { '' }")
    if [[ $installed != "$BULLMQ_VERSION" ]]; then
        log "installing bullmq@$BULLMQ_VERSION into bench/engine/node_modules (npm install --prefix)"
        npm install --prefix "$HELPERS" --no-audit --no-fund --no-package-lock --loglevel=error >&2 \
            || die "npm install of bullmq failed"
    fi
fi

if [[ ${BENCH_SKIP_BUILD:-0} != 1 && -z ${HERALD_BIN:-} ]]; then
    log "building herald (cargo build --release -p herald)"
    (cd "$ROOT" && cargo build --release -p herald) >&2 \
        || die "cargo build failed (BENCH_SKIP_BUILD=1 benchmarks the existing binary)"
fi
[[ -x $HERALD ]] || die "$HERALD not found (build it or unset BENCH_SKIP_BUILD)"
# A private copy, so that a rebuild during the run cannot mix versions.
cp "$HERALD" "$WORK/herald"
HERALD_BUILT=$(date -u -r "$HERALD" +%Y-%m-%dT%H:%M:%SZ)
HERALD=$WORK/herald
log "benchmarking $("$HERALD" --version 2>/dev/null || echo herald), built $HERALD_BUILT"
# A build leaves gigabytes of dirty pages; every fsync (each PostgreSQL
# commit, SQLite checkpoints) would wait behind their writeback.
log "flushing dirty pages (sync)"
sync

# --- services: PostgreSQL and Redis ---------------------------------------

PG_OK=""
if has_scenario B || has_scenario C; then
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n1 || true)
        if [[ -n $version ]]; then
            log "PostgreSQL is not reachable; starting cluster $version/main"
            if pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2; then
                PG_STARTED=$version
                for _ in $(seq 50); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 0.2; done
            fi
        fi
    fi
    if pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && psql_admin 'SELECT 1' >/dev/null 2>&1; then
        PG_OK=1
    else
        log "PostgreSQL at $PG_HOST:$PG_PORT is not usable: scenarios B and C are skipped"
    fi
fi

REDIS_OK=""
if has_bullmq; then
    if ! redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        need redis-server redis-server
        log "Redis is not running; starting redis-server on $REDIS_HOST:$REDIS_PORT"
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no >&2
        for _ in $(seq 50); do redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
        REDIS_PID=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info server 2>/dev/null |
            tr -d '\r' | sed -n 's/^process_id://p')
    fi
    if redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        REDIS_OK=1
    else
        log "Redis at $REDIS_HOST:$REDIS_PORT is not usable: scenarios E and F are skipped"
    fi
fi

# --- helpers -----------------------------------------------------------------

# Quiet Herald, no API rate limits, webhooks to 127.0.0.1 allowed. Settings of
# the caller's environment that would change what is measured are dropped.
export HERALD_RATE_LIMIT=0 HERALD_RATE_LIMIT_POSTS=0 HERALD_ALLOW_PRIVATE_TARGETS=true
export HERALD_LOG_FORMAT=json RUST_LOG=warn
unset DATABASE_URL HERALD_CONFIG HERALD_ROLES HERALD_WORKER_CONCURRENCY HERALD_PROVIDER_WEBHOOK_CONCURRENCY

now_ms() { date +%s%3N; }
iso_ms() { date -u -d "@$(awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }')" +%Y-%m-%dT%H:%M:%S.%3N+00:00; }
calc() { awk "BEGIN { print ($*) }"; }
# div A B: A / B, or 0 when B is 0 (calc would fail on a literal x / 0).
div() { awk -v a="$1" -v b="$2" 'BEGIN { print (b != 0 ? a / b : 0) }'; }
fmt() { awk -v x="$1" -v f="$2" 'BEGIN { printf f, x }'; }
ms_as_s() { if [[ $1 == nan || -z $1 ]]; then echo "-"; else fmt "$(calc "$1 / 1000")" '%.2f s'; fi; }
free_port() {
    node -e 'const s = require("net").createServer();
             s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

RECEIVER_PORT=""
RECEIVER_PID=""
receiver() { # receiver GET|POST PATH
    curl -sf -X "$1" "http://127.0.0.1:$RECEIVER_PORT$2"
}

start_receiver() {
    node "$HELPERS/receiver.js" "$WORK/receiver.port" >"$WORK/receiver.log" 2>&1 &
    RECEIVER_PID=$!
    PIDS+=("$RECEIVER_PID")
    for _ in $(seq 100); do [[ -s $WORK/receiver.port ]] && break; sleep 0.05; done
    [[ -s $WORK/receiver.port ]] || die "the webhook receiver did not start (see $WORK/receiver.log)"
    RECEIVER_PORT=$(cat "$WORK/receiver.port")
    log "webhook receiver on 127.0.0.1:$RECEIVER_PORT"
}

# start_herald LOG ROLES PORT DATA_DIR DATABASE_URL CONCURRENCY -> HERALD_PID
# Runs from the work directory (so no stray ./herald.toml is read) and waits
# for GET /api/health to answer 200.
HERALD_PID=""
start_herald() {
    local logfile=$1 roles=$2 port=$3 dir=$4 url=$5 conc=$6 pid
    # The receiver is ours: the webhook platform may use every slot.
    local -a envs=(HERALD_ROLES="$roles" HERALD_WORKER_CONCURRENCY="$conc" HERALD_PROVIDER_WEBHOOK_CONCURRENCY="$conc")
    [[ -n $url ]] && envs+=(DATABASE_URL="$url")
    (cd "$WORK" && exec env "${envs[@]}" "$HERALD" serve --host 127.0.0.1 --port "$port" --data-dir "$dir") \
        >>"$logfile" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || die "herald exited before it was healthy (log: $logfile)"
        if curl -sf -o /dev/null "http://127.0.0.1:$port/api/health"; then
            HERALD_PID=$pid
            return 0
        fi
        sleep 0.1
    done
    die "herald not healthy after 30 s (log: $logfile)"
}

# POSTs JSON with the session cookie and prints the body; fails unless 201.
api_post() { # api_post PORT COOKIE_JAR PATH JSON
    local out code
    out=$(curl -s -b "$2" -c "$2" -X POST -H 'Content-Type: application/json' -d "$4" \
        -w $'\n%{http_code}' "http://127.0.0.1:$1$3")
    code=${out##*$'\n'}
    [[ $code == 201 ]] || die "POST $3 answered $code: ${out%$'\n'*}"
    printf '%s' "${out%$'\n'*}"
}

# setup_account PORT DIR -> API_KEY, INTEGRATION_ID
setup_account() {
    local port=$1 jar=$2/cookies
    api_post "$port" "$jar" /api/auth/register \
        '{"email":"bench@example.com","password":"benchmark-password-1"}' >/dev/null
    API_KEY=$(api_post "$port" "$jar" /api/api-keys '{"name":"bench"}' | jq -r .key)
    INTEGRATION_ID=$(api_post "$port" "$jar" /api/integrations \
        "{\"platform\":\"webhook\",\"name\":\"bench\",\"credentials\":{\"url\":\"http://127.0.0.1:$RECEIVER_PORT/hook\",\"secret\":\"bench-secret-0123456789\"}}" |
        jq -r .id)
    [[ $API_KEY == ptz_* && -n $INTEGRATION_ID ]] || die "could not set up the account"
}

# create_posts PORT COUNT SCHEDULED_FOR STATUS OUT_JSON -> CREATE_RATE; fails
# unless every request answered 201.
create_posts() {
    local port=$1 count=$2 at=$3 status=$4 out=$5 created
    local body="{\"content\":\"post\",\"platforms\":[\"$INTEGRATION_ID\"],\"scheduledFor\":\"$at\",\"status\":\"$status\"}"
    "$OHA" --no-tui --output-format json -n "$count" -c "$CREATE_CONNECTIONS" -m POST \
        -H "Authorization: Bearer $API_KEY" -H 'Content-Type: application/json' -d "$body" \
        "http://127.0.0.1:$port/api/posts" >"$out"
    created=$(jq '.statusCodeDistribution["201"] // 0' "$out")
    [[ $created == "$count" ]] ||
        die "creating posts: $created of $count answered 201 ($(jq -c '{statusCodeDistribution, errorDistribution}' "$out"))"
    CREATE_RATE=$(jq '.summary.requestsPerSec' "$out")
}

machine_cpu() { awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6; exit }' /proc/stat; } # total idle

# cpu_snapshot: "PID COMM TICKS" (utime + stime) of every process, then
# "machine TOTAL IDLE" (ticks of all cores).
cpu_snapshot() {
    # Processes come and go while cat reads: its complaints do not matter.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{
        lp = index($0, "(")
        for (rp = length($0); rp > lp && substr($0, rp, 1) != ")"; rp--) {}
        comm = substr($0, lp + 1, rp - lp - 1)
        gsub(/[^A-Za-z0-9_.:\/-]/, "_", comm)
        split(substr($0, rp + 2), f, " ")   # f[1] is field 3 (state)
        print $1, comm, f[12] + f[13]       # fields 14 and 15
    }'
    echo "machine $(machine_cpu)"
}

# cpu_ticks SNAP0 SNAP1 "PIDS" COMM: ticks spent between two snapshots by the
# given processes and by every process named COMM.
cpu_ticks() {
    awk -v pids=" $3 " -v comm="$4" '
        NR == FNR { t0[$1 " " $2] = $3; next }
        $1 != "machine" && (index(pids, " " $1 " ") || $2 == comm) { sum += $3 - t0[$1 " " $2] }
        END { print sum + 0 }' "$1" "$2"
}

# machine_busy SNAP0 SNAP1: percent of all cores busy between two snapshots.
machine_busy() {
    awk 'NR == FNR { if ($1 == "machine") { t0 = $2; i0 = $3 } next }
         $1 == "machine" { printf "%.1f\n", ($2 > t0 ? 100 * (1 - ($3 - i0) / ($2 - t0)) : 0) }' "$1" "$2"
}

# tag_log NAME FILE LINES_BEFORE_STOP: prints the file's lines prefixed with
# [NAME] or, past LINES_BEFORE_STOP, [NAME, at shutdown].
tag_log() {
    awk -v name="$1" -v before="$3" \
        '{ printf "[%s%s] %s\n", name, (NR > before ? ", at shutdown" : ""), $0 }' "$2"
}

declare -A R      # results: R[ID.field]
add_note() { R[$1.note]="${R[$1.note]:+${R[$1.note]}; }$2"; }
ORDER=()          # result rows in the order they ran
declare -A CREATED_N CREATED_RATE   # largest creation so far per backend: posts, posts/s
CLK_TCK=$(getconf CLK_TCK)

# run_engine ID LABEL BACKEND WORKERS COUNT CONCURRENCY MODE
#   MODE burst: COUNT posts all due at one time T, picked from a pilot of the
#               creation rate so creation and restart finish before T
#   MODE spread: COUNT posts due one after another over D_SPAN seconds
run_engine() {
    local id=$1 label=$2 backend=$3 workers=$4 count=$5 conc=$6 mode=$7
    local dir=$WORK/$id url="" port due_ms last_due_ms i at start_ms
    local -a worker_pids=()
    CREATE_RATE=""
    mkdir -p "$dir/data"
    log "[$id] $label: $count posts, $workers process(es), HERALD_WORKER_CONCURRENCY=$conc"
    if [[ $backend == postgres ]]; then
        local db
        db="herald_bench_engine_${RUN_ID}_$(tr 'A-Z-' 'a-z_' <<<"$id")"
        CREATED_DBS+=("$db")
        psql_admin "CREATE DATABASE \"$db\"" >/dev/null
        url="postgres://$PG_USER@$PG_HOST:$PG_PORT/$db"
    fi

    # 1. Posts, created by a process that does not deliver.
    port=$(free_port)
    start_herald "$dir/api.log" web,api "$port" "$dir/data" "$url" "$conc"
    local api_pid=$HERALD_PID
    setup_account "$port" "$dir"
    receiver POST /reset >/dev/null
    if [[ $mode == burst ]]; then
        local pilot=$((count / 20)) margin_ms chunk created=0 size left elapsed_ms
        ((pilot < 200)) && pilot=200
        ((pilot > 5000)) && pilot=5000
        create_posts "$port" "$pilot" "$(iso_ms $(($(now_ms) + 86400000)))" DRAFT "$dir/pilot.json"
        # Creation slows down as the tables grow, much more on PostgreSQL, and
        # whenever anything else runs: CREATE_MARGIN times the pilot's time,
        # plus 10 s for stopping the API process and starting the workers.
        # When an earlier run on this backend created at least as many posts,
        # its overall rate (if slower) with a margin of 1.3 is used instead.
        local factor=${CREATE_MARGIN:-$([[ $backend == postgres ]] && echo 4 || echo 2)} rate=$CREATE_RATE
        if ((${CREATED_N[$backend]:-0} >= count)); then
            rate=$(calc "${CREATED_RATE[$backend]} < $rate ? ${CREATED_RATE[$backend]} : $rate")
            factor=${CREATE_MARGIN:-1.3}
        fi
        margin_ms=$(calc "int($count / $rate * $factor * 1000) + 10000")
        due_ms=$(( ($(now_ms) + margin_ms + 999) / 1000 * 1000 ))
        last_due_ms=$due_ms
        log "[$id] pilot: $(printf '%.0f' "$CREATE_RATE") posts/s; expecting $(printf '%.0f' "$rate")/s x $factor;" \
            "creating $count posts due at $(iso_ms "$due_ms")"
        # In 20 chunks: if the rate of the last chunk says the rest cannot be
        # created in time, go on with the posts created so far (and say so)
        # rather than create posts that are due before the workers run.
        chunk=$(( (count + 19) / 20 ))
        start_ms=$(now_ms)
        while ((created < count)); do
            size=$(( count - created < chunk ? count - created : chunk ))
            create_posts "$port" "$size" "$(iso_ms "$due_ms")" SCHEDULED "$dir/create.json"
            created=$((created + size))
            left=$((count - created))
            if ((left > 0 && $(now_ms) + $(calc "int($left / $CREATE_RATE * 1000)") > due_ms - 5000)); then
                log "[$id] WARNING: creation too slow ($(printf '%.0f' "$CREATE_RATE") posts/s); going on with $created posts"
                add_note "$id" "only $created of $count posts created before the due time"
                break
            fi
        done
        elapsed_ms=$(( $(now_ms) - start_ms ))
        count=$created
        CREATE_RATE=$(div "$count" "$(calc "$elapsed_ms / 1000")")
        if ((count >= ${CREATED_N[$backend]:-0})); then
            CREATED_N[$backend]=$count
            CREATED_RATE[$backend]=$CREATE_RATE
        fi
        log "[$id] created $count posts in $(calc "$elapsed_ms / 1000") s ($(printf '%.0f' "$CREATE_RATE")/s)"
    else
        due_ms=$(( ($(now_ms) + 15000 + 999) / 1000 * 1000 ))
        for ((i = 0; i < count; i++)); do
            at=$(iso_ms $((due_ms + i * D_SPAN * 1000 / count)))
            code=$(curl -s -o "$dir/create.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $API_KEY" \
                -H 'Content-Type: application/json' \
                -d "{\"content\":\"post $i\",\"platforms\":[\"$INTEGRATION_ID\"],\"scheduledFor\":\"$at\"}" \
                "http://127.0.0.1:$port/api/posts")
            [[ $code == 201 ]] || die "creating post $i answered $code: $(cat "$dir/create.out")"
        done
        last_due_ms=$((due_ms + (count - 1) * D_SPAN * 1000 / count))
        log "[$id] created $count posts due from $(iso_ms "$due_ms") to $(iso_ms "$last_due_ms")"
    fi
    local api_lines
    api_lines=$(wc -l <"$dir/api.log")
    stop_pid "$api_pid"

    # 2. Worker process(es) on the same data dir / database, started before T.
    local -a worker_ports=()
    for ((i = 1; i <= workers; i++)); do
        worker_ports+=("$(free_port)")
        start_herald "$dir/worker$i.log" worker,scheduler "${worker_ports[-1]}" "$dir/data" "$url" "$conc"
        worker_pids+=("$HERALD_PID")
    done
    local early_ms=$((due_ms - $(now_ms)))
    if ((early_ms < 0)); then
        log "[$id] WARNING: the workers started $((-early_ms)) ms after the posts were due; lateness includes it"
        add_note "$id" "workers started $(calc "-$early_ms / 1000") s late"
    else
        log "[$id] workers ready $(calc "$early_ms / 1000") s before the first post is due"
    fi

    # 3. Wait for the deliveries (CPU is sampled from the due time on).
    local deadline_ms=$((last_due_ms + TIMEOUT * 1000)) got=0 unique=0 now progress_ms=0
    local seen=-1 seen_ms=$due_ms
    rm -f "$dir/cpu0"
    while :; do
        now=$(now_ms)
        [[ ! -e $dir/cpu0 ]] && ((now >= due_ms)) && cpu_snapshot >"$dir/cpu0"
        read -r got unique < <(receiver GET /count) || true
        ((unique >= count)) && break
        if ((now > deadline_ms)); then
            log "[$id] TIMEOUT: $unique of $count delivered ${TIMEOUT}s after the last due time"
            add_note "$id" "TIMEOUT after ${TIMEOUT}s"
            break
        fi
        if ((got != seen)); then
            seen=$got
            seen_ms=$now
        elif ((now > last_due_ms && now - seen_ms > STALL * 1000)); then
            log "[$id] STALLED: no delivery for ${STALL}s, $unique of $count delivered"
            add_note "$id" "stalled (${STALL}s without a delivery)"
            break
        fi
        for pid in "${worker_pids[@]}"; do
            kill -0 "$pid" 2>/dev/null || { add_note "$id" "a worker process exited"; log "[$id] worker $pid exited"; break 2; }
        done
        if ((now - progress_ms >= 10000 && now >= due_ms)); then
            log "[$id] $unique of $count delivered"
            progress_ms=$now
        fi
        sleep 0.5
    done
    [[ -e $dir/cpu0 ]] || cpu_snapshot >"$dir/cpu0"
    cpu_snapshot >"$dir/cpu1"
    sleep "$SETTLE"
    receiver GET /stats >"$dir/stats.json"
    local -a worker_lines=()
    for ((i = 1; i <= workers; i++)); do worker_lines+=("$(wc -l <"$dir/worker$i.log")"); done
    # Database round trips of the worker process(es), from their /metrics:
    # every statement, and a BEGIN and a COMMIT per transaction.
    local statements=0 transactions=0 port
    for port in "${worker_ports[@]}"; do
        read -r a b < <(curl -sf "http://127.0.0.1:$port/metrics" | awk '
            /^herald_db_statements_total / { s = $2 } /^herald_db_transactions_total / { t = $2 }
            END { printf "%d %d\n", s, t }') || true
        statements=$((statements + ${a:-0})) transactions=$((transactions + ${b:-0}))
    done
    for pid in "${worker_pids[@]}"; do stop_pid "$pid"; done
    [[ $backend == postgres ]] && psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
    [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$dir/data"

    # 4. Results.
    local s=$dir/stats.json
    local total_s last_ms
    last_ms=$(jq '.lastArrivalMs // 0' "$s")
    total_s=$(calc "($last_ms - $(jq '.firstDueMs // 0' "$s")) / 1000")
    R[$id.label]=$label
    R[$id.count]=$count
    R[$id.conc]=$conc
    R[$id.workers]=$workers
    R[$id.delivered]=$(jq .unique "$s")
    R[$id.dups]=$(jq .duplicates "$s")
    R[$id.statements]=$statements
    R[$id.transactions]=$transactions
    R[$id.trips]=$(div "$((statements + 2 * transactions))" "$(jq .unique "$s")")
    R[$id.bad]=$(jq .badRequests "$s")
    R[$id.total]=$total_s
    R[$id.rate]=$(div "$(jq .unique "$s")" "$total_s")
    R[$id.p50]=$(jq -r '.latenessMs.p50 // "nan"' "$s")
    R[$id.p99]=$(jq -r '.latenessMs.p99 // "nan"' "$s")
    R[$id.max]=$(jq -r '.latenessMs.max // "nan"' "$s")
    R[$id.create]=${CREATE_RATE:-}
    # Rate over the first and the second half of the deliveries.
    local half_ms
    half_ms=$(jq -r '.arrivalAfterFirstDueMs.p50 // 0' "$s")
    R[$id.half1]=$(div "$(calc "${R[$id.delivered]} / 2")" "$(calc "$half_ms / 1000")")
    R[$id.half2]=$(div "$(calc "${R[$id.delivered]} / 2")" "$(calc "$total_s - $half_ms / 1000")")
    # CPU from the due time to the last delivery.
    local wall_s
    wall_s=$(calc "($last_ms - $due_ms) / 1000")
    local ticks_per_s
    ticks_per_s=$(calc "$wall_s > 0 ? $wall_s * $CLK_TCK : 1")
    R[$id.cpu]=$(calc "$(cpu_ticks "$dir/cpu0" "$dir/cpu1" "${worker_pids[*]}" "") / $ticks_per_s")
    R[$id.pgcpu]=$(calc "$(cpu_ticks "$dir/cpu0" "$dir/cpu1" "" postgres) / $ticks_per_s")
    R[$id.rcpu]=$(calc "$(cpu_ticks "$dir/cpu0" "$dir/cpu1" "$RECEIVER_PID" "") / $ticks_per_s")
    R[$id.busy]=$(machine_busy "$dir/cpu0" "$dir/cpu1")
    # With RUST_LOG=warn every line Herald writes is a warning, an error or a panic.
    # Lines written after a process was told to stop are tagged "at shutdown".
    {
        tag_log api "$dir/api.log" "$api_lines"
        for ((i = 1; i <= workers; i++)); do tag_log "worker$i" "$dir/worker$i.log" "${worker_lines[i - 1]}"; done
    } >"$dir/issues.log"
    R[$id.issues]=$(wc -l <"$dir/issues.log")
    R[$id.shutdown_issues]=$(grep -c '^\[[a-z0-9]*, at shutdown\]' "$dir/issues.log" || true)
    ((${R[$id.issues]} > 0)) && touch "$WORK/keep"
    ORDER+=("$id")
    log "[$id] $(jq -c . "$s")"
}

# tune BACKEND -> BEST_CONC: runs SWEEP_N posts once per CONCURRENCY value.
declare -A BEST
tune() {
    local backend=$1 best="" best_rate=0 c id n=$SWEEP_N
    read -r -a values <<<"$CONCURRENCY"
    if ((${#values[@]} == 1)); then
        BEST[$backend]=${values[0]}
        return
    fi
    ((n > N)) && n=$N
    for c in "${values[@]}"; do
        id="tune-$backend-c$c"
        run_engine "$id" "tuning: $backend, 1 process" "$backend" 1 "$n" "$c" burst
        if [[ -z ${R[$id.note]:-} && ${R[$id.dups]} == 0 ]] &&
            (($(calc "${R[$id.rate]} > $best_rate ? 1 : 0"))); then
            best=$c
            best_rate=${R[$id.rate]}
        fi
    done
    BEST[$backend]=${best:-${values[0]}}
    log "HERALD_WORKER_CONCURRENCY for $backend: ${BEST[$backend]}"
}

# --- run -----------------------------------------------------------------

# Other work on the machine skews every number: say how busy it was.
read -r t0 i0 <<<"$(machine_cpu)"
sleep 2
read -r t1 i1 <<<"$(machine_cpu)"
BUSY_BEFORE=$(calc "100 * (1 - $(div "$((i1 - i0))" "$((t1 - t0))"))")
if (($(calc "$BUSY_BEFORE > 10 ? 1 : 0"))); then
    log "WARNING: the machine is $(fmt "$BUSY_BEFORE" '%.0f')% busy before the benchmark; results will be skewed"
fi

start_receiver
log "N=$N, scenarios: $SCENARIOS, concurrency values: $CONCURRENCY"

if has_scenario A || has_scenario D; then tune sqlite; fi
if [[ -n $PG_OK ]] && { has_scenario B || has_scenario C; }; then tune postgres; fi

has_scenario A && run_engine A "A SQLite, 1 process" sqlite 1 "$N" "${BEST[sqlite]}" burst
if [[ -n $PG_OK ]]; then
    has_scenario B && run_engine B "B PostgreSQL, 1 process" postgres 1 "$N" "${BEST[postgres]}" burst
    has_scenario C && run_engine C "C PostgreSQL, 2 processes" postgres 2 "$N" "${BEST[postgres]}" burst
fi
has_scenario D && run_engine D "D SQLite, $D_POSTS posts over ${D_SPAN}s" sqlite 1 "$D_POSTS" "${BEST[sqlite]}" spread

# run_bullmq ID MODE(noop|http) -> JSON line on stdout (empty on failure)
run_bullmq() {
    local id=$1 mode=$2 json
    local -a envs=(BULLMQ_TIMEOUT_MS=$((TIMEOUT * 1000)))
    [[ $mode == http ]] && envs+=(BULLMQ_HTTP_URL="http://127.0.0.1:$RECEIVER_PORT/hook")
    BULLMQ_USED=1
    json=$(env "${envs[@]}" node "$HELPERS/bullmq.js" "$N" "$BULLMQ_CONCURRENCY" \
        "$QUEUE_NAME-$id" "$REDIS_HOST" "$REDIS_PORT" 2>"$WORK/bullmq-$id.log") || {
        log "[$id] BullMQ run failed: $(tail -n 5 "$WORK/bullmq-$id.log")"
        json=""
    }
    printf '%s' "$json"
}

E_JSON=""
if has_scenario E && [[ -n $REDIS_OK ]]; then
    log "[E] BullMQ $BULLMQ_VERSION: $N delayed jobs, concurrency $BULLMQ_CONCURRENCY, no-op processor"
    E_JSON=$(run_bullmq E noop)
    [[ -n $E_JSON ]] && log "[E] $E_JSON"
fi
F_JSON=""
F_STATS=""
if has_scenario F && [[ -n $REDIS_OK ]]; then
    log "[F] BullMQ $BULLMQ_VERSION: $N delayed jobs, concurrency $BULLMQ_CONCURRENCY, each a signed webhook POST"
    receiver POST /reset >/dev/null
    F_JSON=$(run_bullmq F http)
    sleep "$SETTLE"
    F_STATS=$(receiver GET /stats)
    [[ -n $F_JSON ]] && log "[F] $F_JSON"
fi
REDIS_PERSISTENCE=""
if [[ -n $REDIS_OK ]] && has_bullmq; then
    REDIS_PERSISTENCE="appendonly $(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config get appendonly 2>/dev/null | tail -n1), \
save \"$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config get save 2>/dev/null | tail -n1)\""
fi

# --- summary ------------------------------------------------------------------

verdict() { # verdict OK? TEXT
    if [[ $1 == 1 ]]; then echo "ok"; else echo "MISS${2:+ ($2)}"; fi
}

row() { # row ID TARGET_TEXT VERDICT
    local id=$1
    printf '%-34s %8s %9s %11s %8s %9s %9s %5s  %-24s %s\n' \
        "${R[$id.label]} (c=${R[$id.conc]})" "${R[$id.count]}" "${R[$id.delivered]}" \
        "$(if [[ $id == D ]]; then echo -; else fmt "${R[$id.rate]}" '%.0f/s'; fi)" "$(fmt "${R[$id.total]}" '%.1f s')" \
        "$(ms_as_s "${R[$id.p50]}")" "$(ms_as_s "${R[$id.p99]}")" "${R[$id.dups]}" "$2" \
        "$3${R[$id.note]:+ — note: ${R[$id.note]}}"
}

# Throughput targets are for 100k posts; a smaller N is held to the same rate.
rate_target() { calc "100000 / $1"; }
rate_row() { # rate_row ID SECONDS_FOR_100K
    local id=$1 need ok=1 why=()
    need=$(rate_target "$2")
    (($(calc "${R[$id.rate]} >= $need ? 1 : 0"))) || { ok=0; why+=("rate"); }
    [[ ${R[$id.delivered]} == "${R[$id.count]}" ]] || { ok=0; why+=("missing $((${R[$id.count]} - ${R[$id.delivered]}))"); }
    [[ ${R[$id.dups]} == 0 ]] || { ok=0; why+=("duplicates"); }
    row "$id" "$(fmt "$need" '≥ %.0f/s') (100k ≤ ${2}s)" "$(verdict "$ok" "$(IFS=,; echo "${why[*]}")")"
}
plain_row() { # rows without a throughput target: duplicates and completeness only
    local id=$1 ok=1 why=()
    [[ ${R[$id.delivered]} == "${R[$id.count]}" ]] || { ok=0; why+=("missing $((${R[$id.count]} - ${R[$id.delivered]}))"); }
    [[ ${R[$id.dups]} == 0 ]] || { ok=0; why+=("duplicates"); }
    row "$id" "dups 0" "$(verdict "$ok" "$(IFS=,; echo "${why[*]}")")"
}

{
    echo
    echo "Herald publishing engine — webhook deliveries to a local receiver, N=$N"
    echo "target/release/herald built $HERALD_BUILT (HEAD $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes')), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine CPU busy before the run: $(fmt "$BUSY_BEFORE" '%.0f')% of $(nproc) cores (other work skews the numbers)"
    echo "delivered/s = posts delivered / (last delivery - due time); lateness = arrival at the receiver - scheduledFor"
    echo
    printf '%-34s %8s %9s %11s %8s %9s %9s %5s  %-24s %s\n' \
        scenario posts delivered delivered/s total "late p50" "late p99" dups target result
    printf '%.0s-' {1..140}; echo
    for id in "${ORDER[@]}"; do
        case $id in
            A) rate_row A "$TARGET_SQLITE_S" ;;
            C) rate_row C "$TARGET_PG2_S" ;;
            D)
                ok=1; why=()
                if [[ ${R[D.p99]} == nan ]] || (($(calc "${R[D.p99]} > $TARGET_D_P99_MS ? 1 : 0"))); then
                    ok=0; why+=("p99")
                fi
                [[ ${R[D.delivered]} == "${R[D.count]}" ]] || { ok=0; why+=("missing"); }
                [[ ${R[D.dups]} == 0 ]] || { ok=0; why+=("duplicates"); }
                row D "p99 ≤ 1 s, dups 0" "$(verdict "$ok" "$(IFS=,; echo "${why[*]}")")" ;;
            B) plain_row B ;;
            *) ;;
        esac
    done
    # ratio RATE: "Herald A <x>×, Herald C <y>×": each Herald scenario's
    # delivered/s as a multiple of this BullMQ rate (issue #23: ≥ 1.5× F).
    ratio() {
        local out="" id
        for id in A C; do
            [[ -n ${R[$id.rate]:-} ]] || continue
            out+="${out:+, }$(fmt "$(div "${R[$id.rate]}" "$1")" "Herald $id %.2f×")"
        done
        echo "$out"
    }
    if [[ -n $E_JSON ]]; then
        e() { jq -r "$1" <<<"$E_JSON"; }
        printf '%-34s %8s %9s %11s %8s %9s %9s %5s  %-24s %s\n' \
            "E BullMQ $BULLMQ_VERSION no-op (c=$BULLMQ_CONCURRENCY)" "$(e .n)" "$(e .completed)" \
            "$(fmt "$(e '.jobsPerSec // 0')" '%.0f/s')" "$(fmt "$(e '.totalSeconds // 0')" '%.1f s')" \
            "$(ms_as_s "$(e '.latenessMs.p50 // "nan"')")" "$(ms_as_s "$(e '.latenessMs.p99 // "nan"')")" \
            "$(e .duplicates)" "(reference)" "$(ratio "$(e '.jobsPerSec // 0')")"
    elif has_scenario E; then
        echo "E BullMQ: not run (Redis unavailable or the run failed; see the log above)"
    fi
    if [[ -n $F_JSON ]]; then
        f() { jq -r "$1" <<<"$F_JSON"; }
        fs() { jq -r "$1" <<<"${F_STATS:-null}"; }
        printf '%-34s %8s %9s %11s %8s %9s %9s %5s  %-24s %s\n' \
            "F BullMQ $BULLMQ_VERSION + POST (c=$BULLMQ_CONCURRENCY)" "$(f .n)" "$(fs '.unique // 0')" \
            "$(fmt "$(f '.jobsPerSec // 0')" '%.0f/s')" "$(fmt "$(f '.totalSeconds // 0')" '%.1f s')" \
            "$(ms_as_s "$(fs '.latenessMs.p50 // "nan"')")" "$(ms_as_s "$(fs '.latenessMs.p99 // "nan"')")" \
            "$(fs '.duplicates // 0')" "(equivalent work)" \
            "$(ratio "$(f '.jobsPerSec // 0')")$( [[ $(f '.failed // 0') != 0 ]] && echo " — $(f .failed) jobs failed")"
    elif has_scenario F; then
        echo "F BullMQ + POST: not run (Redis unavailable or the run failed; see the log above)"
    fi
    if has_scenario B || has_scenario C; then
        [[ -n $PG_OK ]] || echo "B, C: skipped (PostgreSQL unavailable)"
    fi
    echo
    echo "Context per run. CPU from the due time to the last delivery, 100% = one core; machine = all $(nproc) cores."
    echo "postgres = every process named postgres (includes other users of the server, if any)."
    echo "halves = delivered/s over the first and over the second half of the deliveries."
    printf '  %-20s %7s %5s %8s %11s %7s %9s %9s %8s  %s\n' run workers c "create/s" "halves /s" herald postgres \
        receiver machine "Herald log lines: run / shutdown; note"
    for id in $(printf '%s\n' "${!R[@]}" | sed -n 's/\.label$//p' | sort); do
        printf '  %-20s %7s %5s %8s %11s %7s %9s %9s %8s  %s\n' "$id" "${R[$id.workers]}" "${R[$id.conc]}" \
            "$( [[ -n ${R[$id.create]} ]] && fmt "${R[$id.create]}" '%.0f' || echo -)" \
            "$(if [[ $id == D ]]; then echo -; else fmt "${R[$id.half1]}" '%.0f' && fmt "${R[$id.half2]}" ' / %.0f'; fi)" \
            "$(fmt "$(calc "${R[$id.cpu]} * 100")" '%.0f%%')" "$(fmt "$(calc "${R[$id.pgcpu]} * 100")" '%.0f%%')" \
            "$(fmt "$(calc "${R[$id.rcpu]} * 100")" '%.0f%%')" "$(fmt "${R[$id.busy]}" '%.0f%%')" \
            "$((${R[$id.issues]} - ${R[$id.shutdown_issues]})) / ${R[$id.shutdown_issues]}${R[$id.note]:+ / ${R[$id.note]}}"
    done
    echo "  Database round trips per delivery (every statement of the worker process(es), plus BEGIN and COMMIT"
    echo "  of each transaction, from their /metrics; includes the scheduler and housekeeping loops):"
    for id in "${ORDER[@]}"; do
        [[ -n ${R[$id.trips]:-} ]] || continue
        printf '    %-4s %s (%s statements, %s transactions, %s deliveries)\n' "$id" "$(fmt "${R[$id.trips]}" '%.3f')" \
            "${R[$id.statements]}" "${R[$id.transactions]}" "${R[$id.delivered]}"
    done
    for backend in sqlite postgres; do
        [[ -n ${BEST[$backend]:-} ]] || continue
        line="  HERALD_WORKER_CONCURRENCY on $backend: ${BEST[$backend]}"
        read -r -a values <<<"$CONCURRENCY"
        if ((${#values[@]} > 1)); then
            line+=" (tuned on $( ((SWEEP_N > N)) && echo "$N" || echo "$SWEEP_N") posts:"
            for c in "${values[@]}"; do line+=" c=$c $(fmt "${R[tune-$backend-c$c.rate]:-0}" '%.0f/s')"; done
            line+=")"
        fi
        echo "$line"
    done
    if [[ -n $E_JSON ]]; then
        echo "  BullMQ E: enqueued at $(fmt "$(jq '.enqueueRate' <<<"$E_JSON")" '%.0f') jobs/s (addBulk), no-op processor, removeOnComplete"
    fi
    if [[ -n $F_JSON ]]; then
        echo "  BullMQ F: enqueued at $(fmt "$(jq '.enqueueRate' <<<"$F_JSON")" '%.0f') jobs/s; each job sends the webhook provider's signed POST"
        echo "    to the receiver (lateness and duplicates as the receiver saw them), removeOnComplete"
    fi
    if [[ -n $REDIS_PERSISTENCE ]]; then
        echo "  Like for like: Herald A-D = a signed HTTP POST per post plus durable state (lease, attempt, outcome, post status,"
        echo "    events) in SQLite/PostgreSQL; BullMQ E = queue bookkeeping only; F = the same POST, job state in Redis ($REDIS_PERSISTENCE)."
    fi
    # Herald's log lines of every run, grouped by message.
    for id in "${ORDER[@]}"; do
        sed "s/^\[\([a-z0-9]*\)\(, at shutdown\)\{0,1\}\] /$id\t\1\2\t/" "$WORK/$id/issues.log"
    done >"$WORK/issues.tsv"
    if [[ -s $WORK/issues.tsv ]]; then
        echo
        echo "Herald log lines (RUST_LOG=warn), by message; count, where, runs (all lines: $WORK/<run>/issues.log):"
        jq -R -r 'split("\t") as [$run, $proc, $line]
            | ($line | try fromjson catch null) as $j
            | (if $proc | test("at shutdown") then "at shutdown" else "during run" end) as $when
            | (if $j then "\($j.level) \($j.target): \($j.message)"
                   + (if $j.error then " (error: \($j.error))" else "" end)
                   + (if $j.target_id then " [target \($j.target_id)]" else "" end)
               else $line[0:300] end) as $msg
            | "\($when)\t\($msg)\t\($run)"' "$WORK/issues.tsv" |
            awk -F '\t' '{ key = $1 "\t" $2; n[key]++; if (!((key, $3) in seen)) { seen[key, $3] = 1; runs[key] = runs[key] (runs[key] == "" ? "" : ", ") $3 } }
                END { for (k in n) { split(k, f, "\t"); printf "  %5d × %-11s %s\n          runs: %s\n", n[k], f[1], f[2], runs[k] } }' |
            cut -c1-600
    else
        echo "  Herald logged no warnings or errors."
    fi
} | tee "$WORK/summary.txt"
