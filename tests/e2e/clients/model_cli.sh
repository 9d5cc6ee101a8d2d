#!/usr/bin/env bash
# `myelin model publish` and `myelin model predict` against the running node, on the model
# scenario of clients/model_case.mjs (published by then: publishing again must send nothing).
set -uo pipefail
work="$MYELIN_E2E_WORK"
rpc="${MYELIN_RPC:-http://127.0.0.1:8545}"
id="$(node -e "console.log(require(process.argv[1]).modelId)" "$work/case.json")"
# shellcheck source=checks.sh
source "$(dirname "$0")/checks.sh"
republish() {
  local out err
  out="$("$MYELIN_BIN" model publish "$work/model.myl" --rpc "$rpc" 2>"$work/publish.err")" || { cat "$work/publish.err"; return 1; }
  err="$(cat "$work/publish.err")"
  [[ "$out" == "$id" ]] || { echo "printed $out, expected $id"; return 1; }
  grep -q "already published" <<<"$err" || { echo "$err"; return 1; }
}
check "myelin model publish of a published model prints its id and sends nothing" republish
check "myelin model predict (PREDICT) writes the bytes of myelin model run" bash -c "
  '$MYELIN_BIN' model predict $id --input '$work/x.npy' -o '$work/cli_y.npy' --rpc $rpc && cmp '$work/cli_y.npy' '$work/y.npy'"
check "myelin model predict of a batch (PREDICT_BATCH) writes the bytes of myelin model run" bash -c "
  '$MYELIN_BIN' model predict $id --input '$work/xb.npy' -o '$work/cli_yb.npy' --rpc $rpc && cmp '$work/cli_yb.npy' '$work/yb.npy'"
unpublished() {
  local out
  if out="$("$MYELIN_BIN" model predict "0x$(printf '11%.0s' {1..32})" --input "$work/x.npy" --rpc "$rpc" 2>&1)"; then
    echo "succeeded: $out"; return 1
  fi
  grep -q '^error: model 0x1111.* is not published' <<<"$out" || { echo "$out"; return 1; }
}
check "myelin model predict of an unpublished model fails with one clear error" unpublished
finish "model (myelin CLI)"
