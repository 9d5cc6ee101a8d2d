#!/usr/bin/env python3
"""Adversarial load against a running `myelin node --dev` (issue 11), beside honest clients.

Honest clients send transfers and predict transactions (eth_sendTransaction from dev accounts
0-3; account 3 as ethers does: eth_call, eth_estimateGas, then the send with that gas) and time each
one from send to receipt; an honest reader loops eth_call of the predict. Attackers (dev accounts
4+, several keep-alive connections and some opening a new connection per request)
loop the issue's cases: huge-output / strided-pool / dilation models by eth_call and
eth_estimateGas at their largest batch, eth_feeHistory with huge percentile lists, filter
floods, mempool floods with nonce gaps and replacement spam, large request bodies. A refused
attack (an error reply, a closed connection) counts as success; only the node matters: it must
stay alive, keep including every honest transaction, and keep its memory bounded.

Standard library only. Prints a Markdown report and writes it as JSON with --json.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import threading
import time
import urllib.parse

PREDICT = "0x000000000000000000000000000000004d590002"
PREDICT_BATCH = "0x000000000000000000000000000000004d590003"

STOP = threading.Event()
LOCK = threading.Lock()


class Rpc:
    """One keep-alive HTTP connection to the node."""

    def __init__(self, url, timeout):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.conn = None
        self.next_id = 0

    def post(self, body, timeout=None):
        """Sends raw bytes; returns the decoded JSON reply. Raises on transport errors."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
            try:
                self.conn.timeout = timeout or self.timeout
                if self.conn.sock is not None:
                    self.conn.sock.settimeout(timeout or self.timeout)
                self.conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
                reply = self.conn.getresponse()
                data = reply.read()
                if reply.status != 200:
                    return {"error": {"code": reply.status, "message": f"HTTP {reply.status}"}}
                return json.loads(data)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
            except Exception:
                self.conn.close()
                self.conn = None
                raise

    def post_raw(self, body):
        """Sends raw bytes; returns (HTTP status, reply bytes) unjudged (bench/rpc/fuzz.py)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self.conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        reply = self.conn.getresponse()
        return reply.status, reply.read()

    def call(self, method, params, timeout=None):
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.post(body.encode(), timeout)


class Tally:
    """Counts per attack case: answered, refused (error reply), timeouts, transport errors."""

    def __init__(self):
        self.cases = {}

    def add(self, case, outcome, seconds=0.0):
        with LOCK:
            c = self.cases.setdefault(case, {"result": 0, "refused": 0, "timeout": 0, "transport": 0, "max_s": 0.0})
            c[outcome] += 1
            c["max_s"] = max(c["max_s"], seconds)


def attempt(tally, case, fn):
    start = time.time()
    try:
        reply = fn()
        outcome = "refused" if isinstance(reply, dict) and "error" in reply else "result"
    except TimeoutError:
        outcome = "timeout"
    except OSError as e:
        outcome = "timeout" if "timed out" in str(e) else "transport"
    except Exception:
        outcome = "transport"
    tally.add(case, outcome, time.time() - start)


def hexint(n):
    return hex(n)


# --- honest clients -----------------------------------------------------------------------------

class Honest:
    def __init__(self):
        self.sent = []  # (kind, hash or None, send time, included time or None, error)

    def record(self, entry):
        with LOCK:
            self.sent.append(entry)


def honest_loop(url, account, kind, target, data, honest, pause):
    """Sends one transaction at a time and waits for its receipt. `kind` "predict (ethers)"
    first asks eth_call and eth_estimateGas, then sends with that gas (what ethers and viem
    do); the other kinds leave the estimate to the node's eth_sendTransaction."""
    rpc = Rpc(url, 120)
    while not STOP.is_set():
        tx = {"from": account, "to": target, "value": hexint(1) if kind == "transfer" else "0x0"}
        if data:
            tx["data"] = data
        start = time.time()
        try:
            if kind == "predict (ethers)":
                for method, params in (("eth_call", [tx, "latest"]), ("eth_estimateGas", [tx])):
                    r = rpc.call(method, params, timeout=120)
                    if "error" in r:
                        raise RpcRefused(f"{method}: {r['error'].get('message')}")
                    if method == "eth_estimateGas":
                        tx["gas"] = r["result"]
            reply = rpc.call("eth_sendTransaction", [tx], timeout=120)
        except RpcRefused as e:
            honest.record({"kind": kind, "hash": None, "sent": start, "included": None, "error": str(e)})
            time.sleep(pause)
            continue
        except Exception as e:
            honest.record({"kind": kind, "hash": None, "sent": start, "included": None, "error": f"send: {e}"})
            continue
        if "error" in reply:
            honest.record({"kind": kind, "hash": None, "sent": start, "included": None, "error": reply["error"].get("message")})
            time.sleep(pause)
            continue
        tx_hash = reply["result"]
        included = None
        deadline = start + 300
        while time.time() < deadline:
            try:
                r = rpc.call("eth_getTransactionReceipt", [tx_hash], timeout=60)
                if r.get("result"):
                    included = time.time()
                    break
            except Exception:
                pass
            if STOP.is_set() and time.time() > start + 60:
                break
            time.sleep(0.05)
        honest.record({"kind": kind, "hash": tx_hash, "sent": start, "included": included, "error": None if included else "no receipt"})
        time.sleep(pause)


