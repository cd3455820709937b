#!/usr/bin/env bash
# SSH upload throughput: the same file sent with `scp` (SFTP mode), `scp -O` and a pipe into
# onetimeshare (release build) and into OpenSSH's own sshd (internal-sftp), on loopback, in one
# run. Reports MB/s (10^6 bytes/s) per mode and onetimeshare's peak RSS (VmHWM) per mode.
#
#   benches/ssh.sh [SIZE_MIB]          default 512
#   CIPHER=aes128-gcm@openssh.com benches/ssh.sh    force a cipher on both servers' clients
#
# Needs: openssh-client, openssh-server (for /usr/sbin/sshd), python3 (free ports), and
# `cargo build --release` (the binary is taken from $CARGO_TARGET_DIR or ./target).
set -euo pipefail

SIZE_MIB=${1:-512}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ONETIMESHARE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/onetimeshare}
SSHD=${SSHD:-/usr/sbin/sshd}

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing $1: apt-get install $2" >&2; exit 1; }; }
need ssh openssh-client
need scp openssh-client
need ssh-keygen openssh-client
need python3 python3
[ -x "$SSHD" ] || { echo "missing $SSHD: apt-get install openssh-server" >&2; exit 1; }
[ -x "$BIN" ] || { echo "missing $BIN: run cargo build --release" >&2; exit 1; }

T=$(mktemp -d /tmp/ots-bench-ssh.XXXXXX)
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

echo "payload: ${SIZE_MIB} MiB of random bytes" >&2
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$T/payload"
BYTES=$(stat -c %s "$T/payload")
ssh-keygen -q -t ed25519 -N '' -C bench -f "$T/client"

OPTS=(-F /dev/null -o "UserKnownHostsFile=$T/known_hosts" -o StrictHostKeyChecking=no
      -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i "$T/client")
if [ -n "${CIPHER:-}" ]; then OPTS+=(-c "$CIPHER"); fi

# Seconds (float) taken by "$@".
timed() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}

mbps() { python3 -c "print(f'{$BYTES / $1 / 1e6:.0f}')"; }

# --- onetimeshare: a fresh server (and data dir) per mode, so VmHWM is per mode. -------------
OURS_PID=
start_ours() {
    local port http
    port=$(free_port); http=$(free_port)
    rm -rf "$T/data"
    "$BIN" serve --data-dir "$T/data" --ssh-addr "127.0.0.1:$port" --http-addr "127.0.0.1:$http" \
        --max-size 4GiB --ssh-uploads-per-minute 1000 > "$T/ours.log" 2>&1 &
    OURS_PID=$!
    PIDS+=("$OURS_PID")
    for _ in $(seq 100); do grep -q "onetimeshare ready" "$T/ours.log" && break; sleep 0.1; done
    grep -q "onetimeshare ready" "$T/ours.log" || { cat "$T/ours.log" >&2; exit 1; }
    OURS_PORT=$port
}
stop_ours() {
    kill "$OURS_PID"; wait "$OURS_PID" 2>/dev/null || true
}
pipe_into_ours() { ssh -T "${OPTS[@]}" -p "$OURS_PORT" 127.0.0.1 < "$T/payload" > /dev/null 2>&1; }
hwm_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$OURS_PID/status"; }

declare -A OURS_T OURS_RSS SSHD_T

for mode in scp scp-O pipe; do
    start_ours
    case $mode in
        scp)   OURS_T[$mode]=$(timed scp -q "${OPTS[@]}" -P "$OURS_PORT" "$T/payload" 127.0.0.1: 2>/dev/null) ;;
        scp-O) OURS_T[$mode]=$(timed scp -q -O "${OPTS[@]}" -P "$OURS_PORT" "$T/payload" 127.0.0.1: 2>/dev/null) ;;
        pipe)  OURS_T[$mode]=$(timed pipe_into_ours) ;;
    esac
    OURS_RSS[$mode]=$(hwm_mib)
    stop_ours
done

# --- OpenSSH sshd with internal-sftp, its own config, host key and authorized_keys. ----------
SSHD_PORT=$(free_port)
mkdir -p /run/sshd "$T/sink"
ssh-keygen -q -t ed25519 -N '' -f "$T/sshd_host_key"
cp "$T/client.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
cat > "$T/sshd_config" <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $T/sshd_host_key
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
EOF
"$SSHD" -D -e -f "$T/sshd_config" 2> "$T/sshd.log" &
PIDS+=("$!")
for _ in $(seq 50); do ssh "${OPTS[@]}" -p "$SSHD_PORT" 127.0.0.1 true 2>/dev/null && break; sleep 0.1; done

SSHD_T[scp]=$(timed scp -q "${OPTS[@]}" -P "$SSHD_PORT" "$T/payload" "127.0.0.1:$T/sink/a")
SSHD_T[scp-O]=$(timed scp -q -O "${OPTS[@]}" -P "$SSHD_PORT" "$T/payload" "127.0.0.1:$T/sink/b")
SSHD_T[pipe]=$(timed ssh -T "${OPTS[@]}" -p "$SSHD_PORT" 127.0.0.1 "cat > $T/sink/c" < "$T/payload")
cmp -s "$T/payload" "$T/sink/a" && cmp -s "$T/payload" "$T/sink/c" || { echo "sshd copy differs" >&2; exit 1; }

echo
echo "cipher: ${CIPHER:-client default (chacha20-poly1305@openssh.com)}; ${SIZE_MIB} MiB; $(ssh -V 2>&1)"
printf '| mode | onetimeshare MB/s | OpenSSH sshd MB/s | ratio | onetimeshare peak RSS |\n'
printf '|---|---|---|---|---|\n'
for mode in scp scp-O pipe; do
    ours=$(mbps "${OURS_T[$mode]}")
    theirs=$(mbps "${SSHD_T[$mode]}")
    ratio=$(python3 -c "print(f'{${SSHD_T[$mode]} / ${OURS_T[$mode]}:.2f}')")
    printf '| %s | %s | %s | %sx | %s MiB |\n' "$mode" "$ours" "$theirs" "$ratio" "${OURS_RSS[$mode]}"
done
