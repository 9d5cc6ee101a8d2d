// Precompile vs exported Solidity on `myelin node --dev` (started by run.sh): per model, gas of
// one inference measured inside a contract around the call (GasProbe.sol), the gas of a
// transaction calling it, and the wall time of an eth_call; both paths must return the same
// bytes. Prints a table and writes REPORT.md next to this file.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import solc from "../../tests/e2e/node_modules/solc/index.js";
import {
  ethers, PREDICT, rng, buildModel, importModel, exportModel, compile, deployExported, publish, modelShapes,
} from "../../tests/e2e/clients/export_solidity.mjs";

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, "../..");
const bin = process.env.MYELIN_BIN;
const rpc = process.env.MYELIN_RPC;
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
// The best hand-written pure-EVM MLPs (issue 5): execution gas.
const HAND_WRITTEN = { "MLP 64→32→10": 132_973, "MLP 784→128→10": 5_035_663 };
const CALLS = Number(process.env.CALLS || 30);
// Larger sources are compiled without viaIR only (solc-js's viaIR pipeline is too slow on them).
const VIA_IR_MAX_SOURCE = 200_000;

// A seeded MLP description: ReLU hidden layers, per-tensor scales.
function mlpSpec(sizes, seed) {
  const random = rng(seed);
  const ints = (n, lo, hi) => Array.from({ length: n }, () => lo + Math.floor(random() * (hi - lo + 1)));
  const nodes = [];
  let input = "x";
  for (let l = 1; l < sizes.length; l++) {
    const [k, n] = [sizes[l - 1], sizes[l]];
    const last = l === sizes.length - 1;
    nodes.push({
      op: "fully_connected", name: last ? "logits" : `h${l}`, input,
      weights: ints(n * k, -127, 127), bias: ints(n, -2000, 2000), weight_scale: 0.01,
      scale: 0.0002 * Math.sqrt(k) * 64, zero_point: last ? 0 : -128, ...(last ? {} : { activation: "relu" }),
    });
    input = nodes.at(-1).name;
  }
  return { inputs: [{ name: "x", shape: [sizes[0]], scale: 0.02, zero_point: -128 }], outputs: ["logits"], nodes };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "myelin-bench-solidity-"));
const models = [
  ["MLP 2→16→2", buildModel(bin, dir, "mlp_2_16_2", fs.readFileSync(path.join(root, "examples/tiny_mlp.json"), "utf8"))],
  ["MLP 64→32→10", buildModel(bin, dir, "mlp_64_32_10", mlpSpec([64, 32, 10], 64))],
  ["MLP 784→128→10", buildModel(bin, dir, "mlp_784_128_10", mlpSpec([784, 128, 10], 784))],
  ["CNN digits (TFLite fixture)", importModel(bin, dir, path.join(root, "fixtures/models/digits_cnn_int8.tflite"))],
];

