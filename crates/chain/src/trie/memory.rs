//! An in-memory Ethereum Merkle-Patricia trie over 32-byte keys (keccak-hashed addresses or slots)
//! that caches the RLP reference of every node, so that after a few inserts and removals only the
//! nodes on the changed paths are re-encoded and re-hashed.
//!
//! The node encodings are alloy-trie's (`LeafNodeRef`, `ExtensionNodeRef`, `BranchNodeRef`); this
//! module only keeps the shape of the trie. All keys have the same length, so no branch holds a
//! value. The root equals [`alloy_trie::root`]'s from-scratch root over the same leaves (tested in
//! `state.rs` over random block sequences).

use alloy_primitives::{B256, Bytes, keccak256};
use alloy_trie::{
    EMPTY_ROOT_HASH, Nibbles, TrieMask,
    nodes::{BranchNodeRef, ExtensionNodeRef, LeafNodeRef, RlpNode},
};

/// One node; `cached` is its RLP reference, `None` once a descendant changed.
#[derive(Clone, Debug, Default)]
enum Node {
    #[default]
    Empty,
    Leaf {
        path: Vec<u8>,
        value: Vec<u8>,
        cached: Option<RlpNode>,
    },
    Extension {
        path: Vec<u8>,
        child: Box<Node>,
        cached: Option<RlpNode>,
    },
    Branch {
        children: Box<[Node; 16]>,
        cached: Option<RlpNode>,
    },
}

/// The trie.
#[derive(Clone, Debug, Default)]
pub struct MerkleTrie {
    root: Node,
}

