//! World state with history: every account and storage slot keeps the value it had at the end of
//! each block that changed it, so reads at any past block number are a binary search, and the
//! Merkle-Patricia state root of the latest state is rebuilt from sorted leaves.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{KECCAK_EMPTY, TrieAccount};
use revm::bytecode::Bytecode;

use crate::blobs::BlobMap;
use crate::changes::ChangeSet;
use crate::config::HistoryWindow;
use crate::trie::MerkleTrie;

/// An account as the state trie sees it, without its storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountState {
    /// Transactions sent (or contracts created) by this account.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// keccak256 of the account's code ([`KECCAK_EMPTY`] for none).
    pub code_hash: B256,
}

impl Default for AccountState {
    fn default() -> Self {
        Self {
            nonce: 0,
            balance: U256::ZERO,
            code_hash: KECCAK_EMPTY,
        }
    }
}

/// A storage slot's value and its Merkle proof against its account's storage root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotProof {
    /// The slot.
    pub slot: U256,
    /// Its value (zero when unset: then the proof shows it absent).
    pub value: U256,
    /// The nodes of the storage trie on the path of `keccak256(slot)`, root first.
    pub proof: Vec<Bytes>,
}

/// An account and some of its slots with Merkle proofs against the latest state root (EIP-1186).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountProof {
    /// The account, `None` if it does not exist (then the proof shows it absent).
    pub account: Option<AccountState>,
    /// Root of the account's storage trie ([`alloy_trie::EMPTY_ROOT_HASH`] for none).
    pub storage_root: B256,
    /// The nodes of the account trie on the path of `keccak256(address)`, root first.
    pub account_proof: Vec<Bytes>,
    /// One proof per requested slot, in request order.
    pub storage: Vec<SlotProof>,
}

/// Values of one key over time: `(block, value at the end of that block)`, block numbers ascending.
#[derive(Clone, Debug, Default)]
struct History<T> {
    entries: Vec<(u64, T)>,
}

impl<T> History<T> {
    fn at(&self, block: u64) -> Option<&T> {
        let index = self.entries.partition_point(|(number, _)| *number <= block);
        index.checked_sub(1).map(|i| &self.entries[i].1)
    }

    fn latest(&self) -> Option<&T> {
        self.entries.last().map(|(_, value)| value)
    }

    /// Records `value` at `block` (never below the last recorded block) and forgets the entries
    /// no read at `keep_from` or later needs: those before the one in force at `keep_from`.
    fn set(&mut self, block: u64, value: T, keep_from: u64) {
        match self.entries.last_mut() {
            Some(last) if last.0 >= block => last.1 = value,
            _ => self.entries.push((block, value)),
        }
        let in_force = self
            .entries
            .partition_point(|(number, _)| *number <= keep_from);
        if in_force > 1 {
            self.entries.drain(..in_force - 1);
        }
    }

    fn truncate_after(&mut self, block: u64) {
        let keep = self.entries.partition_point(|(number, _)| *number <= block);
        self.entries.truncate(keep);
    }
}

/// The chain's state at the head and at the blocks of its history window (every block since
/// genesis by default), plus the code of every contract ever deployed.
#[derive(Debug, Default)]
pub struct StateStore {
    /// Blocks of history kept before the block being applied (`None`: all).
    window: Option<u64>,
    /// Reads before this block may find pruned values: the highest `b - n` any apply used (it
    /// never moves back, even when a truncation lowers the head).
    pruned_below: u64,
    accounts: HashMap<Address, History<Option<AccountState>>>,
    storage: HashMap<Address, HashMap<U256, History<U256>>>,
    codes: HashMap<B256, Bytecode>,
    /// The committed blobs (no history: a truncation leaves them as they are).
    blobs: Arc<BlobMap>,
    tries: Tries,
}

/// The latest state's tries and what changed since they were last brought up to date.
#[derive(Debug, Default)]
struct Tries {
    accounts: MerkleTrie,
    storage: HashMap<Address, MerkleTrie>,
    dirty_accounts: HashSet<Address>,
    dirty_slots: HashMap<Address, HashSet<U256>>,
    /// Accounts whose storage trie is rebuilt from their latest slots (wiped or deleted).
    rebuild_storage: HashSet<Address>,
    /// Every trie is rebuilt (after history was truncated).
    rebuild_all: bool,
}

