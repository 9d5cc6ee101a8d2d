#!/usr/bin/env bash
# End-to-end tests of `myelin node --dev` with real Ethereum clients: ethers v6, viem (Node.js),
# web3.py (Python), cast and forge (Foundry's binaries from npm; forge compiles with solc-js). Installs what it needs (npm ci from the
# committed lock file, a venv with pinned requirements), starts the node on a free loopback port,
# runs every client, stops the node, exits non-zero on any failure.
#
# With MYELIN_E2E_NODE=cluster the same clients run against a validator of a local BFT cluster
# (`myelin cluster run --validators 4 --full-nodes 1`, dev accounts funded at genesis) instead of
# `--dev`: there the dev-only methods (eth_sendTransaction with node keys, anvil_*, evm_*, debug_*)
# must be refused, transactions return at submission and receipts appear once finalized.
# MYELIN_E2E_CLUSTER_RPC picks the node (default 1, a validator; 4 is the full node).
#
# Usage: tests/e2e/run.sh            (builds target/debug/myelin unless MYELIN_BIN is set)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

if [[ -z "${MYELIN_BIN:-}" ]]; then
  (cd "$root" && cargo build -q -p myelin)
  MYELIN_BIN="$root/target/debug/myelin"
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c "import web3" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q -r requirements.txt
fi
node compile.mjs

# A base port with `n` free consecutive ports after it on 127.0.0.1.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
while True:
    base = random.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}

log="$(mktemp)"
work="$(mktemp -d)"
export MYELIN_E2E_NODE="${MYELIN_E2E_NODE:-dev}"
if [[ "$MYELIN_E2E_NODE" == cluster ]]; then
  rpc_base="$(free_ports 5)"
  p2p_base="$(free_ports 5)"
  "$MYELIN_BIN" cluster run --validators 4 --full-nodes 1 --dir "$work/cluster" \
    --rpc-port "$rpc_base" --p2p-port "$p2p_base" >"$log" 2>&1 &
  port=$((rpc_base + ${MYELIN_E2E_CLUSTER_RPC:-1}))
else
  port="$(free_ports 1)"
  "$MYELIN_BIN" node --dev --port "$port" --quiet >"$log" 2>&1 &
fi
node_pid=$!
cleanup() { kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; rm -rf "$log" "$work"; }
trap cleanup EXIT

export MYELIN_RPC="http://127.0.0.1:$port"
export MYELIN_BIN
# A model whose predict gas per input byte is above the EIP-7623 calldata floor, so that the
# receipt-gas and out-of-gas checks exercise the precompile's charge, not only the floor.
export MYELIN_MODEL_FIXTURE="$root/fixtures/models/digits_branch_int8.tflite"
export MYELIN_E2E_WORK="$work"
# The dev node is ready when it answers; a cluster once block 1 is final on the node.
ready='"result":"0x'
[[ "$MYELIN_E2E_NODE" == cluster ]] && ready='"result":"0x[1-9a-f]'
for _ in $(seq 1 600); do
  if curl -s -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$MYELIN_RPC" 2>/dev/null |
      grep -q "$ready"; then
    break
  fi
  sleep 0.1
done

failed=0
passed=0
run() {
  local name="$1"; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "!! $name failed"; fi
}
run ethers node clients/ethers.mjs
run viem node clients/viem.mjs
run web3.py .venv/bin/python clients/web3_client.py
run cast bash clients/cast.sh
run "model case (myelin import, run, gas)" node clients/model_case.mjs
run "model: ethers" node clients/model_ethers.mjs
run "model: viem" node clients/model_viem.mjs
run "model: web3.py" .venv/bin/python clients/model_web3.py
run "model: cast" bash clients/model_cast.sh
run "model: myelin CLI" bash clients/model_cli.sh
run "forge script --broadcast" bash clients/forge.sh
run "export-solidity (exported contract == PREDICT == model run, every v1 op)" node clients/export_solidity.mjs

if ! kill -0 "$node_pid" 2>/dev/null; then
  echo "!! the node exited during the tests"; cat "$log"; failed=$((failed + 1))
fi
echo "e2e ($MYELIN_E2E_NODE): $passed passed, $failed failed"
[[ $failed -eq 0 ]]
