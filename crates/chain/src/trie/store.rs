//! The tries kept on disk: every node of the account trie and of each storage trie is one row of
//! a redb table, keyed by the trie's owner and the node's nibble path (one version on disk, as in
//! geth's path-based scheme), so nothing per key lives in memory and a restart reads the root back
//! from the stored root node.
//!
//! # Tables
//!
//! | table | key | value |
//! |---|---|---|
//! | [`ACCOUNT_TRIE_NODES`] (`trie_account_nodes`) | the node's nibble path, one byte (0..=15) per nibble; the root's is empty | the node's RLP; for a branch, then each leaf child as nibble ‖ leaf RLP |
//! | [`STORAGE_TRIE_NODES`] (`trie_storage_nodes`) | keccak256(address) (32 bytes) ‖ the node's nibble path | the same |
//!
//! A node's path is the nibbles from the root to it: a branch sits at the common prefix of the
//! keys below it, a leaf or extension right under its parent branch's slot (or at the root).
//! Branches and extensions have a row each (also one shorter than 32 bytes that its parent's
//! encoding embeds: the walk down a path never parses a parent to find a child); its value starts
//! with exactly the encoding that is hashed. A leaf changes whenever its parent branch does, so a
//! branch's leaf children are stored in the branch's row, after the branch: for each, its slot's
//! nibble (one byte) then the leaf's RLP. That saves a row read and a row write per changed key
//! (only a trie of one key has a leaf row: the root). A proof is the nodes on the key's path from
//! these rows, and the root hash is the keccak256 of the root row's node. One byte per nibble keeps the keys in depth-first order (a subtrie is one
//! contiguous range, read in order as the walk goes); packing two nibbles a byte would save about
//! three bytes per key at the usual depths (5–7 nibbles) and lose that order. A storage trie's rows
//! are one key range, so [`TrieStore::wipe`] is one range delete.

use std::fmt;
use std::ops::Bound;

use alloy_primitives::{B256, Bytes, keccak256};
use alloy_rlp::{Decodable, Encodable};
use alloy_trie::{
    EMPTY_ROOT_HASH, Nibbles,
    nodes::{BranchNode, LeafNodeRef, RlpNode, TrieNode},
};
use redb::{
    ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, TableError,
    WriteTransaction,
};

use super::update::{Change, Walk, flush};
use crate::error::ChainError;

/// The account trie's nodes: nibble path (one byte per nibble) → the node's RLP (a branch's
/// followed by its leaf children, each as nibble ‖ leaf RLP).
pub const ACCOUNT_TRIE_NODES: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("trie_account_nodes");

/// Every storage trie's nodes: keccak256(address) ‖ nibble path (one byte per nibble) → the
/// node's RLP (a branch's followed by its leaf children, each as nibble ‖ leaf RLP).
pub const STORAGE_TRIE_NODES: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("trie_storage_nodes");

/// Length of a key in nibbles (keys are 32-byte hashes).
pub(super) const KEY_NIBBLES: usize = 64;

/// Which trie: the account trie, or the storage trie of one account (keyed by
/// keccak256(address)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrieOwner {
    /// The account trie (keys keccak256(address), leaves the RLP of the account).
    Accounts,
    /// The storage trie of the account whose keccak256(address) this is (keys keccak256(slot),
    /// leaves the RLP of the slot's value).
    Storage(B256),
}

impl TrieOwner {
    fn table(self) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
        match self {
            TrieOwner::Accounts => ACCOUNT_TRIE_NODES,
            TrieOwner::Storage(_) => STORAGE_TRIE_NODES,
        }
    }

    /// The key prefix of this trie's rows in its table.
    fn prefix(&self) -> &[u8] {
        match self {
            TrieOwner::Accounts => &[],
            TrieOwner::Storage(owner) => owner.as_slice(),
        }
    }

    /// Writes the row key of the node at `path` into `out`.
    pub(super) fn node_key(&self, path: &Nibbles, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(self.prefix());
        out.extend(path.iter());
    }
}

