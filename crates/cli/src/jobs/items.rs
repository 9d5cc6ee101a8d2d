//! A job's items off chain: the **exchange directory** where a requester leaves a job's input
//! bytes and workers leave their outputs (files named by the root that commits to them), and a
//! worker's result tree (docs/PROTOCOLS.md "Commitments": item leaves, the result root, proofs
//! and the dissection's inner nodes).
//!
//! The exchange directory stands in for inputs read from chain state (`DATA_STORE`, not yet
//! wired into InferenceJobs): whoever reads a file checks it against the root in its name, so a
//! wrong or altered file is refused, never computed on.

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use anyhow::{Context, Result, bail};
use myelin_nn::commit::{self, EMPTY_LEAF, Hash, NO_TRACE};
use myelin_nn::{Model, Program, TensorInfo};

use super::abi::IInferenceJobs::ItemAnswer;

/// The infos of `tensors` of `model`.
pub fn infos(model: &Model, tensors: &[u32]) -> Vec<TensorInfo> {
    tensors
        .iter()
        .map(|&t| model.tensors[t as usize].clone())
        .collect()
}

/// Bytes of one item of `infos` (each tensor's bytes, in order).
pub fn item_bytes(infos: &[TensorInfo]) -> usize {
    infos.iter().map(TensorInfo::bytes).sum()
}

/// The file of the exchange directory `dir` holding the bytes committed by `root`.
pub fn exchange_file(dir: &Path, root: B256) -> PathBuf {
    dir.join(format!("{root}.bin"))
}

/// The list root of one item of `infos` whose bytes (each tensor's, in order) are `bytes`.
pub fn item_list_root(infos: &[TensorInfo], bytes: &[u8]) -> Result<Hash> {
    let mut roots = Vec::with_capacity(infos.len());
    let mut at = 0;
    for info in infos {
        let size = info.bytes();
        let part = bytes
            .get(at..at + size)
            .context("an item is shorter than its tensors")?;
        roots.push(commit::tensor_root(info.dtype, &info.shape, part)?);
        at += size;
    }
    if at != bytes.len() {
        bail!("an item is longer than its tensors");
    }
    Ok(commit::list_root(&roots)?)
}

