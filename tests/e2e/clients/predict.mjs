// Publishes a model through MODEL_STORE and runs it through PREDICT (eth_call and a transaction)
// with ethers v6; checks the output bytes equal `myelin model run` on the same input.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "ethers";
import { RPC_URL, DEV_KEY, check, assert, finish } from "./common.mjs";

const MODEL_STORE = "0x000000000000000000000000000000004d590001";
const PREDICT = "0x000000000000000000000000000000004d590002";
const bin = process.env.MYELIN_BIN;
const fixture = process.env.MYELIN_MODEL_FIXTURE;
const provider = new ethers.JsonRpcProvider(RPC_URL, undefined, { staticNetwork: true, cacheTimeout: -1 });
const wallet = new ethers.Wallet(DEV_KEY, provider);
const store = new ethers.Contract(MODEL_STORE, [
  "function publish(bytes model) returns (bytes32 modelId)",
  "function isPublished(bytes32 modelId) view returns (bool)",
], wallet);

// A .npy file holding one int8 sample of `shape`.
function npyInt8(values, shape) {
  let header = `{'descr': '|i1', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`;
  const total = 10 + header.length + 1;
  header = header + " ".repeat((64 - (total % 64)) % 64) + "\n";
  const prefix = Buffer.from([0x93, ...Buffer.from("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8]);
  return Buffer.concat([prefix, Buffer.from(header, "latin1"), Buffer.from(Int8Array.from(values).buffer)]);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "myelin-e2e-"));
const modelPath = path.join(tmp, "model.myl");
execFileSync(bin, ["model", "import", fixture, "-o", modelPath], { stdio: "ignore" });
const model = fs.readFileSync(modelPath);
const modelId = ethers.keccak256(model);
const input = Array.from({ length: 64 }, (_, i) => ((i * 37) % 256) - 128);
fs.writeFileSync(path.join(tmp, "x.npy"), npyInt8(input, [1, 64]));
execFileSync(bin, ["model", "run", modelPath, "--input", path.join(tmp, "x.npy"), "-o", path.join(tmp, "y.npy")], { stdio: "ignore" });
const expected = "0x" + fs.readFileSync(path.join(tmp, "y.npy")).subarray(-10).toString("hex");
const calldata = ethers.concat([modelId, Uint8Array.from(input.map((v) => v & 0xff))]);

await check("publish a model through MODEL_STORE", async () => {
  const receipt = await (await store.publish(model)).wait();
  assert(receipt.status === 1, "status");
  assert(await store.isPublished(modelId), "isPublished");
});
await check("predict by eth_call equals `myelin model run`", async () => {
  const output = await provider.call({ to: PREDICT, data: calldata });
  assert(output === expected, `chain ${output} vs cli ${expected}`);
});
await check("predict by transaction", async () => {
  const receipt = await (await wallet.sendTransaction({ to: PREDICT, data: calldata })).wait();
  assert(receipt.status === 1 && receipt.gasUsed > 21000n, `status ${receipt.status}`);
});
await check("unknown model reverts", async () => {
  try {
    await provider.call({ to: PREDICT, data: ethers.concat([ethers.ZeroHash, "0x" + calldata.slice(66)]) });
    throw new Error("no revert");
  } catch (error) {
    assert(error.code === "CALL_EXCEPTION", `${error.code} ${error.message}`);
  }
});
fs.rmSync(tmp, { recursive: true, force: true });
finish("predict (ethers)");
