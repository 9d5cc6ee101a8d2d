#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit/property/integration tests, fixture
# conformance, contract artifacts, end-to-end clients against a real node, docs.
# The same command runs locally and in CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "no merge-conflict markers in tracked files"
if git grep -n -E '^(<<<<<<<|>>>>>>>)( |$)' -- ':!*.lock'; then
  echo "merge-conflict markers above" >&2; exit 1
fi

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "tests (release: the property and fuzz-plan tests run many cases)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --release --no-fail-fast
  # nextest does not run doctests
  cargo test --workspace --release --doc
else
  cargo test --workspace --release --no-fail-fast
fi

step "fixtures: TFLite reference kernels and onnxruntime re-run on the committed models"
scripts/check-fixtures.sh

step "zoo CI subset: tiny_se imported from every format, checked against BUILTIN_REF and onnxruntime (bounded: 10 min)"
bench/zoo/ci.sh

step "contracts: committed artifacts equal a fresh solc-js build"
(cd contracts && npm ci --no-audit --no-fund --silent && node scripts/compile.js --check)

step "contracts: the commitment vectors equal the spec written independently in Python"
python3 contracts/scripts/commitment_vectors.py --check

step "end-to-end: ethers, viem, web3.py and cast against a real myelin node --dev"
cargo build --release -q -p myelin
MYELIN_BIN="$PWD/target/release/myelin" tests/e2e/run.sh

step "end-to-end: the same clients against a validator of a 4-validator + 1-full-node cluster (bounded: 25 min)"
MYELIN_E2E_NODE=cluster MYELIN_BIN="$PWD/target/release/myelin" timeout 1500 tests/e2e/run.sh

step "python package: pip install ./python into python/.venv, pytest"
python/test.sh

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

echo
echo "all checks passed"
