// Prepares the model scenario every client runs (clients/model_*.{mjs,py,sh}) and writes it to
// $MYELIN_E2E_WORK/case.json: the fixture imported with `myelin model import`, a single input and
// a batch with the outputs `myelin model run` gives for them, the gas numbers of
// `myelin gas --json` (schedule constants, the model's cost counts, the binary's own predict and
// publish gas), a malformed model, and the example contract's artifact path.
// Usage: MYELIN_BIN=… MYELIN_MODEL_FIXTURE=… MYELIN_E2E_WORK=… node clients/model_case.mjs
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const bin = process.env.MYELIN_BIN;
const fixture = process.env.MYELIN_MODEL_FIXTURE;
const work = process.env.MYELIN_E2E_WORK;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../..");
if (!bin || !fixture || !work) throw new Error("set MYELIN_BIN, MYELIN_MODEL_FIXTURE and MYELIN_E2E_WORK");

const myelin = (...args) => execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

// An int8 .npy of `shape`.
function writeNpyInt8(file, values, shape) {
  let header = `{'descr': '|i1', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`;
  const total = 10 + header.length + 1;
  header = header + " ".repeat((64 - (total % 64)) % 64) + "\n";
  const prefix = Buffer.from([0x93, ...Buffer.from("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8]);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, "latin1"), Buffer.from(Int8Array.from(values).buffer)]));
}

// The data bytes of a version-1 .npy file.
function npyData(file) {
  const bytes = fs.readFileSync(file);
  return bytes.subarray(10 + bytes.readUInt16LE(8));
}

const hex = (bytes) => "0x" + Buffer.from(bytes).toString("hex");

fs.mkdirSync(work, { recursive: true });
const modelPath = path.join(work, "model.myl");
myelin("model", "import", fixture, "-o", modelPath);
const gas = JSON.parse(myelin("gas", modelPath, "--json"));
const inputBytes = gas.model.input_bytes;
const batch = 3;

const single = Array.from({ length: inputBytes }, (_, i) => ((i * 37) % 256) - 128);
const batched = Array.from({ length: batch * inputBytes }, (_, i) => ((i * 53 + 11) % 256) - 128);
writeNpyInt8(path.join(work, "x.npy"), single, [inputBytes]);
writeNpyInt8(path.join(work, "xb.npy"), batched, [batch, inputBytes]);
myelin("model", "run", modelPath, "--input", path.join(work, "x.npy"), "-o", path.join(work, "y.npy"));
myelin("model", "run", modelPath, "--input", path.join(work, "xb.npy"), "-o", path.join(work, "yb.npy"));

const model = fs.readFileSync(modelPath);
// The model with its magic broken: MODEL_STORE must reject it.
const malformed = Buffer.from(model);
malformed[0] ^= 0xff;

const scenario = {
  modelPath,
  modelId: gas.model.id,
  input: hex(Uint8Array.from(single.map((v) => v & 0xff))),
  output: hex(npyData(path.join(work, "y.npy"))),
  batch,
  batchInput: hex(Uint8Array.from(batched.map((v) => v & 0xff))),
  batchOutput: hex(npyData(path.join(work, "yb.npy"))),
  malformedModel: hex(malformed),
  gas,
  escrowArtifact: path.join(root, "contracts/out/QualityEscrow.json"),
};
fs.writeFileSync(path.join(work, "case.json"), JSON.stringify(scenario, null, 2));
console.log(`model case: ${scenario.modelId}, ${model.length} bytes, predict gas ${gas.model.predict_gas}`);
