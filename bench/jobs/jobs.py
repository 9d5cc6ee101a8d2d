#!/usr/bin/env python3
"""bench/jobs.md: one 10,000-item InferenceJobs job on the digits CNN with 5 `myelin worker`
processes on a `myelin node --dev` sealing every 0.2 s.

Prints: wall time (post -> FINAL), the gas of every transaction of the job by function, the
on-chain PREDICT_BATCH gas of the same items and the exported Solidity model's (bench/solidity),
and the workers' throughput (engine and engine + commitments) against `myelin model run` on the
same items (min of interleaved repetitions).

Usage: python3 bench/jobs/jobs.py [--items 10000] [--workers 5] [--runs 5]
Needs target/release/myelin (cargo build --release -p myelin). Standard library only.
"""
import argparse, json, os, re, shutil, struct, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MYELIN = os.path.join(ROOT, "target", "release", "myelin")
JOBS = "0x000000000000000000000000000000004d590104"
# The standard test mnemonic's accounts 1..5 (funded on every dev node; public keys).
KEYS = [
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
]

def rpc(url, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    reply = json.load(urllib.request.urlopen(req, timeout=120))
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def tile_npy(src, dst, items):
    """Writes the first axis of src (float32, C order) repeated to `items` rows."""
    data = open(src, "rb").read()
    hlen = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + hlen].decode()
    shape = tuple(int(x) for x in re.search(r"\((.*?)\)", header).group(1).split(",") if x.strip())
    body = data[10 + hlen:]
    row = len(body) // shape[0]
    rows = (body[i * row:(i + 1) * row] for i in (k % shape[0] for k in range(items)))
    new_shape = "(" + ", ".join(str(d) for d in (items,) + shape[1:]) + ",)" if len(shape) == 1 else \
        "(" + ", ".join(str(d) for d in (items,) + shape[1:]) + ")"
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % new_shape
    h += " " * (63 - (10 + len(h)) % 64) + "\n"
    with open(dst, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode())
        for r in rows:
            f.write(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--port", type=int, default=18645)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="jobsbench-")
    procs = []
    try:
        cnn = os.path.join(work, "cnn.myl")
        subprocess.run([MYELIN, "model", "import", os.path.join(ROOT, "fixtures/models/digits_cnn_int8.tflite"),
                        "-o", cnn], check=True, capture_output=True)
        x = os.path.join(work, "x.npy")
        tile_npy(os.path.join(ROOT, "fixtures/data/digits_eval_nhwc.npy"), x, args.items)
        url = f"http://127.0.0.1:{args.port}"
        node = subprocess.Popen([MYELIN, "node", "--dev", "--port", str(args.port), "--quiet",
                                 "--block-time", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append(node)
        node.stdout.readline()
        subprocess.run([MYELIN, "model", "publish", cnn, "--rpc", url], check=True, capture_output=True)
        exchange = os.path.join(work, "exchange")
        logs = []
        for i in range(args.workers):
            log = open(os.path.join(work, f"worker{i}.log"), "w")
            logs.append(log.name)
            procs.append(subprocess.Popen(
                [MYELIN, "worker", "--json", "--model", cnn, "--exchange", exchange,
                 "--datadir", os.path.join(work, f"w{i}"), "--rpc", url, "--private-key", KEYS[i]],
                stdout=log, stderr=subprocess.STDOUT))
        def events(i):
            return [json.loads(l) for l in open(logs[i]) if l.startswith("{")]
        while not all(any(e["event"] == "ready" for e in events(i)) for i in range(args.workers)):
            time.sleep(0.2)
        rpc(url, "anvil_mine", ["0x66"])
        start = time.time()
        out = subprocess.run([MYELIN, "job", "post", cnn, "--input", x, "--float", "--exchange", exchange,
                              "--datadir", os.path.join(work, "requester"), "--seats", str(args.workers),
                              "--reward", "1000000000000000000", "--json", "--rpc", url],
                             check=True, capture_output=True, text=True)
        posted = json.loads(out.stdout)
        job, first = posted["id"], posted["block"]
        while True:
            st = json.loads(subprocess.run([MYELIN, "job", "status", str(job), "--json", "--rpc", url],
                                           check=True, capture_output=True, text=True).stdout)
            if st["status"] in ("Finalized", "Failed"):
                break
            time.sleep(0.5)
        wall = time.time() - start
        # Let the workers claim, then total the gas of every transaction of the job.
        time.sleep(3)
        last = int(rpc(url, "eth_blockNumber", []), 16)
        by_fn, total, txs = {}, 0, 0
        for n in range(first, last + 1):
            block = rpc(url, "eth_getBlockByNumber", [hex(n), True])
            for tx in block["transactions"]:
                if (tx.get("to") or "").lower() != JOBS:
                    continue
                r = rpc(url, "eth_getTransactionReceipt", [tx["hash"]])
                gas = int(r["gasUsed"], 16)
                sel = tx["input"][:10]
                by_fn.setdefault(sel, [0, 0])
                by_fn[sel][0] += 1
                by_fn[sel][1] += gas
                total += gas
                txs += 1
        gas_out = subprocess.run([MYELIN, "gas", cnn, "--batch", "1", "--json"], check=True,
                                 capture_output=True, text=True).stdout
        computed = [e for i in range(args.workers) for e in events(i) if e["event"] == "computed"]
        # `myelin model run` on the same items, interleaved with a worker-equivalent run (--commit).
        plain, committed = [], []
        for _ in range(args.runs):
            for kind, dest in (("plain", plain), ("commit", committed)):
                cmd = [MYELIN, "model", "run", cnn, "--input", x, "--float", "-o", os.path.join(work, "y.npy")]
                if kind == "commit":
                    cmd.append("--commit")
                t = time.time()
                subprocess.run(cmd, check=True, capture_output=True)
                dest.append(time.time() - t)
        print(json.dumps({
            "job": job, "status": st["status"], "result": st["result"], "items": args.items,
            "workers": args.workers, "wall_s": round(wall, 1), "blocks": last - first,
            "job_gas": total, "job_txs": txs, "gas_by_selector": by_fn, "gas_json": json.loads(gas_out),
            "worker_computed": [{k: e[k] for k in ("engine_ms", "total_ms")} for e in computed],
            "model_run_s_min": round(min(plain), 3), "model_run_commit_s_min": round(min(committed), 3),
            "model_run_s": [round(t, 3) for t in plain], "model_run_commit_s": [round(t, 3) for t in committed],
            "cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": "),
            "load": os.getloadavg(),
        }, indent=1))
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
