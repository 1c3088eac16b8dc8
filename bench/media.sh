#!/usr/bin/env bash
# Memory while a large video goes through Herald: uploaded into the media
# library, fetched back from /uploads (what a platform pulling by URL
# does), and published to a platform that takes a chunked upload (the
# test suite's fake X, run as its own process). Prints Herald's RSS idle
# and at its peak in each phase, as MB and as a ratio of idle.
#
# Usage: ./bench/media.sh            (SIZE_MB=500 by default)
#        SIZE_MB=100 ./bench/media.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB="${SIZE_MB:-500}"
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "building (release) ..." >&2
cargo build --release -q -p herald
cargo build --release -q -p herald-testkit --example fake_x
BIN=target/release/herald

target/release/examples/fake_x > "$WORK/fake" &
for _ in $(seq 100); do [ -s "$WORK/fake" ] && break; sleep 0.05; done
read -r FAKE_URL CLIENT_ID CLIENT_SECRET < "$WORK/fake"

mkdir -p "$WORK/data"
(cd "$WORK" && exec env HERALD_ALLOW_PRIVATE_TARGETS=true HERALD_RATE_LIMIT=0 HERALD_RATE_LIMIT_POSTS=0 \
    HERALD_PROVIDER_X_API_BASE="$FAKE_URL" X_CLIENT_ID="$CLIENT_ID" X_CLIENT_SECRET="$CLIENT_SECRET" \
    "$OLDPWD/$BIN" serve --port 0 --host 127.0.0.1 2> "$WORK/serve.log") &
HERALD_PID=$!
for _ in $(seq 200); do grep -q "listening on http://" "$WORK/serve.log" && break; sleep 0.05; done
BASE="http://$(grep -o 'listening on http://[0-9.:]*' "$WORK/serve.log" | head -1 | sed 's|listening on http://||')"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$HERALD_PID/status"; }
# Samples RSS every 20 ms into $WORK/rss as "<phase> <kB>" while the phase file names a phase.
echo idle > "$WORK/phase"
( while kill -0 "$HERALD_PID" 2>/dev/null; do echo "$(cat "$WORK/phase") $(rss_kb)"; sleep 0.02; done ) > "$WORK/rss" &

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
JAR="$WORK/cookies"
curl -sf -c "$JAR" -b "$JAR" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"a long enough password"}' "$BASE/api/auth/register" > /dev/null
AUTHORIZE=$(curl -sf -b "$JAR" -H 'accept: application/json' "$BASE/api/auth/x" | json '["authorizeUrl"]')
CALLBACK=$(curl -s -o /dev/null -w '%{redirect_url}' "$AUTHORIZE")
CALLBACK_PATH="/api/auth/${CALLBACK#*/api/auth/}"
INTEGRATION=$(curl -sf -b "$JAR" -H 'accept: application/json' "$BASE$CALLBACK_PATH" | json '["integrationId"]')

sleep 2
IDLE_KB=$(rss_kb)

# A sparse file with an MP4 header: what the sniffer needs, zeros after.
printf '\0\0\0\x18ftypmp42\0\0\0\0mp42isom' > "$WORK/big.mp4"
truncate -s "${SIZE_MB}M" "$WORK/big.mp4"

phase() { echo "$1" > "$WORK/phase"; }
now() { date +%s.%N; }

phase upload; T0=$(now)
MEDIA=$(curl -sf -b "$JAR" -F "file=@$WORK/big.mp4;type=video/mp4" "$BASE/api/media")
T1=$(now); phase between
MEDIA_ID=$(echo "$MEDIA" | json '["id"]'); MEDIA_URL=$(echo "$MEDIA" | json '["url"]')

phase serve; T2=$(now)
curl -sf "$BASE/uploads/${MEDIA_URL##*/uploads/}" -o /dev/null
T3=$(now); phase between

phase publish; T4=$(now)
POST=$(curl -sf -b "$JAR" -H 'content-type: application/json' \
    -d "{\"content\":\"a big video\",\"platforms\":[\"$INTEGRATION\"],\"mediaIds\":[\"$MEDIA_ID\"]}" "$BASE/api/posts" | json '["id"]')
STATUS=""
for _ in $(seq 1200); do
    STATUS=$(curl -sf -b "$JAR" "$BASE/api/posts/$POST" | json '["status"]')
    case "$STATUS" in PUBLISHED|FAILED|PARTIAL) break ;; esac
    sleep 0.1
done
T5=$(now); phase after
sleep 1

awk -v idle="$IDLE_KB" -v size="$SIZE_MB" -v status="$STATUS" \
    -v up="$(echo "$T1 - $T0" | bc)" -v sv="$(echo "$T3 - $T2" | bc)" -v pb="$(echo "$T5 - $T4" | bc)" '
    { if ($2 > peak[$1]) peak[$1] = $2 }
    END {
        printf "file: %d MB; published to the fake X: %s\n\n", size, status
        printf "%-44s %9s %8s %10s %8s\n", "phase", "peak RSS", "× idle", "time", "MB/s"
        printf "%-44s %6.1f MB %8s %10s %8s\n", "idle (after connecting an account)", idle/1024, "1.00", "", ""
        printf "%-44s %6.1f MB %8.2f %8.2f s %8.0f\n", "POST /api/media (multipart, streamed in)", peak["upload"]/1024, peak["upload"]/idle, up, size/up
        printf "%-44s %6.1f MB %8.2f %8.2f s %8.0f\n", "GET /uploads/… (a platform pulling by URL)", peak["serve"]/1024, peak["serve"]/idle, sv, size/sv
        printf "%-44s %6.1f MB %8.2f %8.2f s %8.0f\n", "publish: X chunked upload from the store", peak["publish"]/1024, peak["publish"]/idle, pb, size/pb
    }' "$WORK/rss"
[ "$STATUS" = PUBLISHED ] || { echo "the post was not published:" >&2; tail -20 "$WORK/serve.log" >&2; exit 1; }
