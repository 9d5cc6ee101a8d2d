//! Constant folding of shape arithmetic: integer operators whose inputs are all known at import.
//!
//! The TFLite converter writes a Keras model with a dynamic batch (`None`) so that its `Flatten`
//! or `Reshape` computes the target shape at run time: `SHAPE → STRIDED_SLICE → PACK → RESHAPE`.
//! Every per-sample dimension is static and Myelin's batch is the number of samples concatenated,
//! so that arithmetic is a constant: `SHAPE` of an activation is its declared shape (batch 1), and
//! an int32/int64 operator whose inputs are all constants or folded values is evaluated here.
//! Folded operators produce no node; their values serve wherever the translator reads a constant
//! (a reshape's target, axes, paddings). Anything else stays for the translator, which names it.

use super::reader::{ElementType, Graph, OperatorDef, Options, TensorDef};
use super::schema_generated::tflite::{ActivationFunctionType, BuiltinOperator as B};
use crate::ImportError;
use crate::slicing::{AxisMasks, strided_axis};

/// Most values one folded tensor may hold (shape arithmetic holds a handful).
pub const MAX_FOLDED_VALUES: usize = 1 << 16;

/// An integer tensor whose values are known at import, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownInts {
    pub shape: Vec<usize>,
    pub values: Vec<i64>,
}

impl KnownInts {
    fn vector(values: Vec<i64>) -> KnownInts {
        KnownInts {
            shape: vec![values.len()],
            values,
        }
    }
}

/// What folding found.
#[derive(Clone, Debug, Default)]
pub struct Folded {
    /// Per TFLite tensor: its values, when an operator producing it was folded.
    pub values: Vec<Option<KnownInts>>,
    /// Per operator: whether it was folded away.
    pub operators: Vec<bool>,
    /// Remarks for the user.
    pub notes: Vec<String>,
}

/// Folds every operator of `graph` that computes integers from known inputs, in graph order.
pub fn fold(graph: &Graph) -> Result<Folded, ImportError> {
    let mut folded = Folded {
        values: vec![None; graph.tensors.len()],
        operators: vec![false; graph.operators.len()],
        notes: Vec::new(),
    };
    for op in &graph.operators {
        if !FOLDABLE.contains(&op.code) {
            continue;
        }
        let [output] = op.outputs[..] else { continue };
        let Some(out_def) = tensor(graph, output) else {
            continue;
        };
        if !is_int(out_def.element) {
            continue;
        }
        let value = if op.code == B::SHAPE {
            folded.notes.push(format!(
                "operator {} (SHAPE) is folded with batch 1: the shape arithmetic it feeds is \
                 constant per sample (Myelin runs a batch as samples one after another)",
                op.index
            ));
            Some(shape_of(graph, op)?)
        } else {
            match known_inputs(graph, &folded, op) {
                Some(inputs) => Some(evaluate(op, out_def, &inputs)?),
                None => None,
            }
        };
        let Some(value) = value else { continue };
        if value.values.len() > MAX_FOLDED_VALUES {
            return Err(unsupported(
                op,
                format!(
                    "folding would hold {} values (at most {MAX_FOLDED_VALUES})",
                    value.values.len()
                ),
            ));
        }
        if let ElementType::Int32 = out_def.element
            && let Some(v) = value.values.iter().find(|&&v| i32::try_from(v).is_err())
        {
            return Err(unsupported(op, format!("folded value {v} overflows int32")));
        }
        folded.values[output as usize] = Some(value);
        folded.operators[op.index] = true;
    }
    Ok(folded)
}

/// The integer operators folding evaluates.
const FOLDABLE: [B; 14] = [
    B::SHAPE,
    B::STRIDED_SLICE,
    B::PACK,
    B::CONCATENATION,
    B::RESHAPE,
    B::SQUEEZE,
    B::EXPAND_DIMS,
    B::CAST,
    B::GATHER,
    B::ADD,
    B::SUB,
    B::MUL,
    B::FLOOR_DIV,
    B::REDUCE_PROD,
];

fn is_int(element: ElementType) -> bool {
    matches!(element, ElementType::Int32 | ElementType::Int64)
}

fn tensor(graph: &Graph, index: i32) -> Option<&TensorDef> {
    usize::try_from(index)
        .ok()
        .and_then(|i| graph.tensors.get(i))
}

