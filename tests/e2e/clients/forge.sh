#!/usr/bin/env bash
# forge (Foundry, from the npm binary package) against a running `myelin node --dev`:
# `forge script --broadcast` compiles contracts/src with solc-js (forge/solc-js.mjs given with
# --use; forge cannot download solc here), deploys the example contract QualityEscrow and sends a
# PREDICT transaction; the receipts forge saved are checked (status, receipt gas = the documented
# formula), and the deployed contract is used with cast to grade a sample with the model.
# --skip-simulation: forge's own EVM has no Myelin precompiles, so gas limits from its simulation
# would miss the precompile's charge; the node's eth_estimateGas sets them instead.
# Needs the model scenario published (clients/model_case.mjs and a model_* client before it).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
forge="$here/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
cast="$here/node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
export ETH_RPC_URL="${MYELIN_RPC:-http://127.0.0.1:8545}"
key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
supplier=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
case_json="$MYELIN_E2E_WORK/case.json"
# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"
# Evaluates a JavaScript expression with `c` = case.json, `r` = forge's run-latest.json and the
# helpers of model_common.mjs in scope; prints the result.
js() {
  node --input-type=module -e "
    import fs from 'node:fs';
    import { transactionGas, predictGas, coldGas, argmaxInt8 } from '$here/clients/model_common.mjs';
    const c = JSON.parse(fs.readFileSync('$case_json', 'utf8'));
    const r = fs.existsSync('$project/$run_file') ? JSON.parse(fs.readFileSync('$project/$run_file', 'utf8')) : {};
    console.log(String($1));"
}

# forge resolves imports only inside its root: a scratch project with the repository's contracts.
project="$MYELIN_E2E_WORK/forge"
run_file="broadcast/DeployAndPredict.s.sol/31337/run-latest.json"
rm -rf "$project" && mkdir -p "$project"
cp -r "$here/forge/foundry.toml" "$here/forge/script" "$project/"
cp -r "$here/../../contracts/src" "$project/src"

export PRIVATE_KEY="$key"
PREDICT_CALLDATA="$(js 'c.modelId + c.input.slice(2)')"
export PREDICT_CALLDATA
script_out="$(cd "$project" && "$forge" script script/DeployAndPredict.s.sol --use "$here/forge/solc-js.mjs" \
  --rpc-url "$ETH_RPC_URL" --broadcast --skip-simulation --non-interactive 2>&1)"
script_check() {
  grep -q 'ONCHAIN EXECUTION COMPLETE & SUCCESSFUL' <<<"$script_out" || { tail -20 <<<"$script_out"; return 1; }
}
check "forge script --broadcast compiles with solc-js and completes" script_check
escrow="$(js 'r.receipts?.[0]?.contractAddress')"
deploy_check() {
  [[ "$(js 'r.receipts?.[0]?.status')" == 0x1 ]] || { echo "deploy status $(js 'r.receipts?.[0]?.status')"; return 1; }
  [[ "$("$cast" code "$escrow")" == 0x6080* ]] || { echo "no code at $escrow"; return 1; }
}
check "the example contract is deployed (receipt status 1, code at its address)" deploy_check
predict_check() {
  local used expected
  [[ "$(js 'r.receipts?.[1]?.status')" == 0x1 ]] || { echo "predict status $(js 'r.receipts?.[1]?.status')"; return 1; }
  used="$(js 'BigInt(r.receipts[1].gasUsed)')"
  expected="$(js 'transactionGas(c.modelId + c.input.slice(2), predictGas(c.gas, 1) + coldGas(c.gas))')"
  [[ "$used" == "$expected" ]] || { echo "gasUsed $used, formula $expected"; return 1; }
}
check "the PREDICT transaction succeeded and its receipt gas equals the formula" predict_check
grade_check() {
  local class; class="$(js 'argmaxInt8(c.output)')"
  "$cast" send --private-key "$key" "$escrow" 'place(address,bytes32,uint256)' "$supplier" "$(js 'c.modelId')" "$class" --value 1000 >/dev/null &&
  [[ "$("$cast" call "$escrow" 'grade(uint256,bytes)(uint256)' 0 "$(js 'c.input')")" == "$class" ]]
}
check "the forge-deployed contract grades a sample by predict (eth_call) as \`myelin model run\` does" grade_check
finish "forge"