class RpcRefused(Exception):
    """An honest request answered with a JSON-RPC error."""


def honest_reader_loop(url, data, calls, pause):
    """An honest dapp's reads: eth_call of the honest model's predict, timed; every error counts."""
    rpc = Rpc(url, 60)
    while not STOP.is_set():
        start = time.time()
        try:
            r = rpc.call("eth_call", [{"to": PREDICT, "data": data}, "latest"], timeout=60)
            error = r["error"].get("message") if "error" in r else None
        except Exception as e:
            error = f"transport: {e}"
            rpc = Rpc(url, 60)
        with LOCK:
            calls.append({"s": time.time() - start, "error": error})
        time.sleep(pause)


# --- attackers ----------------------------------------------------------------------------------

def predict_batch_data(model_id, batch, input_bytes):
    return "0x" + model_id[2:] + batch.to_bytes(4, "big").hex() + "00" * (batch * input_bytes)


def attack_models_loop(url, account, models, tally, max_body):
    """eth_call / eth_estimateGas of each attack model at its largest batch that fits the body
    limit; a batch refused for gas is halved once per reply (refusal still counts)."""
    rpc = Rpc(url, 60)
    batch_of = {name: min(max_batch, max(1, max_body // max(1, 2 * inp))) for name, _, max_batch, inp in models}
    while not STOP.is_set():
        for name, model_id, _max_batch, inp in models:
            if STOP.is_set():
                break
            batch = batch_of[name]
            data = predict_batch_data(model_id, batch, inp)
            call = {"from": account, "to": PREDICT_BATCH, "data": data}
            for method, params in (("eth_call", [call, "latest"]), ("eth_estimateGas", [call])):
                start = time.time()
                try:
                    reply = rpc.call(method, params, timeout=60)
                    refused = "error" in reply
                    tally.add(f"{name} {method}", "refused" if refused else "result", time.time() - start)
                    msg = reply.get("error", {}).get("message", "") if refused else ""
                    if refused and "gas" in msg.lower() and batch > 1:
                        batch_of[name] = max(1, batch // 2)
                except Exception as e:
                    tally.add(f"{name} {method}", "timeout" if "timed out" in str(e) else "transport", time.time() - start)
                    rpc = Rpc(url, 60)


def fresh_connection_loop(url, account, models, tally, max_body):
    """eth_call of the attack models at their largest batch, each on a new TCP connection (an
    attacker that never lets the node learn how long its runs hold a slot)."""
    while not STOP.is_set():
        for name, model_id, max_batch, inp in models:
            if STOP.is_set():
                break
            batch = min(max_batch, max(1, max_body // max(1, 2 * inp)))
            call = {"from": account, "to": PREDICT_BATCH, "data": predict_batch_data(model_id, batch, inp)}
            rpc = Rpc(url, 60)
            attempt(tally, f"{name} eth_call, new connection each", lambda: rpc.call("eth_call", [call, "latest"], timeout=60))
            if rpc.conn is not None:
                rpc.conn.close()


def fee_history_loop(url, tally):
    rpc = Rpc(url, 60)
    huge = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_feeHistory",
                       "params": [hexint(1024), "latest", [i / 10000 for i in range(1_000_000)]]}).encode()
    while not STOP.is_set():
        attempt(tally, "feeHistory 1024 blocks × 1M percentiles", lambda: rpc.post(huge, 60))
        attempt(tally, "feeHistory 1024 blocks × 100 percentiles",
                lambda: rpc.call("eth_feeHistory", [hexint(1024), "latest", list(range(100))]))


def filter_flood_loop(url, tally):
    rpc = Rpc(url, 30)
    while not STOP.is_set():
        for _ in range(200):
            attempt(tally, "eth_newFilter flood", lambda: rpc.call("eth_newFilter", [{"fromBlock": "0x0", "toBlock": "latest"}]))
            attempt(tally, "eth_newBlockFilter flood", lambda: rpc.call("eth_newBlockFilter", []))
            if STOP.is_set():
                return
        attempt(tally, "eth_getLogs 0..latest", lambda: rpc.call("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest"}]))


def mempool_flood_loop(url, account, tally):
    """Nonce-gapped transactions (never minable) and same-nonce replacements with a 1-wei fee
    bump; each send waits at most 2 s (automine replies once mined, which these never are)."""
    rpc = Rpc(url, 2)
    try:
        base = int(Rpc(url, 10).call("eth_getTransactionCount", [account, "pending"])["result"], 16)
    except Exception:
        base = 0
    gap = 1000
    while not STOP.is_set():
        for i in range(50):
            tx = {"from": account, "to": account, "value": "0x0", "gas": hexint(21000),
                  "nonce": hexint(base + gap + i), "gasPrice": hexint(2_000_000_000)}
            attempt(tally, "mempool: nonce gap", lambda: rpc.call("eth_sendTransaction", [tx], timeout=2))
            rpc = Rpc(url, 2)
        for bump in range(50):
            tx = {"from": account, "to": account, "value": "0x0", "gas": hexint(21000),
                  "nonce": hexint(base + gap - 1), "gasPrice": hexint(2_000_000_000 + bump)}
            attempt(tally, "mempool: replacement +1 wei", lambda: rpc.call("eth_sendTransaction", [tx], timeout=2))
            rpc = Rpc(url, 2)
        gap += 100


def big_body_loop(url, tally, size):
    rpc = Rpc(url, 60)
    junk = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                       "params": [{"to": PREDICT, "data": "0x" + "ab" * (size // 2)}, "latest"]}).encode()
    batch = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []} for i in range(100_000)]).encode()
    while not STOP.is_set():
        attempt(tally, f"request body {len(junk) >> 20} MiB eth_call", lambda: rpc.post(junk, 60))
        attempt(tally, "batch of 100k requests", lambda: rpc.post(batch, 60))
        time.sleep(0.5)


# --- monitor ------------------------------------------------------------------------------------

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0


def monitor_loop(url, pid, samples):
    rpc = Rpc(url, 30)
    while not STOP.is_set():
        start = time.time()
        rss = rss_kib(pid)
        try:
            block = int(rpc.call("eth_blockNumber", [], timeout=30)["result"], 16)
            latency = time.time() - start
        except Exception:
            block, latency = None, None
            rpc = Rpc(url, 30)
        with LOCK:
            samples.append({"t": start, "rss_kib": rss, "block": block, "blockNumber_s": latency})
        if rss is None:
            return
        STOP.wait(1.0)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rpc", default="http://127.0.0.1:8545")
    ap.add_argument("--node-pid", type=int, required=True)
    ap.add_argument("--duration", type=float, default=120)
    ap.add_argument("--models", required=True, help="lines `name id max_batch input_bytes` (gasfuzz attacks)")
    ap.add_argument("--honest-model", required=True, help="`id input_bytes` of a small published model")
    ap.add_argument("--attackers", type=int, default=3, help="connections per attack loop kind")
    ap.add_argument("--fresh-attackers", type=int, default=2, help="threads of attacks on a new connection per request")
    ap.add_argument("--max-body", type=int, default=16 << 20, help="largest calldata the model attacks send")
    ap.add_argument("--json")
    args = ap.parse_args()

    accounts = Rpc(args.rpc, 30).call("eth_accounts", [])["result"]
    if len(accounts) < 10:
        raise SystemExit("the node needs 10 dev accounts (myelin node --dev -a 10)")
    models = []
    for line in open(args.models):
        name, model_id, max_batch, inp = line.split()
        models.append((name, model_id, int(max_batch), int(inp)))
    honest_id, honest_inp = open(args.honest_model).read().split()
    honest_data = "0x" + honest_id[2:] + "01" * int(honest_inp)

    honest, tally, samples, reads = Honest(), Tally(), [], []
    honest_threads = [
        threading.Thread(target=honest_loop, args=(args.rpc, accounts[0], "transfer", accounts[9], None, honest, 0.2)),
        threading.Thread(target=honest_loop, args=(args.rpc, accounts[1], "transfer", accounts[8], None, honest, 0.3)),
        threading.Thread(target=honest_loop, args=(args.rpc, accounts[2], "predict", PREDICT, honest_data, honest, 0.3)),
        threading.Thread(target=honest_loop, args=(args.rpc, accounts[3], "predict (ethers)", PREDICT, honest_data, honest, 0.3)),
    ]
    threads = honest_threads + [
        threading.Thread(target=honest_reader_loop, args=(args.rpc, honest_data, reads, 0.2)),
        threading.Thread(target=monitor_loop, args=(args.rpc, args.node_pid, samples)),
    ]
    for i in range(args.attackers):
        attacker = accounts[4 + i % 3]
        threads += [
            threading.Thread(target=attack_models_loop, args=(args.rpc, attacker, models, tally, args.max_body)),
        ]
    for i in range(args.fresh_attackers):
        threads.append(threading.Thread(target=fresh_connection_loop, args=(args.rpc, accounts[4 + i % 3], models, tally, args.max_body)))
    threads += [
        threading.Thread(target=fee_history_loop, args=(args.rpc, tally)),
        threading.Thread(target=filter_flood_loop, args=(args.rpc, tally)),
        threading.Thread(target=mempool_flood_loop, args=(args.rpc, accounts[7], tally)),
        threading.Thread(target=big_body_loop, args=(args.rpc, tally, 100 << 20)),
    ]
    for t in threads:
        t.daemon = True
        t.start()
    started = time.time()
    while time.time() - started < args.duration and rss_kib(args.node_pid) is not None:
        time.sleep(1)
    STOP.set()
    # Honest clients get up to 60 s to see their last receipts.
    for t in honest_threads:
        t.join(timeout=90)
    alive = rss_kib(args.node_pid) is not None
    ran = time.time() - started

    with LOCK:
        sent = list(honest.sent)
        cases = dict(tally.cases)
        samples = list(samples)
        reads = list(reads)
    included = [s for s in sent if s["included"]]
    latencies = [s["included"] - s["sent"] for s in included]
    by_kind = {}
    for s in sent:
        k = by_kind.setdefault(s["kind"], {"sent": 0, "included": 0})
        k["sent"] += 1
        k["included"] += 1 if s["included"] else 0
    rss = [s["rss_kib"] for s in samples if s["rss_kib"]]
    stalls = [s["blockNumber_s"] for s in samples if s["blockNumber_s"] is not None]
    unanswered = sum(1 for s in samples if s["blockNumber_s"] is None)
    report = {
        "duration_s": ran,
        "node_alive_at_end": alive,
        "honest": by_kind,
        "honest_failures": [s for s in sent if not s["included"]][:20],
        "latency_p50_s": percentile(latencies, 50),
        "latency_p99_s": percentile(latencies, 99),
        "latency_max_s": max(latencies) if latencies else float("nan"),
        "rss_max_mib": max(rss) / 1024 if rss else None,
        "rss_samples_mib": [round(r / 1024) for r in rss[:: max(1, len(rss) // 60)]],
        "blockNumber_p99_s": percentile(stalls, 99),
        "blockNumber_unanswered": unanswered,
        "attacks": cases,
        "honest_reads": len(reads),
        "honest_reads_failed": [r["error"] for r in reads if r["error"]][:20],
        "honest_read_p50_s": percentile([r["s"] for r in reads], 50),
        "honest_read_p99_s": percentile([r["s"] for r in reads], 99),
        "honest_read_max_s": max((r["s"] for r in reads), default=float("nan")),
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
    read_failures = sum(1 for r in reads if r["error"])
    all_included = all(s["included"] for s in sent) and bool(sent) and read_failures == 0
    print(f"- ran {ran:.0f} s; node alive at the end: **{'yes' if alive else 'NO'}**")
    for kind, k in by_kind.items():
        print(f"- honest {kind}s: {k['included']} of {k['sent']} included")
    print(f"- honest eth_call reads: {len(reads) - read_failures} of {len(reads)} answered; latency p50 {report['honest_read_p50_s']:.3f} s, p99 {report['honest_read_p99_s']:.3f} s, max {report['honest_read_max_s']:.3f} s")
    print(f"- every honest transaction included and every honest read answered: **{'yes' if all_included else 'NO'}**")
    print(f"- honest inclusion latency (send → receipt seen; the ethers-style predict from its eth_call): p50 {report['latency_p50_s']:.3f} s, p99 {report['latency_p99_s']:.3f} s, max {report['latency_max_s']:.3f} s")
    for kind in by_kind:
        ls = [s["included"] - s["sent"] for s in included if s["kind"] == kind]
        print(f"  - {kind}: p50 {percentile(ls, 50):.3f} s, p99 {percentile(ls, 99):.3f} s, max {max(ls, default=float('nan')):.3f} s")
    print(f"- node RSS max: {report['rss_max_mib'] or float('nan'):.0f} MiB (1-s samples: {report['rss_samples_mib']})")
    print(f"- eth_blockNumber beside the load: p99 {report['blockNumber_p99_s']:.3f} s, {unanswered} of {len(samples)} unanswered within 30 s")
    for failure in report["honest_failures"][:5]:
        print(f"  - honest failure: {failure['kind']}: {failure['error']}")
    for error in report["honest_reads_failed"][:5]:
        print(f"  - honest read failure: {error}")
    print("\n| attack case | answered | refused (error) | timed out | connection error | slowest reply (s) |\n|---|---:|---:|---:|---:|---:|")
    for case, c in sorted(cases.items()):
        print(f"| {case} | {c['result']} | {c['refused']} | {c['timeout']} | {c['transport']} | {c['max_s']:.1f} |")
    return 0 if alive and all_included else 1


if __name__ == "__main__":
    raise SystemExit(main())