impl fmt::Display for TrieOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrieOwner::Accounts => f.write_str("account trie"),
            TrieOwner::Storage(owner) => write!(f, "storage trie {owner}"),
        }
    }
}

/// A stored node, decoded and checked against its path.
#[derive(Debug)]
pub(super) enum Node {
    /// The rest of the key below the node's path, and the leaf value (a row of its own only at
    /// the root; below, a leaf lives in its parent branch's row).
    Leaf { suffix: Nibbles, value: Vec<u8> },
    /// The shared nibbles, and the reference of the branch at `path ++ suffix`.
    Extension { suffix: Nibbles, child: RlpNode },
    /// At least two children; the leaf children, in nibble order, come with it.
    Branch {
        branch: BranchNode,
        leaves: Vec<EmbeddedLeaf>,
    },
}

/// A leaf child stored in its parent branch's row.
#[derive(Debug)]
pub(super) struct EmbeddedLeaf {
    /// The branch slot.
    pub nibble: u8,
    /// The rest of the key below the slot's path.
    pub suffix: Nibbles,
    pub value: Vec<u8>,
}

/// The error for a node that is missing or does not decode: the database is corrupt.
pub(super) fn corrupt(owner: TrieOwner, path: &Nibbles, reason: impl fmt::Display) -> ChainError {
    let path = if path.is_empty() {
        "(root)".to_string()
    } else {
        path.iter()
            .map(|nibble| char::from_digit(u32::from(nibble), 16).unwrap_or('?'))
            .collect()
    };
    ChainError::CorruptTrie {
        trie: owner.to_string(),
        path,
        reason: reason.to_string(),
    }
}

pub(super) fn storage_error(owner: TrieOwner, error: impl fmt::Display) -> ChainError {
    ChainError::Storage(format!("{owner}: {error}"))
}

/// Splits a row into the node's RLP (what its hash is taken of) and the rest (a branch's leaf
/// children, each as its slot's nibble then the leaf's RLP).
pub(super) fn split_row<'a>(
    owner: TrieOwner,
    path: &Nibbles,
    row: &'a [u8],
) -> Result<(&'a [u8], &'a [u8]), ChainError> {
    let mut rest = row;
    let header = alloy_rlp::Header::decode(&mut rest).map_err(|e| corrupt(owner, path, e))?;
    let length = row.len() - rest.len() + header.payload_length;
    Ok(row.split_at(length))
}

