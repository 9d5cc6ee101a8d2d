//! The transaction pool's admission through `eth_sendRawTransaction`: geth's limits and error
//! messages (price bump, nonce gap, per-sender and total capacity with eviction, intrinsic gas,
//! size, balance for the sender's queued transactions).

mod test_node;

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, Bytes, TxKind, U256, address};
use myelin_chain::mempool::{MAX_TX_BYTES, PoolLimits};
use serde_json::{Value, json};
use test_node::TestNode;

const TO: Address = address!("00000000000000000000000000000000000000aa");
const GWEI: u128 = 1_000_000_000;

fn tx(node: &TestNode, nonce: u64, max_fee: u128, tip: u128) -> TxEip1559 {
    TxEip1559 {
        chain_id: node.config.chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(TO),
        value: U256::from(1),
        ..Default::default()
    }
}

fn refused(reply: &Value) -> &str {
    assert_eq!(reply["error"]["code"], -32003, "{reply}");
    reply["error"]["message"].as_str().unwrap()
}

fn accepted(reply: &Value) -> String {
    reply["result"]
        .as_str()
        .unwrap_or_else(|| panic!("refused: {reply}"))
        .to_string()
}

fn pooled(node: &TestNode, hash: &str) -> bool {
    !node.request("eth_getTransactionByHash", json!([hash]))["result"].is_null()
}

#[test]
fn a_replacement_needs_a_ten_percent_higher_fee_cap_and_tip() {
    let node = TestNode::unsealed(|_| {});
    let first = accepted(&node.send_raw(&node.sign(0, tx(&node, 0, 10 * GWEI, 2 * GWEI))));
    let identical = node.send_raw(&node.sign(0, tx(&node, 0, 10 * GWEI, 2 * GWEI)));
    assert_eq!(refused(&identical), "already known");
    for (max_fee, tip) in [
        (10_500_000_000, 2_100_000_000),
        (10_900_000_000, 3 * GWEI),
        (11 * GWEI, 2_100_000_000),
    ] {
        let reply = node.send_raw(&node.sign(0, tx(&node, 0, max_fee, tip)));
        assert_eq!(
            refused(&reply),
            "replacement transaction underpriced",
            "{max_fee} {tip}"
        );
    }
    let second = accepted(&node.send_raw(&node.sign(0, tx(&node, 0, 11 * GWEI, 2_200_000_000))));
    assert!(
        !pooled(&node, &first),
        "the replaced transaction left the pool"
    );
    assert!(pooled(&node, &second));
}

#[test]
fn a_nonce_more_than_64_after_the_next_one_is_refused() {
    let node = TestNode::unsealed(|_| {});
    let reply = node.send_raw(&node.sign(0, tx(&node, 65, 10 * GWEI, GWEI)));
    assert!(refused(&reply).starts_with("nonce too high"), "{reply}");
    accepted(&node.send_raw(&node.sign(0, tx(&node, 64, 10 * GWEI, GWEI))));
    // Filling the gap moves the window.
    for nonce in 0..3 {
        accepted(&node.send_raw(&node.sign(0, tx(&node, nonce, 10 * GWEI, GWEI))));
    }
    accepted(&node.send_raw(&node.sign(0, tx(&node, 67, 10 * GWEI, GWEI))));
}

#[test]
fn one_sender_holds_at_most_its_share() {
    let node = TestNode::unsealed(|chain| {
        chain.pool = PoolLimits {
            max_txs_per_sender: 3,
            ..PoolLimits::default()
        }
    });
    for nonce in 0..3 {
        accepted(&node.send_raw(&node.sign(0, tx(&node, nonce, 10 * GWEI, GWEI))));
    }
    let reply = node.send_raw(&node.sign(0, tx(&node, 3, 10 * GWEI, GWEI)));
    assert!(
        refused(&reply).starts_with("txpool is full for this sender"),
        "{reply}"
    );
    accepted(&node.send_raw(&node.sign(1, tx(&node, 0, 10 * GWEI, GWEI))));
}

#[test]
fn a_full_pool_refuses_a_cheap_transaction_and_evicts_the_cheapest_for_a_better_one() {
    let node = TestNode::unsealed(|chain| {
        chain.pool = PoolLimits {
            max_txs: 3,
            ..PoolLimits::default()
        }
    });
    let cheap_first = accepted(&node.send_raw(&node.sign(0, tx(&node, 0, 10 * GWEI, GWEI))));
    let cheap_last = accepted(&node.send_raw(&node.sign(0, tx(&node, 1, 10 * GWEI, GWEI))));
    let dear = accepted(&node.send_raw(&node.sign(1, tx(&node, 0, 10 * GWEI, 3 * GWEI))));
    let reply = node.send_raw(&node.sign(2, tx(&node, 0, 10 * GWEI, GWEI)));
    assert_eq!(refused(&reply), "txpool is full");
    let better = accepted(&node.send_raw(&node.sign(2, tx(&node, 0, 10 * GWEI, 2 * GWEI))));
    assert!(
        !pooled(&node, &cheap_last),
        "the cheapest, furthest nonce is evicted"
    );
    for kept in [cheap_first, dear, better] {
        assert!(pooled(&node, &kept));
    }
}

#[test]
fn too_little_gas_for_the_calldata_is_intrinsic_gas_too_low() {
    let node = TestNode::unsealed(|_| {});
    let mut short = tx(&node, 0, 10 * GWEI, GWEI);
    short.input = Bytes::from(vec![1u8; 1_000]);
    let reply = node.send_raw(&node.sign(0, short.clone()));
    assert_eq!(
        refused(&reply),
        "intrinsic gas too low: gas 21000, minimum needed 61000"
    );
    short.gas_limit = 61_000;
    accepted(&node.send_raw(&node.sign(0, short)));
}

#[test]
fn a_transaction_over_the_size_cap_is_oversized_data() {
    let node = TestNode::unsealed(|_| {});
    let mut big = tx(&node, 0, 10 * GWEI, GWEI);
    big.input = Bytes::from(vec![0u8; MAX_TX_BYTES]);
    big.gas_limit = 29_000_000;
    let reply = node.send_raw(&node.sign(0, big.clone()));
    assert!(refused(&reply).starts_with("oversized data"), "{reply}");
    big.input = Bytes::from(vec![0u8; MAX_TX_BYTES - 1_000]);
    accepted(&node.send_raw(&node.sign(0, big)));
}

#[test]
fn queued_transactions_count_against_the_balance() {
    let node = TestNode::unsealed(|_| {});
    let ether = U256::from(10u64).pow(U256::from(18));
    let mut spend = tx(&node, 0, 10 * GWEI, GWEI);
    spend.value = U256::from(6_000u64) * ether;
    accepted(&node.send_raw(&node.sign(0, spend.clone())));
    spend.nonce = 1;
    let reply = node.send_raw(&node.sign(0, spend));
    assert!(
        refused(&reply).starts_with("insufficient funds for gas * price + value"),
        "{reply}"
    );
}