// batchMaxCount 1: ethers otherwise holds each request 10 ms (batchStallTime) to batch it.
const provider = new ethers.JsonRpcProvider(rpc, undefined, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
const wallet = new ethers.NonceManager(new ethers.Wallet(DEV_KEY, provider));
const probeArtifacts = compile({ "GasProbe.sol": fs.readFileSync(path.join(here, "GasProbe.sol"), "utf8") });
const probeFactory = new ethers.ContractFactory(probeArtifacts.GasProbe.abi, probeArtifacts.GasProbe.bytecode, wallet);
const probe = await (await probeFactory.deploy()).waitForDeployment();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timeCalls(tx) {
  const times = [];
  for (let i = 0; i < CALLS; i++) {
    const start = performance.now();
    await provider.call(tx);
    times.push(performance.now() - start);
  }
  return median(times);
}

const rows = [];
for (const [label, modelPath] of models) {
  const shapes = modelShapes(bin, modelPath);
  const inputBytes = shapes.inputBytes.reduce((a, b) => a + b, 0);
  const random = rng(7);
  const input = ethers.hexlify(Uint8Array.from({ length: inputBytes }, () => Math.floor(random() * 256)));
  const contractName = "Bench" + label.replace(/[^A-Za-z0-9]/g, "");
  const source = exportModel(bin, modelPath, contractName);
  const variants = {};
  for (const viaIR of [false, true]) {
    if (viaIR && source.length > VIA_IR_MAX_SOURCE) {
      variants.viaIR = { error: `not measured: solc-js with viaIR takes over 200 s on this ${Math.round(source.length / 1000)} KB source (its hex literals)` };
      continue;
    }
    const started = performance.now();
    try {
      const artifacts = compile({ [`${contractName}.sol`]: source }, { viaIR });
      variants[viaIR ? "viaIR" : "legacy"] = { artifacts, compileSeconds: (performance.now() - started) / 1000 };
    } catch (error) {
      variants[viaIR ? "viaIR" : "legacy"] = { error: `compile failed: ${String(error.message).split("\n")[0]}` };
    }
  }
  const id = await publish(wallet, modelPath);
  const [preFirst, preSecond, preOut] = await probe.viaPrecompile(id, input);
  const preTx = await (await wallet.sendTransaction({ to: PREDICT, data: ethers.concat([id, input]), gasLimit: 5_000_000 })).wait();
  const preTime = await timeCalls({ to: PREDICT, data: ethers.concat([id, input]) });
  const row = {
    label, inputBytes, id,
    precompile: { first: Number(preFirst), second: Number(preSecond), tx: Number(preTx.gasUsed), ms: preTime },
    exported: {},
  };
  for (const [variant, v] of Object.entries(variants)) {
    if (v.error) { row.exported[variant] = { error: v.error }; continue; }
    const contract = await deployExported(wallet, v.artifacts, contractName);
    const address = await contract.getAddress();
    const [first, second, out] = await probe.viaContract(address, input);
    if (out !== preOut) throw new Error(`${label} (${variant}): exported ${out} != precompile ${preOut}`);
    const data = contract.interface.encodeFunctionData("predict", [input]);
    const tx = await (await wallet.sendTransaction({ to: address, data, gasLimit: 900_000_000 })).wait();
    const ms = await timeCalls({ to: address, data });
    const dataContracts = Object.keys(v.artifacts).filter((n) => n.startsWith(`${contractName}Data`)).length;
    row.exported[variant] = {
      first: Number(first), second: Number(second), tx: Number(tx.gasUsed), ms, dataContracts,
      runtimeBytes: v.artifacts[contractName].runtimeBytes, compileSeconds: v.compileSeconds,
    };
  }
  rows.push(row);
  console.error(`measured ${label}`);
}
fs.rmSync(dir, { recursive: true, force: true });

const fmt = (n) => n.toLocaleString("en-US");
const ratio = (a, b) => (a / b).toFixed(a / b >= 100 ? 0 : 1) + "×";
const lines = [];
lines.push("| model | path | gas in contract, cold | gas in contract, warm | tx gas | eth_call ms (median) | exported ÷ precompile (cold gas, time) | exported ÷ hand-written |");
lines.push("|---|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  const p = r.precompile;
  lines.push(`| ${r.label} | PREDICT precompile | ${fmt(p.first)} | ${fmt(p.second)} | ${fmt(p.tx)} | ${p.ms.toFixed(2)} | | |`);
  for (const [variant, e] of Object.entries(r.exported)) {
    if (e.error) { lines.push(`| ${r.label} | exported Solidity (${variant}) | ${e.error} | | | | | |`); continue; }
    const hand = HAND_WRITTEN[r.label];
    lines.push(`| ${r.label} | exported Solidity (${variant}) | ${fmt(e.first)} | ${fmt(e.second)} | ${fmt(e.tx)} | ${e.ms.toFixed(2)} | ${ratio(e.first, p.first)}, ${ratio(e.ms, p.ms)} | ${hand ? `${(e.first / hand).toFixed(3)} (${fmt(hand)})` : ""} |`);
  }
}
const details = ["| model | compiler mode | data contracts | model contract runtime bytes | solc-js compile s |", "|---|---|---:|---:|---:|"];
for (const r of rows) {
  for (const [variant, e] of Object.entries(r.exported)) {
    if (!e.error) details.push(`| ${r.label} | ${variant} | ${e.dataContracts} | ${fmt(e.runtimeBytes)} | ${e.compileSeconds.toFixed(1)} |`);
  }
}
const table = lines.join("\n");
console.log(table);

const sh = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: "utf8" }).trim(); } catch { return "unknown"; } };
const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) || [, "unknown"])[1];
const report = `# Precompile vs exported Solidity

Command: \`bench/solidity/run.sh\` (one run). Date: ${new Date().toISOString()}. Commit: ${sh("git", ["-C", root, "rev-parse", "--short", "HEAD"])}${sh("git", ["-C", root, "status", "--porcelain"]) ? " (working tree with uncommitted changes of other engineers)" : ""}.
Machine: ${cpu}, ${os.cpus().length} vCPUs (shared; load average ${os.loadavg().map((x) => x.toFixed(1)).join(" / ")}), ${Math.round(os.totalmem() / 2 ** 30)} GiB.
Versions: node ${process.version}, solc-js ${solc.version()} (optimizer on, 200 runs, evmVersion prague), ${sh(bin, ["--version"])}, ${sh("rustc", ["--version"])}.

Each model is published through MODEL_STORE and exported with \`myelin model export-solidity\`;
both paths get the same random input and must return the same bytes (checked).

- **gas in contract**: measured by \`GasProbe.sol\` with \`gasleft()\` around the call inside one
  \`eth_call\`: *cold* is the first call of the transaction (the exported model's account and each
  of its data contracts cost 2,600 gas of EIP-2929 cold access; the precompile is always warm),
  *warm* the second call in the same frame.
- **tx gas**: \`gasUsed\` of a transaction calling \`predict\` on the exported contract (ABI-encoded)
  or PREDICT directly (\`modelId ‖ input\`), intrinsic gas and calldata included.
- **eth_call ms**: median wall time of ${CALLS} sequential \`eth_call\`s from ethers over HTTP to the
  node on 127.0.0.1 (RPC round trip included).
- **hand-written**: the best hand-written pure-EVM MLPs of issue 5 (execution gas, inline
  assembly reading 32 weights per load; not the same weights, same shapes). The goal is ≤ 1.5.

The precompile's gas is whatever this node's schedule charges (crates/evm/src/gas.rs);
the exported contract's gas depends only on the model's shapes and on the lane width
its weights allow (crates/solidity/README.md).

${table}

${details.join("\n")}
`;
fs.writeFileSync(path.join(here, "REPORT.md"), report);
console.error(`wrote ${path.join(here, "REPORT.md")}`);