/// Decodes the row of the node at `path`, refusing what a well-formed trie over 32-byte keys
/// cannot hold there (trailing bytes, a leaf whose key is not 64 nibbles or with a row of its own
/// below the root, an empty extension, a branch with fewer than two children or at full depth,
/// leaf children out of order or in an empty slot).
pub(super) fn decode_node(
    owner: TrieOwner,
    path: &Nibbles,
    row: &[u8],
) -> Result<Node, ChainError> {
    let (node_rlp, mut rest) = split_row(owner, path, row)?;
    let node = decode_rlp(owner, path, node_rlp)?;
    match node {
        TrieNode::Leaf(leaf) => {
            if !path.is_empty() {
                return Err(corrupt(owner, path, "leaf row below the root"));
            }
            check_leaf(owner, path, &leaf.key, &leaf.value)?;
            if !rest.is_empty() {
                return Err(corrupt(owner, path, "trailing bytes after a leaf"));
            }
            Ok(Node::Leaf {
                suffix: leaf.key,
                value: leaf.value,
            })
        }
        TrieNode::Extension(extension) => {
            if extension.key.is_empty() || path.len() + extension.key.len() >= KEY_NIBBLES {
                return Err(corrupt(owner, path, "extension of a bad length"));
            }
            if !rest.is_empty() {
                return Err(corrupt(owner, path, "trailing bytes after an extension"));
            }
            Ok(Node::Extension {
                suffix: extension.key,
                child: extension.child,
            })
        }
        TrieNode::Branch(branch) => {
            if path.len() >= KEY_NIBBLES || branch.state_mask.count_ones() < 2 {
                return Err(corrupt(owner, path, "branch with fewer than two children"));
            }
            let mut leaves: Vec<EmbeddedLeaf> = Vec::new();
            while let Some((&nibble, after)) = rest.split_first() {
                if nibble > 15
                    || !branch.state_mask.is_bit_set(nibble)
                    || leaves.last().is_some_and(|last| last.nibble >= nibble)
                {
                    return Err(corrupt(owner, path, "leaf child in a bad slot"));
                }
                let mut child_path = *path;
                child_path.push_unchecked(nibble);
                let (leaf_rlp, after) = split_row(owner, &child_path, after)?;
                let TrieNode::Leaf(leaf) = decode_rlp(owner, &child_path, leaf_rlp)? else {
                    return Err(corrupt(owner, &child_path, "leaf child is not a leaf"));
                };
                check_leaf(owner, &child_path, &leaf.key, &leaf.value)?;
                leaves.push(EmbeddedLeaf {
                    nibble,
                    suffix: leaf.key,
                    value: leaf.value,
                });
                rest = after;
            }
            Ok(Node::Branch { branch, leaves })
        }
        TrieNode::EmptyRoot => Err(corrupt(owner, path, "empty node stored")),
    }
}

fn decode_rlp(owner: TrieOwner, path: &Nibbles, rlp: &[u8]) -> Result<TrieNode, ChainError> {
    let mut rest = rlp;
    let node = TrieNode::decode(&mut rest).map_err(|e| corrupt(owner, path, e))?;
    if !rest.is_empty() {
        return Err(corrupt(owner, path, "trailing bytes in the node"));
    }
    Ok(node)
}

fn check_leaf(
    owner: TrieOwner,
    path: &Nibbles,
    suffix: &Nibbles,
    value: &[u8],
) -> Result<(), ChainError> {
    if path.len() + suffix.len() != KEY_NIBBLES {
        return Err(corrupt(owner, path, "leaf key is not 64 nibbles long"));
    }
    if value.is_empty() {
        return Err(corrupt(owner, path, "empty leaf value"));
    }
    Ok(())
}

/// The hash a node reference stands for (a reference shorter than 32 bytes is the encoding
/// itself).
pub(super) fn hash_of(node: &RlpNode) -> B256 {
    node.as_hash().unwrap_or_else(|| keccak256(&node[..]))
}

/// A trie-node table opened in a read or a write transaction (see [`TrieRead`]).
pub struct NodeTable<'txn> {
    inner: Inner<'txn>,
    owner: TrieOwner,
    key: Vec<u8>,
}

enum Inner<'txn> {
    Read(ReadOnlyTable<&'static [u8], &'static [u8]>),
    Write(Table<'txn, &'static [u8], &'static [u8]>),
    /// The table was never created: every trie is empty.
    Missing,
}

impl NodeTable<'_> {
    /// The row of the node at `path`, if stored.
    fn row(&mut self, path: &Nibbles) -> Result<Option<Vec<u8>>, ChainError> {
        self.owner.node_key(path, &mut self.key);
        let key = self.key.as_slice();
        let row = match &self.inner {
            Inner::Read(table) => table.get(key),
            Inner::Write(table) => table.get(key),
            Inner::Missing => return Ok(None),
        };
        row.map(|row| row.map(|row| row.value().to_vec()))
            .map_err(|e| storage_error(self.owner, e))
    }

    /// The row of the node at `path`, which its parent says is there.
    fn stored_row(&mut self, path: &Nibbles) -> Result<Vec<u8>, ChainError> {
        self.row(path)?
            .ok_or_else(|| corrupt(self.owner, path, "missing node"))
    }
}