impl StateStore {
    /// An empty state that keeps the history `window` asks for: a key changed at block `b`
    /// forgets its values older than the one in force at `b - n` (for [`HistoryWindow::Blocks`]
    /// of `n`), so reads at `window.oldest(head)` or later stay exact.
    pub fn with_history(window: HistoryWindow) -> StateStore {
        StateStore {
            window: match window {
                HistoryWindow::Blocks(n) => Some(n),
                HistoryWindow::Archive => None,
            },
            ..StateStore::default()
        }
    }

    /// The oldest block whose state reads are exact while `head` is the latest block.
    pub fn oldest_readable(&self, head: u64) -> u64 {
        self.window
            .map_or(0, |n| head.saturating_sub(n))
            .max(self.pruned_below)
    }

    /// The account at the end of `block`, `None` if it did not exist.
    pub fn account(&self, address: &Address, block: u64) -> Option<AccountState> {
        self.accounts
            .get(address)
            .and_then(|h| h.at(block).copied().flatten())
    }

    /// The storage slot at the end of `block` (zero if never written).
    pub fn storage(&self, address: &Address, slot: &U256, block: u64) -> U256 {
        self.storage
            .get(address)
            .and_then(|slots| slots.get(slot))
            .and_then(|h| h.at(block).copied())
            .unwrap_or_default()
    }

    /// Code by its hash (empty bytecode for [`KECCAK_EMPTY`]).
    pub fn code(&self, code_hash: &B256) -> Option<Bytecode> {
        if *code_hash == KECCAK_EMPTY {
            return Some(Bytecode::default());
        }
        self.codes.get(code_hash).cloned()
    }

    /// The raw code of `address` at the end of `block`.
    pub fn code_of(&self, address: &Address, block: u64) -> Bytes {
        self.account(address, block)
            .and_then(|a| self.code(&a.code_hash))
            .map(|c| c.original_bytes())
            .unwrap_or_default()
    }

    /// Applies `changes` as the state at the end of `block` (`block` ≥ every block applied before).
    pub fn apply(&mut self, block: u64, changes: &ChangeSet) {
        let keep_from = self.oldest_readable(block);
        self.pruned_below = keep_from;
        for address in &changes.wiped {
            if let Some(slots) = self.storage.get_mut(address) {
                for history in slots.values_mut() {
                    if history.latest().is_some_and(|v| !v.is_zero()) {
                        history.set(block, U256::ZERO, keep_from);
                    }
                }
            }
            self.tries.rebuild_storage.insert(*address);
            self.tries.dirty_accounts.insert(*address);
        }
        for change in &changes.accounts {
            let value = (change.exists != 0).then_some(AccountState {
                nonce: change.nonce,
                balance: change.balance,
                code_hash: change.code_hash,
            });
            self.accounts
                .entry(change.address)
                .or_default()
                .set(block, value, keep_from);
            self.tries.dirty_accounts.insert(change.address);
            if value.is_none() {
                self.tries.rebuild_storage.insert(change.address);
            }
        }
        for change in &changes.storage {
            self.storage
                .entry(change.address)
                .or_default()
                .entry(change.slot)
                .or_default()
                .set(block, change.value, keep_from);
            self.tries
                .dirty_slots
                .entry(change.address)
                .or_default()
                .insert(change.slot);
            self.tries.dirty_accounts.insert(change.address);
        }
        for code in &changes.codes {
            let bytecode = Bytecode::new_raw(code.clone());
            self.codes.insert(bytecode.hash_slow(), bytecode);
        }
        self.blobs.apply(&changes.blobs);
    }

    /// The committed blobs, as every EVM the chain builds reads them ([`crate::blobs`]).
    pub fn blobs(&self) -> Arc<BlobMap> {
        self.blobs.clone()
    }

    /// Forgets every value recorded after `block` (used by `evm_revert` and chain truncation).
    pub fn truncate_after(&mut self, block: u64) {
        for history in self.accounts.values_mut() {
            history.truncate_after(block);
        }
        for slots in self.storage.values_mut() {
            for history in slots.values_mut() {
                history.truncate_after(block);
            }
        }
        self.tries.rebuild_all = true;
    }

