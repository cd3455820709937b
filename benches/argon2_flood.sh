#!/usr/bin/env bash
# Row "200 concurrent wrong-password claims" (issue 14): 40 password shares (Argon2id at the
# server's default cost, 64 MiB) each get 5 wrong-password claims at once — 200 in flight, from
# 40 loopback addresses (127.0.0.2 …) — while wrk GETs a status page; then the same wrk without
# the flood (the reference, same run). Reports our peak RSS and the page views' p99, and checks
# how many shares ended locked. A claim that found every Argon2 thread busy for 10 s is answered
# 503 and spends no attempt, so its share may end with fewer than 5 spent: the row counts those.
#   benches/argon2_flood.sh        env: SHARES=40 PER_SHARE=5 CONNS=16
# Needs: wrk curl python3.
source "$(dirname "$0")/lib.sh"
SHARES=${SHARES:-40}; PER_SHARE=${PER_SHARE:-5}; CONNS=${CONNS:-16}
need wrk wrk
build_release
DATA=$WORK/data
"$MAKE_SHARES" "$DATA" http://127.0.0.1:1 1 1024 "$WORK/status.txt"
echo "== create $SHARES password shares (Argon2id, default cost)" >&2
BENCH_PASSWORD=right-horse-battery "$MAKE_SHARES" "$DATA" http://127.0.0.1:1 "$SHARES" 1024 "$WORK/pw.txt"
start_ots "$DATA"
read -r STATUS_PATH _ <"$WORK/status.txt"
IDLE=$(rss_kib "$OTS")

# One wrong-password claim per (share, attempt), all started at once.
flood() {
  local i=0
  while read -r path key; do
    i=$((i + 1))
    for _ in $(seq "$PER_SHARE"); do
      curl -s -o /dev/null -w '%{http_code}\n' --interface "127.0.0.$((i + 1))" -X POST \
        -d "key=$key&password=wrong" "$URL$path" >>"$WORK/codes.txt" &
    done
  done <"$WORK/pw.txt"
  wait
}

sample_rss "$OTS"
flood &
FLOOD=$!
# Page views for as long as the flood lasts (at least 3 s).
wrk -t2 -c"$CONNS" -d3s --latency "$URL$STATUS_PATH" >"$WORK/wrk-flood.txt"
while kill -0 "$FLOOD" 2>/dev/null; do
  wrk -t2 -c"$CONNS" -d2s --latency "$URL$STATUS_PATH" >>"$WORK/wrk-flood.txt"
done
kill "$SAMPLER" 2>/dev/null || true
PEAK=$(cat "$WORK/rss-max.$OTS")
FLOOD_P99=$(p99_ms <"$WORK/wrk-flood.txt" | sort -n | tail -1)
wrk -t2 -c"$CONNS" -d3s --latency "$URL$STATUS_PATH" >"$WORK/wrk-quiet.txt"
QUIET_P99=$(p99_ms <"$WORK/wrk-quiet.txt")
echo "flood answers: $(sort "$WORK/codes.txt" | uniq -c | tr '\n' ' ')" >&2
BUSY=$(grep -c '^503$' "$WORK/codes.txt" || true)
LOCKED=0
while read -r path key; do
  curl -s -X POST -d "key=$key&password=right-horse-battery" "$URL$path" | grep -qi locked && LOCKED=$((LOCKED + 1))
done <"$WORK/pw.txt"
row "| $((SHARES * PER_SHARE)) concurrent wrong-password claims (Argon2id 64 MiB, $SHARES shares × $PER_SHARE, $SHARES addresses) | peak RSS $(mib "$PEAK") MiB (idle $(mib "$IDLE")); page p99 $FLOOD_P99 ms; $LOCKED/$SHARES locked, $BUSY answered busy | page p99 without the flood: $QUIET_P99 ms | goal RSS < 512 MiB, p99 < 50 ms |"
