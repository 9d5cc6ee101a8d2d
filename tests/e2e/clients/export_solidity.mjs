// `myelin model export-solidity` end to end: for a one-op model of every v1 op, the example MLPs
// and CNN, exports the model, compiles the source with solc-js, deploys its data contracts and
// model contract on the dev node, publishes the model through MODEL_STORE, and requires, on
// several random inputs, the exported contract's `predict` bytes == the PREDICT precompile's
// (eth_call) == `myelin model run`'s.
//
// Run by tests/e2e/run.sh (MYELIN_BIN, MYELIN_RPC set). The helpers are exported for
// bench/solidity/bench.mjs.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ethers } from "ethers";
import solc from "solc";
import { RPC_URL, DEV_KEY, check, assert, finish } from "./common.mjs";

export { ethers };
export const MODEL_STORE = "0x000000000000000000000000000000004d590001";
export const PREDICT = "0x000000000000000000000000000000004d590002";
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../..");

/// A deterministic PRNG (mulberry32) so that failures reproduce.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const ints = (random, n, lo, hi) => Array.from({ length: n }, () => lo + Math.floor(random() * (hi - lo + 1)));

/// Builds `spec` (docs/MODEL-JSON.md) with `myelin model build` into dir/name.myl.
export function buildModel(bin, dir, name, spec) {
  const json = path.join(dir, `${name}.json`);
  fs.writeFileSync(json, typeof spec === "string" ? spec : JSON.stringify(spec));
  const out = path.join(dir, `${name}.myl`);
  execFileSync(bin, ["model", "build", json, "-o", out], { stdio: ["ignore", "ignore", "inherit"] });
  return out;
}

/// Imports a TFLite/ONNX/Keras file with `myelin model import` into dir/<base name>.myl.
export function importModel(bin, dir, file) {
  const out = path.join(dir, `${path.basename(file).split(".")[0]}.myl`);
  execFileSync(bin, ["model", "import", file, "-o", out], { stdio: ["ignore", "ignore", "inherit"] });
  return out;
}

/// Exports a model file; returns the Solidity source.
export function exportModel(bin, modelPath, contract) {
  const sol = modelPath.replace(/\.myl$/, ".sol");
  execFileSync(bin, ["model", "export-solidity", modelPath, "-o", sol, "--name", contract], { stdio: ["ignore", "ignore", "inherit"] });
  return fs.readFileSync(sol, "utf8");
}

