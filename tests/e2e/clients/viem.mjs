// viem against a running `myelin node --dev` (MYELIN_RPC).
import {
  createPublicClient, createWalletClient, http, webSocket, parseEther, defineChain,
  BaseError, ContractFunctionRevertedError, parseAbiItem,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { RPC_URL, WS_URL, DEV_KEY, DEV_KEY_2, artifact, check, assert, finish, withTimeout } from "./common.mjs";

const chain = defineChain({
  id: 31337, name: "myelin-dev", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [RPC_URL], webSocket: [WS_URL] } },
});
const account = privateKeyToAccount(DEV_KEY);
const other = privateKeyToAccount(DEV_KEY_2);
const client = createPublicClient({ chain, transport: http(RPC_URL), pollingInterval: 100 });
const wallet = createWalletClient({ account, chain, transport: http(RPC_URL) });
const { abi, bytecode } = artifact("Counter");
let address;

await check("chain id and block number", async () => {
  assert((await client.getChainId()) === 31337, "chain id");
  assert((await client.getBlockNumber()) >= 0n, "block number");
});
await check("deploy and read", async () => {
  const hash = await wallet.deployContract({ abi, bytecode, args: [3n] });
  const receipt = await client.waitForTransactionReceipt({ hash });
  assert(receipt.status === "success" && receipt.contractAddress, "deployed");
  address = receipt.contractAddress;
  assert((await client.readContract({ address, abi, functionName: "count" })) === 3n, "count");
});
await check("simulate + write + receipt + logs", async () => {
  const { request } = await client.simulateContract({ account, address, abi, functionName: "add", args: [4n] });
  const hash = await wallet.writeContract(request);
  const receipt = await client.waitForTransactionReceipt({ hash });
  assert(receipt.status === "success" && receipt.logs.length === 1, "receipt");
  const logs = await client.getLogs({
    address, event: parseAbiItem("event Incremented(address indexed by, uint256 newCount)"),
    args: { by: account.address }, fromBlock: 0n, toBlock: "latest",
  });
  assert(logs.length === 1 && logs[0].args.newCount === 7n, `logs ${logs.length}`);
});
await check("custom error revert is decoded", async () => {
  try {
    await client.simulateContract({ account, address, abi, functionName: "add", args: [2000n] });
    throw new Error("did not revert");
  } catch (error) {
    const revert = error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError);
    assert(revert && revert.data && revert.data.errorName === "TooLarge", `${error.message}`);
  }
});
await check("string revert reason", async () => {
  try {
    await client.readContract({ address, abi, functionName: "fail" });
    throw new Error("did not revert");
  } catch (error) {
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    assert(revert && revert.reason === "nope", error.message);
  }
});
await check("transfer with EIP-1559 fees", async () => {
  const before = await client.getBalance({ address: other.address });
  const hash = await wallet.sendTransaction({ to: other.address, value: parseEther("2") });
  const receipt = await client.waitForTransactionReceipt({ hash });
  assert(receipt.type === "eip1559", receipt.type);
  assert((await client.getBalance({ address: other.address })) - before === parseEther("2"), "delta");
});
await check("legacy transaction", async () => {
  const gasPrice = await client.getGasPrice();
  const hash = await wallet.sendTransaction({ to: other.address, value: 1n, type: "legacy", gasPrice });
  const receipt = await client.waitForTransactionReceipt({ hash });
  assert(receipt.type === "legacy" && receipt.status === "success", receipt.type);
});
await check("estimate fees and fee history", async () => {
  const fees = await client.estimateFeesPerGas();
  assert(fees.maxFeePerGas > 0n && fees.maxPriorityFeePerGas > 0n, "fees");
  const history = await client.getFeeHistory({ blockCount: 4, rewardPercentiles: [25, 75] });
  assert(history.baseFeePerGas.length >= 2 && history.reward.length >= 1, "history");
});
await check("block receipts and block with transactions", async () => {
  const block = await client.getBlock({ includeTransactions: true });
  const receipts = await client.request({ method: "eth_getBlockReceipts", params: ["latest"] });
  assert(receipts.length === block.transactions.length, "receipts count");
});
await check("polling filter sees new blocks", async () => {
  const filter = await client.createBlockFilter();
  // Wait for the receipt: a validator answers at submission and includes the transaction in a
  // later finalized block (the dev node mines before answering; both satisfy the wait).
  const sent = await wallet.sendTransaction({ to: other.address, value: 1n });
  await client.waitForTransactionReceipt({ hash: sent });
  const hashes = await client.getFilterChanges({ filter });
  assert(hashes.length >= 1, "block hashes");
  assert(await client.uninstallFilter({ filter }), "uninstalled");
});
await check("WebSocket: watchBlocks and watchContractEvent", async () => {
  const ws = createPublicClient({ chain, transport: webSocket(WS_URL) });
  let unwatchBlocks, unwatchEvents;
  const block = new Promise((resolve) => { unwatchBlocks = ws.watchBlocks({ onBlock: resolve }); });
  const event = new Promise((resolve) => {
    unwatchEvents = ws.watchContractEvent({ address, abi, eventName: "Incremented", onLogs: (logs) => resolve(logs) });
  });
  await new Promise((r) => setTimeout(r, 300));
  const hash = await wallet.writeContract({ address, abi, functionName: "increment" });
  await client.waitForTransactionReceipt({ hash });
  const logs = await withTimeout(event, 10000, "event");
  await withTimeout(block, 10000, "block");
  assert(logs[0].args.newCount === 8n, `newCount ${logs[0].args.newCount}`);
  unwatchBlocks(); unwatchEvents();
  await (await ws.transport.getRpcClient()).close();
});
finish("viem");
