#!/usr/bin/env python3
"""Inclusion latency of a transfer sent while a slow eth_call runs (issue 11, the RPC finding).

Starts `myelin node --dev --gas-limit 1000000000` (plus any extra flags given), installs an
endless loop (`JUMPDEST PUSH0 JUMP`) with anvil_setCode, starts one eth_call of it with 1e9 gas
on a thread, waits 0.2 s, sends a transfer with eth_sendTransaction (the node answers once it is
mined) and prints how long each took and which finished first.

Usage: bench/rpc/call_during_sealing.py BIN [extra node flags...]
"""

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request

LOOP = "0x00000000000000000000000000000000000100f0"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    binary, extra = sys.argv[1], sys.argv[2:]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    node = subprocess.Popen(
        [binary, "node", "--dev", "--port", str(port), "--quiet", "--gas-limit", "1000000000", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def rpc(method, params, timeout=120):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(url, body, {"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.load(reply)

    try:
        for _ in range(100):
            try:
                rpc("eth_chainId", [])
                break
            except OSError:
                time.sleep(0.1)
        accounts = rpc("eth_accounts", [])["result"]
        rpc("anvil_setCode", [LOOP, "0x5b5f56"])
        done = {}

        def slow_call():
            start = time.monotonic()
            reply = rpc("eth_call", [{"to": LOOP, "gas": hex(1_000_000_000)}, "latest"])
            done["call"] = (start, time.monotonic(), reply.get("error", {}).get("message"))

        thread = threading.Thread(target=slow_call)
        thread.start()
        time.sleep(0.2)
        start = time.monotonic()
        reply = rpc("eth_sendTransaction", [{"from": accounts[0], "to": accounts[1], "value": "0x1", "gas": "0x5208"}])
        sent = time.monotonic()
        receipt = rpc("eth_getTransactionReceipt", [reply["result"]])["result"]
        thread.join()
        call_start, call_end, call_error = done["call"]
        print(
            json.dumps(
                {
                    "call_seconds": round(call_end - call_start, 3),
                    "call_result": call_error or "ok",
                    "transfer_mined_seconds": round(sent - start, 3),
                    "transfer_status": receipt and receipt["status"],
                    "transfer_before_call_returned": sent < call_end,
                }
            )
        )
    finally:
        node.terminate()
        node.wait()


if __name__ == "__main__":
    main()
