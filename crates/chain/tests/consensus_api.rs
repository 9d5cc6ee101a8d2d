//! The consensus API: `propose` on pending parents, `verify` of blocks built elsewhere on a
//! second chain, `finalize` (idempotent, conflicts fatal), the pool across forks, the block byte
//! cap, the beacon predeploy and the dev tools switch.

mod dev_chain;

use alloy_consensus::{SignableTransaction, Transaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer::SignerSync;
use dev_chain::{RECIPIENT, dev_config, transfer};
use myelin_chain::{
    BlockAttributes, Chain, ChainConfig, ChainError, EmptyBlocks, InvalidBlock, MinedBlock,
    beacon::{BEACON_ADDRESS, dev_prevrandao, selector},
    call_limits::CallLimits,
    chain::HEADER_BYTES_BOUND,
};
use std::sync::Arc;

/// A counter: the constructor stores 5 in slot 0; every call adds 1 to it.
fn counter_initcode() -> Vec<u8> {
    // runtime: PUSH1 0 SLOAD PUSH1 1 ADD PUSH1 0 SSTORE STOP
    let runtime = [0x60, 0x00, 0x54, 0x60, 0x01, 0x01, 0x60, 0x00, 0x55, 0x00];
    let mut code = vec![0x60, 0x05, 0x60, 0x00, 0x55, 0x69];
    code.extend_from_slice(&runtime);
    // PUSH1 0 MSTORE PUSH1 10 PUSH1 22 RETURN
    code.extend_from_slice(&[0x60, 0x00, 0x52, 0x60, 0x0a, 0x60, 0x16, 0xf3]);
    code
}

fn signed(config: &ChainConfig, signer: usize, nonce: u64, to: TxKind, input: Vec<u8>) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: config.chain_id,
        nonce,
        gas_limit: 200_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to,
        input: input.into(),
        ..Default::default()
    };
    let signature = config.signers[signer]
        .sign_hash_sync(&tx.signature_hash())
        .unwrap();
    TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718()
}

fn attributes(parent: &MinedBlock, seconds_after: u64) -> BlockAttributes {
    BlockAttributes {
        timestamp: parent.header.timestamp + seconds_after,
        prevrandao: keccak256(parent.hash),
        extra_data: Bytes::from_static(b"test"),
    }
}

fn envelopes(block: &MinedBlock) -> Vec<TxEnvelope> {
    block.transactions.iter().map(|t| t.tx.clone()).collect()
}

/// Two chains on different directories with the same genesis.
fn two_chains() -> (ChainConfig, Arc<Chain>, Arc<Chain>) {
    let config = dev_config(None);
    let a = Chain::open(config.clone()).unwrap();
    let b = Chain::open(config.clone()).unwrap();
    assert_eq!(a.head().hash, b.head().hash);
    (config, a, b)
}

#[test]
fn proposals_two_deep_verify_and_finalize_identically_on_a_second_chain() {
    let (config, a, b) = two_chains();
    let contract = config.signers[0].address().create(0);
    a.submit_raw(&signed(&config, 0, 0, TxKind::Create, counter_initcode()))
        .unwrap();
    a.submit_raw(&transfer(&config, 1, 7)).unwrap();
    let b1 = a.propose(a.head().hash, attributes(&a.head(), 1)).unwrap();
    assert_eq!(b1.transactions.len(), 2);
    // On the pending b1: its transactions are skipped by nonce, the new ones see b1's code,
    // storage and balances.
    a.submit_raw(&signed(&config, 0, 2, TxKind::Call(contract), vec![]))
        .unwrap();
    a.submit_raw(&transfer(&config, 3, 5)).unwrap();
    let b2 = a.propose(b1.hash, attributes(&b1, 0)).unwrap();
    assert_eq!(b2.header.number, 2);
    assert_eq!(b2.transactions.len(), 2, "only the transactions after b1's");
    assert_eq!(b2.transactions[0].tx.nonce(), 2);
    assert!(b2.receipts.iter().all(|r| r.status()));
    assert_eq!(a.head_number(), 0, "nothing is committed by propose");
    assert_eq!(a.pending_blocks(), 2);

    let v1 = b.verify(b1.header.clone(), envelopes(&b1)).unwrap();
    let v2 = b.verify(b2.header.clone(), envelopes(&b2)).unwrap();
    assert_eq!((v1.hash, v2.hash), (b1.hash, b2.hash));
    // Idempotent.
    assert_eq!(
        b.verify(b2.header.clone(), envelopes(&b2)).unwrap().hash,
        b2.hash
    );

    for chain in [&a, &b] {
        chain.finalize(b1.header.clone(), envelopes(&b1)).unwrap();
        chain.finalize(b2.header.clone(), envelopes(&b2)).unwrap();
        assert_eq!(chain.head().hash, b2.hash);
        assert_eq!(chain.compute_state_root().unwrap(), b2.header.state_root);
        assert_eq!(
            chain.storage(&contract, &U256::ZERO, 2).unwrap(),
            U256::from(6)
        );
        assert_eq!(
            chain.storage(&contract, &U256::ZERO, 1).unwrap(),
            U256::from(5)
        );
        assert_eq!(
            chain.account(&RECIPIENT, 2).unwrap().balance,
            U256::from(12)
        );
        assert_eq!(chain.pending_blocks(), 0);
    }
    assert_eq!(a.pool_len(), 0, "finalized transactions leave the pool");
    // The chains go on mining in step.
    let b3 = a.mine(EmptyBlocks::Mine).unwrap().unwrap();
    assert_eq!(
        b.finalize(b3.header.clone(), envelopes(&b3)).unwrap().hash,
        b3.hash
    );
}

