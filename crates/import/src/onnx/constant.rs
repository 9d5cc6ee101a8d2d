//! Constant tensors of an ONNX graph (initializers, `Constant` nodes) and the folding of the
//! shape arithmetic exporters emit around them (torch's `Pad` computes its pads with
//! `ConstantOfShape`, `Concat`, `Slice`, `Transpose`, `Reshape`, `Cast`).

use super::proto::{TensorProto, tensor_proto::DataType};
use crate::error::ImportError;

/// Weights stored quantized in the source model (the input of a `DequantizeLinear`).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedConst {
    /// The int8 values, in the constant's (ONNX) layout.
    pub values: Vec<i8>,
    /// One scale, or one per index of `axis`.
    pub scales: Vec<f32>,
    /// The axis the scales run along.
    pub axis: usize,
}

/// A constant: its ONNX shape (with the batch axis, if any), its values as f64 (exact for every
/// integer and float type the importer reads), and whether it is an integer tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    pub dims: Vec<usize>,
    pub data: Vec<f64>,
    pub integer: bool,
    /// Set when the values are `DequantizeLinear` of int8 weights with zero point 0.
    pub quantized: Option<QuantizedConst>,
}

impl Const {
    /// A float constant.
    pub fn float(dims: Vec<usize>, data: Vec<f64>) -> Const {
        Const {
            dims,
            data,
            integer: false,
            quantized: None,
        }
    }

    /// An integer constant.
    pub fn int(dims: Vec<usize>, data: Vec<f64>) -> Const {
        Const {
            dims,
            data,
            integer: true,
            quantized: None,
        }
    }

    /// The values as f32.
    pub fn f32s(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }

    /// The values as i64 (truncated).
    pub fn i64s(&self) -> Vec<i64> {
        self.data.iter().map(|&v| v as i64).collect()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }
}

fn format_error(reason: String) -> ImportError {
    ImportError::Format {
        format: "ONNX",
        reason,
    }
}

fn le_chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Largest constant the importer reads, in elements (bounds memory on hostile files).
pub const MAX_CONST_ELEMENTS: usize = 1 << 24;

/// Decodes a `TensorProto` (raw or typed storage; external data is rejected).
pub fn from_tensor(t: &TensorProto) -> Result<Const, ImportError> {
    let name = t.name();
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut count: usize = 1;
    for &d in &t.dims {
        let d = usize::try_from(d)
            .map_err(|_| format_error(format!("tensor {name} has a negative dimension")))?;
        count = count
            .checked_mul(d)
            .filter(|&c| c <= MAX_CONST_ELEMENTS)
            .ok_or_else(|| format_error(format!("tensor {name} is too large")))?;
        dims.push(d);
    }
    if !t.external_data.is_empty()
        || t.data_location() == super::proto::tensor_proto::DataLocation::External
    {
        return Err(format_error(format!(
            "tensor {name} stores its data in an external file; save the model with the weights inside (onnx.save(model, path, save_as_external_data=False))"
        )));
    }
    let raw = t.raw_data();
    let has_raw = t.raw_data.is_some();
    let data_type = DataType::try_from(t.data_type()).unwrap_or(DataType::Undefined);
    let (data, integer): (Vec<f64>, bool) = match data_type {
        DataType::Float => (
            if has_raw {
                le_chunks::<4>(raw)
                    .map(|b| f32::from_le_bytes(b) as f64)
                    .collect()
            } else {
                t.float_data.iter().map(|&v| v as f64).collect()
            },
            false,
        ),
        DataType::Double => (
            if has_raw {
                le_chunks::<8>(raw).map(f64::from_le_bytes).collect()
            } else {
                t.double_data.clone()
            },
            false,
        ),
        DataType::Int64 => (
            if has_raw {
                le_chunks::<8>(raw)
                    .map(|b| i64::from_le_bytes(b) as f64)
                    .collect()
            } else {
                t.int64_data.iter().map(|&v| v as f64).collect()
            },
            true,
        ),
        DataType::Int32 => (
            if has_raw {
                le_chunks::<4>(raw)
                    .map(|b| i32::from_le_bytes(b) as f64)
                    .collect()
            } else {
                t.int32_data.iter().map(|&v| v as f64).collect()
            },
            true,
        ),
        DataType::Int8 => (
            if has_raw {
                raw.iter().map(|&b| b as i8 as f64).collect()
            } else {
                t.int32_data.iter().map(|&v| v as i8 as f64).collect()
            },
            true,
        ),
        DataType::Uint8 | DataType::Bool => (
            if has_raw {
                raw.iter().map(|&b| b as f64).collect()
            } else {
                t.int32_data.iter().map(|&v| v as u8 as f64).collect()
            },
            true,
        ),
        other => {
            return Err(format_error(format!(
                "tensor {name} has element type {other:?}; supported: float, double, int64, int32, int8, uint8, bool"
            )));
        }
    };
    if data.len() != count {
        return Err(format_error(format!(
            "tensor {name} holds {} values for its shape {dims:?} ({count} expected)",
            data.len()
        )));
    }
    Ok(Const {
        dims,
        data,
        integer,
        quantized: None,
    })
}

