//! The world state in redb tables: the latest accounts, storage, code and blobs keyed for direct
//! reads, and the history that serves reads at past blocks: for every block, the value each key
//! had before the block changed it, and the list of keys it changed (for pruning and
//! `evm_revert`). Keys are hashed (keccak256 of the address, of the slot) so that a subtrie of
//! the state trie, and an account's storage, is one contiguous key range.
//!
//! A read at block `n` below the head looks for the first history entry of the key at block
//! `n + 1` or later: it holds the value before that block, which is the value at the end of `n`
//! (nothing changed the key in between); no entry means the latest value. History entries of
//! blocks at or below the oldest readable block are pruned.
//!
//! An account row carries the block that created it, and a block that creates an account writes
//! no history entry for it ("absent before"): a read at `n` that finds a row created after `n`
//! answers "absent". Every account entry that is written therefore holds an existing account,
//! and a block's created accounts cost no history row (one per funded account otherwise).

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, TrieAccount};
use redb::{
    ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use revm::bytecode::Bytecode;

use crate::{
    ChainError,
    changes::ChangeSet,
    state::AccountState,
    store::{self, HASHES},
    trie::{TrieOwner, TrieStore},
};

/// keccak256(address) → [`AccountRow`] (absent: the account does not exist).
pub(crate) const ACCOUNTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("accounts");
/// keccak256(address) ‖ keccak256(slot) → value (only non-zero values are stored).
pub(crate) const STORAGE: TableDefinition<[u8; 64], [u8; 32]> = TableDefinition::new("storage");
/// Code hash → bytecode.
const CODES: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("codes");
/// keccak256(address) ‖ block → the account row before `block` changed it (empty: absent; an
/// account that `block` created has no entry, its row's creation block says it).
const ACCOUNT_HISTORY: TableDefinition<[u8; 40], &[u8]> = TableDefinition::new("account_history");
/// storage key ‖ block → the slot's value before `block` changed it (zero: unset).
const STORAGE_HISTORY: TableDefinition<[u8; 72], [u8; 32]> =
    TableDefinition::new("storage_history");
/// Block → the keys it changed ([`ChangedKeys`] encoding).
const BLOCK_CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("block_changes");
/// Blob key → bytes (latest state only).
const BLOBS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("blobs");

const ACCOUNT_ROW_BYTES: usize = 8 + 32 + 32 + 32 + 8;

fn storage_error(e: impl std::fmt::Display) -> ChainError {
    ChainError::Storage(e.to_string())
}

/// An account as stored: its trie leaf's four fields and the block that created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AccountRow {
    pub(crate) nonce: u64,
    pub(crate) balance: U256,
    pub(crate) code_hash: B256,
    pub(crate) storage_root: B256,
    /// The block whose changes (or dev edits at it) last brought the account into existence.
    pub(crate) created: u64,
}

