#!/usr/bin/env bash
# HTTP benchmark, one run on loopback: onetimeshare beside nginx.
#   1. status page (GET /s/{id}) vs nginx serving a static page of the same size, under wrk
#   2. claims of 1 KiB shares (POST /s/{id}) on the embedded store, under wrk
#   3. a 1 GiB share's download vs nginx serving a 1 GiB static file, with curl; our peak RSS
# Needs: wrk, nginx, curl (Debian: apt-get install wrk nginx curl). Bounded: every load phase
# runs for $DURATION seconds; everything listens on 127.0.0.1 only and is stopped on exit.
#
# usage: benches/http.sh            (env: DURATION=5 CLAIMS=150000 CONNS=64 THREADS=2)
set -euo pipefail

DURATION=${DURATION:-5}
CLAIMS=${CLAIMS:-150000}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/ots-bench-http.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_now_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
wait_http() { for _ in $(seq 200); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }
rps() { awk '/Requests\/sec/ {print $2}'; }

echo "== build (release)"
(cd "$ROOT" && cargo build --release --quiet --bin onetimeshare --example http_bench_shares)
BIN=$TARGET/release/onetimeshare
MAKE=$TARGET/release/examples/http_bench_shares

PORT=$(free_port); NGINX_PORT=$(free_port); SSH_PORT=$(free_port)
URL=http://127.0.0.1:$PORT
DATA=$WORK/data

echo "== create shares: 1 x 1 KiB (status page), $CLAIMS x 1 KiB (claims), 1 x 1 GiB"
"$MAKE" "$DATA" "$URL" 1 1024 "$WORK/status.txt"
"$MAKE" "$DATA" "$URL" "$CLAIMS" 1024 "$WORK/claims.txt"
"$MAKE" "$DATA" "$URL" 1 $((1 << 30)) "$WORK/big.txt"

echo "== start onetimeshare on $URL (embedded store, log level warn, no claim rate limit)"
RUST_LOG=warn "$BIN" serve --data-dir "$DATA" --http-addr "127.0.0.1:$PORT" \
  --ssh-addr "127.0.0.1:$SSH_PORT" --public-url "$URL" --claims-per-minute 0 \
  2>"$WORK/ots.log" &
OTS=$!; PIDS+=("$OTS")
wait_http "$URL/healthz"

read -r STATUS_PATH _ <"$WORK/status.txt"
mkdir -p "$WORK/www"
curl -s "$URL$STATUS_PATH" >"$WORK/www/index.html"
head -c $((1 << 30)) /dev/zero >"$WORK/www/big.bin"
cat >"$WORK/nginx.conf" <<CONF
worker_processes auto;
daemon off;
user root root;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $WORK/nginx-tmp;
  proxy_temp_path $WORK/nginx-tmp;
  fastcgi_temp_path $WORK/nginx-tmp;
  uwsgi_temp_path $WORK/nginx-tmp;
  scgi_temp_path $WORK/nginx-tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    default_type text/html;
  }
}
CONF
mkdir -p "$WORK/nginx-tmp"
nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/index.html"

echo "== status page: GET $DURATION s, $CONNS connections, $THREADS threads"
OURS=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$URL$STATUS_PATH" | tee "$WORK/wrk-status.txt" | rps)
NGINX=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$NGINX_PORT/index.html" | tee "$WORK/wrk-nginx.txt" | rps)
echo "onetimeshare status page: $OURS req/s   nginx static page: $NGINX req/s"
grep -h "Non-2xx" "$WORK/wrk-status.txt" && { echo "status page returned errors" >&2; exit 1; }

echo "== claims: POST 1 KiB shares for $DURATION s (each share claimed once)"
wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -s "$ROOT/benches/wrk_claim.lua" "$URL" -- "$WORK/claims.txt" "$THREADS" \
  | tee "$WORK/wrk-claims.txt"
TOTAL=$(awk '/requests in/ {print $1}' "$WORK/wrk-claims.txt")
NON2XX=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk-claims.txt"); NON2XX=${NON2XX:-0}
SECS=$(awk '/requests in/ {gsub("s,","",$4); print $4}' "$WORK/wrk-claims.txt")
CLAIMED=$((TOTAL - NON2XX))
CLAIMS_PER_S=$(awk -v c="$CLAIMED" -v s="$SECS" 'BEGIN {printf "%.0f", c / s}')
echo "claims: $CLAIMED successful in $SECS s = $CLAIMS_PER_S claims/s ($NON2XX refused: share list exhausted if > 0)"

echo "== 1 GiB download"
read -r BIG_PATH BIG_KEY <"$WORK/big.txt"
# VmHWM covers the whole life of the process (and clear_refs may be refused in a sandbox), so
# sample VmRSS every 20 ms during the download and keep the largest.
RSS_BEFORE=$(rss_now_mib "$OTS")
( max=0; while kill -0 "$OTS" 2>/dev/null; do
    kb=$(awk '/VmRSS/ {print $2}' "/proc/$OTS/status"); [ "${kb:-0}" -gt "$max" ] && max=$kb
    echo "$max" >"$WORK/rss-max"; sleep 0.02
  done ) &
SAMPLER=$!; PIDS+=("$SAMPLER")
OURS_GBS=$(curl -s -o /dev/null -w '%{speed_download}' -X POST -d "key=$BIG_KEY" "$URL$BIG_PATH" | awk '{printf "%.2f", $1/1e9}')
kill "$SAMPLER" 2>/dev/null || true
RSS=$(awk '{printf "%.1f", $1/1024}' "$WORK/rss-max")
NGINX_GBS=$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$NGINX_PORT/big.bin" | awk '{printf "%.2f", $1/1e9}')
echo "onetimeshare 1 GiB claim: $OURS_GBS GB/s   nginx 1 GiB static: $NGINX_GBS GB/s   onetimeshare peak RSS during the download: $RSS MiB (just before it: $RSS_BEFORE MiB)"

echo
echo "| measure | onetimeshare | nginx |"
echo "|---|---|---|"
echo "| status page (GET /s/{id}) req/s | $OURS | $NGINX (static copy of that page) |"
echo "| 1 KiB claims/s (embedded store) | $CLAIMS_PER_S | — |"
echo "| 1 GiB download GB/s | $OURS_GBS | $NGINX_GBS |"
echo "| onetimeshare peak RSS (VmRSS sampled every 20 ms) during the 1 GiB download | $RSS MiB (before: $RSS_BEFORE MiB) | — |"
