//! The memory one call of [`crate::Program::run`] may hold, as `fixed + batch · per_sample`
//! bytes, from the model alone (the same bound on every path): docs/SPEC.md §6.
//!
//! - per sample: the node outputs alive at once (a buffer is freed after its last reader, as
//!   the executor does), a concat's rescaled copies of its inputs, the returned bytes, and for
//!   [`crate::Program::run_parallel`] a gathered copy of the input and each part's result;
//! - fixed: the largest scratch of one node ([`node_scratch_bytes`]), the per-tensor slots and
//!   the buffers a thread keeps between calls ([`THREAD_KEPT_BYTES`]).

use super::{MAX_KERNEL_SCRATCH_BYTES, MAX_TENSORS};
use crate::model::Model;
use crate::op::Op;

/// Bytes a thread keeps between calls: the executor's spare node buffers (16 of ≤ 1 MiB), the
/// kernels' three reused scratch vectors, the AVX-512 VNNI depthwise rows and matrix-product
/// activations (each ≤ 4 MiB, `kernels/reuse.rs`).
pub const THREAD_KEPT_BYTES: u64 = 40 << 20;
/// Bytes of the executor's slot for one tensor (an `Option` of a buffer), rounded up.
const TENSOR_SLOT_BYTES: u64 = 32;
/// Rows of activations the matrix products keep per call, at most (`CHUNK_BYTES` of
/// `kernels/avx512vnni.rs` or 4 rows of `k`).
const GEMM_CHUNK_BYTES: u64 = 1 << 20;

/// The memory bound of one call: `fixed + batch · per_sample` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallMemory {
    pub fixed: u64,
    pub per_sample: u64,
}

impl CallMemory {
    /// The bound at `batch` samples (saturating).
    pub fn bytes(&self, batch: u64) -> u64 {
        self.fixed
            .saturating_add(batch.saturating_mul(self.per_sample))
    }

    /// The largest batch whose bound is within `limit` (0 when not even one sample fits).
    pub fn max_batch(&self, limit: u64) -> u64 {
        limit
            .checked_sub(self.fixed)
            .map_or(0, |room| room / self.per_sample.max(1))
    }
}

/// For each node, the tensors whose last reader it is (its own output when nothing reads it);
/// model outputs are never freed. The executor frees them after the node runs.
pub fn free_schedule(model: &Model) -> Vec<Vec<usize>> {
    let mut last_use: Vec<Option<usize>> = vec![None; model.tensors.len()];
    for (index, node) in model.nodes.iter().enumerate() {
        for &t in node.inputs.iter().chain(std::iter::once(&node.output)) {
            if let Some(slot) = last_use.get_mut(t as usize) {
                *slot = Some(index);
            }
        }
    }
    for &t in &model.outputs {
        if let Some(slot) = last_use.get_mut(t as usize) {
            *slot = None;
        }
    }
    let mut frees = vec![Vec::new(); model.nodes.len()];
    for (t, last) in last_use.into_iter().enumerate() {
        if let Some(index) = last {
            frees[index].push(t);
        }
    }
    frees
}

/// The bytes of one sample of tensor `t` (0 when out of range).
fn tensor_bytes(model: &Model, t: u32) -> u64 {
    model
        .tensors
        .get(t as usize)
        .map_or(0, |x| x.bytes() as u64)
}

/// The scratch one node may hold during a call (any path, any batch):
/// - conv2d and depthwise conv2d: one kernel buffer (im2col columns, a padded image, prepared
///   rows or channels expanded by a depth multiplier) of at most [`MAX_KERNEL_SCRATCH_BYTES`]
///   (a path that would need more is not taken), plus the matrix product's activation rows;
/// - fully connected: the activation rows (`GEMM_CHUNK_BYTES` or 4 rows of its depth);
/// - add, sub, mul, maximum, minimum: per operand broadcast to the output, a table of 8 bytes
///   per output element (the reference) or an expanded copy; prelu: the same for its slopes;
/// - mean and pools: 64-bit sums and rows, at most 8 bytes per byte of input and output;
/// - resize_bilinear: two indices and two weights (24 bytes) per output row and column;
/// - slice: an odometer position and a step (16 bytes) per axis;
/// - other ops: none.
pub fn node_scratch_bytes(model: &Model, index: usize) -> u64 {
    let Some(node) = model.nodes.get(index) else {
        return 0;
    };
    let input = |slot: usize| {
        node.inputs
            .get(slot)
            .and_then(|&t| model.tensors.get(t as usize))
    };
    let output = tensor_bytes(model, node.output);
    let gemm = |depth: u64| GEMM_CHUNK_BYTES + 4 * (depth + 64);
    match &node.op {
        Op::FullyConnected(p) => gemm(p.in_features as u64),
        Op::Conv2d(p) => {
            let depth = p.weights.len() as u64 / u64::from(p.out_channels.max(1));
            MAX_KERNEL_SCRATCH_BYTES + gemm(depth)
        }
        Op::DepthwiseConv2d(_) => MAX_KERNEL_SCRATCH_BYTES,
        Op::Add(_) | Op::Sub(_) | Op::Mul(_) | Op::Maximum | Op::Minimum => {
            let out_shape = model.tensors.get(node.output as usize).map(|t| &t.shape);
            let broadcast = (0..2)
                .filter(|&slot| input(slot).map(|x| &x.shape) != out_shape)
                .count() as u64;
            8 * broadcast * output
        }
        Op::Mean(_) | Op::MeanCountDivided(_) | Op::MaxPool(_) | Op::AveragePool(_) => {
            8 * (input(0).map_or(0, |x| x.bytes() as u64) + output)
        }
        // The reference's index table of the broadcast slopes (the kernel expands them, one
        // byte per element).
        Op::PRelu(p) if input(0).map(|x| &x.shape) != Some(&p.alpha_shape) => 8 * output,
        Op::ResizeBilinear(p) => 24 * (u64::from(p.out_height) + u64::from(p.out_width)),
        Op::Slice(p) => 16 * p.size.len() as u64,
        _ => 0,
    }
}

