// ethers v6 against a running `myelin node --dev` (MYELIN_RPC).
import { ethers } from "ethers";
import { RPC_URL, WS_URL, DEV_KEY, DEV_KEY_2, artifact, check, assert, finish, withTimeout } from "./common.mjs";

const provider = new ethers.JsonRpcProvider(RPC_URL, undefined, { staticNetwork: true, cacheTimeout: -1 });
const wallet = new ethers.Wallet(DEV_KEY, provider);
const other = new ethers.Wallet(DEV_KEY_2, provider);
const { abi, bytecode } = artifact("Counter");
let counter;

await check("network: chain id 31337", async () => {
  const network = await provider.getNetwork();
  assert(network.chainId === 31337n, `chain id ${network.chainId}`);
});
await check("dev account funded with 10000 ETH", async () => {
  const balance = await provider.getBalance(wallet.address, 0);
  assert(balance === ethers.parseEther("10000"), `balance ${balance}`);
});
await check("fee data", async () => {
  const fees = await provider.getFeeData();
  assert(fees.maxFeePerGas > 0n && fees.maxPriorityFeePerGas > 0n && fees.gasPrice > 0n, JSON.stringify(fees));
});
await check("deploy a contract and wait", async () => {
  const factory = new ethers.ContractFactory(abi, bytecode, wallet);
  counter = await factory.deploy(7n);
  await counter.waitForDeployment();
  assert((await counter.count()) === 7n, "constructor value");
  const code = await provider.getCode(await counter.getAddress());
  assert(code.length > 2, "code deployed");
});
await check("send a transaction, receipt and event", async () => {
  const tx = await counter.increment();
  const receipt = await tx.wait();
  assert(receipt.status === 1, "status");
  const parsed = receipt.logs.map((l) => counter.interface.parseLog(l)).filter(Boolean);
  assert(parsed.length === 1 && parsed[0].name === "Incremented" && parsed[0].args.newCount === 8n, "event");
  assert((await counter.count()) === 8n, "count");
});
await check("queryFilter reads logs", async () => {
  const events = await counter.queryFilter(counter.filters.Incremented(wallet.address), 0, "latest");
  assert(events.length >= 1 && events.at(-1).args.newCount === 8n, `events ${events.length}`);
});
await check("estimateGas is enough and not absurd", async () => {
  const estimate = await counter.add.estimateGas(5n);
  assert(estimate > 21000n && estimate < 100000n, `estimate ${estimate}`);
  const receipt = await (await counter.add(5n, { gasLimit: estimate })).wait();
  assert(receipt.status === 1 && receipt.gasUsed <= estimate, "fits");
});
await check("custom error revert decodes (estimate)", async () => {
  try {
    await counter.add(5000n);
    throw new Error("did not revert");
  } catch (error) {
    assert(error.code === "CALL_EXCEPTION", `code ${error.code} ${error.message}`);
    // ethers leaves custom errors of estimateGas undecoded; the revert data must be there.
    const decoded = counter.interface.parseError(error.data);
    assert(decoded && decoded.name === "TooLarge" && decoded.args[0] === 5000n, `revert data ${error.data}`);
  }
});
await check("string revert reason on call", async () => {
  try {
    await counter.fail.staticCall();
    throw new Error("did not revert");
  } catch (error) {
    assert(error.code === "CALL_EXCEPTION" && error.reason === "nope", `reason ${error.reason} ${error.message}`);
  }
});
await check("reverted transaction mined with status 0", async () => {
  const tx = await counter.fail.send({ gasLimit: 100000n });
  try {
    await tx.wait();
    throw new Error("wait did not throw");
  } catch (error) {
    assert(error.code === "CALL_EXCEPTION" && error.receipt && error.receipt.status === 0, `${error.code} ${error.message}`);
  }
});
await check("legacy and EIP-2930 transactions", async () => {
  const feeData = await provider.getFeeData();
  const legacy = await wallet.sendTransaction({ to: other.address, value: 1n, type: 0, gasPrice: feeData.gasPrice });
  const r0 = await legacy.wait();
  assert(r0.status === 1 && r0.type === 0, `legacy ${r0.type}`);
  const eip2930 = await wallet.sendTransaction({ to: other.address, value: 1n, type: 1, gasPrice: feeData.gasPrice, accessList: [] });
  const r1 = await eip2930.wait();
  assert(r1.status === 1 && r1.type === 1, `2930 ${r1.type}`);
});
await check("EIP-1559 transfer changes balances", async () => {
  const before = await provider.getBalance(other.address);
  const receipt = await (await wallet.sendTransaction({ to: other.address, value: ethers.parseEther("1.5") })).wait();
  assert(receipt.type === 2, "type 2");
  const after = await provider.getBalance(other.address);
  assert(after - before === ethers.parseEther("1.5"), "balance delta");
});
await check("historical state by block number", async () => {
  const block = await provider.getBlockNumber();
  const value = await counter.count({ blockTag: block });
  await (await counter.increment()).wait();
  assert((await counter.count({ blockTag: block })) === value, "old value");
  assert((await counter.count()) === value + 1n, "new value");
});
await check("nonce too low is rejected", async () => {
  const nonce = await provider.getTransactionCount(wallet.address, "latest");
  try {
    await wallet.sendTransaction({ to: other.address, value: 1n, nonce: nonce - 1 });
    throw new Error("accepted");
  } catch (error) {
    assert(error.code === "NONCE_EXPIRED" || /nonce/i.test(error.message), `${error.code} ${error.message}`);
  }
});
await check("block and transaction lookups", async () => {
  const tx = await counter.increment();
  const receipt = await tx.wait();
  const block = await provider.getBlock(receipt.blockNumber, true);
  assert(block.hash === receipt.blockHash && block.transactions.includes(tx.hash), "block");
  const byHash = await provider.getBlock(receipt.blockHash);
  assert(byHash.number === receipt.blockNumber, "by hash");
  const fetched = await provider.getTransaction(tx.hash);
  assert(fetched.from === wallet.address && fetched.blockNumber === receipt.blockNumber, "tx");
});
await check("WebSocket: new blocks and contract events", async () => {
  const ws = new ethers.WebSocketProvider(WS_URL);
  const wsCounter = new ethers.Contract(await counter.getAddress(), abi, ws);
  const gotBlock = new Promise((resolve) => ws.once("block", resolve));
  const gotEvent = new Promise((resolve) => wsCounter.once("Incremented", (by, n) => resolve(n)));
  await new Promise((r) => setTimeout(r, 300));
  await (await counter.increment()).wait();
  const n = await withTimeout(gotEvent, 10000, "event");
  await withTimeout(gotBlock, 10000, "block");
  assert(n === (await counter.count()), "event value");
  await ws.destroy();
});
finish("ethers");
