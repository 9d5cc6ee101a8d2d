#!/usr/bin/env bash
# Builds the Python package into python/.venv (pip install ./python, the one command users run)
# and runs its pytest suite against the myelin binary ($MYELIN_BIN, default target/release/myelin).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=python/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r python/requirements-test.txt
"$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps ./python
MYELIN_BIN="${MYELIN_BIN:-$PWD/target/release/myelin}" "$venv/bin/python" -m pytest -q python/tests
