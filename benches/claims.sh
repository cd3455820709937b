#!/usr/bin/env bash
# Row "1 KiB create+claim, claims/s" (issue 14), for one metadata store per run:
#   benches/claims.sh embedded        # redb in the data dir, every claim fsync'd before its body
#   benches/claims.sh redis           # a private redis-server (as Debian configures persistence)
# env: DURATION=5 CLAIMS=150000 CONNS=64 THREADS=2
# Creates CLAIMS 1 KiB shares (before the server starts: the embedded store is single-process),
# then POSTs claims with wrk for DURATION s, each share claimed once. References in the same run:
# the disk's fsyncs/s (one durable commit is one fsync: the embedded store's physical limit
# without batching) and wrk's own ceiling here, nginx answering a static 1 KiB file.
# Needs: wrk nginx curl redis-server python3 (Debian packages of the same names).
source "$(dirname "$0")/lib.sh"
STORE=${1:-embedded}
DURATION=${DURATION:-5}; CLAIMS=${CLAIMS:-150000}; CONNS=${CONNS:-64}; THREADS=${THREADS:-2}
need wrk wrk
build_release

DATA=$WORK/data; mkdir -p "$DATA"
STORE_FLAGS=()
if [ "$STORE" = redis ]; then
  start_redis; STORE_FLAGS=(--redis-url "$REDIS_URL"); export OTS_BENCH_REDIS_URL=$REDIS_URL
fi
echo "== create $CLAIMS x 1 KiB shares ($STORE)" >&2
PUBLIC=http://127.0.0.1:1   # rewritten below: only the paths are used
"$MAKE_SHARES" "$DATA" "$PUBLIC" "$CLAIMS" 1024 "$WORK/claims.txt"

echo "== reference: fsyncs/s of the disk under the data dir (2 s of 4 KiB write + fsync)" >&2
FSYNCS=$(python3 - "$DATA" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
n, end = 0, time.time() + 2
while time.time() < end:
    os.pwrite(fd, b"x" * 4096, 0); os.fsync(fd); n += 1
os.close(fd); os.unlink(path)
print(n // 2)
PY
)

start_ots "$DATA" "${STORE_FLAGS[@]}"
mkdir -p "$WORK/www"; head -c 1024 /dev/zero | tr '\0' 'x' >"$WORK/www/index.html"
start_nginx "$WORK/www"
NGINX=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$NGINX_URL/index.html" | rps)

echo "== claims: POST for $DURATION s, $CONNS connections" >&2
CPU0=$(cpu_secs "$OTS")
wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s "$ROOT/benches/claim.lua" "$URL" -- "$WORK/claims.txt" "$THREADS" \
  | tee "$WORK/wrk-claims.txt" >&2
CPU1=$(cpu_secs "$OTS")
TOTAL=$(awk '/requests in/ {print $1}' "$WORK/wrk-claims.txt")
NON2XX=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk-claims.txt"); NON2XX=${NON2XX:-0}
SECS=$(awk '/requests in/ {gsub("s,","",$4); print $4}' "$WORK/wrk-claims.txt")
CLAIMED=$((TOTAL - NON2XX))
PER_S=$(awk -v c="$CLAIMED" -v s="$SECS" 'BEGIN {printf "%.0f", c / s}')
CPU_US=$(awk -v a="$CPU0" -v b="$CPU1" -v c="$CLAIMED" 'BEGIN {printf "%.0f", (b - a) * 1e6 / c}')
echo "server CPU per claim: $CPU_US µs (user + system, $CPU0 → $CPU1 s)" >&2
[ "$NON2XX" -gt 0 ] && echo "note: $NON2XX requests refused (share list exhausted: raise CLAIMS)" >&2

row "| 1 KiB claims/s, $STORE store ($CONNS connections) | $PER_S ($CPU_US µs server CPU each) | disk $FSYNCS fsyncs/s · nginx static 1 KiB $NGINX req/s | $(ratio "$PER_S" 10000)× of 10 k/s |"