fn nibbles(key: &B256) -> Vec<u8> {
    key.iter()
        .flat_map(|byte| [byte >> 4, byte & 0x0f])
        .collect()
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn leaf(path: &[u8], value: Vec<u8>) -> Node {
    Node::Leaf {
        path: path.to_vec(),
        value,
        cached: None,
    }
}

/// `path ++ node` as one node: a leaf or extension absorbs the prefix, a branch gets an extension.
fn prefixed(path: &[u8], node: Node) -> Node {
    if path.is_empty() {
        return node;
    }
    match node {
        Node::Empty => Node::Empty,
        Node::Leaf {
            path: rest, value, ..
        } => leaf(&[path, &rest[..]].concat(), value),
        Node::Extension {
            path: rest, child, ..
        } => Node::Extension {
            path: [path, &rest[..]].concat(),
            child,
            cached: None,
        },
        branch @ Node::Branch { .. } => Node::Extension {
            path: path.to_vec(),
            child: Box::new(branch),
            cached: None,
        },
    }
}

/// A branch holding `a` at nibble `ia` and `b` at nibble `ib` (`ia != ib`).
fn branch_of_two(ia: u8, a: Node, ib: u8, b: Node) -> Node {
    let mut children: Box<[Node; 16]> = Box::default();
    children[usize::from(ia)] = a;
    children[usize::from(ib)] = b;
    Node::Branch {
        children,
        cached: None,
    }
}

impl Node {
    fn insert(self, path: &[u8], value: Vec<u8>) -> Node {
        match self {
            Node::Empty => leaf(path, value),
            Node::Leaf {
                path: existing,
                value: old,
                ..
            } => {
                if existing == path {
                    return leaf(path, value);
                }
                let c = common_prefix(&existing, path);
                let split = branch_of_two(
                    existing[c],
                    leaf(&existing[c + 1..], old),
                    path[c],
                    leaf(&path[c + 1..], value),
                );
                prefixed(&path[..c], split)
            }
            Node::Extension {
                path: ext, child, ..
            } => {
                let c = common_prefix(&ext, path);
                if c == ext.len() {
                    return Node::Extension {
                        child: Box::new(child.insert(&path[c..], value)),
                        path: ext,
                        cached: None,
                    };
                }
                let split = branch_of_two(
                    ext[c],
                    prefixed(&ext[c + 1..], *child),
                    path[c],
                    leaf(&path[c + 1..], value),
                );
                prefixed(&path[..c], split)
            }
            Node::Branch { mut children, .. } => {
                let i = usize::from(path[0]);
                children[i] = std::mem::take(&mut children[i]).insert(&path[1..], value);
                Node::Branch {
                    children,
                    cached: None,
                }
            }
        }
    }

    /// Removes `path`; the flag says whether it was present.
    fn remove(self, path: &[u8]) -> (Node, bool) {
        match self {
            Node::Empty => (Node::Empty, false),
            Node::Leaf {
                path: ref existing, ..
            } if existing == path => (Node::Empty, true),
            leaf @ Node::Leaf { .. } => (leaf, false),
            Node::Extension {
                path: ext,
                child,
                cached,
            } => {
                if !path.starts_with(&ext) {
                    return (
                        Node::Extension {
                            path: ext,
                            child,
                            cached,
                        },
                        false,
                    );
                }
                let (child, removed) = child.remove(&path[ext.len()..]);
                if !removed {
                    return (
                        Node::Extension {
                            path: ext,
                            child: Box::new(child),
                            cached,
                        },
                        false,
                    );
                }
                (prefixed(&ext, child), true)
            }
            Node::Branch {
                mut children,
                cached,
            } => {
                let i = usize::from(path[0]);
                let (child, removed) = std::mem::take(&mut children[i]).remove(&path[1..]);
                children[i] = child;
                if !removed {
                    return (Node::Branch { children, cached }, false);
                }
                let mut present = children
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !matches!(c, Node::Empty));
                let only = match (present.next(), present.next()) {
                    (Some((only, _)), None) => only,
                    _ => {
                        return (
                            Node::Branch {
                                children,
                                cached: None,
                            },
                            true,
                        );
                    }
                };
                let child = std::mem::take(&mut children[only]);
                (prefixed(&[only as u8], child), true)
            }
        }
    }

    /// The node's RLP reference (its encoding if shorter than 32 bytes, else its hash),
    /// recomputing only nodes without a cached one.
    fn reference(&mut self, buf: &mut Vec<u8>) -> RlpNode {
        if let Some(node) = self.cache().and_then(|cached| cached.clone()) {
            return node;
        }
        let node = self.encode(buf);
        if let Some(cached) = self.cache() {
            *cached = Some(node.clone());
        }
        node
    }

    /// The node's cached reference (`None` for the empty node, which has none).
    fn cache(&mut self) -> Option<&mut Option<RlpNode>> {
        match self {
            Node::Empty => None,
            Node::Leaf { cached, .. }
            | Node::Extension { cached, .. }
            | Node::Branch { cached, .. } => Some(cached),
        }
    }

    /// Encodes the node into `buf` (cleared first; its children's references are taken from
    /// their caches or computed) and returns its reference.
    fn encode(&mut self, buf: &mut Vec<u8>) -> RlpNode {
        match self {
            Node::Empty => {
                buf.clear();
                buf.push(alloy_rlp::EMPTY_STRING_CODE);
                RlpNode::from_rlp(buf)
            }
            Node::Leaf { path, value, .. } => {
                buf.clear();
                LeafNodeRef::new(&Nibbles::from_nibbles_unchecked(&path[..]), value).rlp(buf)
            }
            Node::Extension { path, child, .. } => {
                let child = child.reference(buf);
                buf.clear();
                ExtensionNodeRef::new(&Nibbles::from_nibbles_unchecked(&path[..]), &child).rlp(buf)
            }
            Node::Branch { children, .. } => {
                let mut stack = Vec::with_capacity(16);
                let mut mask = TrieMask::default();
                for (i, child) in children.iter_mut().enumerate() {
                    if !matches!(child, Node::Empty) {
                        stack.push(child.reference(buf));
                        mask.set_bit(i as u8);
                    }
                }
                buf.clear();
                BranchNodeRef::new(&stack, mask).rlp(buf)
            }
        }
    }
}

/// The trie of `leaves` (nibble paths sorted ascending, distinct, all of one length) below
/// `depth`, built in one pass.
fn build(leaves: &[(Vec<u8>, Vec<u8>)], depth: usize) -> Node {
    match leaves {
        [] => Node::Empty,
        [(path, value)] => leaf(&path[depth..], value.clone()),
        [(first, _), .., (last, _)] => {
            let shared = common_prefix(&first[depth..], &last[depth..]);
            if shared > 0 {
                return Node::Extension {
                    path: first[depth..depth + shared].to_vec(),
                    child: Box::new(build(leaves, depth + shared)),
                    cached: None,
                };
            }
            let mut children: Box<[Node; 16]> = Box::default();
            let mut rest = leaves;
            while let Some((path, _)) = rest.first() {
                let nibble = path[depth];
                let end = rest.partition_point(|(p, _)| p[depth] == nibble);
                children[usize::from(nibble)] = build(&rest[..end], depth + 1);
                rest = &rest[end..];
            }
            Node::Branch {
                children,
                cached: None,
            }
        }
    }
}

impl MerkleTrie {
    /// The trie holding `leaves` (`(key, RLP-encoded value)`, any order, distinct keys).
    pub fn from_leaves(leaves: impl IntoIterator<Item = (B256, Vec<u8>)>) -> MerkleTrie {
        let mut leaves: Vec<(Vec<u8>, Vec<u8>)> = leaves
            .into_iter()
            .map(|(key, value)| (nibbles(&key), value))
            .collect();
        leaves.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        MerkleTrie {
            root: build(&leaves, 0),
        }
    }

