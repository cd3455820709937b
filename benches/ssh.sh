#!/usr/bin/env bash
# SSH upload throughput: the same file sent with `scp` (SFTP mode), `scp -O` and a pipe into
# onetimeshare (release build) and into OpenSSH's own sshd (internal-sftp), on loopback, in one
# run. Reports MB/s (10^6 bytes/s) per mode, onetimeshare's peak RSS (VmHWM) per mode, and the CPU
# seconds each side used (the server's, and the client's: scp or ssh with its children), which
# say more than MB/s when other work shares the cores.
#
#   benches/ssh.sh [SIZE_MIB]          default 512
#   CIPHER=aes128-gcm@openssh.com benches/ssh.sh    force a cipher on both servers' clients
#
# Needs: openssh-client, openssh-server (for /usr/sbin/sshd), python3 (free ports), time, and
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
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time: apt-get install time" >&2; exit 1; }
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

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "payload: ${SIZE_MIB} MiB of random bytes" >&2
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$T/payload"
BYTES=$(stat -c %s "$T/payload")
ssh-keygen -q -t ed25519 -N '' -C bench -f "$T/client"

OPTS=(-F /dev/null -o "UserKnownHostsFile=$T/known_hosts" -o StrictHostKeyChecking=no
      -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i "$T/client")
if [ -n "${CIPHER:-}" ]; then OPTS+=(-c "$CIPHER"); fi

# Seconds (float) taken by "$@"; the client's CPU seconds (user + system, its ssh child
# included) go to $T/client_cpu.
timed() {
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$T/client_cpu.raw" "$@" > "$T/client.out"
    end=$(date +%s.%N)
    awk '{ printf "%.2f", $1 + $2 }' "$T/client_cpu.raw" > "$T/client_cpu"
    python3 -c "print(f'{$end - $start:.3f}')"
}

# CPU seconds (user + system) process $1 has used itself ("self"), or its children that it has
# reaped ("children": how sshd's per-connection processes are counted).
cpu_s() {
    awk -v which="$2" '{ t = which == "self" ? $14 + $15 : $16 + $17; printf "%.2f", t / 100 }' \
        "/proc/$1/stat"
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
hwm_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$OURS_PID/status"; }

declare -A OURS_T OURS_RSS OURS_CPU OURS_CLIENT_CPU SSHD_T SSHD_CPU SSHD_CLIENT_CPU

for mode in scp scp-O pipe; do
    start_ours
    before=$(cpu_s "$OURS_PID" self)
    case $mode in
        scp)   OURS_T[$mode]=$(timed scp -q "${OPTS[@]}" -P "$OURS_PORT" "$T/payload" 127.0.0.1: 2>/dev/null) ;;
        scp-O) OURS_T[$mode]=$(timed scp -q -O "${OPTS[@]}" -P "$OURS_PORT" "$T/payload" 127.0.0.1: 2>/dev/null) ;;
        pipe)  OURS_T[$mode]=$(timed ssh -T "${OPTS[@]}" -p "$OURS_PORT" 127.0.0.1 < "$T/payload" 2>/dev/null) ;;
    esac
    OURS_CLIENT_CPU[$mode]=$(cat "$T/client_cpu")
    OURS_CPU[$mode]=$(python3 -c "print(f'{$(cpu_s "$OURS_PID" self) - $before:.2f}')")
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
SSHD_PID=$!
PIDS+=("$SSHD_PID")
for _ in $(seq 50); do ssh "${OPTS[@]}" -p "$SSHD_PORT" 127.0.0.1 true 2>/dev/null && break; sleep 0.1; done

# sshd's CPU for one transfer: what its reaped per-connection processes used.
sshd_cpu_since() {
    sleep 0.5
    python3 -c "print(f'{$(cpu_s "$SSHD_PID" children) - $1:.2f}')"
}
for mode in scp scp-O pipe; do
    sleep 0.5
    before=$(cpu_s "$SSHD_PID" children)
    case $mode in
        scp)   SSHD_T[$mode]=$(timed scp -q "${OPTS[@]}" -P "$SSHD_PORT" "$T/payload" "127.0.0.1:$T/sink/a") ;;
        scp-O) SSHD_T[$mode]=$(timed scp -q -O "${OPTS[@]}" -P "$SSHD_PORT" "$T/payload" "127.0.0.1:$T/sink/b") ;;
        pipe)  SSHD_T[$mode]=$(timed ssh -T "${OPTS[@]}" -p "$SSHD_PORT" 127.0.0.1 "cat > $T/sink/c" < "$T/payload") ;;
    esac
    SSHD_CLIENT_CPU[$mode]=$(cat "$T/client_cpu")
    SSHD_CPU[$mode]=$(sshd_cpu_since "$before")
done
cmp -s "$T/payload" "$T/sink/a" && cmp -s "$T/payload" "$T/sink/c" || { echo "sshd copy differs" >&2; exit 1; }

echo
echo "cipher: ${CIPHER:-client default (chacha20-poly1305@openssh.com)}; ${SIZE_MIB} MiB; $(ssh -V 2>&1)"
echo "load average before and after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| mode | onetimeshare MB/s | OpenSSH sshd MB/s | ratio | onetimeshare peak RSS | server CPU s (ours / sshd) | client CPU s (against ours / sshd) |\n'
printf '|---|---|---|---|---|---|---|\n'
for mode in scp scp-O pipe; do
    ours=$(mbps "${OURS_T[$mode]}")
    theirs=$(mbps "${SSHD_T[$mode]}")
    ratio=$(python3 -c "print(f'{${SSHD_T[$mode]} / ${OURS_T[$mode]}:.2f}')")
    printf '| %s | %s | %s | %sx | %s MiB | %s / %s | %s / %s |\n' "$mode" "$ours" "$theirs" "$ratio" \
        "${OURS_RSS[$mode]}" "${OURS_CPU[$mode]}" "${SSHD_CPU[$mode]}" \
        "${OURS_CLIENT_CPU[$mode]}" "${SSHD_CLIENT_CPU[$mode]}"
done