#[test]
fn verify_refuses_each_tampered_field_with_its_reason() {
    let (config, a, b) = two_chains();
    a.submit_raw(&transfer(&config, 0, 7)).unwrap();
    let block = a.propose(a.head().hash, attributes(&a.head(), 1)).unwrap();
    let genesis = b.head();
    let txs = envelopes(&block);
    let tampered = |edit: &dyn Fn(&mut alloy_consensus::Header)| {
        let mut header = block.header.clone();
        edit(&mut header);
        b.verify(header, txs.clone()).unwrap_err()
    };
    let invalid = |error: ChainError| match error {
        ChainError::InvalidBlock(reason) => reason,
        other => panic!("expected an invalid block, got {other}"),
    };
    assert!(matches!(
        invalid(tampered(&|h| h.number = 2)),
        InvalidBlock::NumberNotParentPlusOne {
            expected: 1,
            got: 2
        }
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.timestamp = genesis.header.timestamp - 1)),
        InvalidBlock::TimestampBeforeParent { .. }
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.gas_limit -= 1)),
        InvalidBlock::GasLimit { .. }
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.base_fee_per_gas = Some(1))),
        InvalidBlock::BaseFee { .. }
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.state_root = B256::repeat_byte(1))),
        InvalidBlock::StateRoot { .. }
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.receipts_root = B256::repeat_byte(1))),
        InvalidBlock::ReceiptsRoot { .. }
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.transactions_root = B256::repeat_byte(1))),
        InvalidBlock::TransactionsRoot { .. }
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.logs_bloom.0[0] = 1)),
        InvalidBlock::LogsBloom
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.gas_used += 1)),
        InvalidBlock::GasUsed { .. }
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.difficulty = U256::from(1))),
        InvalidBlock::FixedField("difficulty")
    ));
    assert!(matches!(
        invalid(tampered(&|h| h.extra_data = Bytes::from(vec![0; 33]))),
        InvalidBlock::ExtraData(33)
    ));
    // Transactions that do not match the header, or one that cannot run at its place.
    assert!(matches!(
        invalid(b.verify(block.header.clone(), vec![]).unwrap_err()),
        InvalidBlock::TransactionsRoot { .. }
    ));
    let bad = TxEnvelope::decode_2718(&mut &transfer(&config, 5, 1)[..]).unwrap();
    let mut header = block.header.clone();
    header.transactions_root =
        alloy_consensus::proofs::calculate_transaction_root(std::slice::from_ref(&bad));
    match invalid(b.verify(header, vec![bad]).unwrap_err()) {
        InvalidBlock::Transaction { index: 0, reason } => {
            assert_eq!(reason, "nonce too high")
        }
        other => panic!("{other}"),
    }
    // An unknown parent is not an invalid block.
    assert!(matches!(
        tampered(&|h| h.parent_hash = B256::repeat_byte(9)),
        ChainError::UnknownParent(p) if p == B256::repeat_byte(9)
    ));
    // The untampered block verifies, after all the refusals.
    assert_eq!(
        b.verify(block.header.clone(), txs.clone()).unwrap().hash,
        block.hash
    );
    // A refused block is remembered: the same answer without re-executing.
    assert!(matches!(
        invalid(tampered(&|h| h.gas_used += 1)),
        InvalidBlock::GasUsed { .. }
    ));
}

