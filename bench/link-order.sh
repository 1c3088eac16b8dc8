#!/usr/bin/env bash
# Records which functions Herald runs — start-up and the idle loops first,
# then common requests and a delivery — and writes them, in that order, to
# crates/herald/link-order.txt, which the release link uses to put them
# together at the start of the binary's code (crates/herald/build.rs).
#
# Each run is the release binary under valgrind's callgrind, which lists
# every function executed at least once (instruction counts, not samples:
# a function run once is not missed). Run it again when start-up changes
# much or the Rust toolchain changes (symbol names carry a hash of the
# compiler version and the build profile); then rebuild. bench/README.md
# ("Fourth round", "link-order.sh") has the figures.
#
# Usage: ./bench/link-order.sh        (needs valgrind; apt-get install valgrind)
# Knobs: BENCH_SKIP_BUILD=1, BENCH_IDLE=90 (seconds idle under valgrind: past
#        the first minute's upkeep round and connection lifetimes),
#        BENCH_BACKENDS="sqlite postgres"
set -euo pipefail

IDLE=${BENCH_IDLE:-90}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ORDER_FILE=$ROOT/crates/herald/link-order.txt
# Herald as people run it: rate limits on, logs at info. The SQLite runs log
# in the terminal format, the PostgreSQL ones in JSON, so both are covered.
unset HERALD_RATE_LIMIT HERALD_RATE_LIMIT_POSTS HERALD_RATE_LIMIT_UI RUST_LOG HERALD_LOG_FORMAT

require_tools valgrind curl python3 nm
build_herald
# (grep -c reads it all: grep -q would close the pipe early under pipefail)
[[ $(nm --defined-only "$HERALD" 2>/dev/null | grep -c ' [tT] ') -gt 0 ]] \
    || die "$HERALD has no symbol table (the release profile must keep it: strip = \"debuginfo\")"

# A webhook "platform" that accepts every post, for the delivery.
export HERALD_ALLOW_PRIVATE_TARGETS=true
HOOK_PORT=$(free_port)
python3 - "$HOOK_PORT" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id":"1","url":"https://example.com/1"}')
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
PY
EXTRA_PIDS+=($!)

# record NAME DATA_DIR [DATABASE_URL]: Herald under callgrind until healthy;
# the caller drives it, then stop_recording writes the profile.
record() {
    local name=$1 dir=$2 url=${3:-} i
    PORT=$(free_port)
    BASE=http://127.0.0.1:$PORT
    local -a envs=()
    [[ -n $url ]] && envs=(DATABASE_URL="$url" HERALD_LOG_FORMAT=json)
    env "${envs[@]}" valgrind --tool=callgrind --demangle=no --dump-instr=no \
        --callgrind-out-file="$WORK/$name.callgrind" \
        "$HERALD" serve --host 127.0.0.1 --port "$PORT" --data-dir "$dir" >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    for i in $(seq 600); do
        curl -sf "$BASE/api/health" >/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || die "herald exited under valgrind (log: $WORK/$name.log)"
        sleep 0.2
    done
    die "herald not healthy under valgrind after 120 s"
}

stop_recording() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=""
}