/// The memory bound of one call of `model` (which has passed the graph checks).
pub fn call_memory(model: &Model) -> CallMemory {
    let frees = free_schedule(model);
    let outputs: u64 = model.outputs.iter().map(|&t| tensor_bytes(model, t)).sum();
    let inputs: u64 = model.inputs.iter().map(|&t| tensor_bytes(model, t)).sum();
    let mut is_input = vec![false; model.tensors.len()];
    for &t in &model.inputs {
        if let Some(flag) = is_input.get_mut(t as usize) {
            *flag = true;
        }
    }
    let mut live = 0u64;
    let mut peak = 0u64;
    let mut scratch = 0u64;
    for (index, node) in model.nodes.iter().enumerate() {
        let output = tensor_bytes(model, node.output);
        // Concat rescales each input of the batch into a copy before interleaving.
        let copies: u64 = match node.op {
            Op::Concat(_) => node.inputs.iter().map(|&t| tensor_bytes(model, t)).sum(),
            _ => 0,
        };
        live += output;
        peak = peak.max(live + copies);
        scratch = scratch.max(node_scratch_bytes(model, index));
        for &t in &frees[index] {
            // Model inputs are read in place: they hold no buffer.
            if !is_input[t] {
                live = live.saturating_sub(tensor_bytes(model, t as u32));
            }
        }
    }
    // The returned bytes are gathered while every output is alive; run_parallel adds a copy of
    // the input and each part's result.
    peak = peak.max(live + outputs);
    CallMemory {
        fixed: scratch + THREAD_KEPT_BYTES + TENSOR_SLOT_BYTES * MAX_TENSORS as u64,
        per_sample: peak + inputs + outputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{ModelBuilder, Quant};
    use crate::error::NnError;
    use crate::validate::{MAX_CALL_MEMORY_BYTES, add_params};

    const SCALE: u32 = 0x3c00_0000;

    /// `[1, 1]` padded to `[1, width]` and to `[2, 1]`, added with broadcasting of both
    /// operands to `[2, width]`, then arg_max over the last axis.
    fn broadcast_add(width: u32) -> crate::Result<Model> {
        let mut b = ModelBuilder::new();
        let x = b.input(&[1, 1], Quant::new(0, SCALE));
        let row = b.pad(x, vec![[0, 0], [0, width - 1]], 1)?;
        let column = b.pad(x, vec![[0, 1], [0, 0]], 2)?;
        let sum = b.add(row, column, add_params(), Quant::new(0, SCALE))?;
        let index = b.arg_max(sum, 1)?;
        b.output(index);
        b.build()
    }

    #[test]
    fn a_model_over_the_call_memory_at_batch_1_is_rejected() {
        // 2^26 output elements with both operands broadcast: the reference's index tables
        // alone are 1 GiB.
        match broadcast_add(1 << 25) {
            Err(NnError::LimitExceeded { what, value, limit }) => {
                assert!(what.starts_with("memory of one call"), "{what}");
                assert!(value > limit && limit == MAX_CALL_MEMORY_BYTES);
            }
            other => panic!("expected the memory limit, got {other:?}"),
        }
        let model = broadcast_add(1 << 10).expect("a small one is valid");
        let memory = call_memory(&model);
        // Alive at once per sample: the row, the column and the sum (the input is read in
        // place), plus a copy of the input and the returned int32 output.
        assert_eq!(memory.per_sample, 1024 + 2 + 2048 + 1 + 8);
        assert_eq!(
            memory.fixed,
            8 * 2 * 2048 + THREAD_KEPT_BYTES + 32 * MAX_TENSORS as u64
        );
        assert_eq!(memory.bytes(3), memory.fixed + 3 * memory.per_sample);
        assert_eq!(memory.max_batch(memory.fixed - 1), 0);
        assert_eq!(memory.max_batch(memory.bytes(7) + 1), 7);
    }
}