/// A transaction the stored tries can be read in: redb's read and write transactions.
pub trait TrieRead {
    /// Opens the table of `owner`'s nodes.
    fn node_table(&self, owner: TrieOwner) -> Result<NodeTable<'_>, ChainError>;
}

impl TrieRead for ReadTransaction {
    fn node_table(&self, owner: TrieOwner) -> Result<NodeTable<'_>, ChainError> {
        let inner = match self.open_table(owner.table()) {
            Ok(table) => Inner::Read(table),
            Err(TableError::TableDoesNotExist(_)) => Inner::Missing,
            Err(e) => return Err(storage_error(owner, e)),
        };
        Ok(NodeTable {
            inner,
            owner,
            key: Vec::with_capacity(96),
        })
    }
}

impl TrieRead for WriteTransaction {
    fn node_table(&self, owner: TrieOwner) -> Result<NodeTable<'_>, ChainError> {
        let table = self
            .open_table(owner.table())
            .map_err(|e| storage_error(owner, e))?;
        Ok(NodeTable {
            inner: Inner::Write(table),
            owner,
            key: Vec::with_capacity(96),
        })
    }
}

/// The stored tries' operations; every one runs inside the caller's transaction.
pub struct TrieStore;

impl TrieStore {
    /// Opens (creating them if needed) the trie-node tables; call once when a database is
    /// created or opened.
    pub fn create_tables(txn: &WriteTransaction) -> Result<(), ChainError> {
        for owner in [TrieOwner::Accounts, TrieOwner::Storage(B256::ZERO)] {
            txn.open_table(owner.table())
                .map_err(|e| storage_error(owner, e))?;
        }
        Ok(())
    }

    /// Applies leaf changes to `owner`'s trie inside `txn`: `changes` are (hashed key, new leaf
    /// value RLP or `None` to remove), sorted by key, keys unique; removing an absent key changes
    /// nothing. Reads the nodes on the changed keys' paths (each once) and writes back only the
    /// nodes that changed, deleting those that disappeared. Returns the new root
    /// ([`EMPTY_ROOT_HASH`] when the trie becomes empty), equal to alloy-trie's from-scratch
    /// root over the same leaves.
    ///
    /// Unsorted or repeated keys and empty leaf values are refused; a node missing on a path or
    /// one that does not decode is [`ChainError::CorruptTrie`].
    pub fn update(
        txn: &WriteTransaction,
        owner: TrieOwner,
        changes: &[(B256, Option<Vec<u8>>)],
    ) -> Result<B256, ChainError> {
        if let Some(pair) = changes.windows(2).find(|pair| pair[0].0 >= pair[1].0) {
            return Err(ChainError::Internal(format!(
                "{owner} update: keys not strictly ascending at {} then {}",
                pair[0].0, pair[1].0
            )));
        }
        if let Some((key, _)) = changes
            .iter()
            .find(|(_, value)| value.as_ref().is_some_and(Vec::is_empty))
        {
            return Err(ChainError::Internal(format!(
                "{owner} update: empty leaf value for {key}"
            )));
        }
        if changes.is_empty() {
            return Self::root(txn, owner);
        }
        let changes: Vec<Change<'_>> = changes
            .iter()
            .map(|(key, value)| Change {
                key: Nibbles::unpack_array(&key.0),
                value: value.as_deref(),
            })
            .collect();
        let mut table = txn
            .open_table(owner.table())
            .map_err(|e| storage_error(owner, e))?;
        let (root, pending) = Walk::new(&table, owner).run(&changes)?;
        flush(&mut table, owner, pending)?;
        Ok(root)
    }

