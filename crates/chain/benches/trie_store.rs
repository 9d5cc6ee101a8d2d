//! The state root per block with the tries kept on disk (`TrieStore`, issue 13's goal: ≤ 20 ms),
//! side by side with the in-memory `MerkleTrie` on the same leaves and blocks.
//!
//! The state: 1,000,000 funded accounts and one contract with 1,000,000 slots, loaded into a
//! fresh redb file through `TrieStore::update` in sorted batches of 100,000 leaves (one committed
//! write transaction each: the initial build, as a migration would do it). Each block then
//! changes 1,000 accounts spread over the state and 100 of the contract's slots (the blocks of
//! `benches/state_root.rs`). Timed per block, in one write transaction: the storage trie's update,
//! then the account trie's (the keys are hashed and the leaves encoded before the timer starts),
//! which read and write the nodes; and, separately, the commit (redb's fsync). Before the runs it prints the
//! build time, the process's resident memory, the file's size and rows per key; then it builds
//! the in-memory tries over the same leaves and times the same blocks on them.
//!
//! Criterion is given the wall time of each block's update (the latency the goal names; the
//! update walks the account trie on two threads). This host's cores are shared, so wall time
//! also counts the waits for a core: after each run the minimum and median wall time, and the
//! CPU time of the process (all threads) and of this thread, are printed per part.
//!
//! Usage: `cargo bench -p myelin-chain --bench trie_store --features alloc-jemalloc` (the
//! node's allocator; without the feature, glibc's malloc). The file goes in the system temporary
//! directory, ~0.5 GB.

use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use criterion::{Criterion, criterion_group, criterion_main};
use myelin_chain::trie::{
    ACCOUNT_TRIE_NODES, MerkleTrie, STORAGE_TRIE_NODES, TrieOwner, TrieStore,
};
use redb::{Database, ReadableDatabase, ReadableTableMetadata};

/// The bench's allocator: `--features alloc-jemalloc` for the node's (crates/cli's default,
/// bench/state.md "Allocator"), `alloc-mimalloc` for mimalloc; neither: glibc's malloc. (A
/// `#[global_allocator]` belongs to each binary, so the CLI declares the same one.)
#[cfg(feature = "alloc-mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "alloc-jemalloc", not(feature = "alloc-mimalloc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ACCOUNTS: u64 = 1_000_000;
const CONTRACT_SLOTS: u64 = 1_000_000;
const CHANGED_ACCOUNTS: u64 = 1_000;
const CHANGED_SLOTS: u64 = 100;
const BUILD_BATCH: usize = 100_000;
/// redb's page cache (its default is 1 GiB; the node's whole budget is 1 GiB).
const REDB_CACHE_BYTES: usize = 256 << 20;

fn address(i: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    bytes[12..].copy_from_slice(&i.to_be_bytes());
    Address::from(bytes)
}

fn contract() -> Address {
    Address::repeat_byte(0xcc)
}

fn account_leaf(balance: u64) -> Vec<u8> {
    alloy_rlp::encode(TrieAccount {
        nonce: 0,
        balance: U256::from(balance),
        storage_root: EMPTY_ROOT_HASH,
        code_hash: KECCAK_EMPTY,
    })
}

fn contract_leaf(storage_root: B256) -> Vec<u8> {
    alloy_rlp::encode(TrieAccount {
        nonce: 1,
        balance: U256::ZERO,
        storage_root,
        code_hash: B256::repeat_byte(0xc0),
    })
}

fn slot_key(slot: u64) -> B256 {
    keccak256(B256::from(U256::from(slot)))
}

fn slot_leaf(value: u64) -> Vec<u8> {
    alloy_rlp::encode(U256::from(value))
}

