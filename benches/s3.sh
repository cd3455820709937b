#!/usr/bin/env bash
# Blob storage on S3 vs on local disk: one payload uploaded (ssh pipe) and claimed (curl POST)
# through a server on files and a server on a real S3-compatible store (Garage, on loopback), in
# one run. Reports MB/s (10^6 bytes/s) per direction and store, and the S3 server's memory during
# its transfers: peak RSS (VmHWM) above its idle RSS, against the goal of < 64 MiB.
#
#   benches/s3.sh [SIZE_MIB]            default 1024
#
# Needs: openssh-client, curl, python3 (free ports), garage (`cargo install garage --locked`) and
# `cargo build --release` (the binary is taken from $CARGO_TARGET_DIR or ./target).
set -euo pipefail

SIZE_MIB=${1:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ONETIMESHARE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/onetimeshare}
GARAGE=${GARAGE:-$(command -v garage || echo "${CARGO_HOME:-$HOME/.cargo}/bin/garage")}

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing $1: apt-get install $2" >&2; exit 1; }; }
need ssh openssh-client
need ssh-keygen openssh-client
need curl curl
need python3 python3
[ -x "$GARAGE" ] || { echo "missing garage: cargo install garage --locked" >&2; exit 1; }
[ -x "$BIN" ] || { echo "missing $BIN: run cargo build --release" >&2; exit 1; }

T=$(mktemp -d /tmp/ots-bench-s3.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$BYTES / ($2 - $1) / 1e6:.0f}')"; }

# --- Garage: one node, one key, one bucket (as tests/e2e/support/s3.rs does) ------------------
S3_PORT=$(free_port); RPC_PORT=$(free_port); ADMIN_PORT=$(free_port)
KEY_ID=GK0123456789abcdef01234567
KEY_SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cat > "$T/garage.toml" <<EOF
metadata_dir = "$T/garage/meta"
data_dir = "$T/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$RPC_PORT"
rpc_public_addr = "127.0.0.1:$RPC_PORT"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$S3_PORT"
root_domain = ".s3.garage.localhost"
[admin]
api_bind_addr = "127.0.0.1:$ADMIN_PORT"
EOF
g() { RUST_LOG=error "$GARAGE" -c "$T/garage.toml" "$@"; }
RUST_LOG=garage=warn "$GARAGE" -c "$T/garage.toml" server > "$T/garage.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do g status > "$T/status" 2>/dev/null && break; sleep 0.2; done
NODE=$(awk '$1 ~ /^[0-9a-f]{16}$/ { print $1; exit }' "$T/status")
g layout assign -z dc1 -c 1G "$NODE" > /dev/null
g layout apply --version 1 > /dev/null
g key import --yes -n bench "$KEY_ID" "$KEY_SECRET" > /dev/null
g bucket create bench > /dev/null
g bucket allow --read --write --owner bench --key bench > /dev/null

echo "payload: ${SIZE_MIB} MiB of random bytes" >&2
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$T/payload"
BYTES=$(stat -c %s "$T/payload")
ssh-keygen -q -t ed25519 -N '' -C bench -f "$T/client"
OPTS=(-F /dev/null -o "UserKnownHostsFile=$T/known_hosts" -o StrictHostKeyChecking=no
      -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i "$T/client")

# --- one server per store ---------------------------------------------------------------------
start_server() { # name, extra flags…
    local name=$1; shift
    local ssh http
    ssh=$(free_port); http=$(free_port)
    "$BIN" serve --data-dir "$T/$name" --ssh-addr "127.0.0.1:$ssh" --http-addr "127.0.0.1:$http" \
        --public-url "http://127.0.0.1:$http" --max-size 4GiB --quota-bytes-per-key 8GiB \
        --quota-bytes-per-address 8GiB "$@" > "$T/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 300); do grep -q "onetimeshare ready" "$T/$name.log" && break; sleep 0.1; done
    grep -q "onetimeshare ready" "$T/$name.log" || { cat "$T/$name.log" >&2; exit 1; }
    echo "$pid $ssh"
}
rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }

declare -A UP DOWN
for store in files s3; do
    if [ "$store" = s3 ]; then
        read -r PID PORT < <(start_server s3 --blob-url s3://bench/ots \
            --s3-endpoint "http://127.0.0.1:$S3_PORT" --s3-region garage \
            --s3-access-key-id "$KEY_ID" --s3-secret-access-key "$KEY_SECRET")
        sleep 1
        IDLE_KIB=$(rss_kib "$PID")
    else
        read -r PID PORT < <(start_server files)
    fi
    PIDS+=("$PID") # started in a subshell: its list is not ours
    start=$(now)
    link=$(ssh -T "${OPTS[@]}" -p "$PORT" 127.0.0.1 < "$T/payload" 2> "$T/$store.ssh.err")
    mid=$(now)
    url=${link%%#*} key=${link#*#}
    curl -sf -X POST -d "key=$key" -o /dev/null "$url"
    end=$(now)
    UP[$store]=$(mbps "$start" "$mid")
    DOWN[$store]=$(mbps "$mid" "$end")
    if [ "$store" = s3 ]; then HWM_KIB=$(hwm_kib "$PID"); fi
done

echo
printf '%-8s %12s %12s\n' store "upload MB/s" "claim MB/s"
for store in files s3; do printf '%-8s %12s %12s\n' "$store" "${UP[$store]}" "${DOWN[$store]}"; done
python3 - "$IDLE_KIB" "$HWM_KIB" <<'EOF'
import sys
idle, hwm = int(sys.argv[1]) / 1024, int(sys.argv[2]) / 1024
print(f"\nS3 server memory: idle {idle:.1f} MiB, peak {hwm:.1f} MiB, "
      f"peak above idle {hwm - idle:.1f} MiB (goal < 64 MiB)")
EOF
