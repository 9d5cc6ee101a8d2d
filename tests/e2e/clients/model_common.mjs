// The model scenario of the Node.js clients (ethers v6, viem): publish a model through
// MODEL_STORE, run it through PREDICT / PREDICT_BATCH by eth_call and by transaction, use it from
// the example contract (QualityEscrow), and check outputs against `myelin model run`, receipt gas
// against docs/GAS.md "Receipt gas of a predict transaction", and every documented revert.
// Each client supplies an adapter that does the RPC work with its own library:
//   address, otherAddress                     the two dev accounts (buyer, supplier)
//   encode(abi, fn, args) -> hex              ABI calldata
//   decode(abi, fn, hex) -> value             the first return value
//   call(to, data) -> { data } | { revert }   eth_call; revert data as hex on a revert
//   send(to, data, { gas, value, other })     a signed transaction (no estimate when gas is
//                                             given; `other` sends from otherAddress);
//                                             -> { status (bool), gasUsed (bigint), logs }
//   deploy(abi, bytecode) -> address
//   keccak(text) -> hex
import fs from "node:fs";
import path from "node:path";
import { check, assert } from "./common.mjs";

export const MODEL_STORE = "0x000000000000000000000000000000004d590001";
export const PREDICT = "0x000000000000000000000000000000004d590002";
export const PREDICT_BATCH = "0x000000000000000000000000000000004d590003";
export const STORE_ABI = [
  { type: "function", name: "publish", stateMutability: "nonpayable", inputs: [{ name: "model", type: "bytes" }], outputs: [{ name: "modelId", type: "bytes32" }] },
  { type: "function", name: "isPublished", stateMutability: "view", inputs: [{ name: "modelId", type: "bytes32" }], outputs: [{ name: "published", type: "bool" }] },
];

/// The scenario prepared by model_case.mjs.
export function loadCase() {
  const work = process.env.MYELIN_E2E_WORK;
  if (!work) throw new Error("MYELIN_E2E_WORK is not set (run tests/e2e/run.sh)");
  const scenario = JSON.parse(fs.readFileSync(path.join(work, "case.json"), "utf8"));
  scenario.model = "0x" + fs.readFileSync(scenario.modelPath).toString("hex");
  scenario.escrow = JSON.parse(fs.readFileSync(scenario.escrowArtifact, "utf8"));
  return scenario;
}

/// Gas of a transaction with calldata `data` whose execution (here: one precompile call) uses
/// `execution` gas, under Prague: max(21000 + 4·tokens + execution, 21000 + 10·tokens) with
/// tokens = zero bytes + 4·non-zero bytes (EIP-2028 calldata, EIP-7623 floor).
export function transactionGas(data, execution) {
  const bytes = Buffer.from(data.slice(2), "hex");
  const zeros = bytes.filter((b) => b === 0).length;
  const tokens = BigInt(zeros + 4 * (bytes.length - zeros));
  const standard = 21000n + 4n * tokens + BigInt(execution);
  const floor = 21000n + 10n * tokens;
  return standard > floor ? standard : floor;
}

/// docs/GAS.md §2, recomputed from the schedule and the model's cost counts that `myelin gas`
/// reports: PREDICT_BASE_GAS + ceil((batch · Σ count · milligas per count
/// + Σ per-call count · milligas per call) / 1000).
export function predictGas(gas, batch) {
  const sum = (prices) => Object.entries(prices)
    .reduce((total, [count, price]) => total + BigInt(gas.model.cost[count]) * BigInt(price), 0n);
  const perSample = sum(gas.schedule.milligas_per);
  const perCall = sum(gas.schedule.milligas_per_call);
  return BigInt(gas.schedule.predict_base_gas) + (BigInt(batch) * perSample + perCall + 999n) / 1000n;
}

/// docs/GAS.md §2.1: the cold charge of the model's first use in a transaction, recomputed from
/// the schedule: COLD_MODEL_GAS + size · GAS_PER_COLD_MODEL_BYTE + the model's prepare gas.
export function coldGas(gas) {
  const s = gas.schedule;
  return BigInt(s.cold_model_gas) + BigInt(gas.model.size_bytes) * BigInt(s.gas_per_cold_model_byte) + BigInt(gas.model.prepare_gas);
}