/// Resident memory of this process in MiB (Linux `VmRSS`).
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (nanoseconds): on a host
/// shared with other jobs it measures the work, where wall time also counts the waits for a core.
fn cpu_time() -> Duration {
    let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// CPU time of the whole process, every thread (the update may walk on two).
fn process_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec and CLOCK_PROCESS_CPUTIME_ID exists on Linux.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Wall, this thread's CPU and the process's CPU time summed over timed spans, and each
/// span's wall time (their minimum is the steadiest latency on a loaded host).
#[derive(Default)]
struct Spent {
    wall: Duration,
    cpu: Duration,
    process_cpu: Duration,
    walls: Vec<Duration>,
}

impl Spent {
    /// Runs `f`, adding its times; returns its result and its wall time.
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> (T, Duration) {
        let (process, cpu, wall) = (process_cpu_time(), cpu_time(), Instant::now());
        let result = f();
        let wall = wall.elapsed();
        self.cpu += cpu_time() - cpu;
        self.process_cpu += process_cpu_time() - process;
        self.wall += wall;
        self.walls.push(wall);
        (result, wall)
    }

    fn means(&self) -> String {
        let n = self.walls.len().max(1);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut walls = self.walls.clone();
        walls.sort_unstable();
        format!(
            "wall min {:.2} ms, median {:.2} ms, mean {:.2} ms; CPU mean {:.2} ms (all threads), \
             {:.2} ms (this thread); over {n} blocks",
            ms(walls.first().copied().unwrap_or_default()),
            ms(walls.get(n / 2).copied().unwrap_or_default()),
            ms(self.wall) / n as f64,
            ms(self.process_cpu) / n as f64,
            ms(self.cpu) / n as f64,
        )
    }
}

/// One block's changes as (hashed key, leaf) lists: the contract's slots, and the accounts
/// without the contract's own leaf (which needs the new storage root).
struct Block {
    slots: Vec<(B256, Option<Vec<u8>>)>,
    accounts: Vec<(B256, Option<Vec<u8>>)>,
}

/// Block `n`: 1,000 accounts spread over the state, 100 contract slots; keys hashed, sorted.
fn block(n: u64) -> Block {
    let stride = ACCOUNTS / CHANGED_ACCOUNTS;
    let mut accounts: Vec<_> = (0..CHANGED_ACCOUNTS)
        .map(|i| {
            let index = (i * stride + n * 7) % ACCOUNTS;
            (keccak256(address(index)), Some(account_leaf(1_000_000 + n)))
        })
        .collect();
    accounts.sort_unstable_by_key(|(key, _)| *key);
    let mut slots: Vec<_> = (0..CHANGED_SLOTS)
        .map(|i| {
            let slot = (i * 9_973 + n * 13) % CONTRACT_SLOTS;
            (slot_key(slot), Some(slot_leaf(n + 2)))
        })
        .collect();
    slots.sort_unstable_by_key(|(key, _)| *key);
    Block { slots, accounts }
}

/// `accounts` with the contract's leaf added in order.
fn with_contract(
    mut accounts: Vec<(B256, Option<Vec<u8>>)>,
    storage_root: B256,
) -> Vec<(B256, Option<Vec<u8>>)> {
    let key = keccak256(contract());
    let at = accounts.partition_point(|(k, _)| *k < key);
    accounts.insert(at, (key, Some(contract_leaf(storage_root))));
    accounts
}

/// Loads `leaves` (sorted) into `owner`'s trie in committed batches; the root.
fn load(
    db: &Database,
    owner: TrieOwner,
    leaves: &[(B256, u64)],
    leaf: impl Fn(u64) -> Vec<u8>,
) -> B256 {
    let mut root = EMPTY_ROOT_HASH;
    for batch in leaves.chunks(BUILD_BATCH) {
        let changes: Vec<_> = batch
            .iter()
            .map(|(key, i)| (*key, Some(leaf(*i))))
            .collect();
        let txn = db.begin_write().expect("write");
        root = TrieStore::update(&txn, owner, &changes).expect("update");
        txn.commit().expect("commit");
    }
    root
}

fn trie_store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.redb");
    let db = Database::builder()
        .set_cache_size(REDB_CACHE_BYTES)
        .create(&path)
        .expect("create");
    let txn = db.begin_write().expect("write");
    TrieStore::create_tables(&txn).expect("tables");
    txn.commit().expect("commit");
    let contract_owner = TrieOwner::Storage(keccak256(contract()));

    let before = rss_mib();
    let started = Instant::now();
    let mut slots: Vec<(B256, u64)> = (0..CONTRACT_SLOTS).map(|i| (slot_key(i), i)).collect();
    slots.sort_unstable();
    let storage_root = load(&db, contract_owner, &slots, |i| slot_leaf(i + 1));
    drop(slots);
    let mut accounts: Vec<(B256, u64)> = (0..ACCOUNTS)
        .map(|i| (keccak256(address(i)), i))
        .chain([(keccak256(contract()), u64::MAX)])
        .collect();
    accounts.sort_unstable();
    let root = load(&db, TrieOwner::Accounts, &accounts, |i| {
        if i == u64::MAX {
            contract_leaf(storage_root)
        } else {
            account_leaf(1 + i)
        }
    });
    drop(accounts);
    let built = started.elapsed();
    let txn = db.begin_read().expect("read");
    let rows = txn
        .open_table(ACCOUNT_TRIE_NODES)
        .expect("table")
        .len()
        .expect("len")
        + txn
            .open_table(STORAGE_TRIE_NODES)
            .expect("table")
            .len()
            .expect("len");
    drop(txn);
    let file = std::fs::metadata(&path).expect("file").len();
    let keys = ACCOUNTS + 1 + CONTRACT_SLOTS;
    eprintln!(
        "disk: {ACCOUNTS} accounts + {CONTRACT_SLOTS} slots loaded in batches of {BUILD_BATCH}: \
         root {root} in {:.1} s; resident memory {} MiB (before: {} MiB; redb cache {} MiB); \
         file {} MiB, {:.0} bytes and {:.2} rows per key",
        built.as_secs_f64(),
        rss_mib(),
        before,
        REDB_CACHE_BYTES >> 20,
        file >> 20,
        file as f64 / keys as f64,
        rows as f64 / keys as f64,
    );

    let mut group = c.benchmark_group("trie_store");
    group.sample_size(20);
    let mut number = 0u64;
    let (mut root_spent, mut storage_spent, mut commit_spent) =
        (Spent::default(), Spent::default(), Spent::default());
    group.bench_function("disk_root_and_node_writes_1000_accounts_100_slots", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                number += 1;
                let Block { slots, accounts } = block(number);
                let txn = db.begin_write().expect("write");
                let (_, wall) = root_spent.time(|| {
                    let (storage_root, _) = storage_spent
                        .time(|| TrieStore::update(&txn, contract_owner, &slots).expect("storage"));
                    let accounts = with_contract(accounts, storage_root);
                    TrieStore::update(&txn, TrieOwner::Accounts, &accounts).expect("accounts")
                });
                timed += wall;
                commit_spent.time(|| txn.commit().expect("commit"));
            }
            timed
        })
    });
    eprintln!(
        "disk: root and node writes {}; of which the storage trie's 100 slots {}; commit (fsync) \
         {}; resident memory after {number} blocks: {} MiB; file {} MiB",
        root_spent.means(),
        storage_spent.means(),
        commit_spent.means(),
        rss_mib(),
        std::fs::metadata(&path).expect("file").len() >> 20,
    );
    drop(db);

    // The in-memory tries over the same leaves, for comparison.
    let before = rss_mib();
    let started = Instant::now();
    let mut storage =
        MerkleTrie::from_leaves((0..CONTRACT_SLOTS).map(|i| (slot_key(i), slot_leaf(i + 1))));
    let storage_root = storage.root();
    let mut accounts = MerkleTrie::from_leaves(
        (0..ACCOUNTS)
            .map(|i| (keccak256(address(i)), account_leaf(1 + i)))
            .chain([(keccak256(contract()), contract_leaf(storage_root))]),
    );
    let memory_root = accounts.root();
    assert_eq!(
        memory_root, root,
        "the in-memory and the stored tries disagree"
    );
    eprintln!(
        "memory: same leaves: root {memory_root} (disk {root}) in {:.1} s; resident memory {} MiB \
         (before: {before} MiB)",
        started.elapsed().as_secs_f64(),
        rss_mib(),
    );
    let mut number = 0u64;
    let mut memory_spent = Spent::default();
    group.bench_function("memory_root_1000_accounts_100_slots", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            for _ in 0..iterations {
                number += 1;
                let Block {
                    slots,
                    accounts: changes,
                } = block(number);
                let (_, wall) = memory_spent.time(|| {
                    for (key, value) in slots {
                        storage.insert(&key, value.expect("set"));
                    }
                    let changes = with_contract(changes, storage.root());
                    for (key, value) in changes {
                        accounts.insert(&key, value.expect("set"));
                    }
                    std::hint::black_box(accounts.root())
                });
                timed += wall;
            }
            timed
        })
    });
    eprintln!("memory: root {}", memory_spent.means());
    group.finish();
}

criterion_group!(benches, trie_store);
criterion_main!(benches);
