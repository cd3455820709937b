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
cpu_ticks() { awk '{print $14, $15}' "/proc/$OTS/stat"; }
read -r USER0 SYS0 < <(cpu_ticks)
OURS=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$URL$STATUS_PATH" | tee "$WORK/wrk-ours.txt" | rps)
read -r USER1 SYS1 < <(cpu_ticks)
grep -q "Non-2xx" "$WORK/wrk-ours.txt" && { echo "status page returned errors" >&2; exit 1; }
# Our CPU per request, user and kernel (clock ticks of 10 ms, over the whole wrk run).
TICK_US=$((1000000 / $(getconf CLK_TCK)))
REQS=$(awk '/requests in/ {print $1}' "$WORK/wrk-ours.txt")
echo "server CPU per request: user $(awk -v t=$((USER1 - USER0)) -v u=$TICK_US -v r="$REQS" 'BEGIN {printf "%.1f", t * u / r}') us, kernel $(awk -v t=$((SYS1 - SYS0)) -v u=$TICK_US -v r="$REQS" 'BEGIN {printf "%.1f", t * u / r}') us; threads $(ls "/proc/$OTS/task" | wc -l)" >&2
NGINX=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$NGINX_URL/index.html" | rps)
row "| status page GET req/s ($CONNS connections) | $OURS | nginx, static copy: $NGINX | $(ratio "$OURS" "$NGINX")× (goal ≥ 0.6×) |"