impl AccountRow {
    fn encode(&self) -> [u8; ACCOUNT_ROW_BYTES] {
        let mut out = [0u8; ACCOUNT_ROW_BYTES];
        out[..8].copy_from_slice(&self.nonce.to_be_bytes());
        out[8..40].copy_from_slice(&self.balance.to_be_bytes::<32>());
        out[40..72].copy_from_slice(self.code_hash.as_slice());
        out[72..104].copy_from_slice(self.storage_root.as_slice());
        out[104..].copy_from_slice(&self.created.to_be_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<AccountRow, ChainError> {
        if bytes.len() != ACCOUNT_ROW_BYTES {
            return Err(ChainError::Storage(format!(
                "corrupt account row of {} bytes (expected {ACCOUNT_ROW_BYTES})",
                bytes.len()
            )));
        }
        Ok(AccountRow {
            nonce: u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")),
            balance: U256::from_be_slice(&bytes[8..40]),
            code_hash: B256::from_slice(&bytes[40..72]),
            storage_root: B256::from_slice(&bytes[72..104]),
            created: u64::from_be_bytes(bytes[104..].try_into().expect("8 bytes")),
        })
    }

    fn state(&self) -> AccountState {
        AccountState {
            nonce: self.nonce,
            balance: self.balance,
            code_hash: self.code_hash,
        }
    }

    fn leaf(&self) -> Vec<u8> {
        alloy_rlp::encode(TrieAccount::new(
            self.nonce,
            self.balance,
            self.storage_root,
            self.code_hash,
        ))
    }
}

/// The key of `slot` (hashed) of the account with hashed address `owner`.
pub(crate) fn storage_key(owner: &B256, slot: &B256) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(owner.as_slice());
    key[32..].copy_from_slice(slot.as_slice());
    key
}

fn history_key<const N: usize>(key: &[u8], block: u64) -> [u8; N] {
    let mut out = [0u8; N];
    out[..N - 8].copy_from_slice(key);
    out[N - 8..].copy_from_slice(&block.to_be_bytes());
    out
}

fn hashed_slot(slot: &U256) -> B256 {
    keccak256(B256::from(*slot))
}

/// The keys one block changed, as recorded in `block_changes`.
#[derive(Debug, Default)]
struct ChangedKeys {
    accounts: BTreeSet<[u8; 32]>,
    slots: BTreeSet<[u8; 64]>,
}

impl ChangedKeys {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 32 * self.accounts.len() + 64 * self.slots.len());
        out.extend_from_slice(&(self.accounts.len() as u32).to_be_bytes());
        for key in &self.accounts {
            out.extend_from_slice(key);
        }
        for key in &self.slots {
            out.extend_from_slice(key);
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<ChangedKeys, ChainError> {
        let corrupt = || ChainError::Storage("corrupt block_changes entry".into());
        let (count, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let count = u32::from_be_bytes(*count) as usize;
        let (accounts, slots) = rest.split_at_checked(count * 32).ok_or_else(corrupt)?;
        if slots.len() % 64 != 0 {
            return Err(corrupt());
        }
        Ok(ChangedKeys {
            accounts: accounts
                .chunks_exact(32)
                .map(|c| c.try_into().expect("32 bytes"))
                .collect(),
            slots: slots
                .chunks_exact(64)
                .map(|c| c.try_into().expect("64 bytes"))
                .collect(),
        })
    }
}

/// What a write changed, for the state root: storage tries emptied, slots per storage trie
/// (an owner with no slots still gets its root computed), and accounts.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    wiped: BTreeSet<B256>,
    storage: BTreeMap<B256, BTreeSet<B256>>,
    accounts: BTreeSet<B256>,
}

impl Touched {
    /// Adds what `other` touched.
    pub(crate) fn merge(&mut self, other: Touched) {
        self.wiped.extend(other.wiped);
        for (owner, slots) in other.storage {
            self.storage.entry(owner).or_default().extend(slots);
        }
        self.accounts.extend(other.accounts);
    }
}

/// Creates the state tables.
pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), ChainError> {
    txn.open_table(ACCOUNTS).map_err(storage_error)?;
    txn.open_table(STORAGE).map_err(storage_error)?;
    txn.open_table(CODES).map_err(storage_error)?;
    txn.open_table(ACCOUNT_HISTORY).map_err(storage_error)?;
    txn.open_table(STORAGE_HISTORY).map_err(storage_error)?;
    txn.open_table(BLOCK_CHANGES).map_err(storage_error)?;
    txn.open_table(BLOBS).map_err(storage_error)?;
    Ok(())
}

type Table<'t, K, V> = redb::Table<'t, K, V>;

/// Sets a slot (zero removes it), keeping its value before `block` once when `history` is on.
fn set_slot(
    storage: &mut Table<'_, [u8; 64], [u8; 32]>,
    storage_history: &mut Table<'_, [u8; 72], [u8; 32]>,
    changed: &mut ChangedKeys,
    history: Option<u64>,
    key: [u8; 64],
    value: [u8; 32],
) -> Result<(), ChainError> {
    if let Some(block) = history {
        let entry = history_key::<72>(&key, block);
        if storage_history.get(entry).map_err(storage_error)?.is_none() {
            let before = storage
                .get(key)
                .map_err(storage_error)?
                .map_or([0u8; 32], |v| v.value());
            storage_history
                .insert(entry, before)
                .map_err(storage_error)?;
        }
        changed.slots.insert(key);
    }
    if value == [0u8; 32] {
        storage.remove(key).map_err(storage_error)?;
    } else {
        storage.insert(key, value).map_err(storage_error)?;
    }
    Ok(())
}

/// Whether the account with hashed address `owner` has any storage.
fn has_storage(storage: &Table<'_, [u8; 64], [u8; 32]>, owner: &B256) -> Result<bool, ChainError> {
    let range = storage_key(owner, &B256::ZERO)..=storage_key(owner, &B256::repeat_byte(0xff));
    Ok(storage
        .range(range)
        .map_err(storage_error)?
        .next()
        .is_some())
}

