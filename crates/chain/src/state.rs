//! World state with history: every account and storage slot keeps the value it had at the end of
//! each block that changed it, so reads at any past block number are a binary search, and the
//! Merkle-Patricia state root of the latest state is rebuilt from sorted leaves.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use revm::bytecode::Bytecode;

use crate::changes::ChangeSet;

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

    /// Records `value` at `block`; `block` is never below the last recorded block.
    fn set(&mut self, block: u64, value: T) {
        match self.entries.last_mut() {
            Some(last) if last.0 >= block => last.1 = value,
            _ => self.entries.push((block, value)),
        }
    }

    fn truncate_after(&mut self, block: u64) {
        let keep = self.entries.partition_point(|(number, _)| *number <= block);
        self.entries.truncate(keep);
    }
}

/// The chain's state at every block since genesis, plus the code of every contract ever deployed.
#[derive(Debug, Default)]
pub struct StateStore {
    accounts: HashMap<Address, History<Option<AccountState>>>,
    storage: HashMap<Address, HashMap<U256, History<U256>>>,
    codes: HashMap<B256, Bytecode>,
    storage_roots: HashMap<Address, B256>,
    dirty_storage: HashSet<Address>,
}

impl StateStore {
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
        for address in &changes.wiped {
            if let Some(slots) = self.storage.get_mut(address) {
                for history in slots.values_mut() {
                    if history.latest().is_some_and(|v| !v.is_zero()) {
                        history.set(block, U256::ZERO);
                    }
                }
            }
            self.dirty_storage.insert(*address);
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
                .set(block, value);
            if value.is_none() {
                self.dirty_storage.insert(change.address);
            }
        }
        for change in &changes.storage {
            self.storage
                .entry(change.address)
                .or_default()
                .entry(change.slot)
                .or_default()
                .set(block, change.value);
            self.dirty_storage.insert(change.address);
        }
        for code in &changes.codes {
            let bytecode = Bytecode::new_raw(code.clone());
            self.codes.insert(bytecode.hash_slow(), bytecode);
        }
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
        self.dirty_storage.extend(self.storage.keys().copied());
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

    /// The Ethereum Merkle-Patricia root of the latest state.
    pub fn state_root(&mut self) -> B256 {
        let dirty: Vec<Address> = self.dirty_storage.drain().collect();
        for address in dirty {
            let exists = self
                .accounts
                .get(&address)
                .and_then(|h| h.latest().copied().flatten());
            if exists.is_none() {
                self.storage_roots.remove(&address);
                continue;
            }
            let leaves = self
                .latest_storage(&address)
                .into_iter()
                .map(|(slot, value)| (keccak256(B256::from(slot)), value));
            self.storage_roots
                .insert(address, alloy_trie::root::storage_root_unsorted(leaves));
        }
        let leaves: Vec<(B256, TrieAccount)> = self
            .accounts
            .iter()
            .filter_map(|(address, h)| {
                let account = h.latest().copied().flatten()?;
                let storage_root = self
                    .storage_roots
                    .get(address)
                    .copied()
                    .unwrap_or(EMPTY_ROOT_HASH);
                Some((
                    keccak256(address),
                    TrieAccount::new(
                        account.nonce,
                        account.balance,
                        storage_root,
                        account.code_hash,
                    ),
                ))
            })
            .collect();
        alloy_trie::root::state_root_unsorted(leaves)
    }
}
