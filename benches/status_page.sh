#!/usr/bin/env bash
# Row "status page GET vs nginx serving a static copy" (issue 14): wrk GETs /s/{id} of a 1 KiB
# share, then nginx serving a byte-for-byte copy of that page, same wrk settings, same run.
#   benches/status_page.sh          env: DURATION=5 CONNS=64 THREADS=2
# Needs: wrk nginx curl python3.
source "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-5}; CONNS=${CONNS:-64}; THREADS=${THREADS:-2}
need wrk wrk
build_release
DATA=$WORK/data
"$MAKE_SHARES" "$DATA" http://127.0.0.1:1 1 1024 "$WORK/status.txt"
start_ots "$DATA"
read -r STATUS_PATH _ <"$WORK/status.txt"
mkdir -p "$WORK/www"
curl -s "$URL$STATUS_PATH" >"$WORK/www/index.html"
start_nginx "$WORK/www"
OURS=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$URL$STATUS_PATH" | tee "$WORK/wrk-ours.txt" | rps)
grep -q "Non-2xx" "$WORK/wrk-ours.txt" && { echo "status page returned errors" >&2; exit 1; }
NGINX=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$NGINX_URL/index.html" | rps)
row "| status page GET req/s ($CONNS connections) | $OURS | nginx, static copy: $NGINX | $(ratio "$OURS" "$NGINX")× (goal ≥ 0.6×) |"
