#!/usr/bin/env bash
# Regenerates docs/screenshots/tui/*.png: every TUI screen in a real terminal emulator (xterm
# under Xvfb, driven by xdotool, captured with xwd), at 80×24, 100×32 and 200×60, in truecolour,
# 256 and 16 colours, on dark and light backgrounds. The armed screen's QR code is decoded from
# the screenshot with zbarimg, and that link is what the script claims (curl) to show OPENED —
# so a QR code that does not scan fails the run.
#
#   docs/screenshots/capture.sh            # uses target/debug/onetimeshare (cargo build first)
#   ONETIMESHARE_BIN=path/to/binary docs/screenshots/capture.sh
#
# Needs (Debian): xvfb xterm xdotool x11-apps imagemagick zbar-tools openssh-client curl
# fonts-dejavu-core; for the web pages (docs/screenshots/web, tests/browser/screenshots.mjs) nodejs,
# npm and chromium. SKIP_TUI=1 or SKIP_WEB=1 leaves one half out.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/docs/screenshots/tui"
bin=${ONETIMESHARE_BIN:-$root/target/debug/onetimeshare}
for tool in Xvfb xterm xdotool xwd convert zbarimg ssh ssh-keygen curl python3; do
  command -v "$tool" >/dev/null || {
    echo "capture.sh: $tool is missing (apt-get install xvfb xterm xdotool x11-apps imagemagick zbar-tools openssh-client curl)" >&2
    exit 1
  }
