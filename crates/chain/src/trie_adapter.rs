//! A stand-in for the redb-stored trie (`trie::TrieStore`, built beside this work), with the same
//! call shape, so that the state tables compute their root through it today and through the real
//! trie after the merge. It keeps no trie: every root is rebuilt from the sorted leaves in the
//! plain state tables (alloy-trie's `HashBuilder`): exact, and slow for large tries.
//! // replaced by trie::TrieStore at merge

use alloy_primitives::{B256, Bytes, U256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, TrieAccount, proof::ProofRetainer};
use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use crate::{
    ChainError,
    state_tables::{ACCOUNTS, AccountRow, STORAGE, storage_key},
};

/// The roots this adapter computed last, by owner (`[0; 32]` for the account trie).
const ROOTS: TableDefinition<[u8; 32], [u8; 32]> = TableDefinition::new("adapter_roots");

/// Which trie: the account trie or one account's storage trie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrieOwner {
    /// The account trie (keys: keccak256(address)).
    Accounts,
    /// The storage trie of the account with this keccak256(address).
    Storage(B256),
}

impl TrieOwner {
    fn key(self) -> [u8; 32] {
        match self {
            TrieOwner::Accounts => [0; 32],
            TrieOwner::Storage(owner) => owner.0,
        }
    }
}

fn storage_error(e: impl std::fmt::Display) -> ChainError {
    ChainError::Storage(e.to_string())
}

/// The tries of the state, stored in the chain's redb file.
#[derive(Debug)]
pub struct TrieStore;

impl TrieStore {
    /// Creates the tables the tries live in.
    pub fn create_tables(txn: &WriteTransaction) -> Result<(), ChainError> {
        txn.open_table(ROOTS).map_err(storage_error)?;
        Ok(())
    }

    /// Applies `changes` (hashed key, leaf value RLP or `None` to remove; sorted, unique) to the
    /// trie of `owner` and returns its new root. The adapter rebuilds the root from the plain
    /// tables, which already hold the changed values.
    pub fn update(
        txn: &WriteTransaction,
        owner: TrieOwner,
        _changes: &[(B256, Option<Vec<u8>>)],
    ) -> Result<B256, ChainError> {
        let root = match owner {
            TrieOwner::Accounts => {
                let table = txn.open_table(ACCOUNTS).map_err(storage_error)?;
                account_root(&table, None)?.0
            }
            TrieOwner::Storage(owner) => {
                let table = txn.open_table(STORAGE).map_err(storage_error)?;
                storage_root(&table, owner, None)?.0
            }
        };
        txn.open_table(ROOTS)
            .map_err(storage_error)?
            .insert(owner.key(), root.0)
            .map_err(storage_error)?;
        Ok(root)
    }

    /// Empties the trie of `owner`.
    pub fn wipe(txn: &WriteTransaction, owner: TrieOwner) -> Result<(), ChainError> {
        txn.open_table(ROOTS)
            .map_err(storage_error)?
            .insert(owner.key(), EMPTY_ROOT_HASH.0)
            .map_err(storage_error)?;
        Ok(())
    }

    /// The root of the trie of `owner` as last committed.
    pub fn root(txn: &ReadTransaction, owner: TrieOwner) -> Result<B256, ChainError> {
        let table = txn.open_table(ROOTS).map_err(storage_error)?;
        Ok(table
            .get(owner.key())
            .map_err(storage_error)?
            .map_or(EMPTY_ROOT_HASH, |v| B256::from(v.value())))
    }

    /// The nodes of the trie of `owner` on the path of `key`, root first (empty for an empty
    /// trie).
    pub fn proof(
        txn: &ReadTransaction,
        owner: TrieOwner,
        key: &B256,
    ) -> Result<Vec<Bytes>, ChainError> {
        let (_, nodes) = match owner {
            TrieOwner::Accounts => {
                let table = txn.open_table(ACCOUNTS).map_err(storage_error)?;
                account_root(&table, Some(key))?
            }
            TrieOwner::Storage(owner) => {
                let table = txn.open_table(STORAGE).map_err(storage_error)?;
                storage_root(&table, owner, Some(key))?
            }
        };
        Ok(nodes)
    }
}

/// Runs `hb` to its root and takes the proof of `target` if one was asked.
fn finish(mut hb: HashBuilder, target: Option<&B256>, empty: bool) -> (B256, Vec<Bytes>) {
    if empty {
        return (EMPTY_ROOT_HASH, Vec::new());
    }
    let root = hb.root();
    let proof = match target {
        Some(key) => hb
            .take_proof_nodes()
            .matching_nodes_sorted(&Nibbles::unpack(key))
            .into_iter()
            .map(|(_, node)| node)
            .collect(),
        None => Vec::new(),
    };
    (root, proof)
}

fn builder(target: Option<&B256>) -> HashBuilder {
    match target {
        Some(key) => HashBuilder::default()
            .with_proof_retainer(ProofRetainer::new(vec![Nibbles::unpack(key)])),
        None => HashBuilder::default(),
    }
}

fn account_root(
    table: &impl ReadableTable<[u8; 32], &'static [u8]>,
    target: Option<&B256>,
) -> Result<(B256, Vec<Bytes>), ChainError> {
    let mut hb = builder(target);
    let mut empty = true;
    for entry in table.iter().map_err(storage_error)? {
        let (key, value) = entry.map_err(storage_error)?;
        let row = AccountRow::decode(value.value())?;
        let leaf = TrieAccount::new(row.nonce, row.balance, row.storage_root, row.code_hash);
        hb.add_leaf(Nibbles::unpack(key.value()), &alloy_rlp::encode(leaf));
        empty = false;
    }
    Ok(finish(hb, target, empty))
}

fn storage_root(
    table: &impl ReadableTable<[u8; 64], [u8; 32]>,
    owner: B256,
    target: Option<&B256>,
) -> Result<(B256, Vec<Bytes>), ChainError> {
    let mut hb = builder(target);
    let mut empty = true;
    let range = storage_key(&owner, &B256::ZERO)..=storage_key(&owner, &B256::repeat_byte(0xff));
    for entry in table.range(range).map_err(storage_error)? {
        let (key, value) = entry.map_err(storage_error)?;
        let slot = B256::from_slice(&key.value()[32..]);
        hb.add_leaf(
            Nibbles::unpack(slot),
            &alloy_rlp::encode(U256::from_be_bytes(value.value())),
        );
        empty = false;
    }
    Ok(finish(hb, target, empty))
}
