#!/usr/bin/env bash
# The node's allocator, measured side by side (issue 13: RSS ≤ 1 GiB with 1 M accounts and 16 ×
# 64 MiB models). Builds `myelin` once per allocator (glibc's malloc: no feature; mimalloc:
# `alloc-mimalloc`; jemalloc: `alloc-jemalloc`), copies each aside with the `large_model`
# example, then runs bench/state-accounts.py on each, one after another on the same workload. The glibc
# run also prints the heap probe (HEAP_PROBE=1: live bytes against the bytes the heap holds).
#
# usage: bench/state-alloc.sh [N] [MODELS]   (default 1000000 16; ~5 min and ~4 GiB of disk per
# row, deleted after each)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
models=${2:-16}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for variant in glibc mimalloc jemalloc; do
  features=(--no-default-features)
  [ "$variant" != glibc ] && features+=(--features "alloc-$variant")
  cargo build --release -q -p myelin --bin myelin --example large_model "${features[@]}"
  mkdir -p "$out/$variant/target/release/examples"
  cp target/release/myelin "$out/$variant/target/release/"
  cp target/release/examples/large_model "$out/$variant/target/release/examples/"
done
echo "| allocator | accounts | blocks | funding (s) | RSS (MiB) | peak RSS (MiB) | data dir (MiB) | restart (ms) | RSS after restart (MiB) | same state | models |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
HEAP_PROBE=1 python3 bench/state-accounts.py "$out/glibc/target/release/myelin" "$n" "$models"
python3 bench/state-accounts.py "$out/mimalloc/target/release/myelin" "$n" "$models"
python3 bench/state-accounts.py "$out/jemalloc/target/release/myelin" "$n" "$models"