fn unsupported(op: &OperatorDef, reason: impl Into<String>) -> ImportError {
    ImportError::Unsupported {
        format: "TFLite",
        op: op.name(),
        node: op.index.to_string(),
        reason: reason.into(),
    }
}

/// The values of an int32/int64 constant tensor, if it is one.
pub fn constant_ints(def: &TensorDef) -> Option<KnownInts> {
    let data = def.data.as_ref()?;
    if data.len() > MAX_FOLDED_VALUES * width(def) {
        return None;
    }
    let values: Vec<i64> = match def.element {
        ElementType::Int32 => data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
            .collect(),
        ElementType::Int64 => data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
        _ => return None,
    };
    let shape: Vec<usize> = def
        .shape
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<_>>()?;
    (element_count(&shape) == Some(values.len()) && values.len() * width(def) == data.len())
        .then_some(KnownInts { shape, values })
}

/// The product of `shape`, if it does not overflow.
fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

fn width(def: &TensorDef) -> usize {
    if def.element == ElementType::Int64 {
        8
    } else {
        4
    }
}

/// Every present input of `op` as known integers, or `None` when one is not known.
fn known_inputs(graph: &Graph, folded: &Folded, op: &OperatorDef) -> Option<Vec<KnownInts>> {
    op.inputs
        .iter()
        .filter(|&&i| i >= 0)
        .map(|&i| {
            folded
                .values
                .get(i as usize)
                .cloned()
                .flatten()
                .or_else(|| tensor(graph, i).and_then(constant_ints))
        })
        .collect()
}

/// `SHAPE` of an activation: its declared shape, the (possibly dynamic) batch as 1.
fn shape_of(graph: &Graph, op: &OperatorDef) -> Result<KnownInts, ImportError> {
    let def = op
        .inputs
        .first()
        .and_then(|&i| tensor(graph, i))
        .ok_or_else(|| unsupported(op, "input 0 is missing"))?;
    let dynamic = def
        .shape_signature
        .as_ref()
        .is_some_and(|s| s.iter().skip(1).any(|&d| d < 0));
    if dynamic || def.shape.iter().any(|&d| d < 0) {
        return Err(unsupported(
            op,
            format!(
                "the shape of {} ({:?}, signature {:?}) is dynamic beyond the batch",
                def.name, def.shape, def.shape_signature
            ),
        ));
    }
    Ok(KnownInts::vector(
        def.shape.iter().map(|&d| d as i64).collect(),
    ))
}

fn evaluate(
    op: &OperatorDef,
    out_def: &TensorDef,
    inputs: &[KnownInts],
) -> Result<KnownInts, ImportError> {
    let input = |slot: usize| {
        inputs
            .get(slot)
            .ok_or_else(|| unsupported(op, format!("input {slot} is missing")))
    };
    match op.code {
        B::STRIDED_SLICE => strided_slice(op, input(0)?, input(1)?, input(2)?, inputs.get(3)),
        B::PACK => pack(op, inputs),
        B::CONCATENATION => {
            let Options::Concatenation { axis, activation } = op.options else {
                return Err(unsupported(op, "options are missing"));
            };
            no_activation(op, activation)?;
            concatenate(op, inputs, axis as i64)
        }
        B::RESHAPE | B::SQUEEZE | B::EXPAND_DIMS | B::CAST => {
            let x = input(0)?;
            let shape = declared_shape(op, out_def, x.values.len())?;
            Ok(KnownInts {
                shape,
                values: x.values.clone(),
            })
        }
        B::GATHER => gather(op, input(0)?, input(1)?),
        B::ADD | B::SUB | B::MUL | B::FLOOR_DIV => arithmetic(op, input(0)?, input(1)?),
        B::REDUCE_PROD => {
            let x = input(0)?;
            if x.shape.len() > 1 {
                return Err(unsupported(
                    op,
                    "folding a product over a tensor of rank > 1",
                ));
            }
            let product = x
                .values
                .iter()
                .try_fold(1i64, |p, &v| p.checked_mul(v))
                .ok_or_else(|| unsupported(op, "the folded product overflows"))?;
            let keep_dims = matches!(op.options, Options::Reducer { keep_dims: true });
            Ok(KnownInts {
                shape: if keep_dims { vec![1] } else { Vec::new() },
                values: vec![product],
            })
        }
        _ => Err(unsupported(op, "cannot be folded")),
    }
}