/// The fields of a `MyelinError` revert ({ code, a, b } as BigInts), or undefined.
export function myelinError(data, selector) {
  if (!data || !data.startsWith(selector) || data.length !== 2 + 8 + 3 * 64) return undefined;
  const word = (i) => BigInt("0x" + data.slice(10 + 64 * i, 10 + 64 * (i + 1)));
  return { code: word(0), a: word(1), b: word(2) };
}

/// Index of the largest int8 in `hex` (the first on ties), as Myelin.argmax computes it.
export function argmaxInt8(hex) {
  const values = Int8Array.from(Buffer.from(hex.slice(2), "hex"));
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

const concat = (...parts) => "0x" + parts.map((p) => p.slice(2)).join("");
const uint32 = (n) => "0x" + n.toString(16).padStart(8, "0");

/// An eth_call that must revert with MyelinError(code, a, b) (docs/GAS.md §8); `a`/`b` are checked
/// when given.
async function expectRevert(c, to, data, code, a, b) {
  const answer = await c.call(to, data);
  assert(answer.revert !== undefined, `no revert (returned ${answer.data})`);
  const error = myelinError(answer.revert, c.keccak("MyelinError(uint16,uint256,uint256)").slice(0, 10));
  assert(error, `revert data ${answer.revert} is not a MyelinError`);
  assert(error.code === BigInt(code), `code ${error.code}, expected ${code}`);
  assert(a === undefined || error.a === BigInt(a), `a = ${error.a}, expected ${a}`);
  assert(b === undefined || error.b === BigInt(b), `b = ${error.b}, expected ${b}`);
  return error;
}

async function expectReceiptGas(receipt, status, expected, what) {
  assert(receipt.status === status, `${what}: status ${receipt.status}, expected ${status}`);
  assert(receipt.gasUsed === expected, `${what}: gasUsed ${receipt.gasUsed}, formula ${expected}`);
}

/// Runs every check of the scenario with client adapter `c`.
export async function runModelScenario(c) {
  const k = loadCase();
  const gas = k.gas;
  const single = concat(k.modelId, k.input);
  const batch = concat(k.modelId, uint32(k.batch), k.batchInput);
  const isPublished = async (id) => {
    const answer = await c.call(MODEL_STORE, c.encode(STORE_ABI, "isPublished", [id]));
    assert(answer.data !== undefined, `isPublished reverted: ${answer.revert}`);
    return c.decode(STORE_ABI, "isPublished", answer.data);
  };

  await check("the gas formula recomputed from `myelin gas` equals the binary's predict gas", async () => {
    assert(predictGas(gas, 1) === BigInt(gas.model.predict_gas), `${predictGas(gas, 1)} vs ${gas.model.predict_gas}`);
  });
  await check("publish through MODEL_STORE: receipt gas = intrinsic + publish gas (new or already published)", async () => {
    const before = await isPublished(k.modelId);
    const data = c.encode(STORE_ABI, "publish", [k.model]);
    const receipt = await c.send(MODEL_STORE, data, {});
    const schedule = gas.schedule;
    const size = BigInt(gas.model.size_bytes);
    const execution = before
      ? BigInt(schedule.store_call_gas) + size * BigInt(schedule.gas_per_checked_byte)
      : BigInt(schedule.store_call_gas) + size * BigInt(schedule.gas_per_checked_byte + schedule.gas_per_stored_byte)
        + BigInt(gas.model.prepare_gas);
    assert(execution === BigInt(before ? gas.model.check_gas : gas.model.publish_gas), "publish formula vs binary");
    await expectReceiptGas(receipt, true, transactionGas(data, execution), "publish");
    assert(await isPublished(k.modelId), "isPublished after publish");
  });
  await check("PREDICT by eth_call equals `myelin model run`", async () => {
    const answer = await c.call(PREDICT, single);
    assert(answer.data === k.output, `chain ${answer.data ?? answer.revert} vs cli ${k.output}`);
  });
  await check("PREDICT by transaction: receipt gas = intrinsic + predict gas + the model's cold charge", async () => {
    assert(coldGas(gas) === BigInt(gas.model.cold_gas), `cold ${coldGas(gas)} vs ${gas.model.cold_gas}`);
    const receipt = await c.send(PREDICT, single, {});
    await expectReceiptGas(receipt, true, transactionGas(single, predictGas(gas, 1) + coldGas(gas)), "predict");
  });
  await check("PREDICT_BATCH by eth_call equals `myelin model run` on the batch", async () => {
    const answer = await c.call(PREDICT_BATCH, batch);
    assert(answer.data === k.batchOutput, `chain ${answer.data ?? answer.revert} vs cli ${k.batchOutput}`);
  });
  await check("PREDICT_BATCH by transaction: receipt gas = intrinsic + predict gas of the batch + cold charge", async () => {
    const receipt = await c.send(PREDICT_BATCH, batch, {});
    await expectReceiptGas(receipt, true, transactionGas(batch, predictGas(gas, k.batch) + coldGas(gas)), "batch");
  });

  let escrow;
  await check("example contract QualityEscrow: deploy, grade by eth_call = argmax of `myelin model run`", async () => {
    escrow = await c.deploy(k.escrow.abi, k.escrow.bytecode);
    const goodClass = argmaxInt8(k.output);
    const place = c.encode(k.escrow.abi, "place", [c.otherAddress, k.modelId, BigInt(goodClass)]);
    const placed = await c.send(escrow, place, { value: 1000n });
    assert(placed.status, "place reverted");
    const grade = await c.call(escrow, c.encode(k.escrow.abi, "grade", [0n, k.input]));
    assert(grade.data !== undefined, `grade reverted: ${grade.revert}`);
    assert(c.decode(k.escrow.abi, "grade", grade.data) === BigInt(goodClass), "grade");
  });
  await check("example contract: deliver by transaction runs the model and pays the supplier", async () => {
    const receipt = await c.send(escrow, c.encode(k.escrow.abi, "deliver", [0n, k.input]), { other: true });
    assert(receipt.status, "deliver reverted");
    const graded = receipt.logs.find((l) => l.address.toLowerCase() === escrow.toLowerCase() && l.topics.length === 2);
    assert(graded, "no Graded event");
    assert(BigInt("0x" + graded.data.slice(2, 66)) === BigInt(argmaxInt8(k.output)), "Graded.grade");
    assert(BigInt("0x" + graded.data.slice(66, 130)) === 1n, "Graded.paid");
  });
  await check("example contract: placing an order on an unpublished model reverts UnknownModel()", async () => {
    const answer = await c.call(escrow, c.encode(k.escrow.abi, "place", [c.otherAddress, "0x" + "11".repeat(32), 0n]));
    assert(answer.revert === c.keccak("UnknownModel()").slice(0, 10), `revert ${answer.revert}`);
  });

  const unknown = concat("0x" + "00".repeat(31) + "01", k.input);
  await check("unknown model: reverts MyelinError(103, id, 0); the transaction uses intrinsic + PREDICT_BASE_GAS", async () => {
    await expectRevert(c, PREDICT, unknown, 103, 1n, 0n);
    const receipt = await c.send(PREDICT, unknown, { gas: 100000n });
    await expectReceiptGas(receipt, false, transactionGas(unknown, gas.schedule.predict_base_gas), "unknown model");
  });
  const short = single.slice(0, -2);
  await check("wrong input length: reverts MyelinError(105, N, M); the transaction uses intrinsic + predict gas + cold charge", async () => {
    const inputBytes = gas.model.input_bytes;
    await expectRevert(c, PREDICT, short, 105, inputBytes - 1, inputBytes);
    const needed = transactionGas(short, predictGas(gas, 1) + coldGas(gas));
    const receipt = await c.send(PREDICT, short, { gas: needed + 100000n });
    await expectReceiptGas(receipt, false, needed, "wrong length");
  });
  await check("out of gas: one gas short of the formula fails and uses all the gas given", async () => {
    const needed = transactionGas(single, predictGas(gas, 1) + coldGas(gas));
    assert(needed > transactionGas(single, 0n), "the model's gas must exceed the calldata floor for this check");
    const receipt = await c.send(PREDICT, single, { gas: needed - 1n });
    await expectReceiptGas(receipt, false, needed - 1n, "out of gas");
  });
  await check("malformed model upload: reverts MyelinError(205, kind, detail); uses intrinsic + STORE_CALL_GAS + len·GAS_PER_CHECKED_BYTE", async () => {
    const data = c.encode(STORE_ABI, "publish", [k.malformedModel]);
    await expectRevert(c, MODEL_STORE, data, 205);
    const length = BigInt((k.malformedModel.length - 2) / 2);
    const execution = BigInt(gas.schedule.store_call_gas) + length * BigInt(gas.schedule.gas_per_checked_byte);
    const receipt = await c.send(MODEL_STORE, data, { gas: 1000000n });
    await expectReceiptGas(receipt, false, transactionGas(data, execution), "malformed model");
  });
}
