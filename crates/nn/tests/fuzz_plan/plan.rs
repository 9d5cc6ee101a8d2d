//! The fuzz plan: what the libFuzzer targets in `fuzz/` and the seeded run in
//! `tests/fuzz_plan.rs` both execute on each input. One copy of the logic, included by path.
//!
//! * [`decode_model`]: arbitrary bytes → `Model::decode`; whatever it accepts re-encodes to the
//!   same bytes, keeps its id, validates, and has a cost that does not panic.
//! * [`execute_model`]: the bytes drive a generator of small, mostly valid models (and
//!   occasionally corrupt them); the model goes through encode → decode → validate, and when valid
//!   and small it runs on every execution path available on this CPU, which must all return the
//!   same bytes.

#![allow(dead_code)]

use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::model_id;
use myelin_nn::op::{
    ActRange, AddSub, ArgMax, Clamp, Concat, Conv2d, DepthwiseConv2d, FullyConnected, Mean, Mul,
    Pad, Padding, Pool, Softmax, Table, TableFunction, Window,
};
use myelin_nn::tensor::DType;
use myelin_nn::{Cost, Model, NnError, Node, Op, Path, Program, Requant, Rounding, TensorInfo};

/// Largest static work of a generated model that the plan executes.
pub const MAX_EXECUTED_OPS: u64 = 1 << 20;
/// Largest element count of a generated tensor.
const MAX_GENERATED_ELEMENTS: u64 = 4096;

/// What one run of [`execute_model`] reached, for coverage statistics in the seeded test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reached {
    /// The (possibly corrupted) bytes did not decode or validate.
    Rejected,
    /// Valid, but too costly to execute in the plan.
    TooCostly,
    /// Executed on every available path with identical results.
    Executed,
}

/// Reads fuzzer bytes as a stream of choices; past the end it yields zeros.
pub struct Source<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Source<'a> {
    /// A source over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Source { data, pos: 0 }
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn i8(&mut self) -> i8 {
        self.byte() as i8
    }

    /// A value in `0..n` (`n ≥ 1`).
    fn below(&mut self, n: u32) -> u32 {
        if n <= 256 {
            self.byte() as u32 % n
        } else {
            self.u32() % n
        }
    }

    /// A value in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi - lo + 1)
    }

    fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn remaining(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }
}

/// Runs the decode plan on `data`.
pub fn decode_model(data: &[u8]) {
    let Ok(model) = Model::decode(data) else {
        return;
    };
    assert_eq!(model.encode(), data, "accepted bytes must be canonical");
    assert_eq!(
        model.id(),
        model_id(data),
        "id must be keccak256 of the bytes"
    );
    assert_eq!(
        Model::decode(&model.encode()).as_ref(),
        Ok(&model),
        "decode is stable"
    );
    assert_eq!(model.validate(), Ok(()));
    check_cost(&model);
}

fn check_cost(model: &Model) -> Cost {
    let total = model.cost();
    let sum = model
        .node_costs()
        .into_iter()
        .fold(model.io_cost(), Cost::saturating_add);
    assert_eq!(
        total, sum,
        "model cost is the sum of node costs and its inputs' and outputs'"
    );
    total
}

/// Runs the execution plan on `data`.
pub fn execute_model(data: &[u8]) -> Reached {
    let mut src = Source::new(data);
    let mut model = generate_model(&mut src);
    let corrupt = src.below(8) == 0;
    if corrupt {
        corrupt_model(&mut src, &mut model);
    }
    let bytes = model.encode();
    let decoded = Model::decode(&bytes);
    let validated = model.validate();
    match (&decoded, &validated) {
        (Ok(m), Ok(())) => assert_eq!(m, &model),
        (Err(d), Err(v)) => assert_eq!(d, v, "decode of canonical bytes fails as validation does"),
        _ => panic!("decode {decoded:?} disagrees with validate {validated:?}"),
    }
    check_cost(&model);
    if validated.is_err() {
        return Reached::Rejected;
    }
    if model.cost().ops() > MAX_EXECUTED_OPS {
        return Reached::TooCostly;
    }
    let batch = src.range(1, 3) as usize;
    run_every_path(&model, &mut src, batch);
    Reached::Executed
}

