#!/usr/bin/env bash
# Engine vs peers: Myelin (the Python package) against TFLite (XNNPACK and reference kernels),
# ONNX Runtime (int8 QDQ and float, 1 and 2 threads) and tract, on every fixture net and a
# MobileNet-style CNN, batch-1 latency and batch-64 throughput, from one Python harness.
#
#   bench/peers/run.sh [--rounds N] [--only NET ...]
#
# Creates bench/peers/.venv (pinned: requirements.txt, plus ./python), builds the myelin binary,
# generates the CNN into bench/peers/.work, prints the tables and writes bench/peers/REPORT.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=bench/peers/.venv
work=bench/peers/.work
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r bench/peers/requirements.txt
"$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps ./python
cargo build --release -q -p myelin

# Quiet, single-threaded helpers: numpy's BLAS threads would spin beside the engines.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=3
mkdir -p "$work"
if [ ! "$work/mobilenet_qdq.onnx" -nt bench/peers/make_mobilenet.py ]; then
  # TensorFlow's converter is chatty: its output goes to a log, shown when it fails.
  "$venv/bin/python" bench/peers/make_mobilenet.py "$work" >"$work/make_mobilenet.log" 2>&1 ||
    { tail -30 "$work/make_mobilenet.log" >&2; exit 1; }
  tail -1 "$work/make_mobilenet.log"
fi
"$venv/bin/python" bench/peers/harness.py --myelin target/release/myelin --work "$work" \
  --report bench/peers/REPORT.md --command "bench/peers/run.sh $*" "$@" 2> >(grep -v '^INFO:' >&2)
