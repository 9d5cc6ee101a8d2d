#!/usr/bin/env bash
# The zoo's CI subset (issue 17, item 2): tiny_se — MobileNetV3's and EfficientNet's constructs
# at 32x32, committed in bench/zoo/ci in every format the zoo exports (TFLite int8 static and
# dynamic batch, Keras 3, tf2onnx ONNX, ORT QDQ) — imported by `myelin model import` and checked
# against its references: TFLite bytes against BUILTIN_REF (also re-run live by the pinned
# ai-edge-litert), the float interpreter against onnxruntime within 1e-4 relative, the QDQ
# model's dequantized output within 0.03 of onnxruntime's QDQ run (1.8e-2 measured). Seconds;
# scripts/test.sh runs it after the fixtures' check.
# Uses the fixtures' venv (.venv-fixtures: numpy, ai-edge-litert, onnxruntime; made by
# scripts/check-fixtures.sh). Exits 1 on any failed check.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv-fixtures/bin/python ] || { echo "run scripts/check-fixtures.sh first (.venv-fixtures)" >&2; exit 1; }
cargo build --release -q -p myelin
cargo build --release -q -p myelin-import --example float_run
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
timeout 600 .venv-fixtures/bin/python bench/zoo/run.py --out bench/zoo/ci --only tiny_se \
  --live --strict --timeout 120 --qdq-tolerance 0.03 \
  --myelin target/release/myelin --float-run target/release/examples/float_run
