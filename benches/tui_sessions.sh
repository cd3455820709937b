#!/usr/bin/env bash
# Row "1,000 idle TUI sessions" (issue 14). Holds N (default 1000) concurrent idle TUI sessions — real `ssh -tt` clients on loopback, each
# with a pty and the full-screen interface drawn — against a release build, and reports the
# server's RSS per session. Goal: < 2 MiB per session.
# Usage: benches/tui_sessions.sh [N]     (needs openssh-client; builds --release first)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
command -v ssh >/dev/null || { echo "ssh missing: apt-get install openssh-client" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release --bin onetimeshare >/dev/null 2>&1
BIN="$CARGO_TARGET_DIR/release/onetimeshare"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  # Each client is a subshell running `sleep | ssh`: end its children, then it.
  for pid in "${PIDS[@]}"; do pkill -P "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
  [[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
SSH_PORT="$(free_port)"; HTTP_PORT="$(free_port)"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/id" >/dev/null
RUST_LOG=warn "$BIN" serve --data-dir "$WORK/data" \
  --ssh-addr "127.0.0.1:$SSH_PORT" --http-addr "127.0.0.1:$HTTP_PORT" \
  --public-url "http://127.0.0.1:$HTTP_PORT" \
  --ssh-max-connections $((N + 50)) --ssh-max-connections-per-ip $((N + 50)) \
  --ssh-max-sessions-per-key $((N + 50)) >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null && break; sleep 0.1; done

rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$SERVER/status"; }
SSH=(ssh -tt -F /dev/null -o UserKnownHostsFile="$WORK/kh" -o StrictHostKeyChecking=accept-new
     -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i "$WORK/id" -p "$SSH_PORT" 127.0.0.1)
# One session first: warms up the allocator and the host key, records the baseline.
TERM=xterm-256color "${SSH[@]}" </dev/null >/dev/null 2>&1 || true
sleep 0.5
BASE=$(rss_kib)
echo "server RSS with no sessions: $((BASE / 1024)) MiB"

for i in $(seq "$N"); do
  # A never-ending stdin keeps the session open and idle; its screen goes to a file.
  (sleep 3600 | TERM=xterm-256color "${SSH[@]}" >"$WORK/out.$i" 2>&1) </dev/null >/dev/null 2>&1 &
  PIDS+=($!)
  (( i % 20 == 0 )) && { sleep 0.5; echo "started $i" >&2; }
done
# Wait until every client has its first frame (the header is drawn), bounded.
for _ in $(seq 120); do
  DRAWN=$( (grep -l ONETIMESHARE "$WORK"/out.* 2>/dev/null || true) | wc -l)
  (( DRAWN >= N )) && break
  echo "drawn so far: $DRAWN" >&2
  sleep 1
done
sleep 2
AFTER=$(rss_kib)
echo "sessions with a drawn screen: $DRAWN / $N"
echo "server RSS with $N sessions: $((AFTER / 1024)) MiB"
awk -v a="$AFTER" -v b="$BASE" -v n="$N" \
  'BEGIN { printf "RSS per session: %.1f KiB (%.2f MiB)\n", (a-b)/n, (a-b)/n/1024 }'
echo
echo "measured $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "| measure | onetimeshare | reference (same run) | ratio / goal |"
echo "|---|---|---|---|"
awk -v a="$AFTER" -v b="$BASE" -v n="$N" -v d="$DRAWN" \
  'BEGIN { printf "| %d idle TUI sessions (%d drawn) | %.0f KiB each (RSS %.0f MiB) | no sessions: %.0f MiB | goal < 2 MiB each |\n", n, d, (a-b)/n, a/1024, b/1024 }'