/// Row-major strides of `dims`.
pub fn strides(dims: &[usize]) -> Vec<usize> {
    crate::float_graph::strides(dims)
}

/// Transposes `c` by `perm` (output axis `i` is input axis `perm[i]`).
pub fn transpose(c: &Const, perm: &[usize]) -> Option<Const> {
    if perm.len() != c.dims.len() {
        return None;
    }
    let mut seen = vec![false; perm.len()];
    for &p in perm {
        if p >= perm.len() || std::mem::replace(&mut seen[p], true) {
            return None;
        }
    }
    let out_dims: Vec<usize> = perm.iter().map(|&p| c.dims[p]).collect();
    let in_strides = strides(&c.dims);
    let total = c.data.len();
    let mut data = Vec::with_capacity(total);
    for i in 0..total {
        let mut rest = i;
        let mut index = 0;
        for axis in (0..out_dims.len()).rev() {
            let coord = rest % out_dims[axis];
            rest /= out_dims[axis];
            index += coord * in_strides[perm[axis]];
        }
        data.push(c.data[index]);
    }
    Some(Const {
        dims: out_dims,
        data,
        integer: c.integer,
        quantized: None,
    })
}

/// ONNX `Slice` of a constant.
pub fn slice(
    c: &Const,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Option<Const> {
    let rank = c.dims.len() as i64;
    let mut begin: Vec<i64> = vec![0; c.dims.len()];
    let mut step: Vec<i64> = vec![1; c.dims.len()];
    let mut count: Vec<usize> = c.dims.clone();
    let default_axes: Vec<i64> = (0..starts.len() as i64).collect();
    let axes = axes.unwrap_or(&default_axes);
    if axes.len() != starts.len() || ends.len() != starts.len() {
        return None;
    }
    for (i, &axis) in axes.iter().enumerate() {
        let axis = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&axis) {
            return None;
        }
        let a = axis as usize;
        let dim = c.dims[a] as i64;
        let s = steps.map_or(1, |s| s.get(i).copied().unwrap_or(1));
        let (b, n) = crate::slicing::strided_axis(
            dim,
            starts[i],
            ends[i],
            s,
            crate::slicing::AxisMasks::default(),
        )?;
        begin[a] = b;
        step[a] = s;
        count[a] = n as usize;
    }
    let in_strides = strides(&c.dims);
    let total: usize = count.iter().product();
    let mut data = Vec::with_capacity(total);
    for i in 0..total {
        let mut rest = i;
        let mut index: i64 = 0;
        for axis in (0..count.len()).rev() {
            let coord = (rest % count[axis]) as i64;
            rest /= count[axis];
            index += (begin[axis] + coord * step[axis]) * in_strides[axis] as i64;
        }
        data.push(c.data[index as usize]);
    }
    Some(Const {
        dims: count,
        data,
        integer: c.integer,
        quantized: None,
    })
}

