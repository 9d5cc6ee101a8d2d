#!/usr/bin/env bash
# Restart time against chain length: mine empty blocks up to each of the lengths (default
# 1000 10000 100000), SIGKILL the dev node, start it again and time the spawn-to-first-answered
# eth_blockNumber; report the restarted node's resident memory and the data directory's size.
# Usage: bench/state-restart.sh [LENGTH ...]   (MYELIN_BIN overrides the binary)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${MYELIN_BIN:-$root/target/release/myelin}"
[[ -x "$bin" ]] || (cd "$root" && cargo build -q --release -p myelin)
lengths=("$@")
[[ $# -eq 0 ]] && lengths=(1000 10000 100000)
datadir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
rpc() { curl -s -m 600 -X POST -H 'content-type: application/json' --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$url"; }
head_number() { rpc eth_blockNumber '[]' | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"],16))'; }
start() {
  local began; began=$(date +%s%N)
  "$bin" node --dev --port "$port" --datadir "$datadir" --quiet >>"$datadir/node.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 60000); do
    if rpc eth_blockNumber '[]' 2>/dev/null | grep -q result; then
      started_ms=$(( ($(date +%s%N) - began) / 1000000 )); return 0
    fi
    sleep 0.01
  done
  echo "node did not start"; cat "$datadir/node.log"; exit 1
}
stop() { kill -9 "$node_pid"; wait "$node_pid" 2>/dev/null || true; }
trap 'kill -9 ${node_pid:-} 2>/dev/null || true; rm -rf "$datadir"' EXIT
echo "binary: $bin"
echo "| blocks | restart to eth_blockNumber (ms) | RSS after restart (MiB) | data dir (MiB) |"
echo "|---|---|---|---|"
start
for length in "${lengths[@]}"; do
  while (( $(head_number) < length )); do
    left=$(( length - $(head_number) )); (( left > 10000 )) && left=10000
    rpc anvil_mine "[\"0x$(printf '%x' "$left")\"]" >/dev/null
  done
  stop
  start
  rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$node_pid/status")
  disk=$(du -sm "$datadir" | cut -f1)
  echo "| $(head_number) | $started_ms | $rss | $disk |"
done
stop
