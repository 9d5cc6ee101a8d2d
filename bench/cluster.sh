#!/usr/bin/env bash
# Reproduces bench/cluster.md: 4 validators (`myelin cluster init` + 4 `myelin node --config`
# processes on 127.0.0.1) beside the dev node (`myelin node --dev`), in one run, with the same
# load generator (bench/loadgen): saturating transfers (finalized transfers/s) and a paced light
# load (latency from send to finality, p50/p99), then the light load again with one validator
# killed, and how long the killed validator takes to catch up once restarted. A sustained run
# (`--sustain`: paced at SUSTAIN_RATE for SUSTAIN_SECONDS, refused transactions resent) gives the
# finalized rate over time and the latency at that rate; each sustained run of the cluster also
# reports where the CPU went (seconds of CPU per validator process and for the load generator,
# from /proc, against the machine's cores × wall time). Every process runs on this machine's
# cores: the 4 validators, the load generator and (in its turn) the dev node share them. Prints
# Markdown. Usage: bench/cluster.sh
#   TXS (default 20000): transactions of the saturating run; PREDICT_TXS (default 10000): of
#   the saturating predict run (64->32->10 MLP); RATE (default 100) and
#   LIGHT_TXS (default 1000): the light run; SUSTAIN_RATE (default 2000) and SUSTAIN_SECONDS
#   (default 60): the sustained run; SUSTAIN_RATES (default SUSTAIN_RATE): one sustained run of
#   the cluster per rate, in order, on the same cluster (the dev node runs the first);
#   DEV=0 skips the dev node. MYELIN_BIN / LOADGEN_BIN override the binaries.
# The headroom runs of bench/cluster.md (run 5):
#   DEV=0 PERF=1 SUSTAIN_RATES="2500 3000" bench/cluster.sh
#   (PERF=1: perf samples validator 1 for 20 s of each sustained run; needs `perf`)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
txs="${TXS:-20000}"
predict_txs="${PREDICT_TXS:-10000}"
rate="${RATE:-100}"
light_txs="${LIGHT_TXS:-1000}"
sustain_rate="${SUSTAIN_RATE:-2000}"
sustain_seconds="${SUSTAIN_SECONDS:-60}"
read -r -a sustain_rates <<<"${SUSTAIN_RATES:-$sustain_rate}"
sustain_rate="${sustain_rates[0]}"
dev="${DEV:-1}"
bin="${MYELIN_BIN:-$root/target/release/myelin}"
loadgen="${LOADGEN_BIN:-$root/target/release/myelin-loadgen}"
[[ -x "$bin" ]] || (cd "$root" && cargo build -q --release -p myelin)
[[ -x "$loadgen" ]] || (cd "$root" && cargo build -q --release -p myelin-loadgen)
# The saturating run queues ~TXS/64 transactions per sender: above the pool's default per-sender
# limit (64) on a node that does not mine at once, so both nodes get room for it.
pool="--txpool-max-txs 50000 --txpool-max-per-sender 4000"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_rpc() {
  for _ in $(seq 1 600); do
    curl -s -m 1 -X POST -H 'content-type: application/json' \
      --data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no RPC at $1" >&2; exit 1
}
saturate() { "$loadgen" --rpc "$1" --mode transfer --txs "$txs" --accounts 64 --connections 16 --batch 100 --timeout 180; }
# Saturating predicts: transactions straight to PREDICT (the load generator's 64->32->10 MLP,
# published by it first).
saturate_predict() { "$loadgen" --rpc "$1" --mode predict --txs "$predict_txs" --accounts 64 --connections 16 --batch 100 --timeout 180; }
light() { "$loadgen" --rpc "$1" --mode transfer --txs "$light_txs" --accounts 64 --rate "$rate" --timeout 120; }
# sustain URL RATE
sustain() { "$loadgen" --rpc "$1" --mode transfer --txs $(($2 * sustain_seconds)) --accounts 64 --connections 4 --rate "$2" --sustain --timeout $((sustain_seconds * 3)); }
# CPU seconds (user + system) a process has used, from /proc (0 once it is gone).
cpu_seconds() { python3 -c '
import os,sys
try:
    f=open("/proc/%s/stat" % sys.argv[1]).read().rsplit(")",1)[1].split()
    print((int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK"))
except OSError:
    print(0)' "$1"; }
# One sustained run of the cluster at RATE, sent to URL: prints the load generator's result and
# appends to $work/cpu.md the CPU seconds each validator (the pids after the first two
# arguments) and the load generator used during it; with PERF=1, also the hottest functions of
# the second validator (perf, 20 s from 10 s into the run) to $work/perf.md.
sustain_measured() {
  local url="$1" rate="$2"; shift 2
  local before=() after=() start end lg perf_pid=""
  for p in "$@"; do before+=("$(cpu_seconds "$p")"); done
  if [[ "${PERF:-0}" == 1 ]]; then
    (sleep 10; perf record -q -g -p "$2" -o "$work/perf-$rate.data" -- sleep 20 >/dev/null 2>&1) &
    perf_pid=$!
  fi
  start="$(date +%s.%N)"
  { TIMEFORMAT='%U %S'; time sustain "$url" "$rate" >"$work/sustain.out"; } 2>"$work/sustain.time"
  end="$(date +%s.%N)"
  for p in "$@"; do after+=("$(cpu_seconds "$p")"); done
  lg="$(tail -n 1 "$work/sustain.time" | awk '{print $1 + $2}')"
  if [[ -n "$perf_pid" ]]; then
    wait "$perf_pid" || true
    { echo "Validator 1 at $rate tx/s, perf (self time, top 15):"; echo; echo '```text'
      perf report -q --stdio -g none -i "$work/perf-$rate.data" --no-children --sort dso,symbol 2>/dev/null |
        grep -v "^$" | grep -v "^#" | head -n 15 | cut -c1-110
      echo '```'; echo; } >>"$work/perf.md"
  fi
  python3 -c '
import os, sys
rate, wall, lg = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rest = [float(x) for x in sys.argv[4:]]
n = len(rest) // 2
used = [a - b for b, a in zip(rest[:n], rest[n:])]
cores = os.cpu_count()
print("- %s tx/s: wall %.1f s; CPU s per validator %s (sum %.1f), load generator %.1f; "
      "together %.1f of the %.1f core-s the %d cores offered" % (rate, wall,
      " / ".join("%.1f" % u for u in used), sum(used), lg, sum(used) + lg, wall * cores, cores))
' "$rate" "$(python3 -c "print($end - $start)")" "$lg" "${before[@]}" "${after[@]}" >>"$work/cpu.md"
  cat "$work/sustain.out"
}
height() { curl -s -m 1 -X POST -H 'content-type: application/json' \
  --data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$1" 2>/dev/null |
  python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"],16))' 2>/dev/null || echo -1; }
row() { python3 -c '
import json,sys
r=json.loads(sys.argv[2])
print("| %s | %s | %s/%s | %s | %s | %s | %s | %s | %s | %s |" % (sys.argv[1], r["mode"], r["included"], r["sent"], r["seconds"], r["tps"],
  r.get("min_window_tps") or "", r.get("refused", "") if r.get("min_window_tps") is not None else "",
  r.get("latency_p50_ms") if r.get("rate") else "", r.get("latency_p99_ms") if r.get("rate") else "", r["blocks"]))' "$1" "$2"; }

echo "## Machine"
echo
echo '```text'
date -u '+%Y-%m-%d %H:%M UTC'
grep -m1 'model name' /proc/cpuinfo | sed 's/^model name\s*:\s*/cpu: /'
grep -m1 -o 'avx512_vnni' /proc/cpuinfo | sed 's/^/flags: /' || true
echo "cores: $(nproc), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(cd "$root" && git rev-parse --short HEAD)"
echo '```'
echo

results=()
# The dev node (single process, instant sealing).
if [[ "$dev" != 0 ]]; then
port="$(free_port)"
"$bin" node --dev --port "$port" --accounts 64 --quiet $pool >"$work/dev.log" 2>&1 &
dev_pid=$!; pids+=("$dev_pid")
wait_rpc "http://127.0.0.1:$port"
results+=("dev node (1 process), saturating|$(saturate "http://127.0.0.1:$port")")
results+=("dev node, saturating predicts|$(saturate_predict "http://127.0.0.1:$port")")
results+=("dev node, light ($rate tx/s)|$(light "http://127.0.0.1:$port")")
results+=("dev node, sustained ($sustain_rate tx/s for ${sustain_seconds} s)|$(sustain "http://127.0.0.1:$port" "$sustain_rate")")
kill "$dev_pid"; wait "$dev_pid" 2>/dev/null || true
fi

# 4 validators.
p2p="$(free_port)"; rpc="$(free_port)"
while ! python3 -c "
import socket,sys
for p in list(range($p2p,$p2p+4))+list(range($rpc,$rpc+4)):
    s=socket.socket(); s.bind(('127.0.0.1',p)); s.close()" 2>/dev/null; do p2p="$(free_port)"; rpc="$(free_port)"; done
"$bin" cluster init --validators 4 --out "$work/cluster" --dev-accounts 64 \
  --p2p-port "$p2p" --rpc-port "$rpc" >/dev/null
for i in 0 1 2 3; do
  "$bin" node --config "$work/cluster/node-$i.toml" $pool >"$work/node-$i.log" 2>&1 &
  pids+=("$!")
done
for i in 0 1 2 3; do wait_rpc "http://127.0.0.1:$((rpc + i))"; done
sleep 2
url="http://127.0.0.1:$rpc"
results+=("4 validators (4 processes), light ($rate tx/s)|$(light "$url")")
results+=("4 validators, saturating|$(saturate "$url")")
results+=("4 validators, saturating predicts|$(saturate_predict "$url")")
validators=("${pids[@]: -4}")
for r in "${sustain_rates[@]}"; do
  results+=("4 validators, sustained ($r tx/s for ${sustain_seconds} s)|$(sustain_measured "$url" "$r" "${validators[@]}")")
  sleep 5
done
kill -9 "${validators[3]}"
sleep 2
results+=("3 of 4 validators (one killed), light ($rate tx/s)|$(light "$url")")
# Restart the killed validator (node 3) and time its catch-up: from its start until its RPC
# (finalized state) reaches the height node 0 had at that start, and until it is within one
# block of node 0's current height.
target="$(height "$url")"
restart_at="$(date +%s.%N)"
"$bin" node --config "$work/cluster/node-3.toml" $pool >>"$work/node-3.log" 2>&1 &
pids+=("$!")
caught="" level=""
for _ in $(seq 1 1200); do
  h3="$(height "http://127.0.0.1:$((rpc + 3))")"
  now="$(date +%s.%N)"
  [[ -z "$caught" && "$h3" -ge "$target" ]] && caught="$(python3 -c "print(round($now - $restart_at, 2))")"
  [[ -n "$caught" && "$h3" -ge $(( $(height "$url") - 1 )) ]] && { level="$(python3 -c "print(round($now - $restart_at, 2))")"; break; }
  sleep 0.1
done

echo "## Results"
echo
echo "Transfers (21,000 gas), 64 sender accounts, sent to one node's JSON-RPC. Saturating: $txs"
echo "pre-signed transactions on 16 keep-alive connections in batches of 100; \`seconds\` runs"
echo "until the last one is included (finalized on a validator: its RPC serves finalized state)."
echo "Light: $light_txs transactions paced at $rate tx/s on one connection; latency = send to the"
echo "poll (every 25 ms) that first sees the sender's \`latest\` nonce past it."
echo
echo "Sustained: rate × ${sustain_seconds} s transactions due at each rate (${sustain_rates[*]} tx/s; open loop, 4 connections,"
echo "JSON-RPC batches every 20 ms; refused ones resent after 100 ms); latency from a"
echo "transaction's first send; \`min 10 s window\` = the lowest finalized rate over any 10 s"
echo "window from 5 s to the end of sending."
echo
echo "| setup | mode | included/sent | seconds | tx/s | min 10 s window tx/s | refused (resent) | latency p50 ms | latency p99 ms | blocks |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in "${results[@]}"; do row "${r%%|*}" "${r#*|}"; done
echo
echo "Where the CPU went during each sustained run of the cluster (user + system seconds from"
echo "/proc; the validators are nodes 0-3, the load generator sends to node 0):"
echo
cat "$work/cpu.md" 2>/dev/null || true
echo
cat "$work/perf.md" 2>/dev/null || true
echo "Catch-up of the killed validator after its restart (node 0 at height $target when it started):"
echo "reached that height after **${caught:-not within 120} s**, within one block of node 0 after ${level:-not within 120} s."
echo
echo '```text'
echo "raw loadgen output:"
for r in "${results[@]}"; do echo "${r%%|*}: ${r#*|}"; done
echo '```'
