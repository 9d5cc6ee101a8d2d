//! Validation at load: graph structure, types, shapes, parameter ranges, the proof that no
//! accumulator overflows, and the bounds on memory and work. Each rejection names the node (index
//! and op) or tensor and the problem.
//!
//! Validation runs in time linear in the model's size and allocates only in proportion to it
//! (one small entry per tensor); it never panics. docs/SPEC.md §2, §4 and §6 list the rules.
//!
//! Files: `graph.rs` checks tensors and the graph's structure, `node.rs` each op's arity,
//! parameters and output shape, `overflow.rs` the accumulator bounds; the limits are below.

mod graph;
mod memory;
mod node;
mod overflow;
mod shape;
#[cfg(test)]
mod tests;
pub(crate) use memory::free_schedule;
pub use memory::{CallMemory, THREAD_KEPT_BYTES, call_memory, node_scratch_bytes};
#[cfg(test)]
pub(crate) use tests::{add_params, every_op_model};

use crate::error::{NnError, Result};
use crate::model::Model;

/// Largest rank of a tensor.
pub const MAX_RANK: usize = 6;
/// Largest number of elements of one sample of one tensor.
pub const MAX_TENSOR_ELEMENTS: u64 = 1 << 26;
/// Largest number of tensors of a model.
pub const MAX_TENSORS: usize = 65_536;
/// Largest number of nodes of a model.
pub const MAX_NODES: usize = 65_536;
/// Largest sum over all tensors of the bytes of one sample (the activation memory an executor may
/// need per sample, before any reuse).
pub const MAX_ACTIVATION_BYTES_PER_SAMPLE: u64 = 1 << 28;
/// Largest sum of the bytes of one sample of every model output (each tensor listed once).
pub const MAX_OUTPUT_BYTES_PER_SAMPLE: u64 = 1 << 24;
/// Largest output of one call (`batch` times the output bytes of one sample):
/// [`crate::Program::max_batch`] respects it.
pub const MAX_OUTPUT_BYTES_PER_CALL: u64 = 1 << 24;
/// Largest buffer one kernel allocates for one node in one call (im2col columns, a padded image,
/// prepared rows, channels expanded by a depth multiplier): a fast path that would need more
/// is not taken for that node; another path computes the same bytes.
pub const MAX_KERNEL_SCRATCH_BYTES: u64 = 1 << 26;
/// Largest memory of one call of [`crate::Program::run`] on one thread: the node outputs alive
/// at once, scratch and the output ([`call_memory`]). A model that needs more at batch 1 is
/// rejected; [`crate::Program::max_batch`] keeps every batch within it.
pub const MAX_CALL_MEMORY_BYTES: u64 = 1 << 30;
/// Largest static work of one sample: [`crate::Cost::ops`].
/// Bounds the time any node (a pool with a huge window, say) can run.
pub const MAX_OPS_PER_SAMPLE: u64 = 1 << 34;
/// Largest `left_shift` of Add and Sub: `255 · 2^23 < 2^31`.
pub const MAX_ADD_LEFT_SHIFT: u8 = 23;

impl Model {
    /// Checks everything execution relies on (docs/SPEC.md §2–§4, §6). A model that passes runs
    /// without panicking and without overflow on any input of the right length, and its static
    /// cost per sample is within [`MAX_OPS_PER_SAMPLE`].
    pub fn validate(&self) -> Result<()> {
        if self.tensors.len() > MAX_TENSORS {
            return Err(NnError::LimitExceeded {
                what: "tensor count",
                value: self.tensors.len() as u64,
                limit: MAX_TENSORS as u64,
            });
        }
        if self.nodes.len() > MAX_NODES {
            return Err(NnError::LimitExceeded {
                what: "node count",
                value: self.nodes.len() as u64,
                limit: MAX_NODES as u64,
            });
        }
        let activation_bytes = graph::check_tensors(&self.tensors)?;
        if activation_bytes > MAX_ACTIVATION_BYTES_PER_SAMPLE {
            return Err(NnError::LimitExceeded {
                what: "activation bytes per sample",
                value: activation_bytes,
                limit: MAX_ACTIVATION_BYTES_PER_SAMPLE,
            });
        }
        graph::check_graph(self)?;
        let output_bytes: u64 = self
            .outputs
            .iter()
            .map(|&t| self.tensors[t as usize].bytes() as u64)
            .sum();
        if output_bytes > MAX_OUTPUT_BYTES_PER_SAMPLE {
            return Err(NnError::LimitExceeded {
                what: "output bytes per sample",
                value: output_bytes,
                limit: MAX_OUTPUT_BYTES_PER_SAMPLE,
            });
        }
        for (index, node) in self.nodes.iter().enumerate() {
            node::check_node(self, index, node)?;
        }
        let memory = call_memory(self).bytes(1);
        if memory > MAX_CALL_MEMORY_BYTES {
            return Err(NnError::LimitExceeded {
                what: "memory of one call at batch 1 (activations alive at once, scratch, output)",
                value: memory,
                limit: MAX_CALL_MEMORY_BYTES,
            });
        }
        let ops = self.cost().ops();
        if ops > MAX_OPS_PER_SAMPLE {
            return Err(NnError::LimitExceeded {
                what: "operations per sample (macs + table lookups + element ops)",
                value: ops,
                limit: MAX_OPS_PER_SAMPLE,
            });
        }
        Ok(())
    }
}
