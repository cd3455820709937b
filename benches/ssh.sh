#!/usr/bin/env bash
# SSH upload throughput: the same file sent with `scp` (SFTP mode), `scp -O` and a pipe into
# onetimeshare (release build) and into OpenSSH's own sshd (internal-sftp), on loopback, in one
# run. Reports MB/s (10^6 bytes/s) per mode, onetimeshare's peak RSS (VmHWM) per mode, and the CPU
# seconds each side used (the server's, and the client's: scp or ssh with its children), which
# say more than MB/s when other work shares the cores.
#
#   benches/ssh.sh [SIZE_MIB]          default 512
#   ROUNDS=5 benches/ssh.sh 256        five interleaved rounds, medians (for a busy machine)
#   CIPHER=aes128-gcm@openssh.com benches/ssh.sh    force a cipher on both servers' clients
#   RTT_MS=20 benches/ssh.sh 256       both servers behind benches/delay_proxy.py: a 20 ms round
#                                      trip, where what each side keeps in flight sets the pace
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


# via PORT: sets VIA_PORT, the port to connect to for PORT: with RTT_MS, a delay relay's (its
# pid goes to PROXY_PID).
PROXY_PID=
via() {
    VIA_PORT=$1
    if [ -z "${RTT_MS:-}" ]; then return; fi
    local port
    port=$(free_port)
    python3 "$ROOT/benches/delay_proxy.py" "$port" "$1" "$(python3 -c "print($RTT_MS / 2)")" \
        > "$T/proxy.$port" 2>&1 &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    for _ in $(seq 50); do grep -qs ready "$T/proxy.$port" && break; sleep 0.1; done
    grep -qs ready "$T/proxy.$port" || { cat "$T/proxy.$port" >&2; exit 1; }
    VIA_PORT=$port
}

# --- onetimeshare: a fresh server (and data dir) per upload, so VmHWM is per mode. -----------
OURS_PID=
start_ours() {
    local port http
    port=$(free_port); http=$(free_port)
    rm -rf "$T/data" "$T/ours.log"
    "$BIN" serve --data-dir "$T/data" --ssh-addr "127.0.0.1:$port" --http-addr "127.0.0.1:$http" \
        --max-size 4GiB --ssh-uploads-per-minute 1000 > "$T/ours.log" 2>&1 &
    OURS_PID=$!
    PIDS+=("$OURS_PID")
    for _ in $(seq 100); do grep -qs "onetimeshare ready" "$T/ours.log" && break; sleep 0.1; done
    grep -qs "onetimeshare ready" "$T/ours.log" || { cat "$T/ours.log" >&2; exit 1; }
    via "$port"
    OURS_PORT=$VIA_PORT
}
stop_ours() {
    kill "$OURS_PID"; wait "$OURS_PID" 2>/dev/null || true
    if [ -n "${RTT_MS:-}" ]; then kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; fi
}
hwm_mib() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$OURS_PID/status"; }

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
via "$SSHD_PORT"
SSHD_VIA=$VIA_PORT

# upload_to PORT MODE [DEST]: one upload, timed (seconds on stdout); DEST is sshd's file.
upload_to() {
    case $2 in
        scp)   timed scp -q "${OPTS[@]}" -P "$1" "$T/payload" "127.0.0.1:${3:-}" 2>/dev/null ;;
        scp-O) timed scp -q -O "${OPTS[@]}" -P "$1" "$T/payload" "127.0.0.1:${3:-}" 2>/dev/null ;;
        pipe)  timed ssh -T "${OPTS[@]}" -p "$1" 127.0.0.1 ${3:+"cat > $3"} < "$T/payload" 2>/dev/null ;;
    esac
}

# Each round sends every mode to onetimeshare and then to sshd, back to back, so both sides of
# a ratio see the same machine; with ROUNDS > 1 the table shows medians (the ratio's is the
# median of the per-round ratios, with their range).
ROUNDS=${ROUNDS:-1}
: > "$T/results"
for round in $(seq "$ROUNDS"); do
    for mode in scp scp-O pipe; do
        start_ours
        before=$(cpu_s "$OURS_PID" self)
        ours_t=$(upload_to "$OURS_PORT" "$mode")
        ours_client=$(cat "$T/client_cpu")
        ours_cpu=$(python3 -c "print(f'{$(cpu_s "$OURS_PID" self) - $before:.2f}')")
        ours_rss=$(hwm_mib)
        stop_ours

        sleep 0.5
        before=$(cpu_s "$SSHD_PID" children)
        sshd_t=$(upload_to "$SSHD_VIA" "$mode" "$T/sink/$mode")
        sshd_client=$(cat "$T/client_cpu")
        # sshd's CPU for one transfer: what its per-connection processes used, once reaped.
        sleep 0.5
        sshd_cpu=$(python3 -c "print(f'{$(cpu_s "$SSHD_PID" children) - $before:.2f}')")
        cmp -s "$T/payload" "$T/sink/$mode" || { echo "sshd's copy ($mode) differs" >&2; exit 1; }
        rm -f "$T/sink/$mode"
        echo "$mode $ours_t $sshd_t $ours_rss $ours_cpu $sshd_cpu $ours_client $sshd_client" >> "$T/results"
    done
done

echo
echo "cipher: ${CIPHER:-client default (chacha20-poly1305@openssh.com)}; ${SIZE_MIB} MiB; ${ROUNDS} round(s); ${RTT_MS:+round trip ${RTT_MS} ms (delay_proxy.py); }$(ssh -V 2>&1)"
echo "load average before and after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$T/results" "$BYTES" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    mode, *values = line.split()
    rows.setdefault(mode, []).append([float(v) for v in values])
size = int(sys.argv[2])
med = statistics.median
print("| mode | onetimeshare MB/s | OpenSSH sshd MB/s | ratio | onetimeshare peak RSS "
      "| server CPU s (ours / sshd) | client CPU s (against ours / sshd) |")
print("|---|---|---|---|---|---|---|")
for mode in ("scp", "scp-O", "pipe"):
    runs = rows[mode]
    ratios = sorted(r[1] / r[0] for r in runs)
    spread = f" ({ratios[0]:.2f}–{ratios[-1]:.2f})" if len(runs) > 1 else ""
    ours, sshd = med(r[0] for r in runs), med(r[1] for r in runs)
    rss, ours_cpu, sshd_cpu, ours_client, sshd_client = (med(r[i] for r in runs) for i in range(2, 7))
    print(f"| {mode} | {size / ours / 1e6:.0f} | {size / sshd / 1e6:.0f} | {med(ratios):.2f}x{spread} "
          f"| {rss:.1f} MiB | {ours_cpu:.2f} / {sshd_cpu:.2f} | {ours_client:.2f} / {sshd_client:.2f} |")
PY