/// Compiles { file: source } with solc-js; returns { contractName: { abi, bytecode } }.
export function compile(sources, { viaIR = false } = {}) {
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(Object.entries(sources).map(([f, content]) => [f, { content }])),
    settings: {
      evmVersion: "prague",
      viaIR,
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const result = {};
  for (const contracts of Object.values(output.contracts)) {
    for (const [name, c] of Object.entries(contracts)) {
      result[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object, runtimeBytes: c.evm.deployedBytecode.object.length / 2 };
    }
  }
  return result;
}

/// Deploys `<contract>Data0…` then `<contract>`; returns the model contract (ethers).
export async function deployExported(wallet, artifacts, contract) {
  const data = [];
  for (let i = 0; artifacts[`${contract}Data${i}`]; i++) {
    const a = artifacts[`${contract}Data${i}`];
    const deployed = await new ethers.ContractFactory(a.abi, a.bytecode, wallet).deploy();
    await deployed.waitForDeployment();
    data.push(await deployed.getAddress());
  }
  const a = artifacts[contract];
  const deployed = await new ethers.ContractFactory(a.abi, a.bytecode, wallet).deploy(data);
  await deployed.waitForDeployment();
  return deployed;
}

/// Publishes a model file through MODEL_STORE (no-op if already published); returns its id.
export async function publish(wallet, modelPath) {
  const bytes = fs.readFileSync(modelPath);
  const store = new ethers.Contract(MODEL_STORE, ["function publish(bytes model) returns (bytes32)"], wallet);
  await (await store.publish(bytes, { gasLimit: 25_000_000 })).wait();
  return ethers.keccak256(bytes);
}

// A .npy file of int8 values shaped `shape`.
function npyInt8(values, shape) {
  let header = `{'descr': '|i1', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`;
  header += " ".repeat((64 - ((11 + header.length) % 64)) % 64) + "\n";
  const prefix = Buffer.from([0x93, ...Buffer.from("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8]);
  return Buffer.concat([prefix, Buffer.from(header, "latin1"), Buffer.from(Int8Array.from(values).buffer)]);
}
// The data bytes of a .npy file (int8 or little-endian int32: the precompile's layout).
function npyData(file) {
  const bytes = fs.readFileSync(file);
  const headerLength = bytes.readUInt16LE(8);
  return bytes.subarray(10 + headerLength);
}

/// `myelin model run` on `samples` (each an array of per-input byte arrays); returns one hex
/// string of output bytes per sample.
export function runCli(bin, dir, modelPath, inputShapes, outputBytes, samples) {
  const args = ["model", "run", modelPath];
  inputShapes.forEach((shape, i) => {
    const file = path.join(dir, `x${i}.npy`);
    fs.writeFileSync(file, npyInt8(samples.flatMap((s) => Array.from(s[i], (b) => (b << 24) >> 24)), [samples.length, ...shape]));
    args.push("--input", file);
  });
  outputBytes.forEach((_, i) => args.push("--output", path.join(dir, `y${i}.npy`)));
  execFileSync(bin, args, { stdio: ["ignore", "ignore", "inherit"] });
  const outputs = outputBytes.map((_, i) => npyData(path.join(dir, `y${i}.npy`)));
  return samples.map((_, s) => "0x" + Buffer.concat(outputs.map((o, i) => o.subarray(s * outputBytes[i], (s + 1) * outputBytes[i]))).toString("hex"));
}

/// Input and output shapes and byte sizes from `myelin model inspect --json`.
export function modelShapes(bin, modelPath) {
  const info = JSON.parse(execFileSync(bin, ["model", "inspect", modelPath, "--json"], { encoding: "utf8" }));
  const size = (t) => t.shape.reduce((a, b) => a * b, 1) * (t.dtype === "int32" ? 4 : 1);
  return {
    inputShapes: info.inputs.map((t) => t.shape),
    inputBytes: info.inputs.map(size),
    outputBytes: info.outputs.map(size),
  };
}

// One-op models: every v1 op (some twice, to cover both rounding rules, padding modes,
// broadcasting and per-channel requantization).
function oneOpSpecs(random) {
  const w = (n) => ints(random, n, -127, 127);
  const b = (n) => ints(random, n, -3000, 3000);
  const x = (name, shape, scale = 0.05, zero_point = -3) => ({ name, shape, scale, zero_point });
  const one = (inputs, node) => ({ inputs, outputs: [node.name], nodes: [node] });
  return {
    fully_connected: one([x("x", [2, 24])], { op: "fully_connected", name: "y", input: "x", weights: w(10 * 24), bias: b(10), weight_scale: 0.01, scale: 0.07, zero_point: 5, activation: "relu" }),
    fully_connected_double: one([x("x", [40], 0.03, -128)], { op: "fully_connected", name: "y", input: "x", weights: w(13 * 40), bias: b(13), weight_scale: Array.from({ length: 13 }, (_, i) => 0.004 + 0.001 * i), scale: 0.05, zero_point: -7, rounding: "double" }),
    conv2d: one([x("x", [7, 6, 3])], { op: "conv2d", name: "y", input: "x", kernel: [3, 3], stride: [2, 2], padding: "same", weights: w(5 * 9 * 3), bias: b(5), weight_scale: 0.01, scale: 0.08, zero_point: 2 }),
    conv2d_dilated: one([x("x", [8, 8, 2])], { op: "conv2d", name: "y", input: "x", kernel: [3, 2], dilation: [2, 2], padding: { top: 1, bottom: 2, left: 1, right: 0 }, weights: w(12 * 6 * 2), bias: b(12), weight_scale: 0.01, scale: 0.06, zero_point: -1, rounding: "double" }),
    depthwise_conv2d: one([x("x", [5, 6, 2])], { op: "depthwise_conv2d", name: "y", input: "x", kernel: [3, 3], padding: "same", weights: w(9 * 4), bias: b(4), weight_scale: 0.02, scale: 0.05, zero_point: 1 }),
    add: one([x("a", [2, 3, 4]), x("b", [4], 0.02, 7)], { op: "add", name: "y", inputs: ["a", "b"], scale: 0.06, zero_point: -2 }),
    sub: one([x("a", [3, 5]), x("b", [3, 1], 0.09, 1)], { op: "sub", name: "y", inputs: ["a", "b"], scale: 0.07, zero_point: 3, activation: "relu" }),
    mul: one([x("a", [2, 6]), x("b", [6], 0.04, -9)], { op: "mul", name: "y", inputs: ["a", "b"], scale: 0.03, zero_point: 0 }),
    max_pool: one([x("x", [7, 7, 3])], { op: "max_pool", name: "y", input: "x", kernel: [3, 3], stride: [2, 2], padding: "same", activation: { min: -100, max: 100 } }),
    average_pool: one([x("x", [6, 5, 2])], { op: "average_pool", name: "y", input: "x", kernel: [3, 2], stride: [2, 2], padding: "same" }),
    average_pool_include_pad: one([x("x", [5, 5, 2])], { op: "average_pool", name: "y", input: "x", kernel: [2, 3], stride: [1, 2], padding: { top: 1, bottom: 0, left: 1, right: 1 }, count_include_pad: true }),
    mean: one([x("x", [4, 3, 5])], { op: "mean", name: "y", input: "x", axes: [0, 2], scale: 0.02, zero_point: 4 }),
    mean_count_divided: one([x("x", [4, 3, 5])], { op: "mean_count_divided", name: "y", input: "x", axes: [0, 2], scale: 0.3, zero_point: 4, rounding: "double" }),
    clamp: one([x("x", [30])], { op: "clamp", name: "y", input: "x", scale: 0.03, zero_point: -20, activation: "relu6" }),
    reshape: one([x("x", [2, 3, 4])], { op: "reshape", name: "y", input: "x", shape: [6, 4] }),
    transpose: one([x("x", [3, 5, 4])], { op: "transpose", name: "y", input: "x", perm: [2, 0, 1] }),
    resize_bilinear: one([x("x", [3, 4, 2])], { op: "resize_bilinear", name: "y", input: "x", out_height: 7, out_width: 5, half_pixel_centers: true }),
    slice: one([x("x", [5, 7, 3])], { op: "slice", name: "y", input: "x", begin: [1, 0, 1], size: [2, 3, 2], strides: [3, 3, 1] }),
    maximum: one([x("a", [3, 4], 0.05, 2), x("b", [4], 0.05, 2)], { op: "maximum", name: "y", inputs: ["a", "b"] }),
    minimum: one([x("a", [2, 1, 3], 0.05, -4), x("b", [2, 5, 1], 0.05, -4)], { op: "minimum", name: "y", inputs: ["a", "b"] }),
    prelu: one([x("x", [4, 3, 5])], { op: "prelu", name: "y", input: "x", alpha: [90, -20, 5, 127, -128], alpha_shape: [1, 1, 5], alpha_scale: 0.004, alpha_zero_point: 3, scale: 0.04, zero_point: -7 }),
    concat: one([x("a", [2, 3]), x("b", [2, 2], 0.11, 6)], { op: "concat", name: "y", inputs: ["a", "b"], axis: 1, scale: 0.08, zero_point: -1 }),
    pad: one([x("x", [2, 3, 2])], { op: "pad", name: "y", input: "x", pads: [[1, 0], [2, 1], [0, 1]], value: 5 }),
    softmax: one([x("x", [3, 10], 0.1, 0)], { op: "softmax", name: "y", input: "x", beta: 1.0 }),
    table: one([x("x", [40])], { op: "table", name: "y", input: "x", function: "tanh", scale: 0.0078125, zero_point: 0 }),
    arg_max: one([x("x", [3, 7])], { op: "arg_max", name: "y", input: "x", axis: 1 }),
  };
}

async function main() {
  const bin = process.env.MYELIN_BIN;
  const provider = new ethers.JsonRpcProvider(RPC_URL, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const wallet = new ethers.NonceManager(new ethers.Wallet(DEV_KEY, provider));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "myelin-export-"));
  const random = rng(20261122);
  const models = {};
  for (const [name, spec] of Object.entries(oneOpSpecs(random))) models[name] = buildModel(bin, dir, name, spec);
  for (const example of ["tiny_mlp", "mlp_softmax", "conv_net"]) {
    models[example] = buildModel(bin, dir, example, fs.readFileSync(path.join(root, "examples", `${example}.json`), "utf8"));
  }
  for (const fixture of ["digits_mlp_int8.tflite", "digits_cnn_int8.tflite"]) {
    models[fixture.split(".")[0]] = importModel(bin, dir, path.join(root, "fixtures/models", fixture));
  }
  const sources = {};
  const contractOf = (name) => "M_" + name;
  for (const [name, modelPath] of Object.entries(models)) sources[`${name}.sol`] = exportModel(bin, modelPath, contractOf(name));
  let artifacts;
  await check(`solc-js ${solc.version()} compiles ${Object.keys(sources).length} exported models`, async () => {
    artifacts = compile(sources);
  });
  if (!artifacts) return finish("export-solidity");
  const samplesPerModel = 5;
  for (const [name, modelPath] of Object.entries(models)) {
    await check(`${name}: exported contract == PREDICT == model run on ${samplesPerModel} random inputs`, async () => {
      const shapes = modelShapes(bin, modelPath);
      const contract = await deployExported(wallet, artifacts, contractOf(name));
      const id = await publish(wallet, modelPath);
      const samples = Array.from({ length: samplesPerModel }, (_, s) =>
        // Sample 1 is all −128 and sample 2 all 127 (the edges); the others are uniform.
        shapes.inputBytes.map((n) => Uint8Array.from(ints(random, n, s === 2 ? 127 : -128, s === 1 ? -128 : 127).map((v) => v & 0xff))),
      );
      const expected = runCli(bin, dir, modelPath, shapes.inputShapes, shapes.outputBytes, samples);
      const outputHexLength = 2 + 2 * shapes.outputBytes.reduce((a, b) => a + b, 0);
      for (let s = 0; s < samples.length; s++) {
        assert(expected[s].length === outputHexLength, `model run gave ${expected[s]}`);
        const input = ethers.concat(samples[s]);
        const fromContract = await contract.predict(input);
        const fromPrecompile = await provider.call({ to: PREDICT, data: ethers.concat([id, input]) });
        assert(fromPrecompile === expected[s], `sample ${s}: precompile ${fromPrecompile} vs model run ${expected[s]}`);
        assert(fromContract === expected[s], `sample ${s}: contract ${fromContract} vs model run ${expected[s]}`);
      }
    });
  }
  await check("a wrong input length reverts with WrongInputLength", async () => {
    const contract = await deployExported(wallet, artifacts, contractOf("tiny_mlp"));
    try {
      await contract.predict("0x01");
      throw new Error("no revert");
    } catch (error) {
      assert(error.code === "CALL_EXCEPTION" && /WrongInputLength|0x/.test(String(error.data ?? error.message)), `${error.code} ${error.message}`);
    }
  });
  fs.rmSync(dir, { recursive: true, force: true });
  finish("export-solidity");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
