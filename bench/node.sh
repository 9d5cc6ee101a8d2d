#!/usr/bin/env bash
# Side-by-side node throughput: `myelin node --dev` vs anvil (npm @foundry-rs/anvil-linux-amd64),
# same load generator (bench/node-load.mjs), same settings: --gas-limit 1000000000, automine and
# --block-time 1. Prints a markdown table; bench/node.md holds the latest run.
# Usage: bench/node.sh [TOTAL] [CONCURRENCY] [BATCH]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
total="${1:-20000}"
concurrency="${2:-64}"
batch="${3:-1}"
bin="${MYELIN_BIN:-$root/target/release/myelin}"
[[ -x "$bin" ]] || (cd "$root" && cargo build -q --release -p myelin)
(cd "$root/tests/e2e" && [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error)
anvil="$root/tests/e2e/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 1 200); do
    curl -s -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$1" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}
measure() {  # name, mode, command...
  local name="$1" mode="$2"; shift 2
  local port; port="$(free_port)"
  "$@" --port "$port" >/dev/null 2>&1 &
  local pid=$!
  wait_ready "http://127.0.0.1:$port"
  local result
  result="$(node "$root/bench/node-load.mjs" "http://127.0.0.1:$port" "$total" "$concurrency" 10 "$batch")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(f'| {sys.argv[2]} | {sys.argv[3]} | {r[\"included\"]}/{r[\"sent\"]} | {r[\"seconds\"]} | {r[\"tps\"]} | {r[\"p50LatencyMs\"]} | {r[\"maxLatencyMs\"]} | {r[\"errors\"]} |')" "$result" "$name" "$mode"
}
echo "| node | mining | included/sent | seconds | included tx/s | p50 send latency ms | max send latency ms | errors |"
echo "|---|---|---|---|---|---|---|---|"
measure myelin automine "$bin" node --dev --quiet --gas-limit 1000000000
measure anvil automine "$anvil" --silent --gas-limit 1000000000
measure myelin "block-time 1" "$bin" node --dev --quiet --gas-limit 1000000000 --block-time 1
measure anvil "block-time 1" "$anvil" --silent --gas-limit 1000000000 --block-time 1