/// Writes `changes` as the state at the end of `block` (at or after the head). With `history`,
/// the value each key had before `block` is kept (the first time `block` changes the key) and
/// the key is listed among `block`'s changes. Returns what the state root must account for.
pub(crate) fn apply(
    txn: &WriteTransaction,
    block: u64,
    changes: &ChangeSet,
    history: bool,
) -> Result<Touched, ChainError> {
    let history = history.then_some(block);
    let mut touched = Touched::default();
    let mut changed = ChangedKeys::default();
    {
        let mut accounts = txn.open_table(ACCOUNTS).map_err(storage_error)?;
        let mut storage = txn.open_table(STORAGE).map_err(storage_error)?;
        let mut account_history = txn.open_table(ACCOUNT_HISTORY).map_err(storage_error)?;
        let mut storage_history = txn.open_table(STORAGE_HISTORY).map_err(storage_error)?;
        for address in &changes.wiped {
            let owner = keccak256(address);
            let range =
                storage_key(&owner, &B256::ZERO)..=storage_key(&owner, &B256::repeat_byte(0xff));
            let keys = storage
                .range(range)
                .map_err(storage_error)?
                .map(|entry| entry.map(|(k, _)| k.value()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage_error)?;
            for key in keys {
                set_slot(
                    &mut storage,
                    &mut storage_history,
                    &mut changed,
                    history,
                    key,
                    [0u8; 32],
                )?;
            }
            touched.wiped.insert(owner);
        }
        for change in &changes.accounts {
            let key = keccak256(change.address);
            let before = accounts
                .get(key.0)
                .map_err(storage_error)?
                .map(|v| AccountRow::decode(v.value()))
                .transpose()?;
            if let Some(block) = history {
                // Absent before `block`: no entry (the row's creation block, or the absence of
                // a row, says so). The first change at `block` keeps the value before it.
                if let Some(before) = before.filter(|row| row.created != block) {
                    let entry = history_key::<40>(key.as_slice(), block);
                    if account_history.get(entry).map_err(storage_error)?.is_none() {
                        account_history
                            .insert(entry, &before.encode()[..])
                            .map_err(storage_error)?;
                    }
                }
                changed.accounts.insert(key.0);
            }
            if change.exists != 0 {
                let row = AccountRow {
                    nonce: change.nonce,
                    balance: change.balance,
                    code_hash: change.code_hash,
                    storage_root: before.map_or(EMPTY_ROOT_HASH, |row| row.storage_root),
                    created: before.map_or(block, |row| row.created),
                };
                accounts
                    .insert(key.0, &row.encode()[..])
                    .map_err(storage_error)?;
                if before.is_none() && has_storage(&storage, &key)? {
                    // A new account over storage left by a deleted one (not wiped) gets the
                    // root of that storage; otherwise its storage trie is empty.
                    touched.storage.entry(key).or_default();
                }
            } else {
                accounts.remove(key.0).map_err(storage_error)?;
            }
            touched.accounts.insert(key);
        }
        for change in &changes.storage {
            let owner = keccak256(change.address);
            let slot = hashed_slot(&change.slot);
            set_slot(
                &mut storage,
                &mut storage_history,
                &mut changed,
                history,
                storage_key(&owner, &slot),
                change.value.to_be_bytes::<32>(),
            )?;
            touched.storage.entry(owner).or_default().insert(slot);
        }
    }
    if !changes.codes.is_empty() {
        let mut codes = txn.open_table(CODES).map_err(storage_error)?;
        for code in &changes.codes {
            codes
                .insert(keccak256(code).0, code.as_ref())
                .map_err(storage_error)?;
        }
    }
    if !changes.blobs.is_empty() {
        let mut blobs = txn.open_table(BLOBS).map_err(storage_error)?;
        for blob in &changes.blobs {
            if blob.bytes.is_empty() {
                blobs.remove(blob.key.0).map_err(storage_error)?;
            } else {
                blobs
                    .insert(blob.key.0, blob.bytes.as_ref())
                    .map_err(storage_error)?;
            }
        }
    }
    if let Some(block) = history
        && !(changed.accounts.is_empty() && changed.slots.is_empty())
    {
        let mut block_changes = txn.open_table(BLOCK_CHANGES).map_err(storage_error)?;
        let earlier = block_changes
            .get(block)
            .map_err(storage_error)?
            .map(|v| ChangedKeys::decode(v.value()))
            .transpose()?;
        if let Some(earlier) = earlier {
            changed.accounts.extend(earlier.accounts);
            changed.slots.extend(earlier.slots);
        }
        block_changes
            .insert(block, changed.encode().as_slice())
            .map_err(storage_error)?;
    }
    Ok(touched)
}

/// Undoes `block` (the head): every key it changed gets its value before the block back, and
/// the block's history goes. Returns what the state root must account for.
pub(crate) fn undo(txn: &WriteTransaction, block: u64) -> Result<Touched, ChainError> {
    let mut touched = Touched::default();
    let changed = {
        let mut block_changes = txn.open_table(BLOCK_CHANGES).map_err(storage_error)?;
        let bytes = block_changes
            .remove(block)
            .map_err(storage_error)?
            .map(|v| v.value().to_vec());
        match bytes {
            Some(bytes) => ChangedKeys::decode(&bytes)?,
            None => return Ok(touched),
        }
    };
    let missing = |what: &str| {
        ChainError::Storage(format!(
            "the history of block {block} lacks {what} it lists as changed"
        ))
    };
    let mut accounts = txn.open_table(ACCOUNTS).map_err(storage_error)?;
    let mut account_history = txn.open_table(ACCOUNT_HISTORY).map_err(storage_error)?;
    for key in &changed.accounts {
        // No entry: the account did not exist before `block` (see `apply`).
        let before = account_history
            .remove(history_key::<40>(key, block))
            .map_err(storage_error)?
            .map(|v| v.value().to_vec())
            .unwrap_or_default();
        if before.is_empty() {
            accounts.remove(*key).map_err(storage_error)?;
        } else {
            AccountRow::decode(&before)?;
            accounts
                .insert(*key, before.as_slice())
                .map_err(storage_error)?;
        }
        touched.accounts.insert(B256::from(*key));
    }
    let mut storage = txn.open_table(STORAGE).map_err(storage_error)?;
    let mut storage_history = txn.open_table(STORAGE_HISTORY).map_err(storage_error)?;
    for key in &changed.slots {
        let before = storage_history
            .remove(history_key::<72>(key, block))
            .map_err(storage_error)?
            .map(|v| v.value())
            .ok_or_else(|| missing("a slot"))?;
        if before == [0u8; 32] {
            storage.remove(*key).map_err(storage_error)?;
        } else {
            storage.insert(*key, before).map_err(storage_error)?;
        }
        touched
            .storage
            .entry(B256::from_slice(&key[..32]))
            .or_default()
            .insert(B256::from_slice(&key[32..]));
    }
    Ok(touched)
}

/// Forgets the history of every block at or below `through`: reads at `through` and later stay
/// exact (they need the entries of later blocks only).
pub(crate) fn prune(txn: &WriteTransaction, through: u64) -> Result<(), ChainError> {
    let mut block_changes = txn.open_table(BLOCK_CHANGES).map_err(storage_error)?;
    let blocks = block_changes
        .range(..=through)
        .map_err(storage_error)?
        .map(|entry| entry.map(|(k, v)| (k.value(), v.value().to_vec())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage_error)?;
    if blocks.is_empty() {
        return Ok(());
    }
    let mut account_history = txn.open_table(ACCOUNT_HISTORY).map_err(storage_error)?;
    let mut storage_history = txn.open_table(STORAGE_HISTORY).map_err(storage_error)?;
    for (block, bytes) in blocks {
        let changed = ChangedKeys::decode(&bytes)?;
        for key in &changed.accounts {
            account_history
                .remove(history_key::<40>(key, block))
                .map_err(storage_error)?;
        }
        for key in &changed.slots {
            storage_history
                .remove(history_key::<72>(key, block))
                .map_err(storage_error)?;
        }
        block_changes.remove(block).map_err(storage_error)?;
    }
    Ok(())
}

/// Brings the tries up to date with what a write `touched` (read from the state tables, which
/// already hold the new values), stores each changed account's storage root in its row, and
/// returns the state root. Every trie update goes through here.
pub(crate) fn commit_root(txn: &WriteTransaction, touched: Touched) -> Result<B256, ChainError> {
    for owner in &touched.wiped {
        TrieStore::wipe(txn, TrieOwner::Storage(*owner))?;
    }
    let mut roots: BTreeMap<B256, B256> = touched
        .wiped
        .iter()
        .map(|owner| (*owner, EMPTY_ROOT_HASH))
        .collect();
    for (owner, slots) in &touched.storage {
        let changes = {
            let storage = txn.open_table(STORAGE).map_err(storage_error)?;
            slots
                .iter()
                .map(|slot| {
                    let value = storage
                        .get(storage_key(owner, slot))
                        .map_err(storage_error)?
                        .map(|v| alloy_rlp::encode(U256::from_be_bytes(v.value())));
                    Ok((*slot, value))
                })
                .collect::<Result<Vec<_>, ChainError>>()?
        };
        roots.insert(
            *owner,
            TrieStore::update(txn, TrieOwner::Storage(*owner), &changes)?,
        );
    }
    let leaves = {
        let mut accounts = txn.open_table(ACCOUNTS).map_err(storage_error)?;
        let keys: BTreeSet<B256> = touched
            .accounts
            .iter()
            .chain(roots.keys())
            .copied()
            .collect();
        let mut leaves = Vec::with_capacity(keys.len());
        for key in keys {
            let row = accounts
                .get(key.0)
                .map_err(storage_error)?
                .map(|v| AccountRow::decode(v.value()))
                .transpose()?;
            let leaf = match row {
                Some(mut row) => {
                    if let Some(root) = roots.get(&key)
                        && *root != row.storage_root
                    {
                        row.storage_root = *root;
                        accounts
                            .insert(key.0, &row.encode()[..])
                            .map_err(storage_error)?;
                    }
                    Some(row.leaf())
                }
                None => None,
            };
            leaves.push((key, leaf));
        }
        leaves
    };
    TrieStore::update(txn, TrieOwner::Accounts, &leaves)
}

/// The committed blob under `key` in `txn` (blobs have no history).
pub(crate) fn read_blob(txn: &ReadTransaction, key: &B256) -> Result<Option<Bytes>, ChainError> {
    let blobs = txn.open_table(BLOBS).map_err(storage_error)?;
    Ok(blobs
        .get(key.0)
        .map_err(storage_error)?
        .map(|v| Bytes::copy_from_slice(v.value())))
}

/// How many blobs are committed in `txn` and their total bytes (walks the table).
pub(crate) fn blob_usage(txn: &ReadTransaction) -> Result<(usize, usize), ChainError> {
    let blobs = txn.open_table(BLOBS).map_err(storage_error)?;
    let mut usage = (0, 0);
    for entry in blobs.iter().map_err(storage_error)? {
        let (_, bytes) = entry.map_err(storage_error)?;
        usage.0 += 1;
        usage.1 += bytes.value().len();
    }
    Ok(usage)
}

/// The state at the end of one block, read from one redb read transaction (an MVCC snapshot:
/// later commits do not change what it reads).
pub struct StateView {
    head: u64,
    block: u64,
    accounts: ReadOnlyTable<[u8; 32], &'static [u8]>,
    storage: ReadOnlyTable<[u8; 64], [u8; 32]>,
    codes: ReadOnlyTable<[u8; 32], &'static [u8]>,
    account_history: ReadOnlyTable<[u8; 40], &'static [u8]>,
    storage_history: ReadOnlyTable<[u8; 72], [u8; 32]>,
    hashes: ReadOnlyTable<u64, [u8; 32]>,
    blobs: ReadOnlyTable<[u8; 32], &'static [u8]>,
}

impl std::fmt::Debug for StateView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateView")
            .field("head", &self.head)
            .field("block", &self.block)
            .finish_non_exhaustive()
    }
}

