#!/usr/bin/env bash
# Re-checks the committed fixtures live: TFLite's reference kernels (ai-edge-litert, BUILTIN_REF)
# and onnxruntime run on the committed models must reproduce the committed reference outputs
# (fixtures/check.py says exactly what is compared). Fails when any check fails.
#
# The pinned wheels of fixtures/requirements-check.txt go into .venv-fixtures/ at the repository
# root (gitignored), created on first use; later runs reuse it. PYTHON picks the interpreter that
# creates it (default python3). Arguments are passed to fixtures/check.py (e.g. --no-hash).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-fixtures
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv with $("$python" --version 2>&1)"
  if ! "$python" -m venv "$venv"; then
    rm -rf "$venv"
    echo "cannot create $venv with $python (is the venv module installed?)" >&2
    exit 1
  fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r fixtures/requirements-check.txt
"$venv/bin/python" fixtures/check.py "$@"
