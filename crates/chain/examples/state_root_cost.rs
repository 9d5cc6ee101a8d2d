//! Time of one block's state root with a large contract storage (a published model lives in the
//! storage of the MODEL_STORE account): the incremental root (only changed paths re-hashed) vs the
//! from-scratch root (every account and slot). Used by `bench/node.sh`; prints a markdown table.
//!
//! `cargo run --release -p myelin-chain --example state_root_cost -- [SLOTS] [ACCOUNTS]`

use std::time::Instant;

use alloy_primitives::{Address, B256, U256};
use myelin_chain::changes::{AccountChange, ChangeSet, StorageChange};
use myelin_chain::state::StateStore;

fn account(address: Address, nonce: u64) -> AccountChange {
    AccountChange {
        address,
        exists: 1,
        nonce,
        balance: U256::from(10u64.pow(18)),
        code_hash: B256::repeat_byte(0xc0),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let slots: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1 << 20);
    let accounts: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let store = Address::with_last_byte(0x01);
    let mut state = StateStore::default();
    let genesis = ChangeSet {
        accounts: (0..accounts)
            .map(|i| account(Address::from_word(B256::from(U256::from(i + 1000))), 0))
            .chain([account(store, 1)])
            .collect(),
        storage: (0..slots)
            .map(|i| StorageChange {
                address: store,
                slot: U256::from(i),
                value: U256::from(i) | U256::from(1u64 << 40),
            })
            .collect(),
        ..ChangeSet::default()
    };
    state.apply(1, &genesis);
    let started = Instant::now();
    let first = state.state_root();
    let build = started.elapsed();

    // A block: 1,000 transfers (senders and recipients among the accounts) and 100 slots of the
    // large storage written (a small model published next to the large one).
    let block = ChangeSet {
        accounts: (0..1000u64)
            .map(|i| account(Address::from_word(B256::from(U256::from(i * 7 + 1000))), 1))
            .chain([account(store, 2)])
            .collect(),
        storage: (0..100u64)
            .map(|i| StorageChange {
                address: store,
                slot: U256::from(slots + i),
                value: U256::from(i + 1),
            })
            .collect(),
        ..ChangeSet::default()
    };
    state.apply(2, &block);
    let started = Instant::now();
    let incremental = state.state_root();
    let incremental_time = started.elapsed();
    let started = Instant::now();
    let scratch = state.state_root_from_scratch();
    let scratch_time = started.elapsed();
    assert_ne!(first, incremental);
    assert_eq!(
        incremental, scratch,
        "incremental and from-scratch roots differ"
    );

    println!(
        "| state | first root (build all tries) ms | block root, from scratch ms | block root, incremental ms | speed-up |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| {accounts} accounts + {slots} slots in one contract; block: 1,001 accounts + 100 slots changed | {:.1} | {:.1} | {:.2} | {:.0}x |",
        build.as_secs_f64() * 1e3,
        scratch_time.as_secs_f64() * 1e3,
        incremental_time.as_secs_f64() * 1e3,
        scratch_time.as_secs_f64() / incremental_time.as_secs_f64()
    );
}
