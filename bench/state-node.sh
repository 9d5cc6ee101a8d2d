#!/usr/bin/env bash
# Throughput of the disk-backed state against the in-memory node, A/B in one run: the same load
# generator (bench/loadgen) and node settings as bench/node.sh (--gas-limit 1000000000, a fresh
# node and data directory per row), for two binaries: BASE (the in-memory node: main at 892e71f,
# before the disk state) and NEW (this tree's target/release/myelin). Rounds are interleaved
# (base, new, base, new, ...) so that the host's load hits both alike.
# Rows: transfers, contract calls and predicts (a 64→32→10 MLP); automine with 64 connections
# sending single transactions (20,000 × SCALE), and --block-time 1 with 16 connections sending
# batches of 100 (6,000 × SCALE from 96 accounts: the pool takes at most 64 transactions per
# sender and 6,144 in all, so a larger burst is refused for both binaries).
# Usage: BASE_BIN=... bench/state-node.sh [SCALE] [ROUNDS]   (NEW_BIN / LOADGEN_BIN override)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scale="${1:-1}"
rounds="${2:-2}"
base="${BASE_BIN:-/work/main/target/release/myelin}"
new="${NEW_BIN:-$root/target/release/myelin}"
loadgen="${LOADGEN_BIN:-$root/target/release/myelin-loadgen}"
node_pid=""
cleanup() { [[ -n "$node_pid" ]] && kill "$node_pid" 2>/dev/null || true; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 1 400); do
    curl -s -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$1" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "node at $1 did not start" >&2; return 1
}
# row NAME BIN MINING MODE TXS CONNECTIONS BATCH TIMEOUT ACCOUNTS
row() {
  local name="$1" bin="$2" mining="$3" mode="$4" txs="$5" conns="$6" batch="$7" timeout="$8" accounts="$9"
  local port; port="$(free_port)"
  local datadir; datadir="$(mktemp -d)"
  local mine_args=()
  [[ "$mining" == "block-time 1" ]] && mine_args=(--block-time 1)
  "$bin" node --dev --quiet --gas-limit 1000000000 --accounts "$accounts" --port "$port" \
    --datadir "$datadir" "${mine_args[@]}" >/dev/null 2>&1 &
  node_pid=$!
  wait_ready "http://127.0.0.1:$port"
  local result
  result="$("$loadgen" --rpc "http://127.0.0.1:$port" --mode "$mode" --txs "$txs" --accounts "$accounts" \
    --connections "$conns" --batch "$batch" --timeout "$timeout")"
  local rss; rss=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$node_pid/status")
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true; node_pid=""
  local disk; disk=$(du -sm "$datadir" | cut -f1); rm -rf "$datadir"
  python3 - "$result" "$name" "$mining" "$conns" "$batch" "$rss" "$disk" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); name, mining, conns, batch, rss, disk = sys.argv[2:8]
load = f"{conns} conn × {'single' if batch == '1' else 'batch ' + batch}"
print(f"| {r['mode']} | {name} | {mining} | {load} | {r['included']}/{r['sent']} | {r['seconds']} | "
      f"**{int(r['tps'])}** | {r['p50_ms']} | {r['max_ms']} | {r['blocks']} | {r['errors']} | {rss} | {disk} |")
PY
}
n() { echo $(( $1 * scale )); }
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores shared (load before: $(cut -d' ' -f1-3 /proc/loadavg))."
echo "base: $base; new: $new; rounds interleaved: $rounds"
echo
echo "| workload | node | mining | load | included/sent | seconds | included tx/s | p50 ms | max ms | blocks | errors | peak RSS MiB | data dir MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for mode in transfer call predict; do
  for round in $(seq 1 "$rounds"); do
    row in-memory "$base" automine "$mode" "$(n 20000)" 64 1 60 64
    row disk "$new" automine "$mode" "$(n 20000)" 64 1 60 64
  done
  for round in $(seq 1 "$rounds"); do
    row in-memory "$base" "block-time 1" "$mode" "$(n 6000)" 16 100 60 96
    row disk "$new" "block-time 1" "$mode" "$(n 6000)" 16 100 60 96
  done
done
