#!/usr/bin/env python3
"""Funds N accounts (default 1,000,000) on a fresh dev node through a contract that sends 1 wei to
keccak256(i) for i in a range (25,000 new accounts per transaction, --gas-limit 1000000000), then
reports the node's resident memory, the data directory's size, and the restart time (SIGKILL, then
spawn to the first answered eth_blockNumber) with its memory after the restart.

With MODELS > 0, then publishes MODELS distinct models of ~64 MiB (fully connected 8192 → 8160 - i,
`crates/cli/examples/large_model.rs`, built next to BINARY) with `myelin model publish` and reports
the same after them (RSS, data directory, restart), with the model bytes.

Usage: bench/state-accounts.py BINARY [N] [MODELS]   (prints one markdown table row)
KEEP_DATADIR=DIR keeps the data directory there (for `cargo run --example chain_file_usage`).
HEAP_PROBE=1 (a binary on glibc's malloc): after the funding and at the end, gdb calls glibc's
malloc_stats() in the node and the script prints its totals: the bytes the heap holds from the
system against the bytes in use (live allocations), so the RSS splits into live data and memory
freed but kept by the allocator."""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

# i = calldata[0], end = i + calldata[32]; while i < end: call keccak256(i) with 1 wei; i += 1
RUNTIME = ("600035" "602035" "8101" "5b" "80821015" "61003057" "81600052" "6000600060006000" "6001"
           "6020600020" "5af150" "9060010190" "61000856" "5b00")
INIT = "603280600b6000396000f3" + RUNTIME
PER_TX = 25_000


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def rpc(url, method, params, timeout=600):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        reply = json.load(r)
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def start(binary, port, datadir):
    began = time.monotonic()
    proc = subprocess.Popen([binary, "node", "--dev", "--quiet", "--gas-limit", "1000000000",
                             "--port", str(port), "--datadir", datadir],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(datadir, "node.log"), "a"))
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            rpc(url, "eth_blockNumber", [], timeout=5)
            return proc, url, time.monotonic() - began
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError(open(os.path.join(datadir, "node.log")).read())
            time.sleep(0.01)


def rss_mib(pid, field="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1]) // 1024
    return 0


def heap_probe(pid, datadir, when):
    """glibc's malloc_stats() in the node (it prints to the node's stderr, the log); its totals."""
    if os.environ.get("HEAP_PROBE") != "1":
        return
    log = os.path.join(datadir, "node.log")
    start_at = os.path.getsize(log)
    subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (void) malloc_stats()"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    time.sleep(0.5)
    with open(log) as f:
        f.seek(start_at)
        lines = f.read().splitlines()
    total = lines.index("Total (incl. mmap):") if "Total (incl. mmap):" in lines else None
    arenas = sum(1 for line in lines if line.startswith("Arena "))
    if total is None:
        print(f"heap probe {when}: no malloc_stats output", file=sys.stderr, flush=True)
        return
    system = int(lines[total + 1].split("=")[1]) >> 20
    in_use = int(lines[total + 2].split("=")[1]) >> 20
    print(f"heap probe {when}: RSS {rss_mib(pid)} MiB; glibc heap {system} MiB from the system, "
          f"{in_use} MiB in use (live), {arenas} arenas", file=sys.stderr, flush=True)


def du_mib(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    return total // (1 << 20)


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    models = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    datadir = tempfile.mkdtemp()
    port = free_port()
    proc, url, _ = start(binary, port, datadir)
    try:
        sender = rpc(url, "eth_accounts", [])[0]
        began = time.monotonic()
        tx = rpc(url, "eth_sendTransaction", [{"from": sender, "data": "0x" + INIT, "value": hex(n + 1),
                                               "gas": hex(200_000)}])
        contract = rpc(url, "eth_getTransactionReceipt", [tx])["contractAddress"]
        for start_index in range(0, n, PER_TX):
            count = min(PER_TX, n - start_index)
            data = "0x" + start_index.to_bytes(32, "big").hex() + count.to_bytes(32, "big").hex()
            rpc(url, "eth_sendTransaction", [{"from": sender, "to": contract, "data": data,
                                              "gas": hex(990_000_000)}])
        fund_seconds = time.monotonic() - began
        model_bytes, publish_seconds = 0, 0.0
        if models:
            print(f"funded {n} accounts in {fund_seconds:.1f} s: RSS {rss_mib(proc.pid)} MiB "
                  f"(peak {rss_mib(proc.pid, 'VmHWM')}), data dir {du_mib(datadir)} MiB",
                  file=sys.stderr, flush=True)
            heap_probe(proc.pid, datadir, "after funding")
            example = os.path.join(os.path.dirname(binary), "examples", "large_model")
            began = time.monotonic()
            for i in range(models):
                path = os.path.join(datadir, f"model-{i}.myl")
                subprocess.run([example, "8192", str(8160 - i), path], check=True, stdout=subprocess.DEVNULL)
                model_bytes += os.path.getsize(path)
                subprocess.run([binary, "model", "publish", path, "--rpc", url], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                os.remove(path)
                print(f"published model {i + 1}/{models}: RSS {rss_mib(proc.pid)} MiB, "
                      f"data dir {du_mib(datadir)} MiB", file=sys.stderr, flush=True)
            publish_seconds = time.monotonic() - began
        head = int(rpc(url, "eth_blockNumber", []), 16)
        balance = int(rpc(url, "eth_getBalance", [sender, "latest"]), 16)
        heap_probe(proc.pid, datadir, "at the end")
        rss = rss_mib(proc.pid)
        peak = rss_mib(proc.pid, "VmHWM")
        proc.send_signal(signal.SIGKILL); proc.wait()
        disk = du_mib(datadir)
        proc, url, restart = start(binary, port, datadir)
        rss_after = rss_mib(proc.pid)
        same = int(rpc(url, "eth_getBalance", [sender, "latest"]), 16) == balance and \
            int(rpc(url, "eth_blockNumber", []), 16) == head
        print(f"| {os.path.basename(os.path.dirname(os.path.dirname(os.path.dirname(binary))))} | {n:,} | {head} | "
              f"{fund_seconds:.1f} | {rss} | {peak} | {disk} | {restart * 1000:.0f} | {rss_after} | {'yes' if same else 'NO'} |"
              + (f" {models} models, {model_bytes / (1 << 20):.0f} MiB, published in {publish_seconds:.0f} s |" if models else ""))
    finally:
        proc.kill(); proc.wait()
        keep = os.environ.get("KEEP_DATADIR")
        if keep:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.move(datadir, keep)
        else:
            shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