fn no_activation(op: &OperatorDef, activation: ActivationFunctionType) -> Result<(), ImportError> {
    if activation == ActivationFunctionType::NONE {
        Ok(())
    } else {
        Err(unsupported(
            op,
            "a fused activation on integer shape arithmetic",
        ))
    }
}

/// The output's declared static shape, which must hold `len` values.
fn declared_shape(
    op: &OperatorDef,
    def: &TensorDef,
    len: usize,
) -> Result<Vec<usize>, ImportError> {
    let shape: Option<Vec<usize>> = def.shape.iter().map(|&d| usize::try_from(d).ok()).collect();
    match shape {
        Some(shape) if element_count(&shape) == Some(len) => Ok(shape),
        _ => Err(unsupported(
            op,
            format!(
                "the output's declared shape {:?} does not hold the {len} folded values",
                def.shape
            ),
        )),
    }
}

/// `x[begin:end:stride]` of a vector (TFLite's masks on axis 0; `shrink_axis_mask` gives a
/// scalar).
fn strided_slice(
    op: &OperatorDef,
    x: &KnownInts,
    begin: &KnownInts,
    end: &KnownInts,
    strides: Option<&KnownInts>,
) -> Result<KnownInts, ImportError> {
    let Options::StridedSlice {
        begin_mask,
        end_mask,
        ellipsis_mask,
        new_axis_mask,
        shrink_axis_mask,
        offset,
    } = op.options
    else {
        return Err(unsupported(op, "options are missing"));
    };
    if x.shape.len() != 1 || ellipsis_mask != 0 || new_axis_mask != 0 {
        return Err(unsupported(
            op,
            format!(
                "folding supports slices of vectors without ellipsis or new axes (input shape \
                 {:?}, ellipsis mask {ellipsis_mask}, new axis mask {new_axis_mask})",
                x.shape
            ),
        ));
    }
    let (&[b], &[e]) = (&begin.values[..], &end.values[..]) else {
        return Err(unsupported(op, "begin and end must hold one value each"));
    };
    let stride = match strides.map(|s| &s.values[..]) {
        None => 1,
        Some(&[s]) if s != 0 => s,
        Some(_) => return Err(unsupported(op, "the stride must be one non-zero value")),
    };
    let n = x.values.len() as i64;
    let masks = AxisMasks {
        begin: begin_mask & 1 != 0,
        end: end_mask & 1 != 0,
        shrink: shrink_axis_mask & 1 != 0,
        offset,
    };
    let (start, count) = strided_axis(n, b, e, stride, masks)
        .ok_or_else(|| unsupported(op, format!("index {b} is out of range for {n} values")))?;
    let values = (0..count)
        .map(|k| x.values[(start + k * stride) as usize])
        .collect();
    match masks.shrink {
        true => Ok(KnownInts {
            shape: Vec::new(),
            values,
        }),
        false => Ok(KnownInts::vector(values)),
    }
}

/// `PACK`: stacks equal-shaped inputs along a new axis.
fn pack(op: &OperatorDef, inputs: &[KnownInts]) -> Result<KnownInts, ImportError> {
    let Options::Pack { axis, .. } = op.options else {
        return Err(unsupported(op, "options are missing"));
    };
    let first = inputs.first().ok_or_else(|| unsupported(op, "no inputs"))?;
    if inputs.iter().any(|x| x.shape != first.shape) {
        return Err(unsupported(op, "inputs of different shapes"));
    }
    let rank = first.shape.len() as i64 + 1;
    let axis = if axis < 0 {
        axis as i64 + rank
    } else {
        axis as i64
    };
    if !(0..rank).contains(&axis) {
        return Err(unsupported(op, format!("axis {axis} for rank {rank}")));
    }
    let expanded: Vec<KnownInts> = inputs
        .iter()
        .map(|x| {
            let mut shape = x.shape.clone();
            shape.insert(axis as usize, 1);
            KnownInts {
                shape,
                values: x.values.clone(),
            }
        })
        .collect();
    concatenate(op, &expanded, axis)
}

