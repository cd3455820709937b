#!/usr/bin/env bash
# Instructions per status-page request (issue 14), counted by callgrind: steady on a loaded
# machine, where wrk's req/s move by ±30 %. Starts the release server under
# `valgrind --tool=callgrind`, warms it up, zeroes the counters, makes REQUESTS sequential
# keep-alive GETs of one 1 KiB share's page with curl, dumps, and prints Ir per request (all
# threads: runtime workers and the blocking pool) and the costliest functions, inclusive.
#   benches/status_page_profile.sh        env: REQUESTS=2000 TOP=30 OUT=file (keeps the profile)
# Needs: valgrind curl python3.
source "$(dirname "$0")/lib.sh"
REQUESTS=${REQUESTS:-2000}; TOP=${TOP:-30}
need valgrind valgrind
build_release  # ONETIMESHARE_BIN=path profiles that build instead (see lib.sh)
DATA=$WORK/data
"$MAKE_SHARES" "$DATA" http://127.0.0.1:1 1 1024 "$WORK/status.txt"
read -r STATUS_PATH _ <"$WORK/status.txt"
PORT=$(free_port); SSH_PORT=$(free_port); URL=http://127.0.0.1:$PORT
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out.%p" \
  "$BIN" serve --data-dir "$DATA" --http-addr "127.0.0.1:$PORT" --ssh-addr "127.0.0.1:$SSH_PORT" \
  --public-url "$URL" --claims-per-minute 0 2>"$WORK/ots.log" &
OTS=$!; PIDS+=("$OTS")
for _ in $(seq 600); do curl -fs -o /dev/null "$URL/healthz" && break; sleep 0.1; done
# One curl, one connection, N requests: what a keep-alive wrk connection does.
requests() { for _ in $(seq "$1"); do echo "url = \"$URL$STATUS_PATH\""; echo 'output = "/dev/null"'; done >"$WORK/curl.cfg"
  curl -fs --config "$WORK/curl.cfg"; }
requests 200
callgrind_control --zero "$OTS" >/dev/null
requests "$REQUESTS"
callgrind_control --dump "$OTS" >/dev/null
DUMP=$(ls -t "$WORK"/callgrind.out.* | head -1)
[ -n "${OUT:-}" ] && cp "$DUMP" "$OUT"
TOTAL=$(awk '/^summary:|^totals:/ {print $2; exit}' "$DUMP")
callgrind_annotate --inclusive=yes --threshold=100 "$DUMP" 2>/dev/null | sed -n "1,$((TOP + 25))p" >"$WORK/annotate.txt"
cat "$WORK/annotate.txt" >&2
echo
echo "measured $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "status page: $TOTAL instructions for $REQUESTS requests = $((TOTAL / REQUESTS)) per request"
