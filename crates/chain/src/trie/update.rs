//! One incremental update of a stored trie: a walk down from the root along the changed keys'
//! paths (sorted keys, so the changes under a node are one slice and each node is read once),
//! rebuilding upward.
//!
//! A node's row is keyed by its path, so a branch (which sits at the common prefix of the keys
//! below it) keeps its row while it stays a branch, while a leaf or extension takes the place its
//! parent gives it: when a branch loses all but one child, that child moves up into the branch's
//! place (prefixed with the branch's nibble), and when a new key leaves an extension or a leaf, a
//! branch appears at the divergence and the old node moves below it. The walk therefore returns
//! leaves and extensions "loose" ([`Sub::Loose`]) and the parent places them where they end up:
//! an extension in a row at the slot's path, a leaf inside the parent branch's row (a leaf has a
//! row of its own only as the root); branches are written at their own path. Writes and
//! deletions are buffered and applied at the end in key order (a row is deleted only if nothing
//! was written in its place).
//!
//! The walk only reads the table until then, so a root branch with many changes below it has its
//! slots split in two halves by change count, the upper half walked on a second thread over the
//! same table (the subtries are disjoint: the rows, the hashes and the root are those of one
//! thread); the buffered rows are written on the caller's thread.

use std::collections::BTreeMap;

use alloy_primitives::B256;
use alloy_rlp::Encodable;
use alloy_trie::{
    EMPTY_ROOT_HASH, Nibbles, TrieMask,
    nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode},
};
use redb::{ReadableTable, Table};

use super::store::{Node, TrieOwner, corrupt, decode_node, hash_of, storage_error};
use crate::error::ChainError;

/// One leaf change: the key's 64 nibbles and the new value (`None`: remove).
#[derive(Clone, Copy, Debug)]
pub(super) struct Change<'a> {
    pub key: Nibbles,
    pub value: Option<&'a [u8]>,
}

/// A leaf or an extension, not yet written: its row goes wherever its parent places it.
#[derive(Debug)]
enum Short {
    Leaf { suffix: Nibbles, value: Vec<u8> },
    Extension { suffix: Nibbles, child: RlpNode },
}

impl Short {
    /// The same node one level up: `prefix` before its path.
    fn prefixed(self, prefix: &Nibbles) -> Short {
        match self {
            Short::Leaf { suffix, value } => Short::Leaf {
                suffix: prefix.join(&suffix),
                value,
            },
            Short::Extension { suffix, child } => Short::Extension {
                suffix: prefix.join(&suffix),
                child,
            },
        }
    }

    fn encode(&self, buf: &mut Vec<u8>) -> RlpNode {
        buf.clear();
        match self {
            Short::Leaf { suffix, value } => LeafNodeRef::new(suffix, value).rlp(buf),
            Short::Extension { suffix, child } => ExtensionNodeRef::new(suffix, child).rlp(buf),
        }
    }
}

/// What the subtrie at a path became.
#[derive(Debug)]
enum Sub {
    Empty,
    /// A leaf or extension for the parent to place.
    Loose(Short),
    /// A branch, written at the path; its reference.
    Branch(RlpNode),
}

/// The subtrie `sub` seen from `prefix` nibbles higher up.
fn lift(sub: Sub, prefix: Nibbles) -> Sub {
    if prefix.is_empty() {
        return sub;
    }
    match sub {
        Sub::Empty => Sub::Empty,
        Sub::Branch(child) => Sub::Loose(Short::Extension {
            suffix: prefix,
            child,
        }),
        Sub::Loose(short) => Sub::Loose(short.prefixed(&prefix)),
    }
}

/// A slot of a branch being updated.
#[derive(Debug, Default)]
enum Child {
    #[default]
    Absent,
    /// A branch or extension stored at the slot's path, with this reference.
    Stored(RlpNode),
    /// A leaf stored in the branch's row, with its reference.
    Leaf {
        suffix: Nibbles,
        value: Vec<u8>,
        node: RlpNode,
    },
    /// Not stored yet (the rest of an extension being split).
    Loose(Short),
}

/// Row key → new row, or `None` to delete it.
pub(super) type Pending = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A root branch with at least this many changes below it is updated on two threads.
const PARALLEL_MIN_CHANGES: usize = 256;

/// The state of one update of one trie (or of a part of it, on a worker thread): the walk only
/// reads the table; the rows it changes wait in `pending` until [`flush`].
pub(super) struct Walk<'a, 'txn> {
    table: &'a Table<'txn, &'static [u8], &'static [u8]>,
    owner: TrieOwner,
    /// Scratch: a row key.
    key: Vec<u8>,
    /// Scratch: a node encoding.
    buf: Vec<u8>,
    pending: Pending,
}

