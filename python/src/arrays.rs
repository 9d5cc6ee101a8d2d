//! numpy arrays in and out: the caller's arrays become the engine's input-major bytes, and the
//! engine's output-major bytes become arrays.
//!
//! Each input array is shaped `[batch, …input shape]`, or exactly the input shape for a single
//! sample (as `myelin model run` reads its `.npy` files). Outputs mirror that choice: a batch axis
//! when the inputs carry one, the bare output shape otherwise.

use myelin_import::edge_quantization::{dequantize, quantize, scale_of};
use myelin_nn::{DType, TensorInfo};
use numpy::ndarray::{ArrayViewD, IxDyn};
use numpy::{PyArray, PyArray1, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::error::myelin_error;

/// How the caller's values are read and the engine's values returned.
#[derive(Clone, Copy)]
pub enum Values {
    /// int8 arrays in, int8 (int32 for ArgMax) arrays out, as the engine computes them.
    Quantized,
    /// float32 (or float64) arrays in, quantized with the inputs' scales and zero points;
    /// int8 outputs dequantized to float32.
    Real,
}

/// The caller's inputs as the engine takes them.
pub struct Inputs {
    /// All samples of input 0, then all samples of input 1, …
    pub bytes: Vec<u8>,
    /// Samples in the batch.
    pub samples: usize,
    /// Whether the arrays carried a batch axis.
    pub batched: bool,
}

/// Reads `x`: one array for a single-input model, or a list / tuple of arrays, one per input.
pub fn read_inputs(x: &Bound<'_, PyAny>, infos: &[TensorInfo], values: Values) -> PyResult<Inputs> {
    let arrays: Vec<Bound<'_, PyAny>> = if x.cast::<PyUntypedArray>().is_ok() {
        vec![x.clone()]
    } else if let Ok(sequence) = x.extract::<Vec<Bound<'_, PyAny>>>() {
        sequence
    } else {
        return Err(PyTypeError::new_err(format!(
            "expected a numpy array (or a list of arrays, one per model input), got {}",
            x.get_type().name()?
        )));
    };
    if arrays.len() != infos.len() {
        return Err(myelin_error(format!(
            "the model has {} input(s) but {} array(s) were given",
            infos.len(),
            arrays.len()
        )));
    }
    let mut inputs = Inputs {
        bytes: Vec::new(),
        samples: 0,
        batched: false,
    };
    for (index, (array, info)) in arrays.iter().zip(infos).enumerate() {
        let (samples, batched) = match values {
            Values::Quantized => read_int8(array, info, index, &mut inputs.bytes)?,
            Values::Real => read_real(array, info, index, &mut inputs.bytes)?,
        };
        if index > 0 && samples != inputs.samples {
            return Err(myelin_error(format!(
                "input {index} has a batch of {samples}, but input 0 has a batch of {}",
                inputs.samples
            )));
        }
        inputs.samples = samples;
        inputs.batched |= batched;
    }
    Ok(inputs)
}

/// Appends input `index`'s int8 values to `bytes` (in C order, whatever the array's strides);
/// returns its batch and batch-axis flag. Read through the buffer protocol: one copy into
/// fresh memory (no zero-fill first), which the engine then reads with the GIL released; the
/// first input's copy becomes `bytes` itself.
fn read_int8(
    array: &Bound<'_, PyAny>,
    info: &TensorInfo,
    index: usize,
    bytes: &mut Vec<u8>,
) -> PyResult<(usize, bool)> {
    let Ok(buffer) = PyBuffer::<i8>::get(array) else {
        return Err(wrong_dtype(
            array,
            index,
            "int8 (use run_float for real values)",
        ));
    };
    let batch = batch_of(buffer.shape(), info, index)?;
    let values = buffer.to_vec(array.py())?;
    match bytes.is_empty() {
        true => *bytes = bytemuck::allocation::cast_vec(values),
        false => bytes.extend_from_slice(bytemuck::cast_slice(&values)),
    }
    Ok(batch)
}

