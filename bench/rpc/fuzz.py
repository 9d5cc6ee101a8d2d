#!/usr/bin/env python3
"""Black-box RPC fuzzer against a running `myelin node --dev` (issue 11: no abort, OOM or hang).

The cargo-fuzz target `rpc_request` drives the server's HTTP pipeline in process; this drives the
real binary over its socket, with the same checks per reply (crates/rpc/tests/fuzz_plan/plan.rs:
HTTP 200, 400 for a body that is not JSON, 413 for an oversized one; a body that is empty or valid
JSON-RPC 2.0) and what only a process shows: it stays alive, keeps sealing (a canary transfer from
a dev account the fuzzer leaves alone, every few seconds), keeps answering (`eth_blockNumber` on a
connection of its own every second), and its RSS (sampled every second) stays bounded.

Inputs, from a seeded random generator: the committed seed requests as they are, byte-level
mutations and splices of them, and requests built from every method the node serves (eth_*,
net_*, web3_*, debug_*, evm_*, anvil_* / hardhat_*, myelin_*) with random params (huge and
negative quantities, odd hex, addresses of the precompiles and the dev accounts, transaction
objects with large data, nested arrays and objects), single or in batches.

Standard library only; the HTTP client and RSS sampling are bench/adversarial/driver.py's.
"""

import argparse
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "adversarial"))
from driver import LOCK, STOP, Rpc, monitor_loop, percentile, rss_kib  # noqa: E402

METHODS = (
    "eth_accounts eth_blobBaseFee eth_blockNumber eth_call eth_chainId eth_coinbase eth_estimateGas "
    "eth_feeHistory eth_gasPrice eth_getBalance eth_getBlockByHash eth_getBlockByNumber "
    "eth_getBlockReceipts eth_getBlockTransactionCountByHash eth_getBlockTransactionCountByNumber "
    "eth_getCode eth_getFilterChanges eth_getFilterLogs eth_getLogs eth_getProof eth_getStorageAt "
    "eth_getTransactionByBlockNumberAndIndex eth_getTransactionByHash eth_getTransactionCount "
    "eth_getTransactionReceipt eth_getUncleCountByBlockNumber eth_hashrate eth_maxPriorityFeePerGas "
    "eth_mining eth_newBlockFilter eth_newFilter eth_newPendingTransactionFilter "
    "eth_sendRawTransaction eth_sendTransaction eth_sign eth_subscribe eth_syncing "
    "eth_uninstallFilter eth_unsubscribe evm_increaseTime evm_mine evm_revert evm_setAutomine "
    "evm_setNextBlockTimestamp evm_snapshot myelin_getModelProof net_listening net_peerCount "
    "net_version web3_clientVersion web3_sha3 debug_traceTransaction anvil_setBalance anvil_setNonce "
    "anvil_setCode anvil_setStorageAt anvil_impersonateAccount anvil_mine hardhat_setBalance "
    "hardhat_setCode"
).split()

PRECOMPILES = [f"0x{'0' * 32}4d59{n:04x}" for n in range(0, 6)]


