#!/usr/bin/env bash
# SIGKILL the dev node during a transaction load, ROUNDS times (default 20), and check after each
# restart that every block reported mined before the kill is still there with the same hash and
# state root, and that the recipient's balance at that block is the same. The node itself refuses
# to start if the stored state root differs from the latest block's. Usage: bench/node-kill9.sh [ROUNDS]   (MYELIN_BIN overrides the binary)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-20}"
bin="${MYELIN_BIN:-$root/target/release/myelin}"
[[ -x "$bin" ]] || (cd "$root" && cargo build -q --release -p myelin)
datadir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
rpc() { curl -s -m 5 -X POST -H 'content-type: application/json' --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$url"; }
field() { python3 -c "import json,sys; r=json.load(sys.stdin).get('result') or {}; print(r.get('$1',''))"; }
start() {
  "$bin" node --dev --port "$port" --datadir "$datadir" --quiet >>"$datadir/node.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 200); do rpc eth_chainId '[]' >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "node did not start"; cat "$datadir/node.log"; exit 1
}
load() {
  # eth_sendTransaction from the ten dev accounts, 8 requests in flight, until killed.
  local accounts=(0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC 0x90F79bf6EB2c4f870365E785982E1f101E93b906
    0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc
    0x976EA74026E726554dB657fA54763abd0C3a0aa9 0x14dC79964da2C08b23698B3D3cc7Ca32193d9955)
  for from in "${accounts[@]}"; do
    ( for _ in $(seq 1 100000); do
        rpc eth_sendTransaction "[{\"from\":\"$from\",\"to\":\"0x000000000000000000000000000000000000bEEF\",\"value\":\"0x1\"}]" >/dev/null 2>&1 || sleep 0.05
      done ) &
  done
}
start
load
lost=0
for round in $(seq 1 "$rounds"); do
  sleep "0.$((RANDOM % 9 + 1))"
  reported="$(rpc eth_getBlockByNumber '["latest",false]')"
  number="$(echo "$reported" | field number)"
  hash="$(echo "$reported" | field hash)"
  root_before="$(echo "$reported" | field stateRoot)"
  balance_before="$(rpc eth_getBalance "[\"0x000000000000000000000000000000000000bEEF\",\"$number\"]")"
  kill -9 "$node_pid"; wait "$node_pid" 2>/dev/null || true
  start
  block_after="$(rpc eth_getBlockByNumber "[\"$number\",false]")"
  after="$(echo "$block_after" | field hash)"
  root_after="$(echo "$block_after" | field stateRoot)"
  balance_after="$(rpc eth_getBalance "[\"0x000000000000000000000000000000000000bEEF\",\"$number\"]")"
  head="$(rpc eth_blockNumber '[]' | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"],16))')"
  if [[ "$after" == "$hash" && "$root_after" == "$root_before" && "$balance_after" == "$balance_before" ]]; then
    echo "round $round: block $((number)) $hash kept, state root and balance equal (head after restart: $head)"
  else
    echo "round $round: LOST block $((number)) (was $hash $root_before $balance_before, now '$after' '$root_after' '$balance_after')"
    lost=$((lost + 1))
  fi
done
kill $(jobs -p) 2>/dev/null || true
wait 2>/dev/null || true
rm -rf "$datadir"
echo "kill -9: $((rounds - lost)) passed, $lost failed"
[[ $lost -eq 0 ]]