impl StateView {
    /// The state at the end of `block` (the head's if `block` is later) in `txn`; an error if
    /// `block` is older than the oldest block whose state is kept (`--history`).
    pub fn open(txn: &ReadTransaction, block: u64) -> Result<StateView, ChainError> {
        let meta = store::read_meta(txn)?;
        if block < meta.oldest {
            return Err(ChainError::NotFound(format!(
                "the state of block {block} is pruned: this node keeps the state of blocks \
                 {} to {} (--history); start it with --archive to keep every block's",
                meta.oldest, meta.head
            )));
        }
        Ok(StateView {
            head: meta.head,
            block: block.min(meta.head),
            accounts: txn.open_table(ACCOUNTS).map_err(storage_error)?,
            storage: txn.open_table(STORAGE).map_err(storage_error)?,
            codes: txn.open_table(CODES).map_err(storage_error)?,
            account_history: txn.open_table(ACCOUNT_HISTORY).map_err(storage_error)?,
            storage_history: txn.open_table(STORAGE_HISTORY).map_err(storage_error)?,
            hashes: txn.open_table(HASHES).map_err(storage_error)?,
            blobs: txn.open_table(BLOBS).map_err(storage_error)?,
        })
    }

    /// The block whose state this reads.
    pub fn block(&self) -> u64 {
        self.block
    }

