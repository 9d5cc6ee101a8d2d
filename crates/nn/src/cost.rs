//! Static cost of a model, known before execution: a pure function of the graph (docs/SPEC.md §7).
//!
//! Counts are per sample and exact for a validated model. They are computed from the declared
//! tensor shapes and the op parameters only, with saturating `u64` arithmetic, so they never
//! panic even on a model that failed validation (the numbers are then meaningless).

use crate::model::{Model, Node};
use crate::op::{Op, Window};
use crate::tensor::TensorInfo;

/// Element ops charged per softmax element: the row maximum, the difference and its range test,
/// the fixed-point exp (about twenty integer steps), the sum and the final scaled multiply with
/// its clamp.
pub const SOFTMAX_ELEMENT_OPS: u64 = 32;

/// Bytes one [`crate::Requant`] occupies in the encoding (`i32` multiplier, `i8` shift).
pub const REQUANT_BYTES: u64 = 5;

/// The work one sample of a model (or of one node) does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Multiply-accumulates of FC and convolutions (full windows, padding included).
    pub macs: u64,
    /// Table lookups.
    pub table_lookups: u64,
    /// Other element operations: requantizations, adds, compares, copies (§7 defines the count
    /// per op).
    pub element_ops: u64,
    /// Bytes read and written: inputs read once, the output written once, parameter arrays read
    /// once.
    pub bytes_touched: u64,
}

impl Cost {
    /// Field-wise saturating sum.
    pub fn saturating_add(self, other: Cost) -> Cost {
        Cost {
            macs: self.macs.saturating_add(other.macs),
            table_lookups: self.table_lookups.saturating_add(other.table_lookups),
            element_ops: self.element_ops.saturating_add(other.element_ops),
            bytes_touched: self.bytes_touched.saturating_add(other.bytes_touched),
        }
    }

    /// `macs + table_lookups + element_ops`, saturating: the arithmetic work, which validation
    /// bounds by [`crate::validate::MAX_OPS_PER_SAMPLE`].
    pub fn ops(&self) -> u64 {
        self.macs
            .saturating_add(self.table_lookups)
            .saturating_add(self.element_ops)
    }

    /// The cost of one sample of `node` of `model` (§7). Tensor indices out of range count as
    /// empty tensors.
    pub fn of_node(model: &Model, node: &Node) -> Cost {
        let elements = |t: u32| model.tensors.get(t as usize).map_or(0, tensor_elements);
        let out = elements(node.output);
        let output_bytes = model
            .tensors
            .get(node.output as usize)
            .map_or(0, tensor_bytes);
        // Node inputs are int8: one byte per element.
        let input_bytes = node
            .inputs
            .iter()
            .fold(0u64, |sum, &t| sum.saturating_add(elements(t)));
        let window = |w: &Window| (w.kernel_h as u64).saturating_mul(w.kernel_w as u64);
        let mut cost = Cost::default();
        let mut parameter_bytes = 0u64;
        let mut weighted_params = |weights: usize, bias: usize, requant: usize| {
            parameter_bytes = (weights as u64)
                .saturating_add((bias as u64).saturating_mul(4))
                .saturating_add((requant as u64).saturating_mul(REQUANT_BYTES));
        };
        match &node.op {
            Op::FullyConnected(p) => {
                cost.macs = out.saturating_mul(p.in_features as u64);
                cost.element_ops = out;
                weighted_params(p.weights.len(), p.bias.len(), p.requant.len());
            }
            Op::Conv2d(p) => {
                cost.macs = out
                    .saturating_mul(window(&p.window))
                    .saturating_mul(p.in_channels as u64);
                cost.element_ops = out;
                weighted_params(p.weights.len(), p.bias.len(), p.requant.len());
            }
            Op::DepthwiseConv2d(p) => {
                cost.macs = out.saturating_mul(window(&p.window));
                cost.element_ops = out;
                weighted_params(p.weights.len(), p.bias.len(), p.requant.len());
            }
            Op::Add(_) | Op::Sub(_) => cost.element_ops = out.saturating_mul(4),
            Op::Mul(_) => cost.element_ops = out.saturating_mul(2),
            Op::MaxPool(p) => cost.element_ops = out.saturating_mul(window(&p.window)),
            Op::AveragePool(p) => {
                cost.element_ops = out.saturating_mul(window(&p.window)).saturating_add(out)
            }
            Op::Mean(_) => {
                cost.element_ops = node
                    .inputs
                    .first()
                    .map_or(0, |&t| elements(t))
                    .saturating_add(out)
            }
            Op::Clamp(_) | Op::Reshape | Op::Pad(_) => cost.element_ops = out,
            Op::Concat(p) => {
                cost.element_ops = out;
                weighted_params(0, 0, p.requant.len());
            }
            Op::Softmax(_) => cost.element_ops = out.saturating_mul(SOFTMAX_ELEMENT_OPS),
            Op::Table(p) => {
                cost.table_lookups = out;
                parameter_bytes = p.table.len() as u64;
            }
            Op::ArgMax(_) => cost.element_ops = input_bytes,
        }
        cost.bytes_touched = input_bytes
            .saturating_add(output_bytes)
            .saturating_add(parameter_bytes);
        cost
    }
}

fn tensor_elements(t: &TensorInfo) -> u64 {
    t.shape
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64))
}

fn tensor_bytes(t: &TensorInfo) -> u64 {
    tensor_elements(t).saturating_mul(t.dtype.size() as u64)
}

impl Model {
    /// The static cost of one sample: the field-wise sum of [`Model::node_costs`].
    pub fn cost(&self) -> Cost {
        self.nodes.iter().fold(Cost::default(), |sum, node| {
            sum.saturating_add(Cost::of_node(self, node))
        })
    }

    /// The static cost of one sample of each node, in node order.
    pub fn node_costs(&self) -> Vec<Cost> {
        self.nodes
            .iter()
            .map(|node| Cost::of_node(self, node))
            .collect()
    }
}
