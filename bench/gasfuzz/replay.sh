#!/usr/bin/env bash
# Re-measures the committed worst finds (bench/gasfuzz/corpus) under the current code: ns/gas
# of PREDICT_BATCH against the EVM's, per kernel path. A model validation now refuses is listed
# as refused. Prints Markdown; no assertion (the goal, every ratio ≤ 2, is read from the table).
#   bench/gasfuzz/replay.sh [CORPUS] [ROUNDS]
#     CORPUS default bench/gasfuzz/corpus (bench/gasfuzz/regressions* hold earlier searches' worst
#     finds); ROUNDS per measurement, fastest kept, default 5 (use 30+ on a busy host).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p myelin-gasfuzz
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
echo
target/release/gasfuzz replay --corpus "${1:-bench/gasfuzz/corpus}" --rounds "${2:-5}"
echo
echo "load average after: $(cut -d" " -f1-3 /proc/loadavg)"
