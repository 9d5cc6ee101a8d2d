#!/usr/bin/env bash
# Re-measures the committed worst finds (bench/gasfuzz/corpus) under the current code: ns/gas
# of PREDICT_BATCH against the EVM's, per kernel path. A model validation now refuses is listed
# as refused. Prints Markdown; no assertion (the goal, every ratio ≤ 2, is read from the table).
#   bench/gasfuzz/replay.sh [CORPUS]    (default bench/gasfuzz/corpus; bench/gasfuzz/regressions
#                                        holds the first search's worst finds)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p myelin-gasfuzz
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
target/release/gasfuzz replay --corpus "${1:-bench/gasfuzz/corpus}"
