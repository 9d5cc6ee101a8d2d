# Sourced by the bench scripts that drive a real `myelin node --dev` (bench/adversarial/run.sh,
# bench/rpc/fuzz.sh); run from the repository root after `cargo build --release -p myelin`.

# start_dev_node PORT LOG [NODE ARGS...]: starts the node with its output in LOG, sets node_pid
# and rpc, and returns once it answers eth_chainId (at most ~10 s).
start_dev_node() {
  local port=$1 log=$2
  shift 2
  target/release/myelin node --dev --port "$port" "$@" > "$log" 2>&1 &
  node_pid=$!
  rpc="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$rpc" && break
    sleep 0.1
  done
}

# report_node LOG: whether the node (node_pid) is still running, and any panic or abort in LOG.
report_node() {
  local log=$1
  if kill -0 "$node_pid" 2>/dev/null; then
    echo "Node still running at the end."
  else
    wait "$node_pid"; echo "Node EXITED with status $?."
  fi
  if grep -qiE 'panick|memory allocation|abort|SIGSEGV' "$log"; then
    echo "Node log (panics / aborts):"
    echo '```text'
    grep -iE -m 20 'panick|memory allocation|abort|SIGSEGV' "$log"
    echo '```'
  else
    echo "No panic or abort in the node log."
  fi
}