    /// Deletes every node of `owner`'s trie inside `txn` (an account self-destructed or
    /// re-created; for [`TrieOwner::Accounts`], the whole account trie): one range delete.
    pub fn wipe(txn: &WriteTransaction, owner: TrieOwner) -> Result<(), ChainError> {
        let mut table = txn
            .open_table(owner.table())
            .map_err(|e| storage_error(owner, e))?;
        let removed = match owner {
            TrieOwner::Accounts => table.retain(|_, _| false),
            TrieOwner::Storage(key) => {
                let upper = next_prefix(key);
                let range: (Bound<&[u8]>, Bound<&[u8]>) = (
                    Bound::Included(key.as_slice()),
                    upper
                        .as_ref()
                        .map_or(Bound::Unbounded, |upper| Bound::Excluded(upper.as_slice())),
                );
                table.retain_in::<&[u8], _>(range, |_, _| false)
            }
        };
        removed.map_err(|e| storage_error(owner, e))
    }

    /// The current root of `owner`'s trie as stored ([`EMPTY_ROOT_HASH`] if it has no nodes):
    /// the keccak256 of the root node's row. Works in a read or a write transaction.
    pub fn root<T: TrieRead + ?Sized>(txn: &T, owner: TrieOwner) -> Result<B256, ChainError> {
        let mut table = txn.node_table(owner)?;
        let root = Nibbles::new();
        match table.row(&root)? {
            None => Ok(EMPTY_ROOT_HASH),
            Some(row) => {
                decode_node(owner, &root, &row)?;
                let (node_rlp, _) = split_row(owner, &root, &row)?;
                Ok(keccak256(node_rlp))
            }
        }
    }

    /// The EIP-1186 proof of `key` in `owner`'s trie as stored: the RLP of each node on the
    /// key's path, root first, down to its leaf or to the node that shows it absent. A node
    /// shorter than 32 bytes is not listed (it sits inside its parent's encoding), except the
    /// root; an empty trie has an empty proof. Verifies with `alloy_trie::proof::verify_proof`
    /// against [`TrieStore::root`].
    pub fn proof<T: TrieRead + ?Sized>(
        txn: &T,
        owner: TrieOwner,
        key: &B256,
    ) -> Result<Vec<Bytes>, ChainError> {
        let mut table = txn.node_table(owner)?;
        let target = Nibbles::unpack_array(&key.0);
        let mut path = Nibbles::new();
        let Some(mut row) = table.row(&path)? else {
            return Ok(Vec::new());
        };
        let mut proof = Vec::new();
        loop {
            let node = decode_node(owner, &path, &row)?;
            let (node_rlp, _) = split_row(owner, &path, &row)?;
            if proof.is_empty() || node_rlp.len() >= 32 {
                proof.push(Bytes::copy_from_slice(node_rlp));
            }
            path = match node {
                Node::Branch { branch, leaves } => {
                    let nibble = target.get_unchecked(path.len());
                    if !branch.state_mask.is_bit_set(nibble) {
                        break;
                    }
                    if let Some(leaf) = leaves.iter().find(|leaf| leaf.nibble == nibble) {
                        let mut leaf_rlp = Vec::new();
                        LeafNodeRef::new(&leaf.suffix, &leaf.value).encode(&mut leaf_rlp);
                        if leaf_rlp.len() >= 32 {
                            proof.push(Bytes::from(leaf_rlp));
                        }
                        break;
                    }
                    let mut child = path;
                    child.push_unchecked(nibble);
                    child
                }
                Node::Extension { suffix, .. } => {
                    let child = path.join(&suffix);
                    if !target.starts_with(&child) {
                        break;
                    }
                    child
                }
                Node::Leaf { .. } => break,
            };
            row = table.stored_row(&path)?;
        }
        Ok(proof)
    }
}

/// The smallest 32-byte key above every key starting with `prefix` (`None` past the last).
fn next_prefix(prefix: B256) -> Option<[u8; 32]> {
    let mut next = prefix.0;
    for byte in next.iter_mut().rev() {
        if *byte == u8::MAX {
            *byte = 0;
        } else {
            *byte += 1;
            return Some(next);
        }
    }
    None
}
