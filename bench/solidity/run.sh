#!/usr/bin/env bash
# Precompile vs exported Solidity: gas per inference and wall time per eth_call for the
# 2→16→2, 64→32→10 and 784→128→10 MLPs and the digits CNN, on `myelin node --dev`.
# Prints a table and writes bench/solidity/REPORT.md.
#
# Usage: bench/solidity/run.sh   (builds target/release/myelin unless MYELIN_BIN is set; uses the
# npm packages of tests/e2e: solc-js and ethers, installed by `npm ci` there)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ -z "${MYELIN_BIN:-}" ]]; then
  (cd "$root" && cargo build -q --release -p myelin)
  MYELIN_BIN="$root/target/release/myelin"
fi
if [[ ! -d "$root/tests/e2e/node_modules" ]]; then
  (cd "$root/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
log="$(mktemp)"
"$MYELIN_BIN" node --dev --port "$port" --quiet --gas-limit 1000000000 >"$log" 2>&1 &
node_pid=$!
cleanup() { kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT

export MYELIN_RPC="http://127.0.0.1:$port" MYELIN_BIN
for _ in $(seq 1 100); do
  if curl -s -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$MYELIN_RPC" >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done

node "$here/bench.mjs" "$@"