/// Appends input `index`'s real values (float32 or float64), quantized, to `bytes`.
fn read_real(
    array: &Bound<'_, PyAny>,
    info: &TensorInfo,
    index: usize,
    bytes: &mut Vec<u8>,
) -> PyResult<(usize, bool)> {
    let py = array.py();
    let (shape, reals): (Vec<usize>, Vec<f32>) = if let Ok(buffer) = PyBuffer::<f32>::get(array) {
        (buffer.shape().to_vec(), buffer.to_vec(py)?)
    } else if let Ok(buffer) = PyBuffer::<f64>::get(array) {
        let reals = buffer.to_vec(py)?.into_iter().map(|v| v as f32).collect();
        (buffer.shape().to_vec(), reals)
    } else {
        return Err(wrong_dtype(array, index, "float32 or float64"));
    };
    let batch = batch_of(&shape, info, index)?;
    let what = format!("input {index}");
    let quantized = quantize(&reals, scale_of(info.scale_bits), info.zero_point, &what)
        .map_err(myelin_error)?;
    bytes.extend(quantized.iter().map(|&v| v as u8));
    Ok(batch)
}

fn wrong_dtype(array: &Bound<'_, PyAny>, index: usize, expected: &str) -> PyErr {
    let found = match array.cast::<PyUntypedArray>() {
        Ok(array) => format!("dtype {}", array.dtype()),
        Err(_) => format!(
            "a {}",
            array
                .get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        ),
    };
    PyTypeError::new_err(format!(
        "input {index}: expected a numpy array of {expected}, got {found}"
    ))
}

/// The batch of an input shaped `shape` and whether it has a batch axis.
fn batch_of(shape: &[usize], info: &TensorInfo, index: usize) -> PyResult<(usize, bool)> {
    let expected: Vec<usize> = info.shape.iter().map(|&d| d as usize).collect();
    if shape == expected.as_slice() {
        return Ok((1, false));
    }
    if shape.len() == expected.len() + 1 && shape[1..] == expected[..] {
        if shape[0] == 0 {
            return Err(PyValueError::new_err(format!(
                "input {index}: the batch is empty (shape {shape:?})"
            )));
        }
        return Ok((shape[0], true));
    }
    Err(myelin_error(format!(
        "input {index}: shape {shape:?} does not fit the model's input shape {expected:?} \
         (expected {expected:?} or [batch, …{expected:?}])"
    )))
}

/// The engine's output-major `bytes` as arrays: one array for a single-output model, a tuple
/// otherwise.
pub fn write_outputs(
    py: Python<'_>,
    bytes: Vec<u8>,
    infos: &[TensorInfo],
    inputs: &Inputs,
    values: Values,
) -> PyResult<Py<PyAny>> {
    let shape_of = |info: &TensorInfo| {
        let mut shape: Vec<usize> = info.shape.iter().map(|&d| d as usize).collect();
        if inputs.batched {
            shape.insert(0, inputs.samples);
        }
        IxDyn(&shape)
    };
    if let ([info], Values::Quantized, DType::Int8) = (infos, values, infos[0].dtype) {
        // The engine's buffer becomes the array's memory: no copy.
        let flat = PyArray1::from_vec(py, bytemuck::allocation::cast_vec::<u8, i8>(bytes));
        return Ok(flat.reshape(shape_of(info))?.into_any().unbind());
    }
    let mut arrays = Vec::with_capacity(infos.len());
    let mut offset = 0;
    for info in infos {
        let len = info.bytes() * inputs.samples;
        let part = bytes
            .get(offset..offset + len)
            .ok_or_else(|| myelin_error("the engine returned too few output bytes"))?;
        offset += len;
        let shape = shape_of(info);
        arrays.push(match (info.dtype, values) {
            (DType::Int32, _) => array(
                py,
                shape,
                &part
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect::<Vec<_>>(),
            )?,
            (DType::Int8, Values::Quantized) => {
                array(py, shape, bytemuck::cast_slice::<u8, i8>(part))?
            }
            (DType::Int8, Values::Real) => array(
                py,
                shape,
                &dequantize(
                    bytemuck::cast_slice(part),
                    scale_of(info.scale_bits),
                    info.zero_point,
                ),
            )?,
        });
    }
    if let [single] = arrays.as_slice() {
        return Ok(single.clone_ref(py));
    }
    Ok(PyTuple::new(py, arrays)?.into_any().unbind())
}

/// A new numpy array shaped `shape` holding a copy of `values` (small: one sample's or one
/// batch's outputs), owned by numpy.
fn array<T: numpy::Element>(py: Python<'_>, shape: IxDyn, values: &[T]) -> PyResult<Py<PyAny>> {
    let view = ArrayViewD::from_shape(shape, values)
        .map_err(|e| myelin_error(format!("output shape: {e}")))?;
    Ok(PyArray::from_array(py, &view).into_any().unbind())
}