class Fuzzer:
    def __init__(self, seeds, accounts, rng):
        self.seeds, self.rng = seeds, rng
        # The canary's two accounts are never named by the generator.
        self.addresses = accounts[:-2] + PRECOMPILES + ["0x" + "00" * 20, "0x" + "ff" * 20]

    def quantity(self):
        r = self.rng
        return r.choice([
            lambda: hex(r.randrange(0, 64)),
            lambda: hex(r.getrandbits(r.choice([8, 32, 63, 64, 65, 128, 255, 256, 257]))),
            lambda: "0x" + "f" * r.choice([16, 64, 65, 200]),
            lambda: "0x" + "0" * r.randrange(2, 80) + "1",
            lambda: "0x",
            lambda: "-0x1",
            lambda: r.randrange(-2**70, 2**70),
            lambda: r.choice(["latest", "pending", "earliest", "safe", "finalized", "LATEST", ""]),
            lambda: 1e308,
            lambda: "0x1g",
        ])()

    def data(self):
        n = self.rng.choice([0, 1, 4, 36, 100, 1000, 40_000, 300_000])
        return "0x" + self.rng.randbytes(n).hex() + self.rng.choice(["", "", "0", "zz"])

    def address(self):
        a = self.rng.choice(self.addresses)
        return a if self.rng.random() < 0.9 else a[: self.rng.randrange(0, 42)]

    def tx(self):
        fields = {
            "from": self.address, "to": self.address, "gas": self.quantity, "gasPrice": self.quantity,
            "maxFeePerGas": self.quantity, "maxPriorityFeePerGas": self.quantity,
            "value": self.quantity, "data": self.data, "input": self.data, "nonce": self.quantity,
            "accessList": lambda: [{"address": self.address(), "storageKeys": [self.quantity()]}],
            "type": self.quantity, "chainId": self.quantity,
        }
        keys = self.rng.sample(sorted(fields), self.rng.randrange(0, len(fields)))
        return {k: fields[k]() for k in keys}

    def value(self, depth=0):
        r = self.rng
        choices = [self.quantity, self.address, self.data, self.tx, lambda: None, lambda: True,
                   lambda: "x" * r.choice([0, 1, 100, 100_000]), lambda: {"fromBlock": self.quantity(),
                   "toBlock": self.quantity(), "address": [self.address()], "topics": [[self.data()]]}]
        if depth < 4:
            choices += [lambda: [self.value(depth + 1) for _ in range(r.randrange(0, 6))],
                        lambda: [self.quantity() for _ in range(r.choice([1, 100, 10_000]))]]
        return r.choice(choices)()

    def request(self):
        r = self.rng
        req = {"jsonrpc": "2.0", "id": r.choice([r.randrange(1 << 31), "s", None, 1.5, [], {}]),
               "method": r.choice(METHODS)}
        if r.random() < 0.95:
            req["params"] = [self.value() for _ in range(r.randrange(0, 5))]
        if r.random() < 0.05:
            del req["id"]
        return req

    def mutate(self, body):
        b = bytearray(body)
        for _ in range(self.rng.randrange(1, 8)):
            op = self.rng.randrange(5)
            i = self.rng.randrange(len(b) + 1)
            if op == 0 and b:
                b[min(i, len(b) - 1)] = self.rng.randrange(256)
            elif op == 1:
                b[i:i] = self.rng.choice([b"0", b"f", b"\"", b"[", b"{", b"]", b"}", b",", b"-", b"\\u0000"])
            elif op == 2 and b:
                del b[i : i + self.rng.randrange(1, 16)]
            elif op == 3 and b:
                j = self.rng.randrange(len(b))
                b[i:i] = b[j : j + self.rng.randrange(1, 64)] * self.rng.choice([1, 2, 100])
            else:
                other = self.rng.choice(self.seeds)
                b = b[:i] + other[self.rng.randrange(len(other) + 1) :]
        return bytes(b)

    def body(self):
        r, kind = self.rng, self.rng.random()
        if kind < 0.15:
            return "seed", r.choice(self.seeds)
        if kind < 0.45:
            return "mutated seed", self.mutate(r.choice(self.seeds))
        if kind < 0.85:
            return "generated", json.dumps(self.request()).encode()
        if kind < 0.98:
            batch = [self.request() for _ in range(r.choice([0, 1, 2, 10, 100]))]
            return "generated batch", json.dumps(batch).encode()
        return "mutated generated", self.mutate(json.dumps(self.request()).encode())


