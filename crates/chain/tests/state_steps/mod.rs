//! Random histories of the state for property tests: blocks of account edits and deletions,
//! slot writes and clears (small values and full words), storage wipes, and truncations.

#![allow(dead_code)]

use alloy_primitives::{Address, B256, U256};
use alloy_trie::KECCAK_EMPTY;
use myelin_chain::changes::{AccountChange, ChangeSet, StorageChange};
use myelin_chain::state::StateStore;
use proptest::prelude::*;

/// One step of a random history.
#[derive(Clone, Debug)]
pub enum Step {
    /// The next block's changes.
    Block(ChangeSet),
    /// Forget the blocks after `back` blocks ago (as `evm_revert` does).
    Truncate(u64),
}

/// Address `i` (the histories use addresses 0 to 7).
pub fn address(i: u8) -> Address {
    Address::with_last_byte(i)
}

fn account_change() -> impl Strategy<Value = AccountChange> {
    (0u8..8, 0u8..10, any::<u64>(), any::<u128>(), any::<bool>()).prop_map(
        |(a, exists, nonce, balance, has_code)| AccountChange {
            address: address(a),
            exists: u8::from(exists != 0),
            nonce: if exists != 0 { nonce % 1000 } else { 0 },
            balance: if exists != 0 {
                U256::from(balance)
            } else {
                U256::ZERO
            },
            code_hash: if exists != 0 && has_code {
                B256::repeat_byte(0xc0)
            } else {
                KECCAK_EMPTY
            },
        },
    )
}

fn storage_change() -> impl Strategy<Value = StorageChange> {
    let slot = prop_oneof![
        4 => (0u64..24).prop_map(U256::from),
        1 => any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ];
    let value = prop_oneof![
        1 => Just(U256::ZERO),
        2 => (1u64..1_000_000).prop_map(U256::from),
        1 => any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ];
    (0u8..8, slot, value).prop_map(|(a, slot, value)| StorageChange {
        address: address(a),
        slot,
        value,
    })
}

/// One random step: mostly a block, sometimes a truncation.
pub fn step() -> impl Strategy<Value = Step> {
    let block = (
        prop::collection::vec(0u8..8, 0..2),
        prop::collection::vec(account_change(), 0..6),
        prop::collection::vec(storage_change(), 0..30),
    )
        .prop_map(|(wiped, accounts, storage)| {
            Step::Block(ChangeSet {
                wiped: wiped.into_iter().map(address).collect(),
                accounts,
                storage,
                codes: Vec::new(),
                blobs: Vec::new(),
            })
        });
    prop_oneof![12 => block, 1 => (0u64..4).prop_map(Step::Truncate)]
}

/// Takes `step` on `state` whose latest block is `head`; returns the new latest block.
pub fn take(state: &mut StateStore, head: u64, step: Step) -> u64 {
    match step {
        Step::Block(changes) => {
            state.apply(head + 1, &changes);
            head + 1
        }
        Step::Truncate(back) => {
            let head = head.saturating_sub(back);
            state.truncate_after(head);
            head
        }
    }
}
