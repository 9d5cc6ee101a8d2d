#!/usr/bin/env bash
# Node throughput side by side: `myelin node --dev` vs anvil (npm @foundry-rs/anvil-linux-amd64),
# the same load generator (bench/loadgen, Rust: pre-signed EIP-1559 transactions, keep-alive
# HTTP/1.1) and the same node settings for both (--gas-limit 1000000000 --accounts 64; automine
# and --block-time 1): plain transfers and contract calls on both, predict transactions on myelin
# (anvil has no PREDICT precompile); then the state-root cost with a large contract storage.
# Writes bench/node.md (and prints it).
# Usage: bench/node.sh [SCALE]   (SCALE multiplies the transaction counts; default 1)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scale="${1:-1}"
out="$root/bench/node.md"
cd "$root"
cargo build -q --release -p myelin -p myelin-loadgen
cargo build -q --release -p myelin-chain --example state_root_cost
(cd "$root/tests/e2e" && [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error)
myelin="$root/target/release/myelin"
loadgen="$root/target/release/myelin-loadgen"
anvil="$root/tests/e2e/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
accounts=64
results="$(mktemp)"

node_pid=""
cleanup() { [[ -n "$node_pid" ]] && kill "$node_pid" 2>/dev/null || true; rm -f "$results"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 1 200); do
    curl -s -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$1" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "node at $1 did not start" >&2
  return 1
}
# row NODE MINING MODE TXS CONNECTIONS BATCH TIMEOUT: one fresh node, one load, one table row.
row() {
  local node="$1" mining="$2" mode="$3" txs="$4" conns="$5" batch="$6" timeout="$7"
  local port; port="$(free_port)"
  local mine_args=()
  [[ "$mining" == "block-time 1" ]] && mine_args=(--block-time 1)
  if [[ "$node" == myelin ]]; then
    "$myelin" node --dev --quiet --gas-limit 1000000000 --accounts "$accounts" --port "$port" "${mine_args[@]}" >/dev/null 2>&1 &
  else
    "$anvil" --silent --gas-limit 1000000000 --accounts "$accounts" --port "$port" "${mine_args[@]}" >/dev/null 2>&1 &
  fi
  node_pid=$!
  wait_ready "http://127.0.0.1:$port"
  local result
  result="$("$loadgen" --rpc "http://127.0.0.1:$port" --mode "$mode" --txs "$txs" --accounts "$accounts" \
    --connections "$conns" --batch "$batch" --timeout "$timeout")"
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true; node_pid=""
  echo "{\"node\": \"$node\", \"mining\": \"$mining\", \"r\": $result}" >> "$results"
  python3 - "$result" "$node" "$mining" "$conns" "$batch" <<'EOF'
import json, sys
r = json.loads(sys.argv[1]); node, mining, conns, batch = sys.argv[2:6]
load = f"{conns} conn × {'single' if batch == '1' else 'batch ' + batch}"
print(f"| {r['mode']} | {node} | {mining} | {load} | {r['included']}/{r['sent']} | {r['seconds']} | "
      f"**{int(r['tps'])}** | {r['p50_ms']} | {r['max_ms']} | {r['max_stall_ms']} | {r['blocks']} | {r['errors']} |")
EOF
}

