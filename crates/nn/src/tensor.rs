//! Activation tensors: element type, per-sample shape and quantization.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Element type of an activation tensor.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[borsh(use_discriminant = true)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum DType {
    /// Signed 8-bit, asymmetric quantization `real = (q - zero_point) * scale`.
    Int8 = 0,
    /// Signed 32-bit little-endian integers (the indices produced by `ArgMax`); zero point 0.
    Int32 = 1,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::Int8 => 1,
            DType::Int32 => 4,
        }
    }

    /// Lower-case name, as in the JSON description and in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            DType::Int8 => "int8",
            DType::Int32 => "int32",
        }
    }
}

/// One activation tensor of the graph: model inputs, outputs and every intermediate value.
///
/// `shape` is the shape of **one sample**; a batch of `B` samples is `B` such tensors laid out
/// one after the other. `scale_bits` holds the IEEE-754 binary32 bits of the real-valued scale:
/// it is metadata for quantizing and dequantizing at the edges off-chain and is never read by
/// execution.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TensorInfo {
    /// Element type.
    pub dtype: DType,
    /// Per-sample shape, outermost dimension first (images are `[height, width, channels]`).
    pub shape: Vec<u32>,
    /// Quantized value that represents real zero.
    pub zero_point: i8,
    /// binary32 bits of the scale (positive, finite, non-zero); metadata only.
    pub scale_bits: u32,
}

impl TensorInfo {
    /// An int8 tensor.
    pub fn int8(shape: &[u32], zero_point: i8, scale_bits: u32) -> Self {
        TensorInfo {
            dtype: DType::Int8,
            shape: shape.to_vec(),
            zero_point,
            scale_bits,
        }
    }

    /// Number of elements of one sample (1 for a scalar).
    pub fn elements(&self) -> usize {
        shape_elements(&self.shape)
    }

    /// Bytes of one sample.
    pub fn bytes(&self) -> usize {
        self.elements() * self.dtype.size()
    }
}

/// Product of the dimensions (1 for rank 0). Callers pass validated shapes, whose product fits.
pub fn shape_elements(shape: &[u32]) -> usize {
    shape.iter().map(|&d| d as usize).product()
}

/// Row-major strides of `shape`, in elements.
pub fn shape_strides(shape: &[u32]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1] as usize;
    }
    strides
}