done
[ -x "$bin" ] || { echo "capture.sh: no binary at $bin (run cargo build)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
ssh_port=$(free_port)
ssh-keygen -q -t ed25519 -N '' -C 'alice@laptop' -f "$work/id"
ssh-keygen -q -t ed25519 -N '' -C 'operator' -f "$work/op"
cp "$work/op.pub" "$work/admin_keys"
"$bin" serve --data-dir "$work/data" \
  --http-addr "127.0.0.1:$http_port" --ssh-addr "127.0.0.1:$ssh_port" \
  --public-url "https://share.example" --admin-keys "$work/admin_keys" \
  --argon2-memory 8MiB --argon2-iterations 1 >"$work/server.log" 2>&1 &
pids+=($!)

display=":$(( 90 + RANDOM % 100 ))"
Xvfb "$display" -screen 0 2200x1500x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=$display
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$http_port/healthz" >/dev/null && break; sleep 0.1; done

ssh_cmd() { # ssh_cmd IDENTITY
  echo "ssh -tt -F /dev/null -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=accept-new \
-o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i $work/$1 -p $ssh_port 127.0.0.1"
}

# open_term COLS ROWS TERM BG [IDENTITY]: starts an xterm running the TUI; sets $win.
open_term() {
  local cols=$1 rows=$2 term=$3 bg=$4 identity=${5:-id} fg
  if [ "$bg" = light ]; then fg=black; bg=white; else fg=white; bg='#1a1a1a'; fi
  xterm -display "$display" -geometry "${cols}x${rows}+0+0" -fa 'DejaVu Sans Mono' -fs 10 \
    -bg "$bg" -fg "$fg" -bw 0 +sb -xrm 'XTerm*allowWindowOps: true' \
    -xrm 'XTerm*disallowedWindowOps: ' -title ots-capture \
    -e env TERM="$term" sh -c "$(ssh_cmd "$identity")" &
  xterm_pid=$!
  pids+=($xterm_pid)
  win=""
  for _ in $(seq 100); do
    win=$(xdotool search --sync --onlyvisible --pid "$xterm_pid" 2>/dev/null | head -1) && [ -n "$win" ] && break
    sleep 0.1
  done
  # No window manager: give the xterm the keyboard, so xdotool's XTEST keys reach it (xterm
  # ignores synthetic events sent to a window).
  xdotool windowfocus --sync "$win" 2>/dev/null || xdotool windowfocus "$win"
  sleep 2.5
}

close_term() {
  kill "$xterm_pid" 2>/dev/null || true
  wait "$xterm_pid" 2>/dev/null || true
  sleep 0.5
}

shot() { # shot NAME
  sleep 1.2
  xwd -silent -id "$win" | convert xwd:- "png:$out/$1.png"
  echo "  $1.png"
}

keys() { xdotool key --delay 80 "$@"; sleep 0.3; }
type_text() { xdotool type --delay 30 "$1"; sleep 0.8; }

# claim PNG: reads the link from the screenshot's QR code and claims it over HTTP.
claim_from() {
  local link id key
  link=$(zbarimg --quiet --raw "$out/$1.png" | head -1)
  [ -n "$link" ] || { echo "capture.sh: no QR code decoded from $1.png" >&2; exit 1; }
  echo "  QR in $1.png: ${link%%#*}#…"
  id=${link##*/s/}; id=${id%%#*}; key=${link##*#}
  curl -fs -o /dev/null -X POST -d "key=$key" -d password=hunter2 "http://127.0.0.1:$http_port/s/$id"
}

if [ "${SKIP_TUI:-}" != 1 ]; then
mkdir -p "$out"
rm -f "$out"/*.png

# The full walk at one size and colour depth: compose, armed (QR), copied, opened, shares, help.
walk() { # walk COLS ROWS TERM BG TAG
  local cols=$1 rows=$2 term=$3 bg=$4 tag=$5
  echo "$tag: ${cols}x${rows} TERM=$term $bg"
  open_term "$cols" "$rows" "$term" "$bg"
  type_text "DATABASE_URL=postgres://app:s3cret@db/app"
  keys Return
  type_text "API_KEY=sk_live_51H8xQ2"
  keys Tab Tab
  type_text "hunter2"
  keys Tab
  type_text "hunter2"
  keys Tab
  type_text "prod.env"
  shot "compose-$tag"
  sleep 0.7; keys ctrl+s
  shot "armed-$tag"
  claim_from "armed-$tag"
  sleep 2.5
  shot "opened-$tag"
  keys l
  shot "shares-$tag"
  keys F1
  shot "help-$tag"
  keys Escape
  close_term
}

walk 100 32 xterm-direct dark 100x32-truecolor
walk 80 24 xterm-direct dark 80x24-truecolor
walk 200 60 xterm-direct dark 200x60-truecolor
walk 100 32 xterm-256color dark 100x32-256
walk 100 32 screen light 100x32-16-light
walk 80 24 screen dark 80x24-16-dark

# The inbox: a share sealed to this key by another sender (`--to`), then F2.
echo "inbox"
echo "DEPLOY_TOKEN=dpl_9f8e7d" | $(ssh_cmd op | sed 's/ssh -tt/ssh -T/') -- \
  --to "'$(cat "$work/id.pub")'" --name deploy.env >/dev/null
open_term 100 32 xterm-direct dark
keys F2
shot inbox-100x32-truecolor
close_term
open_term 80 24 screen light
keys F2
shot inbox-80x24-16-light
close_term

# The operator console and the small-terminal screens.
echo "operator and edge sizes"
open_term 100 32 xterm-direct dark op
keys ctrl+o
shot operator-100x32-truecolor
keys 2
shot operator-shares-100x32-truecolor
close_term
open_term 60 16 xterm-256color dark
type_text "smallest terminal that gets the full screen"
shot compose-60x16-256
close_term
open_term 50 12 xterm-256color light
shot too-small-50x12-256-light
close_term

echo "done: $(ls "$out" | wc -l) screenshots in docs/screenshots/tui"
fi

# The web pages, desktop and phone, in headless Chromium (tests/browser has playwright-core).
if [ "${SKIP_WEB:-}" = 1 ]; then exit 0; fi
command -v node >/dev/null && [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || {
  echo "capture.sh: node and chromium are needed for the web pages (apt-get install nodejs chromium)" >&2
  exit 1
}
(cd "$root/tests/browser" && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --silent; })
web="$root/docs/screenshots/web"
mkdir -p "$web"
rm -f "$web"/*.png
upload() { # upload ARGS... < content: prints the link, pointed at this server
  $(ssh_cmd id | sed 's/ssh -tt/ssh -T/') -- "$@" | sed "s#https://share.example#http://127.0.0.1:$http_port#"
}
links_json() {
  local text file password lock report
  text=$(printf 'DATABASE_URL=postgres://app:s3cret@db/app\nAPI_KEY=sk_live_51H8xQ2\n' | upload)
  file=$(head -c 40000 /dev/urandom | upload --name Q3-report.pdf)
  password=$(printf 'hunter2\nthe vault code is 4711\n' | upload --password-stdin)
  lock=$(printf 'hunter2\nlocked away\n' | upload --password-stdin)
  report=$(printf 'click here to verify your bank account\n' | upload)
  printf '{"textLink":"%s","fileLink":"%s","passwordLink":"%s","lockLink":"%s","reportLink":"%s"}' \
    "$text" "$file" "$password" "$lock" "$report"
}
desktop=$(links_json)
phone=$(links_json)
config=$(python3 -c 'import json,sys; d,p=json.loads(sys.argv[1]),json.loads(sys.argv[2]); print(json.dumps({"base":sys.argv[3],"outDir":sys.argv[4],**{k:{"desktop":d[k],"phone":p[k]} for k in d}}))' \
  "$desktop" "$phone" "http://127.0.0.1:$http_port" "$web")
node "$root/tests/browser/screenshots.mjs" "$config"
echo "done: $(ls "$web" | wc -l) screenshots in docs/screenshots/web"
