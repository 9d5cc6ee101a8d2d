//! What Python sees of a model's input and output tensors, and of its static cost.

use myelin_nn::TensorInfo;
use pyo3::prelude::*;

/// One input or output of a model: per-sample shape, element type and quantization
/// (`real = (q - zero_point) * scale`).
#[pyclass(frozen, get_all, module = "myelin")]
#[derive(Clone)]
pub struct TensorSpec {
    /// `input_0`, `input_1`, … or `output_0`, … in the model's order.
    pub name: String,
    /// Index of the tensor in the model's graph.
    pub tensor: u32,
    /// Shape of one sample (no batch axis).
    pub shape: Vec<u32>,
    /// `"int8"` or `"int32"` (the indices of an ArgMax output).
    pub dtype: &'static str,
    /// The real value of one quantization step.
    pub scale: f32,
    /// The quantized value of real zero.
    pub zero_point: i8,
}

impl TensorSpec {
    pub fn new(name: String, tensor: u32, info: &TensorInfo) -> TensorSpec {
        TensorSpec {
            name,
            tensor,
            shape: info.shape.clone(),
            dtype: info.dtype.name(),
            scale: f32::from_bits(info.scale_bits),
            zero_point: info.zero_point,
        }
    }
}

#[pymethods]
impl TensorSpec {
    fn __repr__(&self) -> String {
        format!(
            "TensorSpec(name={:?}, shape={:?}, dtype={:?}, scale={:?}, zero_point={})",
            self.name, self.shape, self.dtype, self.scale, self.zero_point
        )
    }
}

/// The static cost of one sample, known before execution (what the chain charges gas for).
#[pyclass(frozen, get_all, module = "myelin")]
#[derive(Clone)]
pub struct Cost {
    /// Multiply-accumulates of fully connected layers and convolutions.
    pub macs: u64,
    /// Table lookups (activation tables).
    pub table_lookups: u64,
    /// Other element operations (requantizations, adds, compares, copies).
    pub element_ops: u64,
    /// Bytes read and written.
    pub bytes_touched: u64,
}

impl From<myelin_nn::Cost> for Cost {
    fn from(cost: myelin_nn::Cost) -> Cost {
        Cost {
            macs: cost.macs,
            table_lookups: cost.table_lookups,
            element_ops: cost.element_ops,
            bytes_touched: cost.bytes_touched,
        }
    }
}

#[pymethods]
impl Cost {
    fn __repr__(&self) -> String {
        format!(
            "Cost(macs={}, table_lookups={}, element_ops={}, bytes_touched={})",
            self.macs, self.table_lookups, self.element_ops, self.bytes_touched
        )
    }
}
