#!/usr/bin/env bash
# The whole test suite in one command: installs the system tools the tests drive (Debian
# packages) when they are missing, then builds once and runs every test in parallel.
#
#   tests/run.sh            # everything
#   tests/run.sh contract   # extra arguments are passed to the test runner as a filter
set -euo pipefail
cd "$(dirname "$0")/.."

# program → Debian package that provides it
tools=(
  "redis-server:redis-server"
  "curl:curl"
  "ssh:openssh-client"
  "scp:openssh-client"
  "sftp:openssh-client"
  "ssh-keygen:openssh-client"
  "tmux:tmux"
  "chromium:chromium"
  "openssl:openssl"
)
missing=()
for entry in "${tools[@]}"; do
  program=${entry%%:*} package=${entry#*:}
  command -v "$program" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  sudo=""
  [ "$(id -u)" = 0 ] || { sudo -n true 2>/dev/null && sudo="sudo -n"; }
  if { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; } && command -v apt-get >/dev/null; then
    echo "tests/run.sh: installing ${missing[*]}" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "tests/run.sh: missing Debian packages: ${missing[*]} (tests that need them will fail)" >&2
  fi
fi

# Browser tests drive Chromium through playwright-core (an npm package, no browser download).
if [ -f tests/browser/package.json ]; then
  (cd tests/browser && { [ -d node_modules ] || npm ci --no-audit --no-fund --silent; })
fi

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --no-fail-fast "$@"
else
  exec cargo test --no-fail-fast -- "$@"
fi
