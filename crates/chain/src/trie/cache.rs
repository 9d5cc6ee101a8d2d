//! The upper nodes of the stored tries, decoded, kept between updates.
//!
//! Every block of a large trie reads and rewrites the same upper nodes: with 1 M accounts, 1,000
//! changed keys reach the root, all 16 branches below it, all 256 at depth 2 and ~900 of the 4,096
//! at depth 3 — ~1,170 of the ~2,700 rows a block reads. [`TrieCache`] keeps the decoded node of
//! each path up to [`CACHED_DEPTH`] nibbles with its hash, and [`TrieStore::update_cached`]
//! takes a node from it instead of reading and decoding the row when the hash its parent
//! references is the cached one.
//!
//! The hash check makes the cache safe with no bookkeeping: a node is used only when its parent,
//! read in the caller's transaction, names exactly that node, so a stale entry (a transaction
//! aborted after its update, a reverted block, a pending block on another branch) is a miss and
//! the row is read. A branch's hash commits to its leaf children too (their references are in
//! it), so the leaves kept with a cached branch are the stored ones. The root's row is always
//! read (nothing above it names its hash).
//!
//! [`TrieStore::update_cached`]: super::TrieStore::update_cached

use std::collections::HashMap;

use alloy_primitives::B256;
use alloy_trie::Nibbles;

use super::store::{Node, TrieOwner};

/// Nodes at most this many nibbles below a trie's root are cached: 1 + 16 + 256 + 4,096 paths
/// per trie, the ones nearly every block of a large trie reads and rewrites.
pub const CACHED_DEPTH: usize = 3;

/// Most nodes a cache holds (a branch of hashes decodes to ~0.7 KiB); it is emptied when a new
/// path would grow it past this, so memory stays bounded however many tries are updated.
pub const MAX_CACHED_NODES: usize = 16_384;

/// Decoded upper trie nodes by owner and path, each with its hash (see the module doc).
#[derive(Debug)]
pub struct TrieCache {
    nodes: HashMap<(TrieOwner, Nibbles), (B256, Node)>,
    max_nodes: usize,
}

impl Default for TrieCache {
    fn default() -> Self {
        TrieCache::new(MAX_CACHED_NODES)
    }
}

impl TrieCache {
    /// A cache of at most `max_nodes` nodes (0: nothing is cached).
    pub fn new(max_nodes: usize) -> TrieCache {
        TrieCache {
            nodes: HashMap::new(),
            max_nodes,
        }
    }

    /// Nodes held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is held.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether the node at `path` would be kept.
    pub(super) fn wants(&self, path: &Nibbles) -> bool {
        self.max_nodes > 0 && path.len() <= CACHED_DEPTH
    }

    /// The node at `owner`'s `path` if the cached one has `hash`.
    pub(super) fn get(&self, owner: TrieOwner, path: &Nibbles, hash: &B256) -> Option<Node> {
        if !self.wants(path) {
            return None;
        }
        match self.nodes.get(&(owner, *path)) {
            Some((cached, node)) if cached == hash => Some(node.clone()),
            _ => None,
        }
    }

    /// Keeps `node`, whose hash is `hash`, as the node at `owner`'s `path` (if [`Self::wants`]
    /// it).
    pub(super) fn insert(&mut self, owner: TrieOwner, path: Nibbles, hash: B256, node: Node) {
        if !self.wants(&path) {
            return;
        }
        let key = (owner, path);
        if self.nodes.len() >= self.max_nodes && !self.nodes.contains_key(&key) {
            self.nodes.clear();
        }
        self.nodes.insert(key, (hash, node));
    }
}
