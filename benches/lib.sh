# Shared by the bench scripts (sourced, not run): a temp dir removed on exit, processes stopped
# on exit, free ports, waiting for a server, the release build, onetimeshare and nginx started
# on loopback, RSS sampling, and the table row every script ends with.
#   source "$(dirname "$0")/lib.sh"
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
# PROFILE=debug smoke-tests a script quickly, PROFILE=fast (optimised, no LTO) rebuilds quickly
# while profiling; figures come from the release build.
PROFILE=${PROFILE:-release}
# ONETIMESHARE_BIN=path runs an already built server instead of building one (A/B against an
# older build); the share maker still comes from the target dir.
BIN=${ONETIMESHARE_BIN:-$TARGET/$PROFILE/onetimeshare}
MAKE_SHARES=$TARGET/$PROFILE/examples/http_bench_shares
WORK=$(mktemp -d /tmp/ots-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do pkill -P "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# need TOOL DEBIAN_PACKAGE
need() { command -v "$1" >/dev/null 2>&1 || { echo "missing $1: apt-get install $2" >&2; exit 1; }; }
need python3 python3
need curl curl

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 300); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }
# CPU seconds (user + system) pid $1 has used so far.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
rps() { awk '/Requests\/sec/ {print $2}'; }
# wrk --latency's 99th percentile, in ms.
p99_ms() { awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub("us","",v); v /= 1000 } else if (v ~ /ms$/) { sub("ms","",v) } else if (v ~ /s$/) { sub("s","",v); v *= 1000 } printf "%.2f\n", v }'; }

build_release() {
  [ -n "${ONETIMESHARE_BIN:-}" ] && [ -x "$MAKE_SHARES" ] && { echo "== using $BIN" >&2; return 0; }
  echo "== build ($PROFILE)" >&2
  local flags=(--quiet --bin onetimeshare --example http_bench_shares)
  case $PROFILE in debug) ;; release) flags+=(--release) ;; *) flags+=(--profile "$PROFILE") ;; esac
  (cd "$ROOT" && cargo build "${flags[@]}" "$@")
}

# Samples VmRSS of pid $1 every 20 ms into $WORK/rss-max.$1 (KiB, the largest seen) until killed.
# VmHWM covers the whole life of the process, and clear_refs may be refused in a sandbox.
sample_rss() {
  local pid=$1
  ( max=0; while kill -0 "$pid" 2>/dev/null; do
      kb=$(rss_kib "$pid" 2>/dev/null || echo 0); [ "${kb:-0}" -gt "$max" ] && max=$kb
      echo "$max" >"$WORK/rss-max.$pid"; sleep 0.02
    done ) &
  SAMPLER=$!; PIDS+=("$SAMPLER")
}

# start_ots DATA_DIR [extra serve flags...]: sets OTS (pid), URL, SSH_PORT.
start_ots() {
  local data=$1; shift
  PORT=$(free_port); SSH_PORT=$(free_port)
  URL=http://127.0.0.1:$PORT
  RUST_LOG=warn "$BIN" serve --data-dir "$data" --http-addr "127.0.0.1:$PORT" \
    --ssh-addr "127.0.0.1:$SSH_PORT" --public-url "$URL" --claims-per-minute 0 "$@" \
    2>"$WORK/ots.log" &
  OTS=$!; PIDS+=("$OTS")
  wait_http "$URL/healthz"
}

# start_redis: a private redis-server on a free port, persistence as Debian ships it (RDB
# snapshots, no AOF); sets REDIS_URL.
start_redis() {
  need redis-server redis-server
  local port; port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$WORK" --save '' --appendonly no \
    >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  REDIS_URL=redis://127.0.0.1:$port/
}

# start_nginx WWW_DIR: nginx serving WWW_DIR (sendfile on, no access log); sets NGINX_URL.
start_nginx() {
  need nginx nginx
  local www=$1 port; port=$(free_port)
  mkdir -p "$WORK/nginx-tmp"
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
    listen 127.0.0.1:$port;
    root $www;
    default_type text/html;
  }
}
CONF
  nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
  PIDS+=($!)
  NGINX_URL=http://127.0.0.1:$port
  wait_http "$NGINX_URL/"
}

# The row to paste into docs/benchmarks.md, with the date and the load it ran under.
row() {
  echo
  echo "measured $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
  echo "| measure | onetimeshare | reference (same run) | ratio / goal |"
  echo "|---|---|---|---|"
  echo "$1"
}
