#!/usr/bin/env bash
# Share-core benchmarks in one run: OpenSSL's ChaCha20-Poly1305 (the reference), our streaming
# encrypt/decrypt (criterion), and claim latency per store. Prints a summary for
# docs/benchmarks.md. Usage: benches/core.sh   (OTS_BENCH_MAX_MIB=256 to skip the 1 GiB size)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { echo "openssl missing: apt-get install openssl" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing: apt-get install redis-server" >&2; exit 1; }

echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo || true
echo "== openssl speed -evp chacha20-poly1305 (single core, 16 KiB blocks)"
openssl speed -evp chacha20-poly1305 -bytes 16384 -seconds 3 2>/dev/null | tail -2
echo "== ours (criterion, release)"
cargo bench --bench crypto 2>/dev/null | grep -E '^stream/|thrpt:' | paste - - | sed -E 's/ +/ /g'
echo "== claim latency"
cargo bench --bench claim 2>/dev/null | grep -E '^claim latency|^claim_1KiB/|time:' | sed -E 's/ +/ /g'