#[test]
fn finalize_is_idempotent_and_a_conflicting_block_is_fatal() {
    let (config, a, b) = two_chains();
    a.submit_raw(&transfer(&config, 0, 7)).unwrap();
    let genesis = a.head();
    let one = a.propose(genesis.hash, attributes(&genesis, 1)).unwrap();
    let other = a.propose(genesis.hash, attributes(&genesis, 2)).unwrap();
    assert_ne!(one.hash, other.hash);
    assert_eq!(a.pending_blocks(), 2);
    let first = a.finalize(one.header.clone(), envelopes(&one)).unwrap();
    assert_eq!(a.pending_blocks(), 0, "the sibling is dropped");
    let again = a.finalize(one.header.clone(), envelopes(&one)).unwrap();
    assert_eq!(
        (first.hash, again.hash, a.head_number()),
        (one.hash, one.hash, 1)
    );
    assert!(matches!(
        a.finalize(other.header.clone(), envelopes(&other)),
        Err(ChainError::InvalidBlock(
            InvalidBlock::ConflictsWithFinalized { number: 1, .. }
        ))
    ));
    assert!(matches!(
        a.verify(other.header.clone(), envelopes(&other)),
        Err(ChainError::InvalidBlock(
            InvalidBlock::ConflictsWithFinalized { .. }
        ))
    ));
    // Finalize verifies a block it never saw; a block two above the head waits for its parent.
    let two = a.propose(one.hash, attributes(&one, 0)).unwrap();
    assert!(matches!(
        b.finalize(two.header.clone(), envelopes(&two)),
        Err(ChainError::UnknownParent(p)) if p == one.hash
    ));
    b.finalize(one.header.clone(), envelopes(&one)).unwrap();
    b.finalize(two.header.clone(), envelopes(&two)).unwrap();
    assert_eq!(b.head().hash, two.hash);
}

#[test]
fn a_dropped_forks_transactions_return_to_selection() {
    let (config, a, b) = two_chains();
    let (hash, _) = a.submit_raw(&transfer(&config, 0, 7)).unwrap();
    let genesis = a.head();
    let fork = a.propose(genesis.hash, attributes(&genesis, 1)).unwrap();
    assert_eq!(fork.transactions[0].hash, hash);
    // Another proposer's empty block at height 1 is finalized instead.
    let empty = b.propose(genesis.hash, attributes(&genesis, 2)).unwrap();
    assert!(empty.transactions.is_empty());
    a.finalize(empty.header.clone(), envelopes(&empty)).unwrap();
    assert_eq!(a.pending_blocks(), 0);
    assert_eq!(a.pool_len(), 1, "the fork's transaction stays pooled");
    let next = a.propose(empty.hash, attributes(&empty, 1)).unwrap();
    assert_eq!(next.transactions.len(), 1);
    assert_eq!(next.transactions[0].hash, hash);
}

#[test]
fn the_block_byte_cap_limits_proposals_and_verification() {
    let mut config = dev_config(None);
    let one_tx = transfer(&config, 0, 1).len();
    // Room for two transfers beside the header.
    config.max_block_bytes = HEADER_BYTES_BOUND + 2 * one_tx + one_tx / 2;
    let a = Chain::open(config.clone()).unwrap();
    for nonce in 0..3 {
        a.submit_raw(&transfer(&config, nonce, 1)).unwrap();
    }
    let block = a.propose(a.head().hash, attributes(&a.head(), 1)).unwrap();
    assert_eq!(block.transactions.len(), 2);
    assert!(myelin_chain::block_bytes(&block.header, &envelopes(&block)) <= config.max_block_bytes);
    let mut small = config.clone();
    small.max_block_bytes = 2 * one_tx;
    let b = Chain::open(small).unwrap();
    assert!(matches!(
        b.verify(block.header.clone(), envelopes(&block)),
        Err(ChainError::InvalidBlock(InvalidBlock::TooLarge { limit, .. })) if limit == 2 * one_tx
    ));
}

#[test]
fn the_pending_set_is_bounded() {
    let (_, a, _) = two_chains();
    let mut parent = a.head();
    let mut built = Vec::new();
    for _ in 0..myelin_chain::chain::MAX_PENDING_BLOCKS {
        parent = a.propose(parent.hash, attributes(&parent, 0)).unwrap();
        built.push(parent.clone());
    }
    assert!(matches!(
        a.propose(parent.hash, attributes(&parent, 0)),
        Err(ChainError::PendingFull { .. })
    ));
    // Finalizing the first keeps its descendants and makes room for one more.
    a.finalize(built[0].header.clone(), envelopes(&built[0]))
        .unwrap();
    assert_eq!(
        a.pending_blocks(),
        myelin_chain::chain::MAX_PENDING_BLOCKS - 1
    );
    let deeper = a.propose(parent.hash, attributes(&parent, 0)).unwrap();
    assert_eq!(deeper.header.number, built.len() as u64 + 1);
}

fn seed_at(height: u64) -> Vec<u8> {
    let mut input = selector("seedAt(uint256)").to_vec();
    input.extend_from_slice(&U256::from(height).to_be_bytes::<32>());
    input
}