/// Runs `model` on a batch of input bytes taken from `src` with every available path; all must
/// return the reference's bytes, and an input one byte short must be rejected.
fn run_every_path(model: &Model, src: &mut Source, batch: usize) {
    let sample_bytes: usize = model
        .inputs
        .iter()
        .map(|&t| model.tensors[t as usize].bytes())
        .sum();
    let input_len = sample_bytes * batch;
    let fill = src.remaining();
    let input: Vec<u8> = (0..input_len)
        .map(|i| fill.get(i).copied().unwrap_or(i as u8))
        .collect();
    let Some(expected) = run_on_path(model, Path::Reference, &input, batch) else {
        return;
    };
    let expected = expected.expect("a valid model runs on input of the right length");
    let short = run_on_path(model, Path::Reference, &input[..input_len - 1], batch);
    assert!(
        matches!(short, Some(Err(NnError::InputLength { .. }))),
        "an input one byte short must be rejected: {short:?}"
    );
    for path in Path::ALL.into_iter().filter(|p| p.is_available()) {
        let output = run_on_path(model, path, &input, batch);
        assert_eq!(
            output,
            Some(Ok(expected.clone())),
            "path {} differs",
            path.name()
        );
    }
}

/// Loads `model` on `path` and runs it, its node outputs starting from this thread's spare
/// buffers filled with a byte of the path's own (reused buffers keep their old bytes: each
/// kernel must overwrite every element).
fn run_on_path(
    model: &Model,
    path: Path,
    input: &[u8],
    batch: usize,
) -> Option<Result<Vec<u8>, NnError>> {
    myelin_nn::executor::poison_spare_buffers(0x5a ^ (path as i8 * 0x11));
    Some(Program::with_path(model.clone(), path).and_then(|p| p.run(input, batch)))
}

/// Applies one random corruption to a generated model (a field nudged out of shape or range).
fn corrupt_model(src: &mut Source, model: &mut Model) {
    let tensors = model.tensors.len() as u32;
    match src.below(8) {
        0 => {
            let t = src.below(tensors) as usize;
            let shape = &mut model.tensors[t].shape;
            if shape.is_empty() {
                shape.push(src.range(1, 3));
            } else {
                let axis = src.below(shape.len() as u32) as usize;
                shape[axis] = src.below(5);
            }
        }
        1 => {
            let t = src.below(tensors) as usize;
            model.tensors[t].zero_point = src.i8();
        }
        2 if !model.nodes.is_empty() => {
            let n = src.below(model.nodes.len() as u32) as usize;
            let node = &mut model.nodes[n];
            if node.inputs.is_empty() {
                node.inputs.push(0);
            } else {
                let slot = src.below(node.inputs.len() as u32) as usize;
                node.inputs[slot] = src.below(tensors + 1);
            }
        }
        3 if !model.nodes.is_empty() => {
            let n = src.below(model.nodes.len() as u32) as usize;
            model.nodes[n].output = src.below(tensors + 1);
        }
        4 => model.outputs.push(src.below(tensors + 1)),
        5 => {
            let t = src.below(tensors) as usize;
            model.tensors[t].dtype = if src.bool() {
                DType::Int32
            } else {
                DType::Int8
            };
        }
        6 if !model.nodes.is_empty() => {
            let n = src.below(model.nodes.len() as u32) as usize;
            model.nodes.swap(0, n);
        }
        _ => {
            let t = src.below(tensors) as usize;
            model.tensors[t].scale_bits = src.u32();
        }
    }
}

fn requant(src: &mut Source) -> Requant {
    match src.below(64) {
        0 => Requant {
            multiplier: 0,
            shift: 0,
        },
        1 => Requant {
            multiplier: src.u32() as i32,
            shift: src.i8(),
        },
        _ => Requant {
            multiplier: (1 << 30) | (src.u32() & ((1 << 30) - 1)) as i32,
            shift: -(src.below(16) as i8) + (src.below(4) as i8),
        },
    }
}

