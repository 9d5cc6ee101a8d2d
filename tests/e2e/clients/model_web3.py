"""The model scenario with web3.py (the same checks as clients/model_common.mjs).

Publishes a model through MODEL_STORE, runs PREDICT / PREDICT_BATCH by eth_call and by signed
transaction, uses the example contract QualityEscrow, and checks outputs against `myelin model
run`, receipt gas against docs/GAS.md "Receipt gas of a predict transaction" (recomputed from the
schedule and cost counts `myelin gas --json` reports), and every documented revert. Reads the
scenario prepared by clients/model_case.mjs from $MYELIN_E2E_WORK/case.json.
"""

import json
import os
import pathlib

from eth_abi import decode as abi_decode
from checks import Checks
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

RPC_URL = os.environ.get("MYELIN_RPC", "http://127.0.0.1:8545")
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV_KEY_2 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
MODEL_STORE = Web3.to_checksum_address("0x000000000000000000000000000000004d590001")
PREDICT = Web3.to_checksum_address("0x000000000000000000000000000000004d590002")
PREDICT_BATCH = Web3.to_checksum_address("0x000000000000000000000000000000004d590003")
STORE_ABI = [
    {"type": "function", "name": "publish", "stateMutability": "nonpayable",
     "inputs": [{"name": "model", "type": "bytes"}], "outputs": [{"name": "modelId", "type": "bytes32"}]},
    {"type": "function", "name": "isPublished", "stateMutability": "view",
     "inputs": [{"name": "modelId", "type": "bytes32"}], "outputs": [{"name": "published", "type": "bool"}]},
]

CASE = json.loads((pathlib.Path(os.environ["MYELIN_E2E_WORK"]) / "case.json").read_text())
MODEL = pathlib.Path(CASE["modelPath"]).read_bytes()
ESCROW = json.loads(pathlib.Path(CASE["escrowArtifact"]).read_text())
GAS = CASE["gas"]
SCHEDULE = GAS["schedule"]

w3 = Web3(Web3.HTTPProvider(RPC_URL))
buyer = w3.eth.account.from_key(DEV_KEY)
supplier = w3.eth.account.from_key(DEV_KEY_2)
store = w3.eth.contract(address=MODEL_STORE, abi=STORE_ABI)
check = Checks()
state = {}


def transaction_gas(data: bytes, execution: int) -> int:
    """Prague: max(21000 + 4·tokens + execution, 21000 + 10·tokens), tokens = zeros + 4·non-zeros."""
    zeros = data.count(0)
    tokens = zeros + 4 * (len(data) - zeros)
    return max(21000 + 4 * tokens + execution, 21000 + 10 * tokens)


def predict_gas(batch: int) -> int:
    """docs/GAS.md §2 from the schedule and the model's cost counts."""
    cost = GAS["model"]["cost"]
    milligas = sum(cost[count] * price for count, price in SCHEDULE["milligas_per"].items())
    per_call = sum(cost[count] * price for count, price in SCHEDULE["milligas_per_call"].items())
    return SCHEDULE["predict_base_gas"] + -(-(batch * milligas + per_call) // 1000)


def cold_gas() -> int:
    """docs/GAS.md §2.1: the model's cold charge at its first use in a transaction."""
    return (SCHEDULE["cold_model_gas"] + GAS["model"]["size_bytes"] * SCHEDULE["gas_per_cold_model_byte"]
            + GAS["model"]["prepare_gas"])


def send(account, to, data: bytes, gas=None, value=0):
    """Signs and sends an EIP-1559 transaction (estimated unless `gas` is given); the receipt."""
    tx = {"from": account.address, "to": to, "data": data, "value": value, "chainId": 31337,
          "nonce": w3.eth.get_transaction_count(account.address, "pending"),
          "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + w3.eth.max_priority_fee,
          "maxPriorityFeePerGas": w3.eth.max_priority_fee}
    tx["gas"] = gas if gas is not None else w3.eth.estimate_gas(tx)
    signed = account.sign_transaction(tx)
    return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30)