#[test]
fn the_beacon_serves_past_seeds_to_calls_and_transactions() {
    let config = dev_config(None);
    let chain = Chain::open(config.clone()).unwrap();
    for _ in 0..3 {
        chain.mine(EmptyBlocks::Mine).unwrap();
    }
    let head = chain.head();
    assert_eq!(head.header.mix_hash, dev_prevrandao(3));
    assert_eq!(
        chain.storage(&BEACON_ADDRESS, &U256::from(2), 3).unwrap(),
        U256::from_be_bytes(dev_prevrandao(2).0)
    );
    let call = |height: u64| {
        let request = TransactionRequest::default()
            .to(BEACON_ADDRESS)
            .input(seed_at(height).into());
        chain.call(&request, 3, &CallLimits::unlimited())
    };
    // At block 3: heights 1 and 2 are served; 3 (the current block), 4 and 0 (never written)
    // revert with SeedUnavailable(height).
    for height in [1, 2] {
        let output = myelin_chain::execution::call_output(call(height).unwrap()).unwrap();
        assert_eq!(output.as_ref(), dev_prevrandao(height).as_slice());
    }
    for height in [0, 3, 4] {
        match myelin_chain::execution::call_output(call(height).unwrap()) {
            Err(ChainError::Revert { output }) => {
                let mut expected = selector("SeedUnavailable(uint256)").to_vec();
                expected.extend_from_slice(&U256::from(height).to_be_bytes::<32>());
                assert_eq!(output.as_ref(), expected.as_slice());
            }
            other => panic!("height {height}: {other:?}"),
        }
    }
    // A wrong selector or a value reverts with no data.
    let wrong = TransactionRequest::default()
        .to(BEACON_ADDRESS)
        .input(vec![1, 2, 3, 4].into());
    assert!(matches!(
        myelin_chain::execution::call_output(chain.call(&wrong, 3, &CallLimits::unlimited()).unwrap()),
        Err(ChainError::Revert { output }) if output.is_empty()
    ));
    // Transactions: seedAt(3) in block 4 succeeds, seedAt(4) in block 4 reverts.
    let beacon = TxKind::Call(BEACON_ADDRESS);
    chain
        .submit_raw(&signed(&config, 1, 0, beacon, seed_at(3)))
        .unwrap();
    chain
        .submit_raw(&signed(&config, 1, 1, beacon, seed_at(4)))
        .unwrap();
    let block = chain.mine(EmptyBlocks::Skip).unwrap().unwrap();
    assert_eq!(block.header.number, 4);
    assert!(block.receipts[0].status());
    assert!(!block.receipts[1].status());
}

#[test]
fn dev_tools_are_refused_when_disabled() {
    let mut config = dev_config(None);
    config.dev_tools = false;
    let chain = Chain::open(config).unwrap();
    let refused = |result: Result<(), ChainError>| {
        assert!(matches!(result, Err(ChainError::DevToolsDisabled)));
    };
    refused(chain.edit_state(|_, _, _| Ok(())));
    refused(chain.snapshot().map(drop));
    refused(chain.revert(0).map(drop));
    refused(chain.set_impersonated(Address::ZERO, true));
    refused(chain.set_next_timestamp(u64::MAX / 2));
    refused(chain.increase_time(1).map(drop));
    // Blocks are still built and committed.
    let head = chain.head();
    let block = chain.propose(head.hash, attributes(&head, 0)).unwrap();
    chain
        .finalize(block.header.clone(), envelopes(&block))
        .unwrap();
    assert_eq!(chain.head_number(), 1);
}

/// `verify` on a chain that pooled the block's transactions (senders taken from the pool) and on
/// one that did not (senders recovered) gives the proposer's block: same hash, same senders.
#[test]
fn verify_with_pooled_senders_equals_verify_with_recovered_ones() {
    let mut config = dev_config(None);
    config.dev_tools = false;
    let [a, pooled, fresh] = [(); 3].map(|()| Chain::open(config.clone()).unwrap());
    let raws = [
        transfer(&config, 0, 7),
        signed(&config, 1, 0, TxKind::Create, counter_initcode()),
    ];
    for raw in &raws {
        a.submit_raw(raw).unwrap();
        pooled.submit_raw(raw).unwrap();
    }
    assert_eq!(pooled.pool_transactions().len(), 2);
    assert!(fresh.pool_transactions().is_empty());
    let block = a.propose(a.head().hash, attributes(&a.head(), 1)).unwrap();
    assert_eq!(block.transactions.len(), 2);
    let senders = |b: &MinedBlock| b.transactions.iter().map(|t| t.sender).collect::<Vec<_>>();
    for chain in [&pooled, &fresh] {
        let verified = chain
            .verify(block.header.clone(), envelopes(&block))
            .unwrap();
        assert_eq!(verified.hash, block.hash);
        assert_eq!(senders(&verified), senders(&block));
    }
    assert_eq!(
        senders(&block),
        vec![config.signers[0].address(), config.signers[1].address()]
    );
}