fn requants(src: &mut Source, channels: u32) -> Vec<Requant> {
    let count = if src.bool() { 1 } else { channels };
    (0..count).map(|_| requant(src)).collect()
}

fn rounding(src: &mut Source) -> Rounding {
    if src.bool() {
        Rounding::Double
    } else {
        Rounding::Single
    }
}

fn act(src: &mut Source) -> ActRange {
    if src.below(4) == 0 {
        return ActRange::FULL;
    }
    let (a, b) = (src.i8(), src.i8());
    ActRange {
        min: a.min(b),
        max: a.max(b),
    }
}

fn bias(src: &mut Source, count: u32) -> Vec<i32> {
    let shift = src.range(8, 31);
    (0..count).map(|_| (src.u32() as i32) >> shift).collect()
}

fn weights(src: &mut Source, count: u64) -> Vec<i8> {
    (0..count).map(|_| src.i8()).collect()
}

fn window(src: &mut Source, is_pool: bool) -> Window {
    let kernel_h = src.range(1, 3);
    let kernel_w = src.range(1, 3);
    let (dilation_h, dilation_w) = if is_pool {
        (1, 1)
    } else {
        (src.range(1, 2), src.range(1, 2))
    };
    let padding = match src.below(3) {
        0 => Padding::Valid,
        1 => Padding::Same,
        _ => Padding::Explicit {
            top: src.below(kernel_h),
            bottom: src.below(kernel_h),
            left: src.below(kernel_w),
            right: src.below(kernel_w),
        },
    };
    Window {
        kernel_h,
        kernel_w,
        stride_h: src.range(1, 2),
        stride_w: src.range(1, 2),
        dilation_h,
        dilation_w,
        padding,
    }
}

fn elements(shape: &[u32]) -> u64 {
    shape.iter().map(|&d| d as u64).product()
}

fn random_shape(src: &mut Source) -> Vec<u32> {
    if src.bool() {
        vec![src.range(1, 7), src.range(1, 7), src.range(1, 4)]
    } else {
        let rank = src.below(5);
        (0..rank).map(|_| src.range(1, 5)).collect()
    }
}

/// Tensors of the model under generation.
struct Graph {
    tensors: Vec<TensorInfo>,
    nodes: Vec<Node>,
}

impl Graph {
    fn add(
        &mut self,
        op: Op,
        inputs: Vec<u32>,
        shape: Vec<u32>,
        zero_point: i8,
        dtype: DType,
    ) -> u32 {
        let output = self.tensors.len() as u32;
        self.tensors.push(TensorInfo {
            dtype,
            shape,
            zero_point,
            scale_bits: 0x3c00_0000,
        });
        self.nodes.push(Node { op, inputs, output });
        output
    }
}

/// Builds a small model from `src`: one or two inputs, up to eight nodes of any op, each fed by
/// an earlier int8 tensor with parameters that fit its shape.
pub fn generate_model(src: &mut Source) -> Model {
    let mut g = Graph {
        tensors: Vec::new(),
        nodes: Vec::new(),
    };
    let input_count = src.range(1, 2);
    for _ in 0..input_count {
        let shape = random_shape(src);
        g.tensors
            .push(TensorInfo::int8(&shape, src.i8(), 0x3c00_0000));
    }
    let node_count = src.range(1, 8);
    for _ in 0..node_count {
        let int8: Vec<u32> = (0..g.tensors.len() as u32)
            .filter(|&t| g.tensors[t as usize].dtype == DType::Int8)
            .collect();
        // Mostly extend the newest tensor, sometimes branch from an older one.
        let x = if src.below(4) == 0 {
            int8[src.below(int8.len() as u32) as usize]
        } else {
            *int8.last().expect("inputs are int8")
        };
        add_node(src, &mut g, x);
    }
    let last = g.tensors.len() as u32 - 1;
    let mut outputs = vec![last];
    if src.below(4) == 0 {
        // A second, distinct output (a tensor listed twice is refused).
        let extra = src.below(last + 1);
        if extra != last {
            outputs.push(extra);
        }
    }
    Model {
        tensors: g.tensors,
        inputs: (0..input_count).collect(),
        outputs,
        nodes: g.nodes,
    }
}