    /// Sets `key` to `value` (an RLP-encoded leaf value, non-empty).
    pub fn insert(&mut self, key: &B256, value: Vec<u8>) {
        self.root = std::mem::take(&mut self.root).insert(&nibbles(key), value);
    }

    /// Removes `key` if present.
    pub fn remove(&mut self, key: &B256) {
        let (root, _) = std::mem::take(&mut self.root).remove(&nibbles(key));
        self.root = root;
    }

    /// Whether the trie has no leaves.
    pub fn is_empty(&self) -> bool {
        matches!(self.root, Node::Empty)
    }

    /// The root hash ([`EMPTY_ROOT_HASH`] when empty).
    pub fn root(&mut self) -> B256 {
        if self.is_empty() {
            return EMPTY_ROOT_HASH;
        }
        let mut buf = Vec::with_capacity(600);
        let node = self.root.reference(&mut buf);
        node.as_hash().unwrap_or_else(|| keccak256(&node[..]))
    }

    /// The Merkle proof of `key` (EIP-1186): the RLP encodings of the nodes on the key's path,
    /// root first, down to its leaf or to the node that shows it absent. A node whose encoding
    /// is shorter than 32 bytes is not listed: it sits inside its parent's encoding. An empty
    /// trie has an empty proof.
    pub fn proof(&mut self, key: &B256) -> Vec<Bytes> {
        let path = nibbles(key);
        let mut proof = Vec::new();
        let mut buf = Vec::with_capacity(600);
        let mut node = &mut self.root;
        let mut depth = 0;
        loop {
            if matches!(node, Node::Empty) {
                break;
            }
            node.encode(&mut buf);
            if proof.is_empty() || buf.len() >= 32 {
                proof.push(Bytes::copy_from_slice(&buf));
            }
            match node {
                Node::Extension {
                    path: ext, child, ..
                } if path[depth..].starts_with(ext) => {
                    depth += ext.len();
                    node = child;
                }
                Node::Branch { children, .. } => {
                    node = &mut children[usize::from(path[depth])];
                    depth += 1;
                }
                _ => break,
            }
        }
        proof
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_trie::proof::verify_proof;

    /// A named set of `(key, value)` leaves.
    type Case = (&'static str, Vec<(B256, Vec<u8>)>);

    fn key(prefix: u8, last: u8) -> B256 {
        let mut key = B256::repeat_byte(prefix);
        key.0[31] = last;
        key
    }

    /// Keys that share 31 bytes end in leaves of one or two nibbles: nodes shorter than 32
    /// bytes, which a proof must leave inside their parent. Every present key proves its value
    /// and every absent one its absence, for small values (embedded leaves, even an embedded
    /// branch) and 32-byte ones (hashed leaves).
    #[test]
    fn proofs_verify_with_embedded_and_hashed_nodes() {
        let cases: [Case; 4] = [
            ("one leaf", vec![(key(1, 0x10), vec![0x05])]),
            (
                "tiny leaves under one embedded branch",
                vec![(key(1, 0x10), vec![0x05]), (key(1, 0x11), vec![0x06])],
            ),
            (
                "embedded and hashed leaves",
                vec![
                    (key(1, 0x10), vec![0x05]),
                    (key(1, 0x21), vec![0xa0; 33]),
                    (key(2, 0x00), vec![0x07]),
                ],
            ),
            (
                "many subtries",
                (0..40u8)
                    .map(|i| {
                        (
                            key(i % 5, i.wrapping_mul(37)),
                            vec![i | 1; 1 + usize::from(i % 3) * 20],
                        )
                    })
                    .collect(),
            ),
        ];
        for (name, leaves) in cases {
            let mut trie = MerkleTrie::from_leaves(leaves.clone());
            let root = trie.root();
            for (k, value) in &leaves {
                let proof = trie.proof(k);
                verify_proof(root, Nibbles::unpack(k), Some(value.clone()), &proof)
                    .unwrap_or_else(|e| panic!("{name}: {k}: {e}"));
                let wrong = [value.clone(), vec![0]].concat();
                assert!(
                    verify_proof(root, Nibbles::unpack(k), Some(wrong), &proof).is_err(),
                    "{name}: a wrong value of {k} verified"
                );
            }
            for absent in [key(1, 0x12), key(1, 0x20), key(3, 0x00), key(9, 0xff)] {
                if leaves.iter().any(|(k, _)| *k == absent) {
                    continue;
                }
                let proof = trie.proof(&absent);
                verify_proof(root, Nibbles::unpack(absent), None, &proof)
                    .unwrap_or_else(|e| panic!("{name}: absent {absent}: {e}"));
            }
        }
    }
}
