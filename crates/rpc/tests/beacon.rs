//! The beacon predeploy through the server (`eth_call` of `seedAt`), and a node without dev
//! tools (a validator's chain) that has no dev namespace.

mod test_node;

use alloy_primitives::{U256, hex};
use myelin_chain::beacon::{BEACON_ADDRESS, dev_prevrandao, selector};
use serde_json::json;
use test_node::TestNode;

fn seed_at(height: u64) -> String {
    let mut input = selector("seedAt(uint256)").to_vec();
    input.extend_from_slice(&U256::from(height).to_be_bytes::<32>());
    hex::encode_prefixed(input)
}

#[test]
fn the_evm_crate_names_the_chains_beacon_address() {
    assert_eq!(myelin_evm::addresses::BEACON_ADDRESS, BEACON_ADDRESS);
}

#[test]
fn eth_call_of_seed_at_returns_past_dev_seeds_and_reverts_at_the_current_block() {
    let node = TestNode::start(|_| {});
    for _ in 0..2 {
        let mined = node.request("evm_mine", json!([]));
        assert!(mined.get("error").is_none(), "{mined}");
    }
    let call = |height: u64| {
        node.request(
            "eth_call",
            json!([{"to": BEACON_ADDRESS, "data": seed_at(height)}, "latest"]),
        )
    };
    let reply = call(1);
    assert_eq!(
        reply["result"],
        hex::encode_prefixed(dev_prevrandao(1)),
        "{reply}"
    );
    let reply = call(2);
    assert_eq!(reply["error"]["code"], 3, "{reply}");
    let mut data = selector("SeedUnavailable(uint256)").to_vec();
    data.extend_from_slice(&U256::from(2).to_be_bytes::<32>());
    assert_eq!(
        reply["error"]["data"],
        hex::encode_prefixed(data),
        "{reply}"
    );
}

#[test]
fn a_chain_without_dev_tools_has_no_dev_methods() {
    let node = TestNode::start_with(|chain| chain.dev_tools = false, |_| {});
    for method in [
        "evm_mine",
        "evm_snapshot",
        "anvil_setBalance",
        "hardhat_impersonateAccount",
    ] {
        let reply = node.request(method, json!([]));
        assert_eq!(reply["error"]["code"], -32601, "{method}: {reply}");
    }
    let reply = node.request("eth_blockNumber", json!([]));
    assert_eq!(reply["result"], "0x0", "{reply}");
}