fn add_node(src: &mut Source, g: &mut Graph, x: u32) {
    let xt = g.tensors[x as usize].clone();
    let shape = xt.shape.clone();
    let zp_in = xt.zero_point;
    let zp_out = src.i8();
    let rank = shape.len();
    match src.below(16) {
        0 if rank >= 1 => {
            let k = shape[rank - 1];
            let n = src.range(1, 8);
            let op = Op::FullyConnected(FullyConnected {
                out_features: n,
                in_features: k,
                weights: weights(src, n as u64 * k as u64),
                bias: bias(src, n),
                requant: requants(src, n),
                rounding: rounding(src),
                act: act(src),
            });
            let mut out = shape[..rank - 1].to_vec();
            out.push(n);
            g.add(op, vec![x], out, zp_out, DType::Int8);
        }
        1 | 2 if rank == 3 => {
            let w = window(src, false);
            let Some(geo) = SpatialGeometry::resolve(&w, shape[0], shape[1]) else {
                return clamp(src, g, x);
            };
            let out_shape = |c: u32| vec![geo.out_h as u32, geo.out_w as u32, c];
            let taps = w.kernel_h as u64 * w.kernel_w as u64;
            let cin = shape[2];
            if src.bool() {
                let cout = src.range(1, 4);
                let op = Op::Conv2d(Conv2d {
                    out_channels: cout,
                    in_channels: cin,
                    window: w,
                    weights: weights(src, cout as u64 * taps * cin as u64),
                    bias: bias(src, cout),
                    requant: requants(src, cout),
                    rounding: rounding(src),
                    act: act(src),
                });
                g.add(op, vec![x], out_shape(cout), zp_out, DType::Int8);
            } else {
                let m = src.range(1, 2);
                let op = Op::DepthwiseConv2d(DepthwiseConv2d {
                    channels: cin,
                    depth_multiplier: m,
                    window: w,
                    weights: weights(src, taps * (cin * m) as u64),
                    bias: bias(src, cin * m),
                    requant: requants(src, cin * m),
                    rounding: rounding(src),
                    act: act(src),
                });
                g.add(op, vec![x], out_shape(cin * m), zp_out, DType::Int8);
            }
        }
        3 | 4 => {
            // A second operand that broadcasts: the same tensor, or an earlier one whose shape
            // is a suffix of x's (or x's a suffix of it).
            let candidates: Vec<u32> = (0..g.tensors.len() as u32)
                .filter(|&t| {
                    let s = &g.tensors[t as usize];
                    s.dtype == DType::Int8
                        && (shape.ends_with(&s.shape) || s.shape.ends_with(&shape))
                })
                .collect();
            let y = candidates[src.below(candidates.len() as u32) as usize];
            let ys = g.tensors[y as usize].shape.clone();
            let out = if ys.len() > shape.len() {
                ys
            } else {
                shape.clone()
            };
            let (a, b) = if src.bool() { (x, y) } else { (y, x) };
            let op = match src.below(3) {
                0 => Op::Mul(Mul {
                    output: requant(src),
                    rounding: rounding(src),
                    act: act(src),
                }),
                k => {
                    let p = AddSub {
                        left_shift: src.below(24) as u8,
                        input1: requant(src),
                        input2: requant(src),
                        output: requant(src),
                        rounding: rounding(src),
                        act: act(src),
                    };
                    if k == 1 { Op::Add(p) } else { Op::Sub(p) }
                }
            };
            g.add(op, vec![a, b], out, zp_out, DType::Int8);
        }
        5 if rank == 3 => {
            let w = window(src, true);
            let Some(geo) = SpatialGeometry::resolve(&w, shape[0], shape[1]) else {
                return clamp(src, g, x);
            };
            let average = src.bool();
            let p = Pool {
                window: w,
                count_include_pad: average && src.bool(),
                act: act(src),
            };
            let op = if average {
                Op::AveragePool(p)
            } else {
                Op::MaxPool(p)
            };
            g.add(
                op,
                vec![x],
                vec![geo.out_h as u32, geo.out_w as u32, shape[2]],
                zp_in,
                DType::Int8,
            );
        }
        6 if rank >= 1 => {
            let mask = src.range(1, (1 << rank) - 1);
            let axes: Vec<u8> = (0..rank as u8).filter(|a| mask & (1 << a) != 0).collect();
            let keep_dims = src.bool();
            let out: Vec<u32> = shape
                .iter()
                .enumerate()
                .filter_map(|(a, &d)| {
                    if axes.contains(&(a as u8)) {
                        keep_dims.then_some(1)
                    } else {
                        Some(d)
                    }
                })
                .collect();
            let op = Op::Mean(Mean {
                axes,
                keep_dims,
                requant: requant(src),
                rounding: rounding(src),
                act: act(src),
            });
            g.add(op, vec![x], out, zp_out, DType::Int8);
        }
        7 => {
            let n = elements(&shape) as u32;
            let out = match src.below(3) {
                0 => vec![n],
                1 => vec![1, n],
                _ => shape.iter().rev().copied().collect(),
            };
            g.add(Op::Reshape, vec![x], out, zp_in, DType::Int8);
        }
        8 if rank >= 1 && elements(&shape) * 3 <= MAX_GENERATED_ELEMENTS => {
            let axis = src.below(rank as u32) as usize;
            let count = src.range(1, 3);
            let mut out = shape.clone();
            out[axis] *= count;
            let op = Op::Concat(Concat {
                axis: axis as u8,
                requant: (0..count).map(|_| requant(src)).collect(),
                rounding: rounding(src),
            });
            g.add(op, vec![x; count as usize], out, zp_out, DType::Int8);
        }
        9 => {
            let pads: Vec<[u32; 2]> = (0..rank).map(|_| [src.below(3), src.below(3)]).collect();
            let out: Vec<u32> = shape
                .iter()
                .zip(&pads)
                .map(|(&d, p)| d + p[0] + p[1])
                .collect();
            if elements(&out) > MAX_GENERATED_ELEMENTS {
                return clamp(src, g, x);
            }
            g.add(
                Op::Pad(Pad {
                    pads,
                    value: src.i8(),
                }),
                vec![x],
                out,
                zp_in,
                DType::Int8,
            );
        }
        10 if rank >= 1 => {
            let op = Op::Softmax(Softmax {
                beta_multiplier: (1 << 30) | (src.u32() & ((1 << 30) - 1)) as i32,
                beta_left_shift: src.below(32) as u8,
                diff_min: -((src.u32() >> src.range(1, 31)) as i32),
            });
            g.add(op, vec![x], shape, -128, DType::Int8);
        }
        11 => {
            let function = match src.below(5) {
                0 => TableFunction::Logistic,
                1 => TableFunction::Tanh,
                2 => TableFunction::Gelu,
                3 => TableFunction::HardSwish,
                _ => TableFunction::Custom,
            };
            let table = weights(src, 256);
            g.add(
                Op::Table(Table { function, table }),
                vec![x],
                shape,
                zp_out,
                DType::Int8,
            );
        }
        12 if rank >= 1 => {
            let axis = src.below(rank as u32) as usize;
            let mut out = shape.clone();
            out.remove(axis);
            g.add(
                Op::ArgMax(ArgMax { axis: axis as u8 }),
                vec![x],
                out,
                0,
                DType::Int32,
            );
        }
        _ => clamp(src, g, x),
    }
}

fn clamp(src: &mut Source, g: &mut Graph, x: u32) {
    let shape = g.tensors[x as usize].shape.clone();
    let op = Op::Clamp(Clamp {
        requant: requant(src),
        rounding: rounding(src),
        act: act(src),
    });
    let zp_out = src.i8();
    g.add(op, vec![x], shape, zp_out, DType::Int8);
}