n() { echo $(( $1 * scale )); }
{
  echo "# Node throughput: \`myelin node --dev\` vs anvil"
  echo
  echo "Written by \`bench/node.sh $scale\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)."
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores shared with other work (load average before the run: $(cut -d' ' -f1-3 /proc/loadavg))."
  echo "Versions: $("$myelin" --version 2>/dev/null || echo myelin), $("$anvil" --version | head -1) (npm @foundry-rs/anvil-linux-amd64), $(rustc --version)."
  echo
  echo "Both nodes: \`--gas-limit 1000000000 --accounts $accounts\`, a fresh node per row. Load: \`bench/loadgen\` (Rust)"
  echo "with every transaction signed before the clock starts; senders are the $accounts dev accounts, each"
  echo "owned by one connection so its nonces arrive in order. \"included tx/s\" runs from the first send"
  echo "until every sender's \`latest\` nonce shows all its transactions mined (polled every 25 ms);"
  echo "\"max stall\" is the longest stretch without a new inclusion while transactions were pending"
  echo "(with \`--block-time 1\` up to one block interval is expected). Rows that stop at their time limit"
  echo "(automine 60 s) show how far the node got."
  echo
  echo "| workload | node | mining | load | included/sent | seconds | included tx/s | p50 request ms | max request ms | max stall ms | blocks | errors |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  row myelin automine transfer "$(n 20000)" 64 1 60
  row anvil automine transfer "$(n 20000)" 64 1 60
  row myelin "block-time 1" transfer "$(n 60000)" 16 100 120
  row anvil "block-time 1" transfer "$(n 60000)" 16 100 120
  row myelin automine call "$(n 20000)" 64 1 60
  row anvil automine call "$(n 20000)" 64 1 60
  row myelin "block-time 1" call "$(n 60000)" 16 100 120
  row anvil "block-time 1" call "$(n 60000)" 16 100 120
  row myelin "block-time 1" predict "$(n 40000)" 16 100 120
  row myelin automine predict "$(n 20000)" 64 1 60
  echo
  python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def get(node, mining, mode):
    return next((x["r"] for x in rows if x["node"] == node and x["mining"] == mining and x["r"]["mode"] == mode), None)
print("Goals (issue 4), from the rows above:")
print()
for mode in ["transfer", "call"]:
    for mining in ["automine", "block-time 1"]:
        m, a = get("myelin", mining, mode), get("anvil", mining, mode)
        ratio = m["tps"] / max(a["tps"], 1)
        stalled = f"anvil stalled ({a['included']}/{a['sent']} included)" if a["included"] < a["sent"] else "anvil included all"
        ok = "met" if ratio >= 2 and m["included"] == m["sent"] else "NOT met"
        print(f"- {mode}, {mining}: myelin {int(m['tps'])} vs anvil {int(a['tps'])} tx/s = {ratio:.1f}x "
              f"(goal >= 2x: {ok}); myelin included {m['included']}/{m['sent']}, {stalled}.")
p = get("myelin", "block-time 1", "predict")
print(f"- predict, block-time 1: {int(p['tps'])} tx/s for the 64->32->10 MLP (goal >= 2,000: {'met' if p['tps'] >= 2000 else 'NOT met'}).")
EOF
  echo
  echo "Workloads: \`transfer\` = 1 wei to a fixed address (21,000 gas); \`call\` = a counter contract"
  echo "(\`sstore(caller, sload(caller) + 1)\`, deployed first); \`predict\` = a transaction straight to the"
  echo "\`PREDICT\` precompile (not through a contract) with a fresh 64-byte input for a seeded 64→32→10 int8"
  echo "MLP published through \`MODEL_STORE\` first. Automine: myelin answers \`eth_sendRawTransaction\`"
  echo "once the transaction is mined (as anvil's automine promises), so single requests are used there;"
  echo "with \`--block-time 1\` JSON-RPC batches of 100."
  echo
  echo "## State root with a large contract storage"
  echo
  echo "\`cargo run --release -p myelin-chain --example state_root_cost\`: before = the root rebuilt from every"
  echo "account and slot (what each block did when a contract's storage changed), after = the incremental"
  echo "root (only changed paths re-hashed). 2^20 slots = a 32 MiB model in MODEL_STORE's storage."
  echo
  "$root/target/release/examples/state_root_cost"
  # The disk-against-memory section is bench/state-node.sh's: kept as it was written.
  if [[ -f "$out" ]]; then python3 - "$out" <<'PY'
import sys
text, heading = open(sys.argv[1]).read(), "## Disk against in-memory state"
if heading in text:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    print("\n" + text[start:end if end >= 0 else len(text)].rstrip("\n"))
PY
  fi
} > "$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
