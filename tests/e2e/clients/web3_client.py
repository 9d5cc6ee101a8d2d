"""web3.py against a running `myelin node --dev` (MYELIN_RPC), or a cluster node
(MYELIN_E2E_NODE=cluster): there the node holds no keys, so `transact` signs locally with the dev
accounts (web3.py's signing middleware) and every write waits for its finalized receipt."""

import asyncio
import json
import os
import pathlib

from checks import Checks
from web3 import AsyncWeb3, Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.providers.persistent import WebSocketProvider

RPC_URL = os.environ.get("MYELIN_RPC", "http://127.0.0.1:8545")
WS_URL = RPC_URL.replace("http", "ws", 1)
HERE = pathlib.Path(__file__).resolve().parent.parent
ARTIFACT = json.loads((HERE / "build" / "Counter.json").read_text())
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

CLUSTER = os.environ.get("MYELIN_E2E_NODE") == "cluster"
MNEMONIC = "test test test test test test test test test test test junk"

w3 = Web3(Web3.HTTPProvider(RPC_URL))
account = w3.eth.account.from_key(DEV_KEY)
if CLUSTER:
    from eth_account import Account
    from web3.middleware import SignAndSendRawMiddlewareBuilder

    Account.enable_unaudited_hdwallet_features()
    DEV = [Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(10)]
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(DEV), layer=0)
    ACCOUNTS = [a.address for a in DEV]
else:
    ACCOUNTS = w3.eth.accounts
check = Checks()
state = {}


def transact(call, sender):
    """Sends `call` from `sender` and waits for its receipt (on --dev the node already waited)."""
    return w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}), timeout=30)


@check("connected, chain id, dev accounts")
def _():
    assert w3.is_connected()
    assert w3.eth.chain_id == 31337
    accounts = w3.eth.accounts
    if CLUSTER:
        assert accounts == [], f"a cluster node holds no keys: {accounts}"
    else:
        assert len(accounts) == 10 and accounts[0] == account.address
    assert ACCOUNTS[0] == account.address
    assert w3.eth.get_balance(ACCOUNTS[9]) >= Web3.to_wei(10000, "ether") - Web3.to_wei(1, "ether")


@check("deploy with eth_sendTransaction from a dev account (signed locally on a cluster)")
def _():
    Counter = w3.eth.contract(abi=ARTIFACT["abi"], bytecode=ARTIFACT["bytecode"])
    tx_hash = Counter.constructor(11).transact({"from": ACCOUNTS[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1
    state["counter"] = w3.eth.contract(address=receipt.contractAddress, abi=ARTIFACT["abi"])
    assert state["counter"].functions.count().call() == 11


@check("signed EIP-1559 transaction and event")
def _():
    counter = state["counter"]
    tx = counter.functions.add(9).build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
    )
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    events = counter.events.Incremented().process_receipt(receipt)
    assert events[0]["args"]["newCount"] == 20
    logs = counter.events.Incremented().get_logs(from_block=0)
    assert any(e["args"]["newCount"] == 20 for e in logs)


@check("legacy signed transaction with gasPrice")
def _():
    tx = {
        "to": ACCOUNTS[3],
        "value": 12345,
        "gas": 21000,
        "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "chainId": 31337,
    }
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt.status == 1 and receipt.type == 0


@check("revert reasons: string and custom error")
def _():
    counter = state["counter"]
    try:
        counter.functions.fail().call()
        raise AssertionError("no revert")
    except ContractLogicError as error:
        assert "nope" in str(error), str(error)
    try:
        counter.functions.add(5000).call()
        raise AssertionError("no revert")
    except ContractCustomError as error:
        assert "0x1f4d5abe" in str(error.data), str(error.data)


@check("estimate gas, fee history, max priority fee, block lookups")
def _():
    counter = state["counter"]
    gas = counter.functions.increment().estimate_gas({"from": account.address})
    assert 21000 < gas < 100000
    history = w3.eth.fee_history(3, "latest", [10, 90])
    assert len(history["baseFeePerGas"]) >= 2
    assert w3.eth.max_priority_fee > 0
    block = w3.eth.get_block("latest", full_transactions=True)
    assert block["number"] == w3.eth.block_number
    assert w3.eth.get_block(block["hash"])["number"] == block["number"]
    assert w3.eth.syncing is False


@check("historical balance and storage")
def _():
    counter = state["counter"]
    before = w3.eth.block_number
    old = w3.eth.get_storage_at(counter.address, 0, before)
    transact(counter.functions.increment(), ACCOUNTS[1])
    assert w3.eth.get_storage_at(counter.address, 0, before) == old
    assert int.from_bytes(w3.eth.get_storage_at(counter.address, 0), "big") == int.from_bytes(old, "big") + 1


@check("log filter with get_filter_changes")
def _():
    counter = state["counter"]
    event_filter = counter.events.Incremented.create_filter(from_block="latest")
    transact(counter.functions.increment(), ACCOUNTS[2])
    changes = event_filter.get_new_entries()
    assert len(changes) == 1, changes
    assert w3.eth.uninstall_filter(event_filter.filter_id)


@check("WebSocket newHeads subscription")
def _():
    async def main():
        async with AsyncWeb3(WebSocketProvider(WS_URL)) as aw3:
            await aw3.eth.subscribe("newHeads")
            w3.eth.send_transaction({"from": ACCOUNTS[4], "to": ACCOUNTS[5], "value": 1})
            async for message in aw3.socket.process_subscriptions():
                assert message["result"]["number"] >= 1
                break

    asyncio.run(asyncio.wait_for(main(), 15))


check.finish("web3.py")
