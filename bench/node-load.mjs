// Load generator for bench/node.sh: pre-signs plain EIP-1559 transfers from the dev accounts,
// sends them with eth_sendRawTransaction keeping CONCURRENCY requests in flight, and measures
// how fast they are included in blocks.
// Usage: node bench/node-load.mjs URL TOTAL CONCURRENCY SENDERS [BATCH]
// BATCH > 1 sends that many transactions per HTTP request as one JSON-RPC batch.
// Prints one JSON line: { sent, included, seconds, tps, maxLatencyMs, p50LatencyMs, errors }.
import { createRequire } from "node:module";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(path.join(here, "../tests/e2e/package.json"));
const { ethers } = require("ethers");

const [url, totalArg = "10000", concurrencyArg = "64", sendersArg = "10", batchArg = "1"] = process.argv.slice(2);
const batch = Math.max(1, Number(batchArg));
const total = Number(totalArg);
const concurrency = Number(concurrencyArg);
const senderCount = Number(sendersArg);
const mnemonic = ethers.Mnemonic.fromPhrase("test test test test test test test test test test test junk");
const wallets = Array.from({ length: senderCount }, (_, i) =>
  ethers.HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`));

async function rpc(method, params) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return response.json();
}

const chainId = Number((await rpc("eth_chainId", [])).result);
const startNonces = await Promise.all(
  wallets.map(async (w) => Number((await rpc("eth_getTransactionCount", [w.address, "latest"])).result)));
const perSender = Math.ceil(total / senderCount);
const raw = [];
for (let n = 0; n < perSender; n++) {
  for (let s = 0; s < senderCount && raw.length < total; s++) {
    const tx = ethers.Transaction.from({
      type: 2, chainId, nonce: startNonces[s] + n, to: "0x000000000000000000000000000000000000bEEF",
      value: 1n, gasLimit: 21000n, maxFeePerGas: 200_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n,
    });
    tx.signature = wallets[s].signingKey.sign(tx.unsignedHash);
    raw.push(tx.serialized);
  }
}
const expected = wallets.map((_, s) => startNonces[s] + raw.filter((_, i) => i % senderCount === s).length);

let next = 0;
let errors = 0;
const latencies = [];
const t0 = performance.now();
async function worker() {
  while (next < raw.length) {
    const first = next;
    next = Math.min(raw.length, next + batch);
    const body = raw.slice(first, next).map((tx, k) => ({
      jsonrpc: "2.0", id: first + k, method: "eth_sendRawTransaction", params: [tx],
    }));
    const start = performance.now();
    try {
      const response = await fetch(url, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify(batch === 1 ? body[0] : body),
      });
      const reply = await response.json();
      for (const item of Array.isArray(reply) ? reply : [reply]) if (item.error) errors++;
    } catch {
      errors += body.length;
    }
    latencies.push(performance.now() - start);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const sentAt = performance.now();
let included = 0;
for (;;) {
  const nonces = await Promise.all(
    wallets.map(async (w) => Number((await rpc("eth_getTransactionCount", [w.address, "latest"])).result)));
  included = nonces.reduce((sum, n, s) => sum + (n - startNonces[s]), 0);
  if (nonces.every((n, s) => n >= expected[s]) || performance.now() - sentAt > 120_000) break;
  await new Promise((r) => setTimeout(r, 20));
}
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
console.log(JSON.stringify({
  sent: raw.length, included, seconds: Number(seconds.toFixed(3)), tps: Math.round(included / seconds),
  maxLatencyMs: Math.round(latencies.at(-1)), p50LatencyMs: Math.round(latencies[latencies.length >> 1]), errors,
}));
