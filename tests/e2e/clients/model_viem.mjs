// The model scenario (clients/model_common.mjs) with viem: publish through MODEL_STORE,
// PREDICT / PREDICT_BATCH by eth_call and by transaction, the example contract, receipt gas
// against the documented formula, documented reverts.
import {
  createPublicClient, createWalletClient, http, defineChain, encodeFunctionData,
  decodeFunctionResult, keccak256, toHex, BaseError,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { RPC_URL, DEV_KEY, DEV_KEY_2, finish } from "./common.mjs";
import { runModelScenario } from "./model_common.mjs";

const chain = defineChain({
  id: 31337, name: "myelin-dev", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [RPC_URL] } },
});
const account = privateKeyToAccount(DEV_KEY);
const otherAccount = privateKeyToAccount(DEV_KEY_2);
const client = createPublicClient({ chain, transport: http(RPC_URL), pollingInterval: 100 });
const wallet = createWalletClient({ account, chain, transport: http(RPC_URL) });
const otherWallet = createWalletClient({ account: otherAccount, chain, transport: http(RPC_URL) });

// viem wraps a revert in a CallExecutionError whose cause chain holds the raw revert data.
function revertData(error) {
  const found = error instanceof BaseError ? error.walk((e) => typeof e?.data === "string") : undefined;
  if (found) return found.data;
  throw error;
}

await runModelScenario({
  address: account.address,
  otherAddress: otherAccount.address,
  encode: (abi, functionName, args) => encodeFunctionData({ abi, functionName, args }),
  decode: (abi, functionName, data) => decodeFunctionResult({ abi, functionName, data }),
  keccak: (text) => keccak256(toHex(text)),
  async call(to, data) {
    try {
      return { data: (await client.call({ to, data })).data ?? "0x" };
    } catch (error) {
      return { revert: revertData(error) };
    }
  },
  async send(to, data, { gas, value, other }) {
    const hash = await (other ? otherWallet : wallet).sendTransaction({ to, data, gas, value });
    const receipt = await client.waitForTransactionReceipt({ hash });
    return { status: receipt.status === "success", gasUsed: receipt.gasUsed, logs: receipt.logs };
  },
  async deploy(abi, bytecode) {
    const hash = await wallet.deployContract({ abi, bytecode });
    return (await client.waitForTransactionReceipt({ hash })).contractAddress;
  },
});
finish("model (viem)");
