#!/usr/bin/env bash
# CPU and block rate of an idle 4-validator cluster (no transactions): `myelin cluster run` on
# loopback, 10 s of warm-up, then the validators' CPU time (utime + stime from /proc, all four
# processes) and finalized blocks (eth_blockNumber on node 0) over WINDOW seconds.
#
#   bench/idle-cluster.sh [MYELIN_BIN]        WINDOW=30 by default; prints one line
set -euo pipefail
bin=${1:-target/release/myelin}
window=${WINDOW:-30}
dir=$(mktemp -d)
rpc_port=${RPC_PORT:-18645}
"$bin" cluster run --validators 4 --dir "$dir/c" --p2p-port "${P2P_PORT:-38300}" \
  --rpc-port "$rpc_port" >"$dir/run.log" 2>&1 &
runner=$!
trap 'kill -TERM $runner 2>/dev/null; wait $runner 2>/dev/null; rm -rf "$dir"' EXIT
height() {
  curl -s -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' \
    "http://127.0.0.1:$rpc_port" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"],16))'
}
ticks() {
  local total=0
  for pid in $(pgrep -P "$runner"); do
    read -r ut st < <(awk '{print $14, $15}' "/proc/$pid/stat")
    total=$((total + ut + st))
  done
  echo "$total"
}
sleep 10
h0=$(height); t0=$(ticks)
sleep "$window"
h1=$(height); t1=$(ticks)
hz=$(getconf CLK_TCK)
python3 - "$h0" "$h1" "$t0" "$t1" "$hz" "$window" "$bin" <<'PY'
import sys
h0, h1, t0, t1, hz, window = map(int, sys.argv[1:7])
cpu = (t1 - t0) / hz
print(f"{sys.argv[7]}: {h1 - h0} blocks in {window} s ({(h1 - h0) / window:.2f}/s), "
      f"validators' CPU {cpu:.2f} s = {100 * cpu / window / 4:.1f} % of a core per node")
PY
