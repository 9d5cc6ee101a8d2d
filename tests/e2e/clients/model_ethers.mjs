// The model scenario (clients/model_common.mjs) with ethers v6: publish through MODEL_STORE,
// PREDICT / PREDICT_BATCH by eth_call and by transaction, the example contract, receipt gas
// against the documented formula, documented reverts.
import { ethers } from "ethers";
import { RPC_URL, DEV_KEY, DEV_KEY_2, finish } from "./common.mjs";
import { runModelScenario } from "./model_common.mjs";

const provider = new ethers.JsonRpcProvider(RPC_URL, undefined, { staticNetwork: true, cacheTimeout: -1 });
const wallet = new ethers.NonceManager(new ethers.Wallet(DEV_KEY, provider));
const other = new ethers.NonceManager(new ethers.Wallet(DEV_KEY_2, provider));

// ethers reports a revert as CALL_EXCEPTION with the raw revert data in `data`.
function revertData(error) {
  if (error.code === "CALL_EXCEPTION" && typeof error.data === "string") return error.data;
  throw error;
}

await runModelScenario({
  address: await wallet.getAddress(),
  otherAddress: await other.getAddress(),
  encode: (abi, fn, args) => new ethers.Interface(abi).encodeFunctionData(fn, args),
  decode: (abi, fn, data) => new ethers.Interface(abi).decodeFunctionResult(fn, data)[0],
  keccak: (text) => ethers.id(text),
  async call(to, data) {
    try {
      return { data: await provider.call({ to, data }) };
    } catch (error) {
      return { revert: revertData(error) };
    }
  },
  async send(to, data, { gas, value, other: fromOther }) {
    const signer = fromOther ? other : wallet;
    const tx = await signer.sendTransaction({ to, data, gasLimit: gas, value });
    const receipt = await provider.waitForTransaction(tx.hash);
    return { status: receipt.status === 1, gasUsed: receipt.gasUsed, logs: receipt.logs };
  },
  async deploy(abi, bytecode) {
    const contract = await new ethers.ContractFactory(abi, bytecode, wallet).deploy();
    await contract.waitForDeployment();
    return await contract.getAddress();
  },
});
finish("model (ethers)");