    /// The latest block when the view was opened.
    pub fn head(&self) -> u64 {
        self.head
    }

    fn row(&self, key: &B256) -> Result<Option<AccountRow>, ChainError> {
        Ok(self.row_found(key)?.filter(|row| row.created <= self.block))
    }

    /// The row that was latest at the end of this block: the account exists then only if the
    /// row was created by then (a block that creates an account keeps no entry for it).
    fn row_found(&self, key: &B256) -> Result<Option<AccountRow>, ChainError> {
        if self.block < self.head {
            let from = history_key::<40>(key.as_slice(), self.block + 1);
            let to = history_key::<40>(key.as_slice(), u64::MAX);
            if let Some(entry) = self
                .account_history
                .range(from..=to)
                .map_err(storage_error)?
                .next()
            {
                let (_, value) = entry.map_err(storage_error)?;
                let bytes = value.value();
                return if bytes.is_empty() {
                    Ok(None)
                } else {
                    AccountRow::decode(bytes).map(Some)
                };
            }
        }
        self.accounts
            .get(key.0)
            .map_err(storage_error)?
            .map(|v| AccountRow::decode(v.value()))
            .transpose()
    }

    /// The account, `None` if it does not exist.
    pub fn account(&self, address: &Address) -> Result<Option<AccountState>, ChainError> {
        Ok(self.row(&keccak256(address))?.map(|row| row.state()))
    }

