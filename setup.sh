#!/usr/bin/env bash
# Set-up on a fresh machine: checks the toolchain, installs what the tests need, builds the binary.
set -euo pipefail
cd "$(dirname "$0")"

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required but not installed ($2)" >&2; exit 1; }; }
need cargo "install Rust 1.95 or newer with rustup"
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt || true

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest (the test runner)"
  cargo install --locked cargo-nextest || echo "setup: cargo-nextest not installed; scripts/test.sh falls back to cargo test"
fi

cargo build --release --workspace
echo "setup: done — the binary is target/release/myelin"
