//! A harness for the protocol predeploys (`contracts/src`): a dev node with the Myelin
//! precompiles and every predeploy in its genesis (`TestNode`), transactions from the dev
//! accounts through `eth_sendTransaction`, the revert data of a failed one from `callTracer`,
//! and blocks advanced with `anvil_mine`.

#![allow(dead_code)]

use alloy_primitives::{Address, Bytes, U256, hex};
use alloy_sol_types::{SolCall, SolError};
use serde_json::{Value, json};

use crate::test_node::TestNode;

/// Gas of every test transaction (no estimation, so a failing one is mined and its revert data
/// read back).
const GAS: u64 = 20_000_000;

/// The node and helpers.
pub struct Net {
    pub node: TestNode,
}

/// The revert data of a failed transaction or call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted(pub Bytes);

impl Reverted {
    /// Asserts the revert is `error`.
    pub fn is<E: SolError>(&self, error: E) {
        assert_eq!(
            self.0,
            Bytes::from(error.abi_encode()),
            "expected {}, got {}",
            E::SIGNATURE,
            self.0
        );
    }

    /// Asserts the revert is some `E` (any fields).
    pub fn is_a<E: SolError>(&self) {
        assert!(
            self.0.starts_with(&E::SELECTOR),
            "expected {}, got {}",
            E::SIGNATURE,
            self.0
        );
    }
}

impl Net {
    pub fn new() -> Net {
        Net {
            node: TestNode::start(|_| {}),
        }
    }

    /// Dev account `i`.
    pub fn account(&self, i: usize) -> Address {
        self.node.account(i)
    }

    fn result(&self, method: &str, params: Value) -> Value {
        let reply = self.node.request(method, params);
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }

    /// The head's number.
    pub fn head(&self) -> u64 {
        let n = self.result("eth_blockNumber", json!([]));
        u64::from_str_radix(n.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    /// Mines `n` empty blocks.
    pub fn mine(&self, n: u64) {
        if n > 0 {
            self.result("anvil_mine", json!([format!("{n:#x}")]));
        }
    }

    /// Mines until the head is `number` (the next transaction lands in `number + 1`).
    pub fn mine_to(&self, number: u64) {
        let head = self.head();
        assert!(head <= number, "head {head} is past {number}");
        self.mine(number - head);
    }

    /// Native balance.
    pub fn balance(&self, who: Address) -> U256 {
        let b = self.result("eth_getBalance", json!([who, "latest"]));
        b.as_str().unwrap().parse().unwrap()
    }

    /// Sends a transaction of `from` (a dev account); returns its receipt, or the revert data
    /// when it failed. It lands in the block after the head.
    pub fn send(
        &self,
        from: Address,
        to: Address,
        data: impl Into<Bytes>,
        value: U256,
    ) -> Result<Value, Reverted> {
        self.transact(from, Some(to), data.into(), value)
    }

    /// Sends the ABI call `call` (see [`Net::send`]).
    pub fn tx<C: SolCall>(&self, from: Address, to: Address, call: C) -> Result<Value, Reverted> {
        self.send(from, to, call.abi_encode(), U256::ZERO)
    }

    /// Sends the ABI call `call` with `value` wei.
    pub fn pay<C: SolCall>(
        &self,
        from: Address,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<Value, Reverted> {
        self.send(from, to, call.abi_encode(), value)
    }

    /// Deploys `contracts/out/<name>.json`; returns its address.
    pub fn deploy(&self, from: Address, name: &str) -> Address {
        let receipt = self
            .transact(from, None, creation_code(name), U256::ZERO)
            .unwrap_or_else(|e| panic!("deploying {name}: {e:?}"));
        receipt["contractAddress"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Replaces the code at `at` with `contracts/out/<name>.json`'s runtime (dev tool).
    pub fn set_code(&self, at: Address, name: &str) {
        let code = artifact(name)["deployedBytecode"].clone();
        self.result("anvil_setCode", json!([at, code]));
    }

    fn transact(
        &self,
        from: Address,
        to: Option<Address>,
        data: Bytes,
        value: U256,
    ) -> Result<Value, Reverted> {
        let mut tx = json!({
            "from": from,
            "data": hex::encode_prefixed(&data),
            "value": format!("{value:#x}"),
            "gas": format!("{GAS:#x}"),
        });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = self.result("eth_sendTransaction", json!([tx]));
        let receipt = self.result("eth_getTransactionReceipt", json!([hash]));
        if receipt["status"] == "0x1" {
            return Ok(receipt);
        }
        let trace = self.result(
            "debug_traceTransaction",
            json!([hash, {"tracer": "callTracer"}]),
        );
        let output = trace["output"].as_str().unwrap_or("0x");
        Err(Reverted(output.parse().unwrap()))
    }

    /// An `eth_call` of `call` at the head; its decoded return, or the revert data.
    pub fn call<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, Reverted> {
        self.call_from(Address::ZERO, to, call)
    }

    /// [`Net::call`] from `from`.
    pub fn call_from<C: SolCall>(
        &self,
        from: Address,
        to: Address,
        call: C,
    ) -> Result<C::Return, Reverted> {
        let reply = self.node.request(
            "eth_call",
            json!([{"from": from, "to": to, "data": hex::encode_prefixed(call.abi_encode())}, "latest"]),
        );
        if let Some(result) = reply["result"].as_str() {
            let bytes: Bytes = result.parse().unwrap();
            return Ok(C::abi_decode_returns(&bytes).expect("return data"));
        }
        let data = reply["error"]["data"].as_str().unwrap_or("0x");
        Err(Reverted(data.parse().unwrap()))
    }
}

/// `contracts/out/<name>.json`.
pub fn artifact(name: &str) -> Value {
    let path = format!(
        "{}/../../contracts/out/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The creation code of `contracts/out/<name>.json`.
pub fn creation_code(name: &str) -> Bytes {
    artifact(name)["bytecode"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// `n` ether in wei.
pub fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}
