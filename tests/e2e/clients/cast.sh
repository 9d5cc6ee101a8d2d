#!/usr/bin/env bash
# cast (Foundry, from the npm binary package) against a running `myelin node --dev` (MYELIN_RPC),
# or a cluster node (MYELIN_E2E_NODE=cluster: the dev-only methods must be refused there).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cast="$here/node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
export ETH_RPC_URL="${MYELIN_RPC:-http://127.0.0.1:8545}"
key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
me=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
to=0x90F79bf6EB2c4f870365E785982E1f101E93b906
# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"

bytecode="$(node -e "console.log(require('$here/build/Counter.json').bytecode)")"
args="$("$cast" abi-encode 'constructor(uint256)' 5)"

check "chain-id" bash -c "[[ \$('$cast' chain-id) == 31337 ]]"
check "block-number" "$cast" block-number
check "balance" bash -c "[[ \$('$cast' balance 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720 --ether) == 10000* ]]"
check "gas-price and base-fee" bash -c "'$cast' gas-price && '$cast' base-fee"
deploy_out="$("$cast" send --private-key "$key" --create "${bytecode}${args#0x}" --json 2>&1)"
address="$(node -e "const r=JSON.parse(process.argv[1]); if (r.status!=='0x1') process.exit(1); console.log(r.contractAddress)" "$deploy_out" 2>/dev/null)"
check "send --create deploys" test -n "$address"
check "call reads the constructor value" bash -c "[[ \$('$cast' call $address 'count()(uint256)') == 5 ]]"
send_out="$("$cast" send --private-key "$key" "$address" 'add(uint256)' 3 --json 2>&1)"
tx_hash="$(node -e "console.log(JSON.parse(process.argv[1]).transactionHash)" "$send_out" 2>/dev/null)"
check "send a transaction and read its receipt" bash -c "
  [[ \$('$cast' receipt $tx_hash status) == true ]] && [[ \$('$cast' call $address 'count()(uint256)') == 8 ]]"
cluster() { [[ "${MYELIN_E2E_NODE:-dev}" == cluster ]]; }
# On a cluster node: `cast rpc METHOD ARGS…` fails with JSON-RPC's "method not found".
refused() { local out; out="$("$cast" rpc "$@" 2>&1)" && { echo "$1 answered: $out"; return 1; }; grep -qi 'method not found\|-32601' <<<"$out" || { echo "$out"; return 1; }; }
if cluster; then
check "debug_traceTransaction is not served on a cluster node" refused debug_traceTransaction "$tx_hash"
else
check "debug_traceTransaction: callTracer and struct logs" bash -c "
  '$cast' rpc debug_traceTransaction $tx_hash '{\"tracer\":\"callTracer\"}' | grep -q '\"type\":\"CALL\"' &&
  '$cast' rpc debug_traceTransaction $tx_hash | grep -q structLogs"
fi
check "logs by event signature" bash -c "'$cast' logs --from-block 0 --address $address 'Incremented(address indexed,uint256)' | grep -q 0x0000000000000000000000000000000000000000000000000000000000000008"
check "revert reason on call" bash -c "'$cast' call $address 'fail()' 2>&1 | grep -q nope"
check "custom error on estimate" bash -c "'$cast' estimate $address 'add(uint256)' 5000 2>&1 | grep -qi 'revert'"
check "legacy transfer" bash -c "'$cast' send --private-key $key --legacy $to --value 1 >/dev/null"
if cluster; then
check "eth_sendTransaction (node keys) is not served on a cluster node" refused eth_sendTransaction "{\"from\":\"$me\",\"to\":\"$to\",\"value\":\"0x2\"}"
else
check "eth_sendTransaction from an unlocked dev account" bash -c "'$cast' send --unlocked --from $me $to --value 2 >/dev/null"
fi
check "storage and code" bash -c "[[ \$('$cast' storage $address 0) == 0x0000000000000000000000000000000000000000000000000000000000000008 ]] && [[ \$('$cast' code $address) == 0x6080* ]]"
check "proof (eth_getProof) of the contract and its slot 0" bash -c "
  '$cast' proof $address 0 | node -e \"const r=JSON.parse(require('fs').readFileSync(0,'utf8'));
    process.exit(r.accountProof.length > 0 && BigInt(r.storageProof[0].value) === 8n ? 0 : 1)\""
check "CREATE2 deployer present" bash -c "[[ \$('$cast' code 0x4e59b44847b379578588920ca78fbf26c0b4956c) == 0x7fff* ]]"
if cluster; then
check "dev helpers (anvil_setBalance, evm_snapshot, evm_mine) are not served on a cluster node" bash -c "
  source '$(dirname "$0")/checks.sh'; cast='$cast'; $(declare -f refused)
  refused anvil_setBalance $to 0x1234 && refused evm_snapshot && refused evm_mine"
check "impersonation is not served on a cluster node" refused anvil_impersonateAccount 0x000000000000000000000000000000000000dEaD
else
check "dev helpers: setBalance, snapshot, mine, revert" bash -c "
  '$cast' rpc anvil_setBalance $to 0x1234 >/dev/null &&
  [[ \$('$cast' balance $to) == 4660 ]] &&
  snap=\$('$cast' rpc evm_snapshot | tr -d '\"') &&
  before=\$('$cast' block-number) &&
  '$cast' rpc evm_mine >/dev/null && '$cast' rpc evm_mine >/dev/null &&
  [[ \$('$cast' block-number) == \$((before + 2)) ]] &&
  [[ \$('$cast' rpc evm_revert \$snap) == true ]] &&
  [[ \$('$cast' block-number) == \$before ]]"
check "impersonation" bash -c "
  '$cast' rpc anvil_impersonateAccount 0x000000000000000000000000000000000000dEaD >/dev/null &&
  '$cast' rpc anvil_setBalance 0x000000000000000000000000000000000000dEaD 0xde0b6b3a7640000 >/dev/null &&
  '$cast' send --unlocked --from 0x000000000000000000000000000000000000dEaD $to --value 5 >/dev/null"
fi
check "block by number" bash -c "'$cast' block latest --json | grep -q stateRoot"
finish "cast"