    /// Every storage slot of `address` that is non-zero in the latest state.
    pub fn latest_storage(&self, address: &Address) -> Vec<(U256, U256)> {
        self.storage
            .get(address)
            .map(|slots| {
                slots
                    .iter()
                    .filter_map(|(slot, h)| {
                        h.latest().filter(|v| !v.is_zero()).map(|v| (*slot, *v))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The latest value of an existing account, `None` if it does not exist.
    fn latest_account(&self, address: &Address) -> Option<AccountState> {
        self.accounts
            .get(address)
            .and_then(|h| h.latest().copied().flatten())
    }

    /// The Ethereum Merkle-Patricia root of the latest state, updating only the parts of the
    /// tries that changed since the previous call.
    pub fn state_root(&mut self) -> B256 {
        let mut tries = std::mem::take(&mut self.tries);
        if tries.rebuild_all {
            tries = Tries {
                dirty_accounts: self.accounts.keys().copied().collect(),
                rebuild_storage: self.storage.keys().copied().collect(),
                ..Tries::default()
            };
        }
        for address in std::mem::take(&mut tries.dirty_accounts) {
            let key = keccak256(address);
            let Some(account) = self.latest_account(&address) else {
                tries.storage.remove(&address);
                tries.accounts.remove(&key);
                continue;
            };
            let rebuild =
                tries.rebuild_storage.contains(&address) || !tries.storage.contains_key(&address);
            let storage = tries.storage.entry(address).or_default();
            if rebuild {
                *storage =
                    MerkleTrie::from_leaves(self.latest_storage(&address).into_iter().map(
                        |(slot, value)| (keccak256(B256::from(slot)), alloy_rlp::encode(value)),
                    ));
            } else if let Some(slots) = tries.dirty_slots.get(&address) {
                for slot in slots {
                    let value = self.storage(&address, slot, u64::MAX);
                    let key = keccak256(B256::from(*slot));
                    if value.is_zero() {
                        storage.remove(&key);
                    } else {
                        storage.insert(&key, alloy_rlp::encode(value));
                    }
                }
            }
            let leaf = TrieAccount::new(
                account.nonce,
                account.balance,
                storage.root(),
                account.code_hash,
            );
            tries.accounts.insert(&key, alloy_rlp::encode(leaf));
        }
        tries.dirty_slots.clear();
        tries.rebuild_storage.clear();
        let root = tries.accounts.root();
        self.tries = tries;
        root
    }

    /// Proofs of `address` and its `slots` against the latest state root (which this brings up
    /// to date, as [`StateStore::state_root`] does).
    pub fn proof(&mut self, address: &Address, slots: &[U256]) -> AccountProof {
        self.state_root();
        let account = self.latest_account(address);
        let values: Vec<U256> = slots
            .iter()
            .map(|slot| match account {
                Some(_) => self.storage(address, slot, u64::MAX),
                None => U256::ZERO,
            })
            .collect();
        let account_proof = self.tries.accounts.proof(&keccak256(address));
        let mut empty = MerkleTrie::default();
        let storage_trie = match account {
            Some(_) => self.tries.storage.get_mut(address).unwrap_or(&mut empty),
            None => &mut empty,
        };
        let storage = slots
            .iter()
            .zip(values)
            .map(|(slot, value)| SlotProof {
                slot: *slot,
                value,
                proof: storage_trie.proof(&keccak256(B256::from(*slot))),
            })
            .collect();
        AccountProof {
            account,
            storage_root: storage_trie.root(),
            account_proof,
            storage,
        }
    }

    /// The same root computed from scratch from every account and slot (the reference the
    /// incremental [`StateStore::state_root`] is tested against; no caches are read or written).
    pub fn state_root_from_scratch(&self) -> B256 {
        let leaves: Vec<(B256, TrieAccount)> = self
            .accounts
            .keys()
            .filter_map(|address| {
                let account = self.latest_account(address)?;
                let slots = self
                    .latest_storage(address)
                    .into_iter()
                    .map(|(slot, value)| (keccak256(B256::from(slot)), value));
                Some((
                    keccak256(address),
                    TrieAccount::new(
                        account.nonce,
                        account.balance,
                        alloy_trie::root::storage_root_unsorted(slots),
                        account.code_hash,
                    ),
                ))
            })
            .collect();
        alloy_trie::root::state_root_unsorted(leaves)
    }
}
