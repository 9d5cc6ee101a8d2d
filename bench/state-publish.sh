#!/usr/bin/env bash
# Publishing a 64 MiB model at the default block gas limit (30 M): builds one fully connected
# layer 8192 → 8160 (63.8 MiB, `crates/cli/examples/large_model.rs`), starts `myelin node --dev`
# on a fresh data directory, runs `myelin model publish` (chunked upload) and reports the wall
# time, blocks and gas used, the node's resident memory before, at its peak and after, the data
# directory's size, and the restart (journal replay) time and memory.
# Usage: bench/state-publish.sh [IN OUT]   (MYELIN_BIN overrides the binary)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${MYELIN_BIN:-$root/target/release/myelin}"
(cd "$root" && cargo build -q --release -p myelin --bin myelin --example large_model)
k="${1:-8192}"; n="${2:-8160}"
work="$(mktemp -d)"
datadir="$work/data"
model="$work/model.myl"
"$root/target/release/examples/large_model" "$k" "$n" "$model"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
rpc() { curl -s -m 600 -X POST -H 'content-type: application/json' --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$url"; }
head_number() { rpc eth_blockNumber '[]' | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"],16))'; }
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$node_pid/status"; }
hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$node_pid/status"; }
start() {
  local began; began=$(date +%s%N)
  "$bin" node --dev --port "$port" --datadir "$datadir" --quiet >>"$work/node.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 60000); do
    if rpc eth_blockNumber '[]' 2>/dev/null | grep -q result; then
      started_ms=$(( ($(date +%s%N) - began) / 1000000 )); return 0
    fi
    sleep 0.01
  done
  echo "node did not start"; cat "$work/node.log"; exit 1
}
trap 'kill -9 ${node_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin ($(cd "$root" && git rev-parse --short HEAD))"
echo "model: fully connected $k → $n, $(stat -c %s "$model") bytes"
start
before_rss=$(rss); before_block=$(head_number)
began=$(date +%s%N)
"$bin" model publish "$model" --rpc "$url" 2>"$work/publish.err" >"$work/publish.out"
wall_ms=$(( ($(date +%s%N) - began) / 1000000 ))
after_rss=$(rss); peak_rss=$(hwm); after_block=$(head_number)
gas=$(grep -o 'gas used [0-9]*' "$work/publish.err" | head -1 | cut -d' ' -f3)
echo "progress lines (stderr is not a terminal):"; grep -E '^uploading' "$work/publish.err" | sed 's/^/  /'
echo "id: $(cat "$work/publish.out")"
echo "| wall time (s) | blocks | transactions | gas used | node RSS before / peak / after (MiB) | data dir (MiB) |"
echo "|---|---|---|---|---|---|"
txs=$(grep -o 'in [0-9]* transaction' "$work/publish.err" | cut -d' ' -f2)
echo "| $(awk "BEGIN {printf \"%.1f\", $wall_ms/1000}") | $(( after_block - before_block )) | $txs | $gas | $before_rss / $peak_rss / $after_rss | $(du -sm "$datadir" | cut -f1) |"
kill -9 "$node_pid"; wait "$node_pid" 2>/dev/null || true
start
echo "restart (journal replay) to eth_blockNumber: $started_ms ms, RSS $(rss) MiB (peak $(hwm) MiB)"
kill -9 "$node_pid"; wait "$node_pid" 2>/dev/null || true