# The requests of bench/api.sh's mix, the UI pages, MCP, and one delivery.
workload() {
    local jar=$WORK/cookies key integration hook post when headers session i page
    api POST /api/auth/register 201 -c "$jar" \
        -d '{"email":"order@example.com","password":"link-order-password-1"}' >/dev/null
    key=$(api POST /api/api-keys 201 -b "$jar" -d '{"name":"order"}' | json_field key)
    local auth="Authorization: Bearer $key"
    integration=$(api POST /api/integrations 201 -b "$jar" \
        -d '{"platform":"webhook","name":"order","credentials":{"url":"http://127.0.0.1:9/hook","secret":"order-secret-0123456789"}}' \
        | json_field id)
    hook=$(api POST /api/integrations 201 -b "$jar" \
        -d "{\"platform\":\"webhook\",\"name\":\"hook\",\"credentials\":{\"url\":\"http://127.0.0.1:$HOOK_PORT/hook\",\"secret\":\"order-secret-0123456789\"}}" \
        | json_field id)
    for i in 1 2 3; do
        when=$(date -u -d "+$((i * 30 + 60)) minutes" +%Y-%m-%dT%H:%M:00Z)
        post=$(api POST /api/posts 201 -H "$auth" \
            -d "{\"content\":\"post $i https://example.com #herald\",\"status\":\"DRAFT\",\"platforms\":[\"$integration\"],\"scheduledFor\":\"$when\"}" \
            | json_field id)
        api GET "/api/posts?limit=50" 200 -H "$auth" >/dev/null
        api GET "/api/posts/$post" 200 -H "$auth" >/dev/null
        api POST /api/posts/validate 200 -H "$auth" \
            -d "{\"content\":\"Validated https://example.com/bench #herald\",\"platforms\":[\"$integration\"],\"scheduledFor\":\"$when\"}" >/dev/null
        api GET "/calendar?view=week" 200 -b "$jar" >/dev/null
        api GET /api/health 200 >/dev/null
    done
    for page in / /calendar "/calendar?view=month" /posts /posts/new /integrations /settings /api/platforms \
        /api/integrations /api/me /metrics /api/openapi.json; do
        api GET "$page" 200 -b "$jar" >/dev/null
    done
    api GET /login 200 >/dev/null
    # MCP: initialize, then list and call a tool in the session.
    headers=$WORK/mcp.headers
    curl -sS -o /dev/null -D "$headers" -X POST "$BASE/api/mcp" -H "$auth" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"order","version":"1"}}}'
    session=$(awk -F': ' 'tolower($1) == "mcp-session-id" { print $2 }' "$headers" | tr -d '\r')
    for body in '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
        '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_integrations","arguments":{}}}'; do
        curl -sS -o /dev/null -X POST "$BASE/api/mcp" -H "$auth" -H "Mcp-Session-Id: $session" \
            -H 'MCP-Protocol-Version: 2025-06-18' -H 'Content-Type: application/json' \
            -H 'Accept: application/json, text/event-stream' -d "$body"
    done
    # A delivery: three posts due in a few seconds to the accepting webhook.
    when=$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)
    for i in 1 2 3; do
        api POST /api/posts 201 -H "$auth" \
            -d "{\"content\":\"now $i\",\"status\":\"SCHEDULED\",\"platforms\":[\"$hook\"],\"scheduledFor\":\"$when\"}" >/dev/null
    done
    for i in $(seq 60); do
        [[ $(api GET "/api/posts?status=PUBLISHED&limit=5" 200 -H "$auth" | python3 -c \
            'import json, sys; print(len(json.load(sys.stdin)["posts"]))') == 3 ]] && return 0
        sleep 1
    done
    die "the three posts were not delivered under valgrind"
}

runs=()
for backend in $BACKENDS; do
    url=""
    if [[ $backend == postgres ]]; then
        pg_available || { log "PostgreSQL not reachable: recording SQLite only"; continue; }
        new_pg_db "herald_order_$$"
        url=$PG_URL
    fi
    log "$backend: start-up, then ${IDLE} s idle"
    record "$backend-idle" "$WORK/$backend-data" "$url"
    sleep "$IDLE"
    stop_recording
    runs+=("$backend-idle")
    log "$backend: restart on the same data, the requests, a delivery"
    record "$backend-work" "$WORK/$backend-data" "$url"
    workload
    stop_recording
    runs+=("$backend-work")
done

# Functions in the order their runs came (idle ones first); names that are
# not functions of this binary (libc, ...) are dropped.
python3 - "$HERALD" "$ORDER_FILE" "${runs[@]/#/$WORK/}" <<'PY'
import re, subprocess, sys
binary, out, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
sizes = {}
for line in subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 4 and parts[2] in "tTwW":
        sizes[parts[3]] = int(parts[1], 16)
order, seen = [], set()
for run in runs:
    before = sum(sizes[n] for n in order)
    for line in open(run + ".callgrind", errors="replace"):
        m = re.match(r"^c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
        if m and m.group(1) in sizes and m.group(1) not in seen:
            seen.add(m.group(1))
            order.append(m.group(1))
    added = sum(sizes[n] for n in order) - before
    print(f"  {run.rsplit('/', 1)[-1]}: +{added / 1e6:.2f} MB of code", file=sys.stderr)
with open(out, "w") as f:
    f.write("\n".join(order) + "\n")
total = sum(sizes.values())
print(f"  {len(order)} functions, {sum(sizes[n] for n in order) / 1e6:.2f} MB of the binary's {total / 1e6:.2f} MB of code", file=sys.stderr)
PY
log "wrote $ORDER_FILE; rebuild (cargo build --release -p herald) to use it"
