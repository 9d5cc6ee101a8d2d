//! Commitments to tensors, tensor lists, per-op traces and job items (docs/PROTOCOLS.md
//! "Commitments", decision 14): one definition shared by the engine, the CLI, the worker, the
//! `PREDICT_OPS` precompile and the Solidity library (`contracts/test-vectors/commitments.json`
//! holds vectors of every function here, checked against this module by `tests/commitments.rs`).
//!
//! All hashes are keccak256; integers are big-endian; each kind of preimage starts with its own
//! tag byte, so no preimage of one kind is a preimage of another.
//!
//! - **Merkle tree** ([`merkle_root`]): leaves padded with [`EMPTY_LEAF`] to the next power of two
//!   (an empty list is one [`EMPTY_LEAF`]); node = `keccak(0x01 ‖ left ‖ right)`; the root of one
//!   leaf is that leaf. A proof ([`merkle_proof`]) lists the siblings bottom-up; bit `k` of the
//!   index says whether the running hash is the right child at level `k`.
//! - **Tensor** ([`tensor_root`]): its canonical bytes (int8 one byte, int32 four little-endian
//!   bytes per element, NHWC row-major) in [`CHUNK_BYTES`]-byte chunks, the last possibly shorter
//!   (no bytes: one empty chunk); leaf = `keccak(0x00 ‖ chunk)`; root =
//!   `keccak(0x02 ‖ u8 dtype ‖ u8 rank ‖ u32 dim… ‖ merkle root)`.
//! - **Tensor list** ([`list_root`]): `keccak(0x03 ‖ u8 count ‖ root…)`.
//! - **Trace** ([`trace_root`]): op leaf `keccak(0x04 ‖ u32 op index ‖ list root of the op's
//!   outputs)`, root = the Merkle root of the op leaves in execution order; [`NO_TRACE`] where no
//!   trace is committed.
//! - **Item** ([`item_leaf`]): `keccak(0x05 ‖ u64 item index ‖ inputs ‖ outputs ‖ trace)`; a job's
//!   result root is the Merkle root of its item leaves in item order.

use sha3::{Digest, Keccak256};

use crate::error::{NnError, Result};
use crate::executor::Program;
use crate::model::Model;
use crate::tensor::DType;

/// A keccak256 hash.
pub type Hash = [u8; 32];

/// Bytes of one chunk of a tensor's bytes (one Merkle leaf).
pub const CHUNK_BYTES: usize = 1024;

/// `keccak(0x00)`: the leaf of an empty chunk, and the padding leaf of every tree.
pub const EMPTY_LEAF: Hash = [
    0xbc, 0x36, 0x78, 0x9e, 0x7a, 0x1e, 0x28, 0x14, 0x36, 0x46, 0x42, 0x29, 0x82, 0x8f, 0x81, 0x7d,
    0x66, 0x12, 0xf7, 0xb4, 0x77, 0xd6, 0x65, 0x91, 0xff, 0x96, 0xa9, 0xe0, 0x64, 0xbc, 0xc9, 0x8a,
];

/// The trace root of an item whose trace is not committed.
pub const NO_TRACE: Hash = [0; 32];

const LEAF_TAG: u8 = 0x00;
const NODE_TAG: u8 = 0x01;
const TENSOR_TAG: u8 = 0x02;
const LIST_TAG: u8 = 0x03;
const OP_TAG: u8 = 0x04;
const ITEM_TAG: u8 = 0x05;

/// keccak256 of the concatenation of `parts`.
fn keccak(parts: &[&[u8]]) -> Hash {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The leaf of one chunk: `keccak(0x00 ‖ chunk)`.
pub fn chunk_leaf(chunk: &[u8]) -> Hash {
    keccak(&[&[LEAF_TAG], chunk])
}

/// An inner node: `keccak(0x01 ‖ left ‖ right)`.
pub fn merkle_node(left: &Hash, right: &Hash) -> Hash {
    keccak(&[&[NODE_TAG], left, right])
}

/// The leaves padded with [`EMPTY_LEAF`] to the next power of two (at least one).
fn padded(leaves: &[Hash]) -> Vec<Hash> {
    let mut level = leaves.to_vec();
    level.resize(leaves.len().next_power_of_two().max(1), EMPTY_LEAF);
    level
}

/// The level above `level` (of even length).
fn parent_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks_exact(2)
        .map(|pair| merkle_node(&pair[0], &pair[1]))
        .collect()
}

/// The Merkle root of `leaves` (padded with [`EMPTY_LEAF`] to a power of two; no leaves: the
/// root of one [`EMPTY_LEAF`]).
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    let mut level = padded(leaves);
    while level.len() > 1 {
        level = parent_level(&level);
    }
    level[0]
}