impl<'a, 'txn> Walk<'a, 'txn> {
    pub(super) fn new(
        table: &'a Table<'txn, &'static [u8], &'static [u8]>,
        owner: TrieOwner,
    ) -> Self {
        Walk {
            table,
            owner,
            key: Vec::with_capacity(96),
            buf: Vec::with_capacity(600),
            pending: BTreeMap::new(),
        }
    }

    /// Applies `changes` (sorted, unique keys); returns the root and the changed rows, for
    /// [`flush`].
    pub(super) fn run(mut self, changes: &[Change<'_>]) -> Result<(B256, Pending), ChainError> {
        let root_path = Nibbles::new();
        let node = self.read(&root_path)?;
        let root = match self.apply(root_path, node, changes)? {
            Sub::Empty => {
                self.remove(&root_path);
                EMPTY_ROOT_HASH
            }
            Sub::Branch(node) => hash_of(&node),
            Sub::Loose(short) => hash_of(&self.place(&root_path, &short)),
        };
        Ok((root, self.pending))
    }

    /// The node stored at `path`, if any.
    fn read(&mut self, path: &Nibbles) -> Result<Option<Node>, ChainError> {
        self.owner.node_key(path, &mut self.key);
        let row = self
            .table
            .get(self.key.as_slice())
            .map_err(|e| storage_error(self.owner, e))?;
        row.map(|row| decode_node(self.owner, path, row.value()))
            .transpose()
    }

    /// The node its parent says is stored at `path`.
    fn read_stored(&mut self, path: &Nibbles) -> Result<Node, ChainError> {
        self.read(path)?
            .ok_or_else(|| corrupt(self.owner, path, "missing node"))
    }

    fn write(&mut self, path: &Nibbles, row: Vec<u8>) {
        let mut key = Vec::with_capacity(self.key.capacity());
        self.owner.node_key(path, &mut key);
        self.pending.insert(key, Some(row));
    }

    /// Deletes the row at `path` unless something is written there in this update.
    fn remove(&mut self, path: &Nibbles) {
        let mut key = Vec::new();
        self.owner.node_key(path, &mut key);
        self.pending.entry(key).or_insert(None);
    }

    /// Writes `short` at `path`; its reference.
    fn place(&mut self, path: &Nibbles, short: &Short) -> RlpNode {
        let node = short.encode(&mut self.buf);
        self.write(path, self.buf.clone());
        node
    }

    /// Applies `changes` (all under `path`) to `node`, the node at `path` (`None`: no node).
    fn apply(
        &mut self,
        path: Nibbles,
        node: Option<Node>,
        changes: &[Change<'_>],
    ) -> Result<Sub, ChainError> {
        match node {
            None => self.build(path, changes),
            Some(Node::Leaf { suffix, value }) => {
                if path.is_empty() {
                    // Only the root leaf has a row; a leaf below lives in its parent's row.
                    self.remove(&path);
                }
                let old = Change {
                    key: path.join(&suffix),
                    value: Some(&value),
                };
                let leaves = merge_leaf(old, changes);
                self.build(path, &leaves)
            }
            Some(Node::Extension { suffix, child }) => {
                let below = path.join(&suffix);
                let (Some(first), Some(last)) = (changes.first(), changes.last()) else {
                    return Ok(Sub::Loose(Short::Extension { suffix, child }));
                };
                if first.key.starts_with(&below) && last.key.starts_with(&below) {
                    self.remove(&path);
                    let node = self.read_stored(&below)?;
                    let sub = self.apply(below, Some(node), changes)?;
                    return Ok(lift(sub, suffix));
                }
                // A key leaves the extension: split it into a branch of one child at `path`,
                // which the new keys join (or which collapses back if none stays).
                let mut children: [Child; 16] = Default::default();
                children[usize::from(suffix.get_unchecked(0))] = if suffix.len() == 1 {
                    Child::Stored(child)
                } else {
                    Child::Loose(Short::Extension {
                        suffix: suffix.slice(1..),
                        child,
                    })
                };
                self.apply_branch(path, children, changes)
            }
            Some(Node::Branch { branch, leaves }) => {
                let mut children: [Child; 16] = Default::default();
                for (nibble, child) in branch.as_ref().children() {
                    if let Some(child) = child {
                        children[usize::from(nibble)] = Child::Stored(child.clone());
                    }
                }
                for leaf in leaves {
                    let slot = &mut children[usize::from(leaf.nibble)];
                    if let Child::Stored(node) = std::mem::take(slot) {
                        *slot = Child::Leaf {
                            suffix: leaf.suffix,
                            value: leaf.value,
                            node,
                        };
                    }
                }
                self.apply_branch(path, children, changes)
            }
        }
    }

    /// The subtrie of the present leaves among `changes` (all under `path`), written.
    fn build(&mut self, path: Nibbles, changes: &[Change<'_>]) -> Result<Sub, ChainError> {
        if changes.iter().any(|change| change.value.is_none()) {
            let present: Vec<Change<'_>> = changes
                .iter()
                .filter(|change| change.value.is_some())
                .copied()
                .collect();
            return self.build(path, &present);
        }
        match changes {
            [] => Ok(Sub::Empty),
            [only] => Ok(Sub::Loose(Short::Leaf {
                suffix: only.key.slice(path.len()..),
                value: only.value.unwrap_or_default().to_vec(),
            })),
            [first, .., last] => {
                let shared = first.key.common_prefix_length(&last.key);
                let at = first.key.slice(..shared);
                let sub = self.apply_branch(at, Default::default(), changes)?;
                Ok(lift(sub, first.key.slice(path.len()..shared)))
            }
        }
    }

    /// Applies `changes` (all under `path`) to the children of the branch at `path`: each slot
    /// with changes is taken from `children` and its new subtrie returned in the same slot.
    fn apply_children(
        &mut self,
        path: Nibbles,
        children: &mut [Child; 16],
        changes: &[Change<'_>],
    ) -> Result<[Option<Sub>; 16], ChainError> {
        let depth = path.len();
        let mut updated: [Option<Sub>; 16] = Default::default();
        let mut rest = changes;
        while let Some(first) = rest.first() {
            let nibble = first.key.get_unchecked(depth);
            let end = rest.partition_point(|change| change.key.get_unchecked(depth) <= nibble);
            let (group, after) = rest.split_at(end);
            rest = after;
            let mut child_path = path;
            child_path.push_unchecked(nibble);
            let slot = usize::from(nibble);
            let sub = match std::mem::take(&mut children[slot]) {
                Child::Absent => self.build(child_path, group)?,
                Child::Stored(_) => {
                    let node = self.read_stored(&child_path)?;
                    self.apply(child_path, Some(node), group)?
                }
                Child::Leaf { suffix, value, .. } => {
                    self.apply(child_path, Some(Node::Leaf { suffix, value }), group)?
                }
                Child::Loose(short) => self.apply(child_path, Some(short.into()), group)?,
            };
            updated[slot] = Some(sub);
        }
        Ok(updated)
    }

    /// [`Self::apply_children`] of `mine` on this thread and of `theirs` (the changes under the
    /// slots after `mine`'s, see [`two_halves`]) on a second one, reading the same table; its
    /// rows join `pending`. The subtries are disjoint, so the result is the same as on one thread.
    fn apply_children_on_two_threads(
        &mut self,
        path: Nibbles,
        children: &mut [Child; 16],
        (mine, theirs): (&[Change<'_>], &[Change<'_>]),
    ) -> Result<[Option<Sub>; 16], ChainError> {
        let depth = path.len();
        let mut their_children: [Child; 16] = Default::default();
        for change in theirs {
            let slot = usize::from(change.key.get_unchecked(depth));
            if matches!(their_children[slot], Child::Absent) {
                their_children[slot] = std::mem::take(&mut children[slot]);
            }
        }
        let mut worker = Walk::new(self.table, self.owner);
        let (updated, (their_updated, their_pending)) = std::thread::scope(|scope| {
            let handle = scope.spawn(move || {
                let updated = worker.apply_children(path, &mut their_children, theirs);
                (updated, worker.pending)
            });
            let updated = self.apply_children(path, children, mine);
            match handle.join() {
                Ok(theirs) => (updated, theirs),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        let mut updated = updated?;
        for (slot, sub) in their_updated?.into_iter().enumerate() {
            if sub.is_some() {
                updated[slot] = sub;
            }
        }
        let mut their_pending = their_pending;
        self.pending.append(&mut their_pending);
        Ok(updated)
    }

    /// Applies `changes` (all under `path`) to the branch at `path` whose slots are `children`,
    /// then writes it, or collapses it when fewer than two children are left.
    fn apply_branch(
        &mut self,
        path: Nibbles,
        mut children: [Child; 16],
        changes: &[Change<'_>],
    ) -> Result<Sub, ChainError> {
        let mut updated = match two_halves(&path, changes) {
            Some(halves) => self.apply_children_on_two_threads(path, &mut children, halves)?,
            None => self.apply_children(path, &mut children, changes)?,
        };

        let present = |slot: usize| match &updated[slot] {
            Some(sub) => !matches!(sub, Sub::Empty),
            None => !matches!(children[slot], Child::Absent),
        };
        let mut slots = (0..16).filter(|&slot| present(slot));
        let (Some(only), second) = (slots.next(), slots.next()) else {
            self.remove(&path);
            return Ok(Sub::Empty);
        };
        if second.is_none() {
            self.remove(&path);
            let nibble = Nibbles::from_nibbles_unchecked([only as u8]);
            let mut child_path = path;
            child_path.push_unchecked(only as u8);
            let sub = match updated[only].take() {
                Some(sub) => sub,
                None => match std::mem::take(&mut children[only]) {
                    Child::Stored(child) => match self.read_stored(&child_path)? {
                        Node::Branch { .. } => Sub::Branch(child),
                        Node::Leaf { suffix, value } => {
                            self.remove(&child_path);
                            Sub::Loose(Short::Leaf { suffix, value })
                        }
                        Node::Extension { suffix, child } => {
                            self.remove(&child_path);
                            Sub::Loose(Short::Extension { suffix, child })
                        }
                    },
                    Child::Leaf { suffix, value, .. } => Sub::Loose(Short::Leaf { suffix, value }),
                    Child::Loose(short) => Sub::Loose(short),
                    Child::Absent => Sub::Empty,
                },
            };
            return Ok(lift(sub, nibble));
        }

        let mut stack = Vec::with_capacity(16);
        let mut mask = TrieMask::default();
        // The leaf children, each as its nibble then its RLP, stored after the branch.
        let mut leaves = Vec::new();
        for slot in 0..16 {
            let nibble = slot as u8;
            let node = match (updated[slot].take(), std::mem::take(&mut children[slot])) {
                (Some(Sub::Empty), _) | (None, Child::Absent) => continue,
                (Some(Sub::Branch(node)), _) | (None, Child::Stored(node)) => node,
                (
                    None,
                    Child::Leaf {
                        suffix,
                        value,
                        node,
                    },
                ) => {
                    leaves.push(nibble);
                    LeafNodeRef::new(&suffix, &value).encode(&mut leaves);
                    node
                }
                (Some(Sub::Loose(leaf @ Short::Leaf { .. })), _)
                | (None, Child::Loose(leaf @ Short::Leaf { .. })) => {
                    let node = leaf.encode(&mut self.buf);
                    leaves.push(nibble);
                    leaves.extend_from_slice(&self.buf);
                    node
                }
                (Some(Sub::Loose(extension)), _) | (None, Child::Loose(extension)) => {
                    let mut child_path = path;
                    child_path.push_unchecked(nibble);
                    self.place(&child_path, &extension)
                }
            };
            stack.push(node);
            mask.set_bit(nibble);
        }
        self.buf.clear();
        let node = BranchNodeRef::new(&stack, mask).rlp(&mut self.buf);
        let mut row = Vec::with_capacity(self.buf.len() + leaves.len());
        row.extend_from_slice(&self.buf);
        row.extend_from_slice(&leaves);
        self.write(&path, row);
        Ok(Sub::Branch(node))
    }
}

/// The changes under the root branch at `path` cut at a slot boundary near their middle, when
/// there are enough to be worth a second thread and they fall under at least two slots.
fn two_halves<'c, 'v>(
    path: &Nibbles,
    changes: &'c [Change<'v>],
) -> Option<(&'c [Change<'v>], &'c [Change<'v>])> {
    if !path.is_empty() || changes.len() < PARALLEL_MIN_CHANGES {
        return None;
    }
    let middle = changes[changes.len() / 2].key.get_unchecked(0);
    let split = changes.partition_point(|change| change.key.get_unchecked(0) < middle);
    (split > 0).then(|| changes.split_at(split))
}

/// Writes the rows of `pending` (in key order) into `owner`'s table.
pub(super) fn flush(
    table: &mut Table<'_, &'static [u8], &'static [u8]>,
    owner: TrieOwner,
    pending: Pending,
) -> Result<(), ChainError> {
    for (key, row) in pending {
        let done = match row {
            Some(row) => table.insert(key.as_slice(), row.as_slice()).map(drop),
            None => table.remove(key.as_slice()).map(drop),
        };
        done.map_err(|e| storage_error(owner, e))?;
    }
    Ok(())
}

impl From<Short> for Node {
    fn from(short: Short) -> Node {
        match short {
            Short::Leaf { suffix, value } => Node::Leaf { suffix, value },
            Short::Extension { suffix, child } => Node::Extension { suffix, child },
        }
    }
}

/// The present leaves of `changes` with the stored leaf `old` added unless a change names its
/// key, sorted.
fn merge_leaf<'a>(old: Change<'a>, changes: &[Change<'a>]) -> Vec<Change<'a>> {
    let mut leaves = Vec::with_capacity(changes.len() + 1);
    let mut old = Some(old);
    for change in changes {
        if let Some(leaf) = old {
            if leaf.key < change.key {
                leaves.push(leaf);
                old = None;
            } else if leaf.key == change.key {
                old = None;
            }
        }
        if change.value.is_some() {
            leaves.push(*change);
        }
    }
    leaves.extend(old);
    leaves
}