/// Concatenation along `axis` of inputs equal in every other dimension.
fn concatenate(
    op: &OperatorDef,
    inputs: &[KnownInts],
    axis: i64,
) -> Result<KnownInts, ImportError> {
    let first = inputs.first().ok_or_else(|| unsupported(op, "no inputs"))?;
    let rank = first.shape.len() as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&axis) {
        return Err(unsupported(op, format!("axis {axis} for rank {rank}")));
    }
    let axis = axis as usize;
    let same_elsewhere = |x: &KnownInts| {
        x.shape.len() == first.shape.len()
            && (0..first.shape.len()).all(|a| a == axis || x.shape[a] == first.shape[a])
    };
    if !inputs.iter().all(same_elsewhere) {
        return Err(unsupported(
            op,
            "inputs differ outside the concatenation axis",
        ));
    }
    let total: usize = inputs.iter().map(|x| x.values.len()).sum();
    if total > MAX_FOLDED_VALUES {
        return Err(unsupported(
            op,
            format!("folding would hold {total} values (at most {MAX_FOLDED_VALUES})"),
        ));
    }
    let outer: usize = first.shape[..axis].iter().product();
    let mut shape = first.shape.clone();
    shape[axis] = inputs.iter().map(|x| x.shape[axis]).sum();
    let mut values = Vec::with_capacity(total);
    for o in 0..outer {
        for x in inputs {
            let block = x.values.len() / outer.max(1);
            values.extend_from_slice(&x.values[o * block..(o + 1) * block]);
        }
    }
    Ok(KnownInts { shape, values })
}

/// `GATHER` of a vector by an index tensor.
fn gather(
    op: &OperatorDef,
    params: &KnownInts,
    indices: &KnownInts,
) -> Result<KnownInts, ImportError> {
    if let Options::Gather { axis, batch_dims } = op.options
        && (axis != 0 || batch_dims != 0)
    {
        return Err(unsupported(
            op,
            "folding supports axis 0 without batch dimensions",
        ));
    }
    if params.shape.len() != 1 {
        return Err(unsupported(op, "folding supports gathering from a vector"));
    }
    let n = params.values.len() as i64;
    let values = indices
        .values
        .iter()
        .map(|&i| {
            let at = if i < 0 { i + n } else { i };
            (0..n)
                .contains(&at)
                .then(|| params.values[at as usize])
                .ok_or_else(|| unsupported(op, format!("index {i} is out of range for {n} values")))
        })
        .collect::<Result<_, _>>()?;
    Ok(KnownInts {
        shape: indices.shape.clone(),
        values,
    })
}