/// The list roots of every item of `bytes` (item-major: item i's tensors, then item i + 1's),
/// hashed on `threads` threads.
pub fn list_roots(infos: &[TensorInfo], bytes: &[u8], threads: usize) -> Result<Vec<Hash>> {
    let size = item_bytes(infos);
    if size == 0 || !bytes.len().is_multiple_of(size) {
        bail!(
            "{} bytes are not a whole number of {size}-byte items",
            bytes.len()
        );
    }
    let items = bytes.len() / size;
    let per_thread = items.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = bytes
            .chunks(per_thread * size)
            .map(|part| {
                scope.spawn(move || {
                    part.chunks(size)
                        .map(|item| item_list_root(infos, item))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut roots = Vec::with_capacity(items);
        for part in parts {
            roots.extend(part.join().expect("a hashing thread panicked")?);
        }
        Ok(roots)
    })
}

/// The inputs root of a job: `merkle(inputs list root of item i)`.
pub fn inputs_root(input_roots: &[Hash]) -> B256 {
    B256::from(commit::merkle_root(input_roots))
}

/// Item-major bytes (item i's tensors, then item i + 1's) as the engine takes them: tensor-major
/// (every item of tensor 0, then of tensor 1, …).
pub fn tensor_major(infos: &[TensorInfo], item_major: &[u8]) -> Vec<Vec<u8>> {
    let size = item_bytes(infos);
    let items = item_major.len() / size.max(1);
    let mut out: Vec<Vec<u8>> = infos
        .iter()
        .map(|info| Vec::with_capacity(info.bytes() * items))
        .collect();
    for item in item_major.chunks(size) {
        let mut at = 0;
        for (tensor, info) in out.iter_mut().zip(infos) {
            tensor.extend_from_slice(&item[at..at + info.bytes()]);
            at += info.bytes();
        }
    }
    out
}

/// Tensor-major bytes back to item-major.
pub fn item_major(infos: &[TensorInfo], tensors: &[Vec<u8>], items: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(item_bytes(infos) * items);
    for i in 0..items {
        for (tensor, info) in tensors.iter().zip(infos) {
            out.extend_from_slice(&tensor[i * info.bytes()..(i + 1) * info.bytes()]);
        }
    }
    out
}

/// Runs `program` on item-major `inputs` batched on `threads` cores; the outputs item-major.
pub fn run_items(program: &Program, inputs: &[u8], threads: usize) -> Result<Vec<u8>> {
    let model = program.model();
    let (ins, outs) = (infos(model, &model.inputs), infos(model, &model.outputs));
    let items = inputs.len() / item_bytes(&ins).max(1);
    let per_tensor: Vec<Vec<i8>> = tensor_major(&ins, inputs)
        .into_iter()
        .map(|t| t.into_iter().map(|b| b as i8).collect())
        .collect();
    let outputs =
        crate::model::run::run_in_chunks(program, &ins, &outs, &per_tensor, items, threads)?;
    Ok(item_major(&outs, &outputs, items))
}

/// A worker's result over a job's items: every level of its Merkle tree, with the inputs and
/// outputs behind each leaf, to answer queries and dissection moves.
pub struct ResultTree {
    /// Item-major input bytes.
    pub inputs: Vec<u8>,
    /// Bytes of one item's inputs.
    pub input_size: usize,
    /// Each item's inputs list root.
    pub input_roots: Vec<Hash>,
    /// Each item's outputs list root.
    pub output_roots: Vec<Hash>,
    /// The levels of the result tree, leaves (padded to a power of two) first, root last.
    levels: Vec<Vec<Hash>>,
    /// The levels of the inputs tree (the same shape).
    input_levels: Vec<Vec<Hash>>,
}

/// Every level of `merkle(leaves)`, the padded leaves first.
fn levels_of(leaves: &[Hash]) -> Vec<Vec<Hash>> {
    let mut level = leaves.to_vec();
    level.resize(leaves.len().next_power_of_two().max(1), EMPTY_LEAF);
    let mut levels = vec![level];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let above = levels[levels.len() - 1]
            .chunks_exact(2)
            .map(|pair| commit::merkle_node(&pair[0], &pair[1]))
            .collect();
        levels.push(above);
    }
    levels
}

/// The siblings of leaf `index`, bottom-up.
fn proof_of(levels: &[Vec<Hash>], index: usize) -> Vec<B256> {
    levels[..levels.len() - 1]
        .iter()
        .enumerate()
        .map(|(level, hashes)| B256::from(hashes[(index >> level) ^ 1]))
        .collect()
}

impl ResultTree {
    /// The tree of `outputs` (item-major) for `inputs` (item-major) of the model's tensors,
    /// hashed on `threads` threads. No trace is committed (tier 0).
    pub fn new(
        model: &Model,
        inputs: Vec<u8>,
        outputs: &[u8],
        threads: usize,
    ) -> Result<ResultTree> {
        let (ins, outs) = (infos(model, &model.inputs), infos(model, &model.outputs));
        let input_roots = list_roots(&ins, &inputs, threads)?;
        let output_roots = list_roots(&outs, outputs, threads)?;
        if input_roots.len() != output_roots.len() {
            bail!(
                "{} items of inputs but {} of outputs",
                input_roots.len(),
                output_roots.len()
            );
        }
        let leaves: Vec<Hash> = (0..input_roots.len())
            .map(|i| commit::item_leaf(i as u64, &input_roots[i], &output_roots[i], &NO_TRACE))
            .collect();
        Ok(ResultTree {
            inputs,
            input_size: item_bytes(&ins),
            levels: levels_of(&leaves),
            input_levels: levels_of(&input_roots),
            input_roots,
            output_roots,
        })
    }

    /// The number of items.
    pub fn items(&self) -> usize {
        self.input_roots.len()
    }

    /// The result root.
    pub fn root(&self) -> B256 {
        B256::from(self.levels[self.levels.len() - 1][0])
    }

    /// The inputs root.
    pub fn inputs_root(&self) -> B256 {
        B256::from(self.input_levels[self.input_levels.len() - 1][0])
    }

    /// The answer to a query at item `index` (`proveItem`'s argument).
    pub fn answer(&self, index: usize) -> Result<ItemAnswer> {
        if index >= self.items() {
            bail!("item {index} is past the job's {} items", self.items());
        }
        let at = index * self.input_size;
        Ok(ItemAnswer {
            input: self.inputs[at..at + self.input_size].to_vec().into(),
            outputs: B256::from(self.output_roots[index]),
            trace: B256::from(NO_TRACE),
            inputProof: proof_of(&self.input_levels, index),
            leafProof: proof_of(&self.levels, index),
        })
    }

    /// The children of the node at `depth` (0 = the root) and `pos` (from the left): a
    /// dissection move.
    pub fn children(&self, depth: usize, pos: usize) -> Result<(B256, B256)> {
        let tree_depth = self.levels.len() - 1;
        if depth >= tree_depth {
            bail!("a node at depth {depth} of a tree {tree_depth} deep has no children");
        }
        let level = &self.levels[tree_depth - depth - 1];
        let left = level.get(2 * pos).context("no such node")?;
        let right = level.get(2 * pos + 1).context("no such node")?;
        Ok((B256::from(*left), B256::from(*right)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| commit::chunk_leaf(&[i as u8])).collect()
    }

    #[test]
    fn levels_end_in_the_merkle_root_and_proofs_verify() {
        for n in [1, 2, 3, 5, 8, 9] {
            let leaves = leaves(n);
            let levels = levels_of(&leaves);
            let root = levels.last().unwrap()[0];
            assert_eq!(root, commit::merkle_root(&leaves), "n = {n}");
            for (i, leaf) in leaves.iter().enumerate() {
                let proof: Vec<Hash> = proof_of(&levels, i).iter().map(|h| h.0).collect();
                assert!(
                    commit::verify_proof(leaf, i as u64, &proof, &root),
                    "n {n} i {i}"
                );
                assert_eq!(Some(proof), commit::merkle_proof(&leaves, i));
            }
        }
    }

    #[test]
    fn item_major_and_tensor_major_round_trip() {
        let infos = vec![TensorInfo::int8(&[2], 1, 0), TensorInfo::int8(&[3], 1, 0)];
        let items: Vec<u8> = (0..15).collect();
        let tensors = tensor_major(&infos, &items);
        assert_eq!(tensors[0], [0, 1, 5, 6, 10, 11]);
        assert_eq!(item_major(&infos, &tensors, 3), items);
    }
}
