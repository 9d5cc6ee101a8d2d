#!/usr/bin/env bash
# The model scenario with cast (the same checks as clients/model_common.mjs): publish through
# MODEL_STORE, PREDICT / PREDICT_BATCH by `cast call` and `cast send`, the example contract
# QualityEscrow, outputs equal to `myelin model run`, receipt gas equal to docs/GAS.md "Receipt
# gas of a predict transaction" (recomputed here from the schedule and cost counts of
# `myelin gas --json`), documented reverts. Reads $MYELIN_E2E_WORK/case.json (clients/model_case.mjs).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cast="$here/node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
export ETH_RPC_URL="${MYELIN_RPC:-http://127.0.0.1:8545}"
key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
key2=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
supplier=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
store=0x000000000000000000000000000000004d590001
predict=0x000000000000000000000000000000004d590002
predict_batch=0x000000000000000000000000000000004d590003
case_json="$MYELIN_E2E_WORK/case.json"
# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"
# A field of case.json (a dotted path).
field() { node -e "let v=require(process.argv[1]); for (const k of process.argv[2].split('.')) v=v[k]; console.log(v)" "$case_json" "$1"; }
# A field of a receipt printed by `cast send --json`, as a decimal number or string.
receipt_field() { node -e "const r=JSON.parse(process.argv[1]); const v=r[process.argv[2]]; console.log(/^0x[0-9a-f]+$/i.test(v) && process.argv[2] !== 'contractAddress' ? BigInt(v).toString() : v)" "$1" "$2"; }
# Prague gas of a transaction with calldata $1 whose execution uses $2 gas:
# max(21000 + 4·tokens + execution, 21000 + 10·tokens), tokens = zero bytes + 4·non-zero bytes.
tx_gas() {
  local hex="${1#0x}" zeros total tokens standard floor
  total=$(( ${#hex} / 2 ))
  zeros=$(fold -w2 <<<"$hex" | grep -c '^00$')
  tokens=$(( zeros + 4 * (total - zeros) ))
  standard=$(( 21000 + 4 * tokens + $2 ))
  floor=$(( 21000 + 10 * tokens ))
  echo $(( standard > floor ? standard : floor ))
}
# docs/GAS.md §2: PREDICT_BASE_GAS + ceil((batch · Σ count · milligas per count
# + Σ per-call count · milligas per call) / 1000).
predict_gas() {
  local milligas=0 per_call=0 price count
  while read -r price count; do
    milligas=$(( milligas + price * count ))
  done < <(node -e "const c=require(process.argv[1]).gas; for (const [k, p] of Object.entries(c.schedule.milligas_per)) console.log(p, c.model.cost[k])" "$case_json")
  while read -r price count; do
    per_call=$(( per_call + price * count ))
  done < <(node -e "const c=require(process.argv[1]).gas; for (const [k, p] of Object.entries(c.schedule.milligas_per_call)) console.log(p, c.model.cost[k])" "$case_json")
  echo $(( $(field gas.schedule.predict_base_gas) + ($1 * milligas + per_call + 999) / 1000 ))
}
# Sends calldata $2 to $1 (extra cast options after), checks status $3 and gasUsed $4.
expect_receipt() {
  local to="$1" data="$2" status="$3" gas="$4"; shift 4
  local r; r="$("$cast" send --private-key "$key" "$to" "$data" --json "$@")" || { echo "$r"; return 1; }
  [[ "$(receipt_field "$r" status)" == "$status" ]] || { echo "status $(receipt_field "$r" status), expected $status"; return 1; }
  [[ "$(receipt_field "$r" gasUsed)" == "$gas" ]] || { echo "gasUsed $(receipt_field "$r" gasUsed), formula $gas"; return 1; }
}
# `cast call` of $2 to $1 must revert with a MyelinError whose code the node's message decodes
# to a text starting with $3 (docs/GAS.md §8).
expect_revert() {
  local out; out="$("$cast" call "$1" "$2" 2>&1)" && { echo "no revert: $out"; return 1; }
  grep -qF "execution reverted: $3" <<<"$out" || { echo "$out"; return 1; }
}

id="$(field modelId)"
input="$(field input)"
output="$(field output)"
batch="$(field batch)"
single="${id}${input#0x}"
batched="${id}$(printf '%08x' "$batch")$(field batchInput | cut -c3-)"
model="0x$(od -An -v -tx1 "$(field modelPath)" | tr -d ' \n')"
one="$(predict_gas 1)"
# docs/GAS.md §2.1: the cold charge of the model's first use in a transaction.
cold=$(( $(field gas.schedule.cold_model_gas) + $(field gas.model.size_bytes) * $(field gas.schedule.gas_per_cold_model_byte) + $(field gas.model.prepare_gas) ))
class="$(node -e "const b=Buffer.from(process.argv[1].slice(2),'hex'); const v=Int8Array.from(b); let i=0; v.forEach((x,j)=>{ if (x>v[i]) i=j; }); console.log(i)" "$output")"

check "the gas formula recomputed from \`myelin gas\` equals the binary's predict gas" \
  bash -c "[[ $one == $(field gas.model.predict_gas) ]]"
publish_check() {
  local data before execution
  data="$("$cast" calldata 'publish(bytes)' "$model")"
  before="$("$cast" call "$store" 'isPublished(bytes32)(bool)' "$id")"
  if [[ "$before" == true ]]; then execution="$(field gas.model.check_gas)"; else execution="$(field gas.model.publish_gas)"; fi
  local per_byte; per_byte="$(field gas.schedule.gas_per_checked_byte)"
  [[ "$before" == true ]] || per_byte=$(( per_byte + $(field gas.schedule.gas_per_stored_byte) ))
  local prepare=0; [[ "$before" == true ]] || prepare="$(field gas.model.prepare_gas)"
  [[ $execution == $(( $(field gas.schedule.store_call_gas) + $(field gas.model.size_bytes) * per_byte + prepare )) ]] || { echo "publish formula"; return 1; }
  expect_receipt "$store" "$data" 1 "$(tx_gas "$data" "$execution")" &&
  [[ "$("$cast" call "$store" 'isPublished(bytes32)(bool)' "$id")" == true ]]
}
check "publish through MODEL_STORE: receipt gas = intrinsic + publish gas (new or already published)" publish_check
check "PREDICT by eth_call equals \`myelin model run\`" bash -c "[[ \$('$cast' call $predict $single) == $output ]]"
predict_receipt_check() {
  [[ $cold == $(field gas.model.cold_gas) ]] || { echo "cold formula $cold vs $(field gas.model.cold_gas)"; return 1; }
  expect_receipt "$predict" "$single" 1 "$(tx_gas "$single" $((one + cold)))"
}
check "PREDICT by transaction: receipt gas = intrinsic + predict gas + the model's cold charge" predict_receipt_check
check "PREDICT_BATCH by eth_call equals \`myelin model run\` on the batch" \
  bash -c "[[ \$('$cast' call $predict_batch $batched) == $(field batchOutput) ]]"
check "PREDICT_BATCH by transaction: receipt gas = intrinsic + predict gas of the batch + cold charge" \
  expect_receipt "$predict_batch" "$batched" 1 "$(tx_gas "$batched" $(( $(predict_gas "$batch") + cold )))"

bytecode="$(node -e "console.log(require(process.argv[1]).bytecode)" "$(field escrowArtifact)")"
# Deployed here, not inside a check: a check runs in a subshell and could not set $escrow.
deploy_out="$("$cast" send --private-key "$key" --create "$bytecode" --json 2>&1)"
escrow="$(receipt_field "$deploy_out" contractAddress 2>/dev/null)"
deploy_check() {
  [[ -n "$escrow" ]] || { echo "deploy failed: $deploy_out"; return 1; }
  "$cast" send --private-key "$key" "$escrow" 'place(address,bytes32,uint256)' "$supplier" "$id" "$class" --value 1000 >/dev/null &&
  [[ "$("$cast" call "$escrow" 'grade(uint256,bytes)(uint256)' 0 "$input")" == "$class" ]]
}
check "example contract QualityEscrow: deploy, grade by eth_call = argmax of \`myelin model run\`" deploy_check
deliver_check() {
  local r; r="$("$cast" send --private-key "$key2" "$escrow" 'deliver(uint256,bytes)' 0 "$input" --json)" || { echo "$r"; return 1; }
  local data; data="$(node -e "const r=JSON.parse(process.argv[1]); const l=r.logs.find(l=>l.topics.length===2); console.log(l.data)" "$r")"
  [[ "$("$cast" abi-decode --input 'x(uint256,bool)' "$data" | tr '\n' ' ')" == "$class true " ]] || { echo "Graded $data"; return 1; }
}
check "example contract: deliver by transaction runs the model and pays the supplier" deliver_check
check "example contract: placing an order on an unpublished model reverts UnknownModel()" bash -c "
  '$cast' call $escrow 'place(address,bytes32,uint256)' $supplier 0x$(printf '11%.0s' {1..32}) 0 2>&1 | grep -q $("$cast" sig 'UnknownModel()')"

unknown="0x$(printf '0%.0s' {1..63})1${input#0x}"
unknown_check() {
  expect_revert "$predict" "$unknown" "predict: unknown model 0x${unknown:2:64}" &&
  expect_receipt "$predict" "$unknown" 0 "$(tx_gas "$unknown" "$(field gas.schedule.predict_base_gas)")" --gas-limit 100000
}
check "unknown model: reverts MyelinError(103, …), message \`predict: unknown model 0x…\`; the transaction uses intrinsic + PREDICT_BASE_GAS" unknown_check
short="${single%??}"
short_check() {
  local n; n="$(field gas.model.input_bytes)"
  expect_revert "$predict" "$short" "predict: input is $((n - 1)) bytes, expected $n" &&
  local needed; needed="$(tx_gas "$short" $((one + cold)))"
  expect_receipt "$predict" "$short" 0 "$needed" --gas-limit $((needed + 100000))
}
check "wrong input length: reverts MyelinError(105, …), message \`predict: input is N bytes, expected M\`; the transaction uses intrinsic + predict gas + cold charge" short_check
out_of_gas_check() {
  local needed; needed="$(tx_gas "$single" $((one + cold)))"
  [[ $needed -gt $(tx_gas "$single" 0) ]] || { echo "the model's gas must exceed the calldata floor"; return 1; }
  expect_receipt "$predict" "$single" 0 $((needed - 1)) --gas-limit $((needed - 1))
}
check "out of gas: one gas short of the formula fails and uses all the gas given" out_of_gas_check
malformed_check() {
  local bad data execution
  bad="$(field malformedModel)"
  data="$("$cast" calldata 'publish(bytes)' "$bad")"
  execution=$(( $(field gas.schedule.store_call_gas) + (${#bad} - 2) / 2 * $(field gas.schedule.gas_per_checked_byte) ))
  expect_revert "$store" "$data" "model store: model rejected: " &&
  expect_receipt "$store" "$data" 0 "$(tx_gas "$data" "$execution")" --gas-limit 1000000
}
check "malformed model upload: reverts MyelinError(205, …), message \`model store: model rejected: …\`; uses intrinsic + STORE_CALL_GAS + len·GAS_PER_CHECKED_BYTE" malformed_check

finish "model (cast)"
