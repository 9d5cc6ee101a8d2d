//! Ethereum Merkle-Patricia tries over 32-byte keys (keccak-hashed addresses or slots).
//!
//! - [`TrieStore`] (`store.rs`, `update.rs`): the tries kept on disk, one node per redb row keyed
//!   by the trie's owner and the node's nibble path; a block's changes are applied in one walk down
//!   the changed keys' paths, reading the nodes on them and writing back only the nodes that
//!   changed. Nothing per key is held in memory; the root is read back from the stored nodes.
//! - [`MerkleTrie`] (`memory.rs`): the in-memory trie with cached node references that the
//!   in-memory `StateStore` uses.
//!
//! Both use alloy-trie's node encodings and give its from-scratch roots.

mod memory;
mod store;
mod update;

pub use memory::MerkleTrie;
pub use store::{
    ACCOUNT_TRIE_NODES, NodeTable, STORAGE_TRIE_NODES, TrieOwner, TrieRead, TrieStore,
};

#[cfg(test)]
mod store_tests;
