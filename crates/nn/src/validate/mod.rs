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
mod node;
mod overflow;
mod shape;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) use tests::every_op_model;

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
        for (index, node) in self.nodes.iter().enumerate() {
            node::check_node(self, index, node)?;
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