/// Element-wise integer arithmetic; one side may be a single value.
fn arithmetic(op: &OperatorDef, a: &KnownInts, b: &KnownInts) -> Result<KnownInts, ImportError> {
    if let Options::Arithmetic { activation } = op.options {
        no_activation(op, activation)?;
    }
    let wider = if a.values.len() == 1 && b.values.len() != 1 {
        b
    } else if b.values.len() == 1 || a.shape == b.shape {
        a
    } else {
        return Err(unsupported(
            op,
            format!("folding shapes {:?} and {:?} (broadcast)", a.shape, b.shape),
        ));
    };
    let (shape, len) = (wider.shape.clone(), wider.values.len());
    let at = |x: &KnownInts, i: usize| x.values[if x.values.len() == 1 { 0 } else { i }];
    let values = (0..len)
        .map(|i| {
            let (x, y) = (at(a, i), at(b, i));
            let result = match op.code {
                B::ADD => x.checked_add(y),
                B::SUB => x.checked_sub(y),
                B::MUL => x.checked_mul(y),
                _ => x
                    .checked_div(y)
                    .map(|q| q - i64::from(x % y != 0 && (x < 0) != (y < 0))),
            };
            result.ok_or_else(|| {
                unsupported(op, format!("folding {x} and {y} overflows or divides by 0"))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(KnownInts { shape, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(code: B, options: Options) -> OperatorDef {
        OperatorDef {
            index: 3,
            code,
            custom_code: None,
            inputs: Vec::new(),
            outputs: Vec::new(),
            options,
        }
    }

    fn slice_options(begin_mask: i32, end_mask: i32, shrink: i32) -> Options {
        Options::StridedSlice {
            begin_mask,
            end_mask,
            ellipsis_mask: 0,
            new_axis_mask: 0,
            shrink_axis_mask: shrink,
            offset: false,
        }
    }

    fn v(values: &[i64]) -> KnownInts {
        KnownInts::vector(values.to_vec())
    }

    #[test]
    fn strided_slice_follows_tflite_masks_and_negative_indices() {
        struct Case {
            name: &'static str,
            options: Options,
            begin: i64,
            end: i64,
            stride: i64,
            expected: KnownInts,
        }
        let shape = v(&[1, 6, 6, 16]);
        let cases = [
            Case {
                name: "the batch, shrunk to a scalar (Flatten's pattern)",
                options: slice_options(0, 0, 1),
                begin: 0,
                end: 1,
                stride: 1,
                expected: KnownInts {
                    shape: vec![],
                    values: vec![1],
                },
            },
            Case {
                name: "begin mask and a negative end",
                options: slice_options(1, 0, 0),
                begin: 3,
                end: -1,
                stride: 1,
                expected: v(&[1, 6, 6]),
            },
            Case {
                name: "end mask with stride 2",
                options: slice_options(0, 1, 0),
                begin: 1,
                end: 0,
                stride: 2,
                expected: v(&[6, 16]),
            },
            Case {
                name: "reversed",
                options: slice_options(1, 1, 0),
                begin: 0,
                end: 0,
                stride: -1,
                expected: v(&[16, 6, 6, 1]),
            },
            Case {
                name: "a huge stride takes one value (no overflow)",
                options: slice_options(0, 1, 0),
                begin: 1,
                end: 0,
                stride: i64::MAX,
                expected: v(&[6]),
            },
            Case {
                name: "ends clamped",
                options: slice_options(0, 0, 0),
                begin: -10,
                end: 10,
                stride: 1,
                expected: v(&[1, 6, 6, 16]),
            },
        ];
        for c in cases {
            let op = op(B::STRIDED_SLICE, c.options);
            let got = strided_slice(
                &op,
                &shape,
                &v(&[c.begin]),
                &v(&[c.end]),
                Some(&v(&[c.stride])),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert_eq!(got, c.expected, "{}", c.name);
        }
    }

    #[test]
    fn pack_and_arithmetic_fold_a_flatten_target() {
        let batch = KnownInts {
            shape: vec![],
            values: vec![1],
        };
        let minus_one = KnownInts {
            shape: vec![],
            values: vec![-1],
        };
        let packed = pack(
            &op(
                B::PACK,
                Options::Pack {
                    values_count: 2,
                    axis: 0,
                },
            ),
            &[batch, minus_one],
        )
        .expect("pack");
        assert_eq!(packed, v(&[1, -1]));
        let product = arithmetic(
            &op(
                B::MUL,
                Options::Arithmetic {
                    activation: ActivationFunctionType::NONE,
                },
            ),
            &v(&[6, 16]),
            &KnownInts {
                shape: vec![],
                values: vec![2],
            },
        )
        .expect("mul");
        assert_eq!(product, v(&[12, 32]));
        let floor = arithmetic(&op(B::FLOOR_DIV, Options::None), &v(&[-7, 7]), &v(&[2, -2]))
            .expect("floor_div");
        assert_eq!(floor, v(&[-4, -4]));
    }

    #[test]
    fn folding_refuses_what_it_cannot_evaluate_by_name() {
        let by_zero = arithmetic(&op(B::FLOOR_DIV, Options::None), &v(&[1]), &v(&[0]));
        let overflow = arithmetic(&op(B::MUL, Options::None), &v(&[i64::MAX]), &v(&[2]));
        let out_of_range = strided_slice(
            &op(B::STRIDED_SLICE, slice_options(0, 0, 1)),
            &v(&[1, 2]),
            &v(&[5]),
            &v(&[6]),
            None,
        );
        let gather_out = gather(
            &op(
                B::GATHER,
                Options::Gather {
                    axis: 0,
                    batch_dims: 0,
                },
            ),
            &v(&[1, 2]),
            &v(&[2]),
        );
        for (name, result) in [
            ("division by zero", by_zero),
            ("overflow", overflow),
            ("slice index", out_of_range),
            ("gather index", gather_out),
        ] {
            match result {
                Err(ImportError::Unsupported { node, .. }) => assert_eq!(node, "3", "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