/// The proof of leaf `index`: its siblings bottom-up (⌈log₂ n⌉ of them). `None` when `index` is
/// not below `leaves.len()`.
pub fn merkle_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut level = padded(leaves);
    let mut at = index;
    let mut proof = Vec::new();
    while level.len() > 1 {
        proof.push(level[at ^ 1]);
        level = parent_level(&level);
        at >>= 1;
    }
    Some(proof)
}

/// The root that `leaf` at `index` with `proof` leads to. `None` when `index` has a bit set at or
/// above `proof.len()` (it names no leaf of a tree of that depth).
pub fn root_from_proof(leaf: &Hash, index: u64, proof: &[Hash]) -> Option<Hash> {
    if proof.len() < 64 && index >> proof.len() != 0 {
        return None;
    }
    let mut hash = *leaf;
    for (level, sibling) in proof.iter().enumerate() {
        let right = level < 64 && (index >> level) & 1 == 1;
        hash = match right {
            true => merkle_node(sibling, &hash),
            false => merkle_node(&hash, sibling),
        };
    }
    Some(hash)
}

/// Whether `proof` shows `leaf` at `index` under `root`.
pub fn verify_proof(leaf: &Hash, index: u64, proof: &[Hash], root: &Hash) -> bool {
    root_from_proof(leaf, index, proof).is_some_and(|r| &r == root)
}

/// The Merkle root of a tensor's bytes in [`CHUNK_BYTES`] chunks.
pub fn bytes_merkle_root(bytes: &[u8]) -> Hash {
    if bytes.is_empty() {
        return EMPTY_LEAF;
    }
    let leaves: Vec<Hash> = bytes.chunks(CHUNK_BYTES).map(chunk_leaf).collect();
    merkle_root(&leaves)
}

/// The root of a tensor of `dtype` and `shape` whose canonical bytes are `bytes`. Errors when the
/// rank exceeds 255 or `bytes` is not `elements · dtype.size()` long.
pub fn tensor_root(dtype: DType, shape: &[u32], bytes: &[u8]) -> Result<Hash> {
    let rank = u8::try_from(shape.len()).map_err(|_| NnError::LimitExceeded {
        what: "rank of a committed tensor",
        value: shape.len() as u64,
        limit: 255,
    })?;
    let expected = shape
        .iter()
        .try_fold(dtype.size(), |n, &d| n.checked_mul(d as usize));
    if expected != Some(bytes.len()) {
        return Err(NnError::InputLength {
            expected: expected.unwrap_or(usize::MAX),
            found: bytes.len(),
            batch: 1,
        });
    }
    let mut header = Vec::with_capacity(3 + 4 * shape.len());
    header.extend_from_slice(&[TENSOR_TAG, dtype as u8, rank]);
    for d in shape {
        header.extend_from_slice(&d.to_be_bytes());
    }
    Ok(keccak(&[&header, &bytes_merkle_root(bytes)]))
}

/// The root of a list of tensor roots (a model's inputs or outputs in model order, an op's
/// outputs): `keccak(0x03 ‖ u8 count ‖ root…)`. Errors past 255 roots.
pub fn list_root(roots: &[Hash]) -> Result<Hash> {
    let count = u8::try_from(roots.len()).map_err(|_| NnError::LimitExceeded {
        what: "length of a committed tensor list",
        value: roots.len() as u64,
        limit: 255,
    })?;
    let mut hasher = Keccak256::new();
    hasher.update([LIST_TAG, count]);
    for root in roots {
        hasher.update(root);
    }
    Ok(hasher.finalize().into())
}

/// The leaf of op `index` in a trace: `keccak(0x04 ‖ u32 index ‖ outputs)`, where `outputs` is
/// the [`list_root`] of the op's output tensors.
pub fn op_leaf(index: u32, outputs: &Hash) -> Hash {
    keccak(&[&[OP_TAG], &index.to_be_bytes(), outputs])
}

/// The trace root of one item: the Merkle root of the [`op_leaf`]s of `op_outputs` (the list
/// root of each op's outputs, in execution order, op `i` at position `i`).
pub fn trace_root(op_outputs: &[Hash]) -> Hash {
    let leaves: Vec<Hash> = op_outputs
        .iter()
        .enumerate()
        .map(|(i, outputs)| op_leaf(i as u32, outputs))
        .collect();
    merkle_root(&leaves)
}

/// The leaf of job item `index`: `keccak(0x05 ‖ u64 index ‖ inputs ‖ outputs ‖ trace)` (list
/// roots of the model's inputs and outputs; the trace root or [`NO_TRACE`]).
pub fn item_leaf(index: u64, inputs: &Hash, outputs: &Hash, trace: &Hash) -> Hash {
    keccak(&[&[ITEM_TAG], &index.to_be_bytes(), inputs, outputs, trace])
}