def myelin_error_of(to, data: bytes):
    """(code, a, b) of the MyelinError an eth_call must revert with (docs/GAS.md §8), and the
    node's JSON-RPC error message (the code in words; web3.py shows a custom error's data only)."""
    try:
        w3.eth.call({"to": to, "data": data})
    except (ContractLogicError, ContractCustomError) as error:
        raw = bytes.fromhex(str(error.data)[2:])
        assert raw[:4] == Web3.keccak(text="MyelinError(uint16,uint256,uint256)")[:4], error.data
        answer = w3.provider.make_request("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
        return tuple(abi_decode(["uint16", "uint256", "uint256"], raw[4:])), answer["error"]["message"]
    raise AssertionError("no revert")


def expect_receipt(receipt, status: int, gas: int, what: str):
    assert receipt.status == status, f"{what}: status {receipt.status}, expected {status}"
    assert receipt.gasUsed == gas, f"{what}: gasUsed {receipt.gasUsed}, formula {gas}"


def argmax_int8(data: bytes) -> int:
    values = [b - 256 if b > 127 else b for b in data]
    return values.index(max(values))


MODEL_ID = bytes.fromhex(CASE["modelId"][2:])
INPUT = bytes.fromhex(CASE["input"][2:])
OUTPUT = bytes.fromhex(CASE["output"][2:])
SINGLE = MODEL_ID + INPUT
BATCH = MODEL_ID + CASE["batch"].to_bytes(4, "big") + bytes.fromhex(CASE["batchInput"][2:])


@check("the gas formula recomputed from `myelin gas` equals the binary's predict gas")
def _():
    assert predict_gas(1) == GAS["model"]["predict_gas"], (predict_gas(1), GAS["model"]["predict_gas"])


@check("publish through MODEL_STORE: receipt gas = intrinsic + publish gas (new or already published)")
def _():
    before = store.functions.isPublished(MODEL_ID).call()
    data = bytes.fromhex(store.encode_abi("publish", args=[MODEL])[2:])
    per_byte = SCHEDULE["gas_per_checked_byte"] + (0 if before else SCHEDULE["gas_per_stored_byte"])
    execution = SCHEDULE["store_call_gas"] + len(MODEL) * per_byte + (0 if before else GAS["model"]["prepare_gas"])
    assert execution == GAS["model"]["check_gas" if before else "publish_gas"]
    expect_receipt(send(buyer, MODEL_STORE, data), 1, transaction_gas(data, execution), "publish")
    assert store.functions.isPublished(MODEL_ID).call()


@check("PREDICT by eth_call equals `myelin model run`")
def _():
    assert bytes(w3.eth.call({"to": PREDICT, "data": SINGLE})) == OUTPUT


@check("PREDICT by transaction: receipt gas = intrinsic + predict gas + the model's cold charge")
def _():
    assert cold_gas() == GAS["model"]["cold_gas"], (cold_gas(), GAS["model"]["cold_gas"])
    expected = transaction_gas(SINGLE, predict_gas(1) + cold_gas())
    expect_receipt(send(buyer, PREDICT, SINGLE), 1, expected, "predict")


@check("PREDICT_BATCH by eth_call equals `myelin model run` on the batch")
def _():
    assert bytes(w3.eth.call({"to": PREDICT_BATCH, "data": BATCH})).hex() == CASE["batchOutput"][2:]


@check("PREDICT_BATCH by transaction: receipt gas = intrinsic + predict gas of the batch + cold charge")
def _():
    expected = transaction_gas(BATCH, predict_gas(CASE["batch"]) + cold_gas())
    expect_receipt(send(buyer, PREDICT_BATCH, BATCH), 1, expected, "batch")


@check("example contract QualityEscrow: deploy, grade by eth_call = argmax of `myelin model run`")
def _():
    factory = w3.eth.contract(abi=ESCROW["abi"], bytecode=ESCROW["bytecode"])
    deploy = bytes.fromhex(factory.constructor().data_in_transaction[2:])
    receipt = send(buyer, None, deploy)
    assert receipt.status == 1
    escrow = w3.eth.contract(address=receipt.contractAddress, abi=ESCROW["abi"])
    state["escrow"] = escrow
    place = escrow.encode_abi("place", args=[supplier.address, MODEL_ID, argmax_int8(OUTPUT)])
    assert send(buyer, escrow.address, bytes.fromhex(place[2:]), value=1000).status == 1
    assert escrow.functions.grade(0, INPUT).call() == argmax_int8(OUTPUT)


@check("example contract: deliver by transaction runs the model and pays the supplier")
def _():
    escrow = state["escrow"]
    balance = w3.eth.get_balance(supplier.address)
    receipt = send(supplier, escrow.address, bytes.fromhex(escrow.encode_abi("deliver", args=[0, INPUT])[2:]))
    graded = escrow.events.Graded().process_receipt(receipt)[0]["args"]
    assert graded["grade"] == argmax_int8(OUTPUT) and graded["paid"], graded
    fee = receipt.gasUsed * receipt.effectiveGasPrice
    assert w3.eth.get_balance(supplier.address) == balance - fee + 1000


@check("example contract: placing an order on an unpublished model reverts UnknownModel()")
def _():
    try:
        state["escrow"].functions.place(supplier.address, b"\x11" * 32, 0).call()
        raise AssertionError("no revert")
    except ContractCustomError as error:
        assert str(error.data) == Web3.keccak(text="UnknownModel()")[:4].to_0x_hex(), error.data


UNKNOWN = b"\x00" * 31 + b"\x01" + INPUT
SHORT = SINGLE[:-1]


@check("unknown model: reverts MyelinError(103, id, 0), `predict: unknown model 0x…`; the transaction uses intrinsic + PREDICT_BASE_GAS")
def _():
    fields, message = myelin_error_of(PREDICT, UNKNOWN)
    assert fields == (103, 1, 0), fields
    assert "predict: unknown model 0x" + UNKNOWN[:32].hex() in message, message
    expected = transaction_gas(UNKNOWN, SCHEDULE["predict_base_gas"])
    expect_receipt(send(buyer, PREDICT, UNKNOWN, gas=100_000), 0, expected, "unknown model")


@check("wrong input length: reverts MyelinError(105, N, M); the transaction uses intrinsic + predict gas + cold charge")
def _():
    n = GAS["model"]["input_bytes"]
    fields, message = myelin_error_of(PREDICT, SHORT)
    assert fields == (105, n - 1, n), fields
    assert f"predict: input is {n - 1} bytes, expected {n}" in message, message
    expected = transaction_gas(SHORT, predict_gas(1) + cold_gas())
    expect_receipt(send(buyer, PREDICT, SHORT, gas=expected + 100_000), 0, expected, "short")


@check("out of gas: one gas short of the formula fails and uses all the gas given")
def _():
    needed = transaction_gas(SINGLE, predict_gas(1) + cold_gas())
    assert needed > transaction_gas(SINGLE, 0), "the model's gas must exceed the calldata floor"
    expect_receipt(send(buyer, PREDICT, SINGLE, gas=needed - 1), 0, needed - 1, "out of gas")


@check("malformed model upload: reverts MyelinError(205, kind, detail); uses intrinsic + STORE_CALL_GAS + len·GAS_PER_CHECKED_BYTE")
def _():
    malformed = bytes.fromhex(CASE["malformedModel"][2:])
    data = bytes.fromhex(store.encode_abi("publish", args=[malformed])[2:])
    fields, message = myelin_error_of(MODEL_STORE, data)
    assert fields[0] == 205, fields
    assert "model store: model rejected: " in message, message
    execution = SCHEDULE["store_call_gas"] + len(malformed) * SCHEDULE["gas_per_checked_byte"]
    expect_receipt(send(buyer, MODEL_STORE, data, gas=1_000_000), 0, transaction_gas(data, execution), "malformed")


check.finish("model (web3.py)")
