#!/usr/bin/env bash
# Where an SSH upload's server-side cost goes, in counts that stay put on a busy machine:
# instructions (valgrind callgrind) and system calls (strace -f -c) of onetimeshare receiving the
# same file by `scp` (SFTP mode), `scp -O` and a pipe. Wall-clock throughput is benches/ssh.sh.
#
#   benches/ssh_profile.sh [SIZE_MIB] [MODES]     default 64, "scp scp-O pipe"
#
# Prints, per mode: instructions per byte received, the top functions by instructions, who calls
# memcpy/memset (the copies), and the syscall table. KEEP=DIR keeps the callgrind files.
# Needs: openssh-client, valgrind, strace, python3, and `cargo build --release`.
set -euo pipefail

SIZE_MIB=${1:-64}
MODES=${2:-scp scp-O pipe}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ONETIMESHARE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/onetimeshare}

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing $1: apt-get install $2" >&2; exit 1; }; }
need scp openssh-client
need valgrind valgrind
need callgrind_annotate valgrind
need strace strace
need python3 python3
[ -x "$BIN" ] || { echo "missing $BIN: run cargo build --release" >&2; exit 1; }

T=$(mktemp -d /tmp/ots-ssh-profile.XXXXXX)
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$T/payload"
BYTES=$(stat -c %s "$T/payload")
ssh-keygen -q -t ed25519 -N '' -C profile -f "$T/client"
OPTS=(-F /dev/null -o "UserKnownHostsFile=$T/known_hosts" -o StrictHostKeyChecking=no
      -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i "$T/client")

# run_under TOOL... : starts the server under TOOL, waits until it listens; sets SERVER, PORT.
run_under() {
    PORT=$(free_port)
    rm -rf "$T/data" "$T/server.log"
    "$@" "$BIN" serve --data-dir "$T/data" --ssh-addr "127.0.0.1:$PORT" \
        --http-addr "127.0.0.1:$(free_port)" --max-size 4GiB --ssh-uploads-per-minute 1000 \
        > "$T/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 600); do grep -qs "onetimeshare ready" "$T/server.log" && return; sleep 0.1; done
    cat "$T/server.log" >&2
    exit 1
}

upload() {
    case $1 in
        scp) scp -q "${OPTS[@]}" -P "$PORT" "$T/payload" 127.0.0.1: 2>/dev/null ;;
        scp-O) scp -q -O "${OPTS[@]}" -P "$PORT" "$T/payload" 127.0.0.1: 2>/dev/null ;;
        pipe) ssh -T "${OPTS[@]}" -p "$PORT" 127.0.0.1 < "$T/payload" > /dev/null 2>&1 ;;
    esac
}

# Stops the server with SIGINT (a clean shutdown, so valgrind and strace write their reports).
# Under strace the server is strace's child; valgrind runs it in its own process.
stop() {
    local child
    child=$(pgrep -P "$SERVER" || true)
    kill -INT "${child:-$SERVER}"
    wait "$SERVER" 2>/dev/null || true
    SERVER=
}

echo "${SIZE_MIB} MiB per upload; $(ssh -V 2>&1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in $MODES; do
    echo
    echo "=== $mode: callgrind (instructions)"
    run_under valgrind --tool=callgrind --callgrind-out-file="$T/callgrind.$mode.out"
    upload "$mode"
    stop
    total=$(callgrind_annotate "$T/callgrind.$mode.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    python3 -c "print(f'instructions: {$total:,} total, {$total / $BYTES:.1f} per byte received')"
    callgrind_annotate --threshold=95 "$T/callgrind.$mode.out" 2>/dev/null \
        | awk '/file:function/ { on = 1; getline; next } on && /^-+$/ { exit } on && NF { print }' \
        | sed -e 's/ \[[^]]*\]$//' -e 's|\./string/\.\./sysdeps/x86_64/multiarch/||' 
    echo "--- who calls memcpy / memset (each pass over the data is ~1 instruction per byte):"
    callgrind_annotate --tree=caller --threshold=100 "$T/callgrind.$mode.out" 2>/dev/null \
        | python3 -c '
import re, sys
block = []
for line in list(sys.stdin) + [""]:
    if line.strip():
        block.append(line.rstrip())
        continue
    if any("*" in l and re.search(r"mem(move|set)-vec", l) for l in block):
        for l in block:
            m = re.match(r"\s*([\d,]+) .*< (.*?)( \[/.*)?$", l)
            if m and int(m.group(1).replace(",", "")) > 1_000_000:
                print(f"{m.group(1):>14}  {m.group(2)}")
    block = []
'
    if [ -n "${KEEP:-}" ]; then cp "$T/callgrind.$mode.out" "$KEEP/"; fi

    echo
    echo "=== $mode: strace -f -c (system calls)"
    run_under strace -f -c -o "$T/strace.$mode"
    upload "$mode"
    stop
    sed -n 1,30p "$T/strace.$mode"
done
