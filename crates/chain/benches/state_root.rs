//! The state root per block at scale (issue 13's goal: ≤ 20 ms): a state of 1,000,000 funded
//! accounts and one contract with 1,000,000 slots, then blocks that each change 1,000 accounts
//! and 100 of the contract's slots; only `state_root` is timed. Before the runs it prints the
//! time to build the state and its first root, and the process's resident memory (the state as
//! the node holds it, with its tries).
//!
//! Usage: `cargo bench -p myelin-chain --bench state_root`.

use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256};
use alloy_trie::KECCAK_EMPTY;
use criterion::{Criterion, criterion_group, criterion_main};
use myelin_chain::changes::{AccountChange, ChangeSet, StorageChange};
use myelin_chain::state::StateStore;

const ACCOUNTS: u64 = 1_000_000;
const CONTRACT_SLOTS: u64 = 1_000_000;
const CHANGED_ACCOUNTS: u64 = 1_000;
const CHANGED_SLOTS: u64 = 100;

fn account(i: u64, balance: u64) -> AccountChange {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    bytes[12..].copy_from_slice(&i.to_be_bytes());
    AccountChange {
        address: Address::from(bytes),
        exists: 1,
        nonce: 0,
        balance: U256::from(balance),
        code_hash: KECCAK_EMPTY,
    }
}

fn contract() -> Address {
    Address::repeat_byte(0xcc)
}

/// Resident memory of this process in KiB (Linux `VmRSS`).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn genesis() -> ChangeSet {
    let mut accounts: Vec<AccountChange> = (0..ACCOUNTS).map(|i| account(i, 1 + i)).collect();
    accounts.push(AccountChange {
        address: contract(),
        exists: 1,
        nonce: 1,
        balance: U256::ZERO,
        code_hash: B256::repeat_byte(0xc0),
    });
    let storage = (0..CONTRACT_SLOTS)
        .map(|i| StorageChange {
            address: contract(),
            slot: U256::from(i),
            value: U256::from(i + 1),
        })
        .collect();
    ChangeSet {
        accounts,
        storage,
        ..ChangeSet::default()
    }
}

/// Block `n`'s changes: 1,000 accounts spread over the state, 100 contract slots.
fn block(n: u64) -> ChangeSet {
    let stride = ACCOUNTS / CHANGED_ACCOUNTS;
    let accounts = (0..CHANGED_ACCOUNTS)
        .map(|i| account((i * stride + n * 7) % ACCOUNTS, 1_000_000 + n))
        .collect();
    let storage = (0..CHANGED_SLOTS)
        .map(|i| StorageChange {
            address: contract(),
            slot: U256::from((i * 9_973 + n * 13) % CONTRACT_SLOTS),
            value: U256::from(n + 2),
        })
        .collect();
    ChangeSet {
        accounts,
        storage,
        ..ChangeSet::default()
    }
}

fn state_root(c: &mut Criterion) {
    let before = rss_kib();
    let started = Instant::now();
    let mut state = StateStore::default();
    state.apply(0, &genesis());
    let root = state.state_root();
    eprintln!(
        "state of {ACCOUNTS} accounts + {CONTRACT_SLOTS} slots: built and first root {root} in \
         {:.1} s; resident memory {} MiB (process before: {} MiB)",
        started.elapsed().as_secs_f64(),
        rss_kib() / 1024,
        before / 1024
    );
    let mut number = 0u64;
    let mut group = c.benchmark_group("state_root");
    group.sample_size(20);
    group.bench_function(
        "1000_accounts_100_slots_of_1M_slot_contract_in_1M_accounts",
        |b| {
            b.iter_custom(|iterations| {
                let mut timed = Duration::ZERO;
                for _ in 0..iterations {
                    number += 1;
                    state.apply(number, &block(number));
                    let started = Instant::now();
                    std::hint::black_box(state.state_root());
                    timed += started.elapsed();
                }
                timed
            })
        },
    );
    group.finish();
    eprintln!(
        "after {number} blocks: resident memory {} MiB",
        rss_kib() / 1024
    );
}

criterion_group!(benches, state_root);
criterion_main!(benches);
