#!/usr/bin/env bash
# Row "RSS during a 1 GiB upload and a 1 GiB claim at once" (issue 14): a 1 GiB share is claimed
# with curl while another 1 GiB is piped in over SSH; our VmRSS is sampled every 20 ms. The
# reference is the idle RSS of the same process just before (goal: < 64 MiB above it).
#   benches/upload_claim_rss.sh       env: SIZE_MIB=1024
# Needs: openssh-client curl python3.
source "$(dirname "$0")/lib.sh"
SIZE_MIB=${SIZE_MIB:-1024}
need ssh openssh-client
build_release
DATA=$WORK/data
"$MAKE_SHARES" "$DATA" http://127.0.0.1:1 1 $((SIZE_MIB << 20)) "$WORK/big.txt"
start_ots "$DATA" --max-size 4GiB --ssh-uploads-per-minute 1000 --quota-bytes-per-key 8GiB \
  --quota-bytes-per-address 8GiB
ssh-keygen -q -t ed25519 -N '' -f "$WORK/id"
SSH=(ssh -T -F /dev/null -o UserKnownHostsFile="$WORK/kh" -o StrictHostKeyChecking=accept-new
     -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i "$WORK/id" -p "$SSH_PORT" 127.0.0.1)
echo warm | "${SSH[@]}" >/dev/null 2>&1   # first session: host key, allocator warm-up
sleep 0.5
IDLE=$(rss_kib "$OTS")
read -r BIG_PATH BIG_KEY <"$WORK/big.txt"
sample_rss "$OTS"
start=$(date +%s.%N)
head -c $((SIZE_MIB << 20)) /dev/urandom | "${SSH[@]}" >"$WORK/link.txt" 2>"$WORK/upload.err" &
UP=$!
curl -s -o /dev/null -X POST -d "key=$BIG_KEY" "$URL$BIG_PATH"
wait "$UP" || { echo "the upload failed: $(cat "$WORK/upload.err")" >&2; exit 1; }
end=$(date +%s.%N)
kill "$SAMPLER" 2>/dev/null || true
PEAK=$(cat "$WORK/rss-max.$OTS")
grep -q '/s/' "$WORK/link.txt" || { echo "the upload did not publish a link" >&2; exit 1; }
row "| RSS during a ${SIZE_MIB} MiB upload and a ${SIZE_MIB} MiB claim at once ($(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}') s) | peak $(mib "$PEAK") MiB: +$(mib $((PEAK - IDLE))) MiB | idle, same process: $(mib "$IDLE") MiB | goal < 64 MiB above idle |"