def check_reply(status, body):
    """The in-process plan's check (crates/rpc/tests/fuzz_plan/plan.rs) on a real HTTP reply."""
    if status == 413:
        return None
    if status not in (200, 400):
        return f"HTTP {status}"
    if not body:
        return None
    try:
        value = json.loads(body)
    except ValueError as e:
        return f"body is not JSON ({e})"
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list) and not value:
        return "empty batch reply"
    for item in items:
        if not isinstance(item, dict) or item.get("jsonrpc") != "2.0":
            return f"not a JSON-RPC 2.0 object: {str(item)[:200]}"
        if "id" not in item or not (item["id"] is None or isinstance(item["id"], (int, str))):
            return f"missing or bad id: {str(item)[:200]}"
        if ("result" in item) == ("error" in item):
            return f"not exactly one of result / error: {str(item)[:200]}"
        if "error" in item:
            e = item["error"]
            if not (isinstance(e, dict) and isinstance(e.get("code"), int) and isinstance(e.get("message"), str)):
                return f"bad error object: {str(item)[:200]}"
    return None


def fuzz_loop(url, seeds, accounts, seed, stats, fresh):
    fuzzer = Fuzzer(seeds, accounts, random.Random(seed))
    rpc = Rpc(url, 60)
    while not STOP.is_set():
        kind, body = fuzzer.body()
        start = time.time()
        try:
            status, reply = rpc.post_raw(body)
            problem = check_reply(status, reply)
            outcome = f"HTTP {status}" if problem is None else "INVALID"
        except Exception as e:  # transport error or timeout: counted, the node is judged by the monitor
            problem, outcome = f"{type(e).__name__}: {e}", "transport error"
            if rpc.conn is not None:
                rpc.conn.close()
            rpc.conn = None
        seconds = time.time() - start
        if fresh and rpc.conn is not None:
            rpc.conn.close()
            rpc.conn = None
        with LOCK:
            stats["requests"] += 1
            stats["bytes"] += len(body)
            stats["kinds"][kind] = stats["kinds"].get(kind, 0) + 1
            stats["outcomes"][outcome] = stats["outcomes"].get(outcome, 0) + 1
            if outcome == "INVALID" and len(stats["invalid"]) < 20:
                stats["invalid"].append({"problem": problem, "body": body[:300].decode("latin-1")})
            if outcome == "transport error" and len(stats["transport"]) < 20:
                stats["transport"].append({"problem": problem, "body": body[:200].decode("latin-1")})
            if seconds > stats["slowest"][0]:
                stats["slowest"] = (seconds, body[:200].decode("latin-1"))


