#!/usr/bin/env bash
# Row "1 GiB claim download" (issue 14): one `curl -X POST` claim of a 1 GiB share (decrypted
# while streamed), nginx sending a 1 GiB file with sendfile, and `openssl speed`'s single-core
# ChaCha20-Poly1305 (the decryption ceiling of one core), in one run; our peak RSS during it.
#   benches/download.sh           env: SIZE_MIB=1024
# Needs: nginx curl openssl python3.
source "$(dirname "$0")/lib.sh"
SIZE_MIB=${SIZE_MIB:-1024}
need openssl openssl
build_release
DATA=$WORK/data
"$MAKE_SHARES" "$DATA" http://127.0.0.1:1 1 $((SIZE_MIB << 20)) "$WORK/big.txt"
start_ots "$DATA"
mkdir -p "$WORK/www"; echo ok >"$WORK/www/index.html"
head -c $((SIZE_MIB << 20)) /dev/zero >"$WORK/www/big.bin"
start_nginx "$WORK/www"
read -r BIG_PATH BIG_KEY <"$WORK/big.txt"
BEFORE=$(rss_kib "$OTS")
sample_rss "$OTS"
OURS=$(curl -s -o /dev/null -w '%{speed_download}' -X POST -d "key=$BIG_KEY" "$URL$BIG_PATH" | awk '{printf "%.2f", $1/1e9}')
kill "$SAMPLER" 2>/dev/null || true
PEAK=$(cat "$WORK/rss-max.$OTS")
NGINX=$(curl -s -o /dev/null -w '%{speed_download}' "$NGINX_URL/big.bin" | awk '{printf "%.2f", $1/1e9}')
OPENSSL=$(openssl speed -evp chacha20-poly1305 -bytes 65536 -seconds 3 2>/dev/null | awk 'tolower($1) ~ /^chacha20-poly1305/ {v=$NF; sub("k","",v); printf "%.2f", v * 1000 / 1e9}')
row "| ${SIZE_MIB} MiB claim download GB/s | $OURS (RSS $(mib "$BEFORE") → peak $(mib "$PEAK") MiB) | nginx sendfile $NGINX · openssl chacha20-poly1305 1 core $OPENSSL | goal ≥ 1 GB/s |"
