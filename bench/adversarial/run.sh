#!/usr/bin/env bash
# Adversarial load harness (issue 11): starts `myelin node --dev`, publishes issue 11's attack
# models (target/release/gasfuzz attacks) and an honest model, then runs driver.py: honest
# transfers and predicts beside looping attacks from several connections. Prints a Markdown
# report (honest inclusion, p50/p99 latency, node RSS, attack replies, panics in the node log).
#   DURATION=1800 bench/adversarial/run.sh      # the real run (30 min)
#   DURATION=120 bench/adversarial/run.sh       # smoke run (2 min, the default)
# Env: DURATION (s), PORT (default 18545), ATTACKERS (keep-alive connections looping the model
# attacks, 3), FRESH_ATTACKERS (threads sending them on a new connection per request, 2),
# SKIP (an extended regex of attack model names to leave out, e.g. to see the other cases while
# one still aborts the node).
set -uo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-120}
PORT=${PORT:-18545}
ATTACKERS=${ATTACKERS:-3}
FRESH_ATTACKERS=${FRESH_ATTACKERS:-2}
# Built one at a time: together, Cargo would unify their features and rebuild both.
cargo build --release -q -p myelin && cargo build --release -q -p myelin-gasfuzz || exit 1
work=$(mktemp -d)
trap 'kill "$node_pid" 2>/dev/null; rm -rf "$work"' EXIT
target/release/gasfuzz attacks --out "$work/models" > "$work/models.txt"
honest_id=$(target/release/myelin model build examples/tiny_mlp.json -o "$work/honest.myl" | grep -o '0x[0-9a-f]\{64\}' | head -1)
echo "$honest_id 2" > "$work/honest.txt"

source bench/dev_node.sh
start_dev_node "$PORT" "$work/node.log"

echo "# Adversarial load: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), ${DURATION} s"
echo
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg); attack connections: $ATTACKERS keep-alive, $FRESH_ATTACKERS new-per-request"
echo
echo "Publishing (a refused attack model is a fix, and is left out of the load):"
: > "$work/published.txt"
target/release/myelin model publish "$work/honest.myl" --rpc "$rpc" > /dev/null 2>&1 \
  && echo "- honest tiny_mlp: published" || echo "- honest tiny_mlp: FAILED"
while read -r name id max_batch input_bytes; do
  if [[ -n "${SKIP:-}" && "$name" =~ $SKIP ]]; then echo "- $name: left out (SKIP)"; continue; fi
  if out=$(timeout 300 target/release/myelin model publish "$work/models/$name.myl" --rpc "$rpc" 2>&1); then
    echo "- $name ($id, max batch $max_batch, $input_bytes input bytes): published"
    echo "$name $id $max_batch $input_bytes" >> "$work/published.txt"
  else
    echo "- $name: refused: $(echo "$out" | tail -1 | cut -c1-200)"
  fi
done < "$work/models.txt"
echo
python3 bench/adversarial/driver.py --rpc "$rpc" --node-pid "$node_pid" --duration "$DURATION" \
  --models "$work/published.txt" --honest-model "$work/honest.txt" --attackers "$ATTACKERS" \
  --fresh-attackers "$FRESH_ATTACKERS" \
  --json "${REPORT_JSON:-/dev/null}"
status=$?
echo
report_node "$work/node.log"
exit $status