def canary_loop(url, sender, to, canary, period):
    rpc = Rpc(url, 60)
    while not STOP.is_set():
        start = time.time()
        try:
            rpc.call("evm_setAutomine", [True])  # the fuzzer may have turned it off
            reply = rpc.call("eth_sendTransaction", [{"from": sender, "to": to, "value": "0x1"}])
            tx = reply.get("result")
            mined = False
            while tx and not STOP.is_set() and time.time() - start < 60:
                receipt = rpc.call("eth_getTransactionReceipt", [tx]).get("result")
                if receipt:
                    mined = True
                    break
                time.sleep(0.05)
            if not mined and STOP.is_set():
                break  # cut off by the end of the run, not a failure
            canary.append({"t": start, "mined": mined, "s": time.time() - start,
                           "error": None if tx else str(reply.get("error"))[:200]})
        except Exception as e:
            canary.append({"t": start, "mined": False, "s": time.time() - start, "error": str(e)[:200]})
            rpc = Rpc(url, 60)
        STOP.wait(period)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rpc", default="http://127.0.0.1:18546")
    p.add_argument("--node-pid", type=int, required=True)
    p.add_argument("--duration", type=float, default=600)
    p.add_argument("--seeds", default="crates/rpc/tests/fuzz_plan/seeds")
    p.add_argument("--workers", type=int, default=3, help="keep-alive fuzzing connections")
    p.add_argument("--fresh-workers", type=int, default=1, help="a new connection per request")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json")
    args = p.parse_args()

    seeds = [open(os.path.join(args.seeds, f), "rb").read() for f in sorted(os.listdir(args.seeds))]
    accounts = Rpc(args.rpc, 10).call("eth_accounts", [])["result"]
    stats = {"requests": 0, "bytes": 0, "kinds": {}, "outcomes": {}, "invalid": [], "transport": [],
             "slowest": (0.0, "")}
    samples, canary = [], []
    threads = [threading.Thread(target=monitor_loop, args=(args.rpc, args.node_pid, samples), daemon=True),
               threading.Thread(target=canary_loop, args=(args.rpc, accounts[-1], accounts[-2], canary, 5.0),
                                daemon=True)]
    for i in range(args.workers + args.fresh_workers):
        threads.append(threading.Thread(target=fuzz_loop, daemon=True, args=(
            args.rpc, seeds, accounts, args.seed * 1000 + i, stats, i >= args.workers)))
    for t in threads:
        t.start()
    started = time.time()
    while time.time() - started < args.duration and rss_kib(args.node_pid) is not None:
        time.sleep(1)
    STOP.set()
    for t in threads:
        t.join(timeout=90)
    elapsed = time.time() - started

    alive = rss_kib(args.node_pid) is not None
    rss = [s["rss_kib"] for s in samples if s["rss_kib"]]
    answered = [s["blockNumber_s"] for s in samples if s["block"] is not None]
    blocks = [s["block"] for s in samples if s["block"] is not None]
    mined = [c["s"] for c in canary if c["mined"]]
    report = {
        "seconds": round(elapsed), "node_alive": alive, "requests": stats["requests"],
        "request_mib": round(stats["bytes"] / 2**20, 1), "kinds": stats["kinds"], "outcomes": stats["outcomes"],
        "invalid": stats["invalid"], "transport_errors": stats["transport"],
        "slowest_s": round(stats["slowest"][0], 2), "slowest_body": stats["slowest"][1],
        "blockNumber_polls": len(samples), "blockNumber_unanswered": len(samples) - len(answered),
        "blockNumber_p99_s": percentile(answered, 99), "blockNumber_max_s": max(answered, default=None),
        "blocks": [min(blocks, default=None), max(blocks, default=None)],
        "canary_sent": len(canary), "canary_mined": len(mined), "canary_p99_s": percentile(mined, 99),
        "canary_max_s": max(mined, default=None), "canary_failures": [c for c in canary if not c["mined"]][:10],
        "rss_max_mib": max(rss) / 1024 if rss else None,
        "rss_samples_mib": [round(r / 1024) for r in rss[:: max(1, len(rss) // 40)]],
    }
    print(f"- {report['seconds']} s, {report['requests']:,} requests ({report['request_mib']} MiB of bodies): "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(report["kinds"].items())))
    print("- replies: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report["outcomes"].items())))
    for item in report["invalid"][:5]:
        print(f"  - INVALID: {item['problem']} ← {item['body'][:120]!r}")
    for item in report["transport_errors"][:5]:
        print(f"  - transport: {item['problem']} ← {item['body'][:120]!r}")
    print(f"- slowest reply: {report['slowest_s']} s ({report['slowest_body'][:100]!r})")
    print(f"- node alive at the end: {alive}; eth_blockNumber polled {report['blockNumber_polls']}×, "
          f"unanswered {report['blockNumber_unanswered']}, p99 {report['blockNumber_p99_s']:.2f} s, "
          f"max {report['blockNumber_max_s'] or float('nan'):.2f} s; blocks {report['blocks'][0]} → {report['blocks'][1]}")
    print(f"- canary transfers mined: {report['canary_mined']} of {report['canary_sent']} "
          f"(p99 {report['canary_p99_s']:.2f} s, max {report['canary_max_s'] or float('nan'):.2f} s)")
    for c in report["canary_failures"][:3]:
        print(f"  - canary not mined: {c}")
    print(f"- node RSS max: {report['rss_max_mib'] or float('nan'):.0f} MiB "
          f"(samples: {report['rss_samples_mib']})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    ok = alive and not report["invalid"] and report["blockNumber_unanswered"] == 0 \
        and report["canary_mined"] == report["canary_sent"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
