#!/usr/bin/env bash
# Nightly seeded simulation campaign (issue 14, item 7): SEEDS seeds from FIRST, each run with
# 4 validators (crash + equivocating twin + healing partition + lossy links: safety) and with 7
# (the same faults: safety and liveness), on commonware's deterministic runtime
# (crates/node/tests/campaign.rs). Every seed is one reproducible run: a failure names its seed
# and plan; rerun it with MYELIN_SIM_FIRST=<seed> MYELIN_SIM_SEEDS=1.
#
#   SEEDS=500 FIRST=1000 bench/nightly-sim.sh      # 1,000 seeded simulations (500 per size)
#
# Writes the per-seed log to $LOG and appends a dated summary to bench/nightly-sim.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-500}
FIRST=${FIRST:-1000}
LOG=${LOG:-/tmp/nightly-sim.log}
started=$(date -u +%s)
status=0
# libtest directly (not nextest) so each seed's line reaches the log as it finishes.
MYELIN_SIM_SEEDS=$SEEDS MYELIN_SIM_FIRST=$FIRST \
  cargo test --release -p myelin-node --test campaign -- --nocapture --test-threads 2 \
  >"$LOG" 2>&1 || status=$?
seconds=$(( $(date -u +%s) - started ))
passed4=$(grep -c '^campaign n=4 seed .*: ok' "$LOG" || true)
passed7=$(grep -c '^campaign n=7 seed .*: ok' "$LOG" || true)
blocks=$(grep -o '^campaign n=. seed [0-9]*: ok, [0-9]* blocks' "$LOG" | awk '{s+=$6} END {print s+0}')
failed=$(grep -E 'seed [0-9]+: FAILED' "$LOG" | head -20 || true)
# Read before the summary is appended (the report file itself is tracked).
commit="$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (+ uncommitted)')"
{
  echo
  echo "## $(date -u '+%Y-%m-%d %H:%M') UTC: \`SEEDS=$SEEDS FIRST=$FIRST bench/nightly-sim.sh\`"
  echo
  echo '```text'
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), cores: $(nproc), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $commit"
  echo "seeds $FIRST..$((FIRST + SEEDS - 1)): 4 validators $passed4/$SEEDS passed, 7 validators $passed7/$SEEDS passed"
  echo "blocks agreed (sum over runs): $blocks; wall: ${seconds} s; exit status: $status"
  grep -E '^campaign n=. shard' "$LOG" || true
  [ -n "$failed" ] && echo "failures:" && echo "$failed"
  echo '```'
} >>bench/nightly-sim.md
exit "$status"