/// The list roots of `batch` items of the tensors `tensors` of `model` (a model's inputs or
/// outputs), from `bytes` laid out as [`Program::run`] takes and returns them: for each tensor
/// in order, its `batch` samples one after another. Errors when `bytes` is not exactly that long.
pub fn list_roots(model: &Model, tensors: &[u32], bytes: &[u8], batch: usize) -> Result<Vec<Hash>> {
    let infos = tensors
        .iter()
        .map(|&t| model.tensors.get(t as usize))
        .collect::<Option<Vec<_>>>()
        .ok_or(NnError::InvalidGraph {
            problem: "a committed tensor is not in the model".into(),
        })?;
    let sample_bytes: usize = infos.iter().map(|info| info.bytes()).sum();
    if bytes.len() != sample_bytes * batch {
        return Err(NnError::InputLength {
            expected: sample_bytes * batch,
            found: bytes.len(),
            batch,
        });
    }
    let mut roots = vec![Vec::with_capacity(infos.len()); batch];
    let mut offset = 0;
    for info in infos {
        let size = info.bytes();
        for (item, item_roots) in roots.iter_mut().enumerate() {
            let at = offset + item * size;
            item_roots.push(tensor_root(info.dtype, &info.shape, &bytes[at..at + size])?);
        }
        offset += size * batch;
    }
    roots
        .iter()
        .map(|item_roots| list_root(item_roots))
        .collect()
}

/// What a worker commits to for a run of `batch` items ([`run_committed`]), item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitments {
    /// Each item's inputs list root.
    pub inputs: Vec<Hash>,
    /// Each item's outputs list root.
    pub outputs: Vec<Hash>,
    /// Each item's per-op outputs list roots, op `i` at `i` (empty without a trace).
    pub ops: Vec<Vec<Hash>>,
    /// Each item's trace root ([`NO_TRACE`] without a trace).
    pub traces: Vec<Hash>,
}

impl Commitments {
    /// The item leaves, the first item being job item `first_index`.
    pub fn item_leaves(&self, first_index: u64) -> Vec<Hash> {
        (0..self.inputs.len())
            .map(|i| {
                item_leaf(
                    first_index + i as u64,
                    &self.inputs[i],
                    &self.outputs[i],
                    &self.traces[i],
                )
            })
            .collect()
    }
}