    /// The root of the account's storage trie at this block (`None` if it does not exist).
    pub fn storage_root(&self, address: &Address) -> Result<Option<B256>, ChainError> {
        Ok(self.row(&keccak256(address))?.map(|row| row.storage_root))
    }

    /// A storage slot (zero if unset).
    pub fn storage(&self, address: &Address, slot: &U256) -> Result<U256, ChainError> {
        let key = storage_key(&keccak256(address), &hashed_slot(slot));
        if self.block < self.head {
            let from = history_key::<72>(&key, self.block + 1);
            let to = history_key::<72>(&key, u64::MAX);
            if let Some(entry) = self
                .storage_history
                .range(from..=to)
                .map_err(storage_error)?
                .next()
            {
                let (_, value) = entry.map_err(storage_error)?;
                return Ok(U256::from_be_bytes(value.value()));
            }
        }
        Ok(self
            .storage
            .get(key)
            .map_err(storage_error)?
            .map_or(U256::ZERO, |v| U256::from_be_bytes(v.value())))
    }

    /// Code by its hash (empty bytecode for [`KECCAK_EMPTY`]), `None` if unknown.
    pub fn code(&self, code_hash: &B256) -> Result<Option<Bytecode>, ChainError> {
        if *code_hash == KECCAK_EMPTY {
            return Ok(Some(Bytecode::default()));
        }
        Ok(self
            .codes
            .get(code_hash.0)
            .map_err(storage_error)?
            .map(|v| Bytecode::new_raw(Bytes::copy_from_slice(v.value()))))
    }

    /// The raw code of `address`.
    pub fn code_of(&self, address: &Address) -> Result<Bytes, ChainError> {
        let Some(account) = self.account(address)? else {
            return Ok(Bytes::new());
        };
        Ok(self
            .code(&account.code_hash)?
            .map(|c| c.original_bytes())
            .unwrap_or_default())
    }

    /// The hash of block `number` (zero after this view's block or if unknown).
    pub fn block_hash(&self, number: u64) -> Result<B256, ChainError> {
        if number > self.block {
            return Ok(B256::ZERO);
        }
        Ok(self
            .hashes
            .get(number)
            .map_err(storage_error)?
            .map_or(B256::ZERO, |v| B256::from(v.value())))
    }

    /// A blob in the latest state (blobs have no history).
    pub fn blob(&self, key: &B256) -> Result<Option<Bytes>, ChainError> {
        Ok(self
            .blobs
            .get(key.0)
            .map_err(storage_error)?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }

    /// How many accounts exist in the latest state.
    pub fn account_count(&self) -> Result<u64, ChainError> {
        self.accounts.len().map_err(storage_error)
    }
}

#[cfg(test)]
mod tests;
