#!/usr/bin/env bash
# Redis deployments benchmark, one run on loopback: claims of 1 KiB shares (POST /s/{id}) per
# second with THREE replicas on a three-master Redis Cluster vs ONE replica on one Redis, same
# run, same load generator (wrk; with three replicas, three wrk processes share the connections,
# one per replica). Every share is claimed once; the blobs live in one directory all replicas
# share (blob storage is not what is measured).
# Needs: wrk, redis-server, redis-cli, curl (Debian: apt-get install wrk redis-server
# redis-tools curl). Bounded: each load phase runs DURATION seconds; everything listens on
# 127.0.0.1 only and is stopped on exit.
#
# usage: benches/redis.sh   (env: DURATION=5 CLAIMS=40000 CONNS=48 PROFILE=release|dev)
set -euo pipefail

DURATION=${DURATION:-5}
CLAIMS=${CLAIMS:-40000}
CONNS=${CONNS:-48}
PROFILE=${PROFILE:-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

for tool in wrk redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Debian: redis-server, redis-tools, wrk, curl)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/ots-bench-redis.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 400); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }
wait_pong() { for _ in $(seq 200); do redis-cli -p "$1" PING 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done; echo "redis on $1 did not start" >&2; exit 1; }

echo "== build ($PROFILE)"
if [ "$PROFILE" = release ]; then FLAG=--release; OUT=release; else FLAG=; OUT=debug; fi
(cd "$ROOT" && cargo build $FLAG --quiet --bin onetimeshare --example http_bench_shares)
BIN=$TARGET/$OUT/onetimeshare
MAKE=$TARGET/$OUT/examples/http_bench_shares

redis_node() { # dir port [extra args...]
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" "$@" \
    >"$dir/log" 2>&1 &
  PIDS+=($!)
  wait_pong "$port"
}

echo "== one Redis"
SINGLE_PORT=$(free_port)
redis_node "$WORK/single" "$SINGLE_PORT"

echo "== Redis Cluster: three masters"
NODES=()
for i in 1 2 3; do
  port=$(free_port)
  redis_node "$WORK/node$i" "$port" --cluster-enabled yes --cluster-config-file "$WORK/node$i/nodes.conf" \
    --cluster-port "$(free_port)"
  NODES+=("127.0.0.1:$port")
done
redis-cli --cluster create "${NODES[@]}" --cluster-yes >"$WORK/cluster-create.log"
for node in "${NODES[@]}"; do
  for _ in $(seq 200); do
    redis-cli -p "${node#*:}" CLUSTER INFO | grep -q cluster_state:ok && break
    sleep 0.1
  done
done
CLUSTER_URL="redis+cluster://$(IFS=,; echo "${NODES[*]}")"

# phase NAME REDIS_URL REPLICAS: creates CLAIMS shares, starts REPLICAS servers on that Redis,
# claims them all at once through every replica, prints claims/s.
phase() {
  local name=$1 url=$2 replicas=$3
  local data=$WORK/$name-data list=$WORK/$name.txt
  echo "== $name: create $CLAIMS x 1 KiB shares"
  OTS_BENCH_REDIS_URL=$url "$MAKE" "$data" http://127.0.0.1 "$CLAIMS" 1024 "$list"
  split -n "l/$replicas" -d "$list" "$WORK/$name-part."
  local urls=() i port
  for i in $(seq 0 $((replicas - 1))); do
    port=$(free_port)
    RUST_LOG=warn "$BIN" serve --data-dir "$data" --redis-url "$url" \
      --http-addr "127.0.0.1:$port" --ssh-addr "127.0.0.1:$(free_port)" \
      --public-url "http://127.0.0.1:$port" --claims-per-minute 0 2>"$WORK/$name-ots$i.log" &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$port/healthz"
    urls+=("http://127.0.0.1:$port")
  done
  echo "== $name: claims for $DURATION s, $CONNS connections over $replicas replica(s)"
  local wrks=()
  for i in $(seq 0 $((replicas - 1))); do
    wrk -t1 -c$((CONNS / replicas)) -d"${DURATION}s" -s "$ROOT/benches/wrk_claim.lua" "${urls[$i]}" \
      -- "$WORK/$name-part.0$i" 1 >"$WORK/$name-wrk$i.txt" &
    wrks+=($!)
  done
  for pid in "${wrks[@]}"; do wait "$pid"; done
  awk '/requests in/ {total += $1; gsub("s,","",$4); if ($4 > secs) secs = $4}
       /Non-2xx/ {refused += $5}
       END {printf "%s: %d claims in %.2f s = %.0f claims/s (%d refused: share list exhausted if > 0)\n",
            name, total - refused, secs, (total - refused) / secs, refused}' name="$name" \
    "$WORK/$name"-wrk*.txt | tee -a "$WORK/results.txt"
}

phase single-redis-1-replica "redis://127.0.0.1:$SINGLE_PORT/" 1
phase cluster-3-replicas "$CLUSTER_URL" 3

echo "== results (machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$WORK/results.txt"