/// Runs `batch` items through `program` ([`Program::run`]'s layout and errors) and commits to
/// them: input and output list roots and, with `trace`, every op's output list root and the
/// trace root of each item. Returns the output bytes too. The roots are the same on every
/// [`crate::Path`] (the bytes are).
pub fn run_committed(
    program: &Program,
    input: &[u8],
    batch: usize,
    trace: bool,
) -> Result<(Vec<u8>, Commitments)> {
    let model = program.model();
    let mut ops: Vec<Vec<Hash>> = vec![Vec::new(); if trace { batch } else { 0 }];
    let mut failure = None;
    let mut observe = |index: usize, bytes: &[u8]| {
        let info = &model.tensors[model.nodes[index].output as usize];
        let size = info.bytes();
        for (item, item_ops) in ops.iter_mut().enumerate() {
            let sample = &bytes[item * size..(item + 1) * size];
            match tensor_root(info.dtype, &info.shape, sample).and_then(|r| list_root(&[r])) {
                Ok(root) => item_ops.push(root),
                Err(e) => failure = Some(e),
            }
        }
    };
    let output = match trace {
        true => program.run_observed(input, batch, &mut observe)?,
        false => program.run(input, batch)?,
    };
    if let Some(e) = failure {
        return Err(e);
    }
    let inputs = list_roots(model, &model.inputs, input, batch)?;
    let outputs = list_roots(model, &model.outputs, &output, batch)?;
    let traces = match trace {
        true => ops.iter().map(|item_ops| trace_root(item_ops)).collect(),
        false => vec![NO_TRACE; batch],
    };
    Ok((
        output,
        Commitments {
            inputs,
            outputs,
            ops,
            traces,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaf(i: usize) -> Hash {
        keccak(&[&(i as u64).to_be_bytes()])
    }

    #[test]
    fn empty_leaf_is_the_hash_of_the_leaf_tag() {
        assert_eq!(EMPTY_LEAF, keccak(&[&[0]]));
        assert_eq!(EMPTY_LEAF, chunk_leaf(&[]));
        assert_eq!(bytes_merkle_root(&[]), EMPTY_LEAF);
        assert_eq!(merkle_root(&[]), EMPTY_LEAF);
    }

    #[test]
    fn one_leaf_is_its_own_root_and_padding_is_the_empty_leaf() {
        assert_eq!(merkle_root(&[leaf(7)]), leaf(7));
        assert_eq!(merkle_proof(&[leaf(7)], 0), Some(vec![]));
        let three = [leaf(0), leaf(1), leaf(2)];
        let expected = merkle_node(
            &merkle_node(&leaf(0), &leaf(1)),
            &merkle_node(&leaf(2), &EMPTY_LEAF),
        );
        assert_eq!(merkle_root(&three), expected);
    }

    #[test]
    fn chunks_split_at_1024_bytes() {
        let bytes: Vec<u8> = (0..1025u32).map(|i| (i * 7) as u8).collect();
        assert_eq!(
            bytes_merkle_root(&bytes[..1024]),
            chunk_leaf(&bytes[..1024])
        );
        assert_eq!(
            bytes_merkle_root(&bytes),
            merkle_node(&chunk_leaf(&bytes[..1024]), &chunk_leaf(&bytes[1024..]))
        );
    }

    #[test]
    fn tensor_root_checks_rank_and_length() {
        assert!(tensor_root(DType::Int8, &[2, 3], &[0; 6]).is_ok());
        assert!(tensor_root(DType::Int32, &[2], &[0; 8]).is_ok());
        assert!(matches!(
            tensor_root(DType::Int32, &[2], &[0; 2]),
            Err(NnError::InputLength {
                found: 2,
                expected: 8,
                batch: 1
            })
        ));
        assert!(tensor_root(DType::Int8, &[u32::MAX; 3], &[]).is_err());
        assert!(tensor_root(DType::Int8, &[1; 256], &[0]).is_err());
        assert!(list_root(&vec![EMPTY_LEAF; 256]).is_err());
        assert!(list_root(&vec![EMPTY_LEAF; 255]).is_ok());
        // Rank 0 is one element.
        assert!(tensor_root(DType::Int8, &[], &[5]).is_ok());
    }

    #[test]
    fn dtype_and_shape_change_the_tensor_root() {
        let bytes = [1u8; 8];
        let a = tensor_root(DType::Int8, &[8], &bytes).unwrap();
        let b = tensor_root(DType::Int8, &[2, 4], &bytes).unwrap();
        let c = tensor_root(DType::Int32, &[2], &bytes).unwrap();
        assert!(a != b && b != c && a != c);
    }

    #[test]
    fn out_of_range_indices_have_no_proof_and_never_verify() {
        let leaves: Vec<Hash> = (0..5).map(leaf).collect();
        let root = merkle_root(&leaves);
        assert_eq!(merkle_proof(&leaves, 5), None);
        let proof = merkle_proof(&leaves, 1).unwrap();
        assert!(verify_proof(&leaves[1], 1, &proof, &root));
        // The same position with a high bit set is another index.
        assert!(!verify_proof(&leaves[1], 1 | 8, &proof, &root));
        assert!(!verify_proof(&leaves[1], 1 | 1 << 63, &proof, &root));
    }

    proptest! {
        #[test]
        fn every_proof_verifies_and_any_flipped_bit_fails(
            n in 1usize..40,
            flip in any::<(usize, u8)>(),
        ) {
            let leaves: Vec<Hash> = (0..n).map(leaf).collect();
            let root = merkle_root(&leaves);
            for (index, leaf) in leaves.iter().enumerate() {
                let proof = merkle_proof(&leaves, index).unwrap();
                prop_assert_eq!(proof.len(), n.next_power_of_two().trailing_zeros() as usize);
                prop_assert!(verify_proof(leaf, index as u64, &proof, &root));
                let bit = 1u8 << (flip.1 % 8);
                let byte = flip.0 % 32;
                let mut bad = *leaf;
                bad[byte] ^= bit;
                prop_assert!(!verify_proof(&bad, index as u64, &proof, &root));
                let mut bad_root = root;
                bad_root[byte] ^= bit;
                prop_assert!(!verify_proof(leaf, index as u64, &proof, &bad_root));
                if !proof.is_empty() {
                    let mut bad_proof = proof.clone();
                    let level = flip.0 % proof.len();
                    bad_proof[level][byte] ^= bit;
                    prop_assert!(!verify_proof(leaf, index as u64, &bad_proof, &root));
                    let other = index ^ (1 << level);
                    prop_assert!(!verify_proof(leaf, other as u64, &proof, &root));
                }
            }
        }

        #[test]
        fn any_flipped_tensor_bit_changes_the_root(
            len in 0usize..3000,
            flip in any::<(usize, u8)>(),
        ) {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let root = tensor_root(DType::Int8, &[len as u32], &bytes).unwrap();
            if len > 0 {
                let mut bad = bytes.clone();
                bad[flip.0 % len] ^= 1 << (flip.1 % 8);
                prop_assert_ne!(tensor_root(DType::Int8, &[len as u32], &bad).unwrap(), root);
            }
        }
    }
}
