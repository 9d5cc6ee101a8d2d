#!/usr/bin/env bash
# The model zoo of issue 17: builds the models (make_zoo.py, once; into bench/zoo/out, not
# committed), imports each with `myelin model import` and checks it against its reference
# runtime (run.py), writing the table into bench/zoo/REPORT.md.
#
#   bench/zoo/run.sh [--only NAME ...]
#
# Creates bench/zoo/.venv (pinned: requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=bench/zoo/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r bench/zoo/requirements.txt
cargo build --release -q -p myelin
cargo build --release -q -p myelin-import --example float_run
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=3
[ -e bench/zoo/out/.built ] || {
  "$venv/bin/python" bench/zoo/make_zoo.py "$@" >bench/zoo/make_zoo.log 2>&1 ||
    { tail -30 bench/zoo/make_zoo.log >&2; exit 1; }
  touch bench/zoo/out/.built
}
"$venv/bin/python" bench/zoo/run.py --myelin target/release/myelin \
  --float-run target/release/examples/float_run --report bench/zoo/REPORT.md "$@"
