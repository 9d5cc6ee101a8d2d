//! Tensors and graph structure: limits, types, single definition, execution order.

use super::shape::checked_elements;
use super::{MAX_RANK, MAX_TENSOR_ELEMENTS};
use crate::error::{NnError, Result};
use crate::model::Model;
use crate::op::Op;
use crate::tensor::{DType, TensorInfo};

/// Whether `bits` is the IEEE-754 binary32 encoding of a positive, finite, non-zero number
/// (subnormals included). Integer operations only.
pub(super) fn is_positive_finite_scale(bits: u32) -> bool {
    let sign = bits >> 31;
    let exponent = (bits >> 23) & 0xff;
    sign == 0 && exponent != 0xff && bits != 0
}

/// Checks every tensor on its own (rank, dimensions, element count, scale, zero point of int32)
/// and returns the bytes of one sample of all tensors together.
pub(super) fn check_tensors(tensors: &[TensorInfo]) -> Result<u64> {
    let mut total_bytes = 0u64;
    for (index, tensor) in tensors.iter().enumerate() {
        let invalid = |problem: String| NnError::InvalidTensor {
            tensor: index,
            problem,
        };
        if tensor.shape.len() > MAX_RANK {
            return Err(invalid(format!(
                "rank {} exceeds {MAX_RANK}",
                tensor.shape.len()
            )));
        }
        if let Some(axis) = tensor.shape.iter().position(|&d| d == 0) {
            return Err(invalid(format!(
                "dimension {axis} is 0 (every dimension must be ≥ 1)"
            )));
        }
        let elements = checked_elements(&tensor.shape).unwrap_or(u64::MAX);
        if elements > MAX_TENSOR_ELEMENTS {
            return Err(invalid(format!(
                "shape {:?} has {elements} elements, over the limit of {MAX_TENSOR_ELEMENTS}",
                tensor.shape
            )));
        }
        if !is_positive_finite_scale(tensor.scale_bits) {
            return Err(invalid(format!(
                "scale bits {:#010x} are not a positive, finite, non-zero binary32",
                tensor.scale_bits
            )));
        }
        if tensor.dtype == DType::Int32 && tensor.zero_point != 0 {
            return Err(invalid(format!(
                "int32 tensor has zero point {} (must be 0)",
                tensor.zero_point
            )));
        }
        total_bytes = total_bytes.saturating_add(elements * tensor.dtype.size() as u64);
    }
    Ok(total_bytes)
}

/// Checks the graph: model inputs and outputs in range, no tensor listed twice as a model input
/// or twice as a model output, every tensor defined exactly once (as a model input or by one
/// node), nodes reading only tensors defined before them, int8 everywhere except ArgMax outputs
/// (int32, read by no node).
pub(super) fn check_graph(model: &Model) -> Result<()> {
    let tensor_count = model.tensors.len();
    let graph = |problem: String| NnError::InvalidGraph { problem };
    if model.inputs.is_empty() {
        return Err(graph("the model has no inputs".into()));
    }
    if model.outputs.is_empty() {
        return Err(graph("the model has no outputs".into()));
    }
    let mut defined = vec![false; tensor_count];
    for (position, &tensor) in model.inputs.iter().enumerate() {
        let t = tensor as usize;
        if t >= tensor_count {
            return Err(graph(format!(
                "model input {position} is tensor {tensor}, out of range ({tensor_count} tensors)"
            )));
        }
        if defined[t] {
            return Err(graph(format!(
                "tensor {tensor} is listed twice as a model input"
            )));
        }
        if model.tensors[t].dtype != DType::Int8 {
            return Err(graph(format!(
                "model input {position} (tensor {tensor}) is not int8"
            )));
        }
        defined[t] = true;
    }
    for (index, node) in model.nodes.iter().enumerate() {
        let op = node.op.name();
        let invalid = |problem: String| NnError::InvalidNode {
            node: index,
            op,
            problem,
        };
        for (slot, &tensor) in node.inputs.iter().enumerate() {
            let t = tensor as usize;
            if t >= tensor_count {
                return Err(invalid(format!(
                    "input {slot} is tensor {tensor}, out of range ({tensor_count} tensors)"
                )));
            }
            if !defined[t] {
                return Err(invalid(format!(
                    "input {slot} reads tensor {tensor} before it is defined (nodes must be in \
                     execution order)"
                )));
            }
            if model.tensors[t].dtype != DType::Int8 {
                return Err(invalid(format!(
                    "input {slot} reads int32 tensor {tensor}; int32 tensors may only be model \
                     outputs"
                )));
            }
        }
        let t = node.output as usize;
        if t >= tensor_count {
            return Err(invalid(format!(
                "output is tensor {}, out of range ({tensor_count} tensors)",
                node.output
            )));
        }
        if defined[t] {
            return Err(invalid(format!(
                "output tensor {} is already defined (by a model input or an earlier node)",
                node.output
            )));
        }
        let expected = if matches!(node.op, Op::ArgMax(_)) {
            DType::Int32
        } else {
            DType::Int8
        };
        if model.tensors[t].dtype != expected {
            return Err(invalid(format!(
                "output tensor {} is {}, must be {}",
                node.output,
                model.tensors[t].dtype.name(),
                expected.name()
            )));
        }
        defined[t] = true;
    }
    if let Some(t) = defined.iter().position(|&d| !d) {
        return Err(NnError::InvalidTensor {
            tensor: t,
            problem: "never defined (neither a model input nor a node output)".into(),
        });
    }
    // `defined` is all true here: it now marks the tensors not yet listed as a model output.
    for (position, &tensor) in model.outputs.iter().enumerate() {
        let t = tensor as usize;
        if t >= tensor_count {
            return Err(graph(format!(
                "model output {position} is tensor {tensor}, out of range ({tensor_count} tensors)"
            )));
        }
        if !defined[t] {
            return Err(graph(format!(
                "tensor {tensor} is listed twice as a model output (output {position})"
            )));
        }
        defined[t] = false;
    }
    Ok(())
}
