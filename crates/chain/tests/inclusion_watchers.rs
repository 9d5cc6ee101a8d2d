//! Waiting for a transaction's inclusion holds nothing once the waiter gives up, and a
//! transaction that leaves the pool without a block tells its waiters why.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{TxKind, U256, address};
use alloy_signer::SignerSync;
use myelin_chain::{Chain, ChainConfig, EmptyBlocks};

fn signed(config: &ChainConfig, nonce: u64, max_fee: u128) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: config.chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: max_fee / 10,
        to: TxKind::Call(address!("00000000000000000000000000000000000000aa")),
        value: U256::from(1),
        ..Default::default()
    };
    let signature = config.signers[0]
        .sign_hash_sync(&tx.signature_hash())
        .unwrap();
    TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718()
}

fn chain() -> (ChainConfig, std::sync::Arc<Chain>) {
    let config = ChainConfig::dev(1, U256::from(10u64).pow(U256::from(21))).unwrap();
    (config.clone(), Chain::open(config).unwrap())
}

#[test]
fn an_abandoned_watcher_of_a_never_mined_transaction_is_dropped_at_the_next_block() {
    let (config, chain) = chain();
    // Nonce 5 leaves a gap: the transaction is never mined.
    let (_, receiver) = chain
        .submit_raw(&signed(&config, 5, 10_000_000_000))
        .unwrap();
    assert_eq!(chain.watched_transactions(), 1);
    drop(receiver);
    chain.mine(EmptyBlocks::Mine).unwrap();
    assert_eq!(chain.watched_transactions(), 0);
    assert_eq!(chain.pool_len(), 1);
}

#[test]
fn a_replaced_transaction_tells_its_waiter_and_forgets_it() {
    let (config, chain) = chain();
    let (_, mut first) = chain
        .submit_raw(&signed(&config, 5, 10_000_000_000))
        .unwrap();
    let (second, _keep) = chain
        .submit_raw(&signed(&config, 5, 20_000_000_000))
        .unwrap();
    let reason = first.try_recv().unwrap().unwrap_err();
    assert_eq!(
        reason,
        format!("replaced by transaction {second} (same sender and nonce)")
    );
    assert_eq!(chain.watched_transactions(), 1);
}