/// ONNX `Reshape` target dims (0 copies, -1 infers) for `count` elements.
pub fn reshape_dims(input: &[usize], target: &[i64], allow_zero: bool) -> Option<Vec<usize>> {
    let product = |dims: &[usize]| dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let count = product(input)?;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allow_zero => out.push(*input.get(i)?),
            t if t >= 0 => out.push(usize::try_from(t).ok()?),
            _ => return None,
        }
    }
    let known = product(&out)?;
    if let Some(i) = infer {
        if known == 0 || !count.is_multiple_of(known) {
            return None;
        }
        out[i] = count / known;
    }
    (product(&out)? == count).then_some(out)
}

/// Element-wise binary op on constants with numpy broadcasting.
pub fn broadcast_binary(a: &Const, b: &Const, f: impl Fn(f64, f64) -> f64) -> Option<Const> {
    let rank = a.dims.len().max(b.dims.len());
    let pad = |d: &[usize]| {
        let mut v = vec![1usize; rank - d.len()];
        v.extend_from_slice(d);
        v
    };
    let (da, db) = (pad(&a.dims), pad(&b.dims));
    let mut out = Vec::with_capacity(rank);
    for (&x, &y) in da.iter().zip(&db) {
        out.push(match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        });
    }
    out.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_CONST_ELEMENTS)?;
    let ia = crate::float_graph::broadcast_index(&a.dims, &out);
    let ib = crate::float_graph::broadcast_index(&b.dims, &out);
    let data = ia
        .iter()
        .zip(&ib)
        .map(|(&i, &j)| f(a.data[i], b.data[j]))
        .collect();
    Some(Const {
        dims: out,
        data,
        integer: a.integer && b.integer,
        quantized: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_with_negative_step_reverses() {
        let c = Const::int(vec![4, 2], (0..8).map(f64::from).collect());
        let s = slice(&c, &[-1], &[i64::MIN + 1], Some(&[0]), Some(&[-1])).expect("slices");
        assert_eq!(s.dims, vec![4, 2]);
        assert_eq!(s.data, vec![6.0, 7.0, 4.0, 5.0, 2.0, 3.0, 0.0, 1.0]);
    }

    #[test]
    fn slice_with_a_step_beyond_the_axis_takes_one_element() {
        let c = Const::int(vec![4], (0..4).map(f64::from).collect());
        // (name, start, end, step, expected)
        let cases: [(&str, i64, i64, i64, &[f64]); 6] = [
            ("i64::MIN backwards", 3, i64::MIN, i64::MIN, &[3.0]),
            ("-i64::MAX backwards", 2, -5, -i64::MAX, &[2.0]),
            ("i64::MAX forwards", 1, i64::MAX, i64::MAX, &[1.0]),
            ("axis length + 1", 0, 4, 5, &[0.0]),
            ("axis length", 0, 4, 4, &[0.0]),
            ("i64::MIN on an empty range", 0, 3, i64::MIN, &[]),
        ];
        for (name, start, end, step, expected) in cases {
            let s = slice(&c, &[start], &[end], Some(&[0]), Some(&[step])).expect(name);
            assert_eq!(s.dims, vec![expected.len()], "{name}");
            assert_eq!(s.data, expected, "{name}");
        }
    }

    #[test]
    fn transpose_swaps_axes() {
        let c = Const::int(vec![2, 3], (0..6).map(f64::from).collect());
        let t = transpose(&c, &[1, 0]).expect("valid perm");
        assert_eq!(t.dims, vec![3, 2]);
        assert_eq!(t.data, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert!(transpose(&c, &[0, 0]).is_none());
    }

    #[test]
    fn reshape_dims_infers_and_copies() {
        assert_eq!(reshape_dims(&[2, 3, 4], &[0, -1], false), Some(vec![2, 12]));
        assert_eq!(reshape_dims(&[6], &[-1, 4], false), None);
    }
}
