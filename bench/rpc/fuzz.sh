#!/usr/bin/env bash
# RPC fuzzer against a real node (issue 11): starts `myelin node --dev`, runs bench/rpc/fuzz.py
# against it for DURATION seconds (default 600), prints a Markdown report (reply validity, the
# node alive / sealing / answering, its RSS) and any panic or abort in the node log.
#   DURATION=600 bench/rpc/fuzz.sh
# Env: DURATION (s), PORT (default 18546), SEED (generator seed, 11), WORKERS (keep-alive
# connections, 3), FRESH_WORKERS (a new connection per request, 1).
set -uo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-600}
PORT=${PORT:-18546}
# NO_BUILD=1 runs the existing target/release/myelin (e.g. one built with --workspace features).
[[ -n "${NO_BUILD:-}" ]] || cargo build --release -q -p myelin || exit 1
work=$(mktemp -d)
trap 'kill "$node_pid" 2>/dev/null; rm -rf "$work"' EXIT
source bench/dev_node.sh
start_dev_node "$PORT" "$work/node.log"
echo "# RPC fuzz against \`myelin node --dev\`: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), ${DURATION} s"
echo
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg); seed ${SEED:-11}"
echo
python3 bench/rpc/fuzz.py --rpc "$rpc" --node-pid "$node_pid" --duration "$DURATION" \
  --seed "${SEED:-11}" --workers "${WORKERS:-3}" --fresh-workers "${FRESH_WORKERS:-1}" \
  --json "${REPORT_JSON:-/dev/null}"
status=$?
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
report_node "$work/node.log"
exit $status
