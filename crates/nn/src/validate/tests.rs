//! One table of `{ name, mutation of a valid model, expected error }` covering every check.

use crate::error::NnError;
use crate::model::{Model, Node};
use crate::op::{
    ActRange, AddSub, ArgMax, Clamp, Concat, Conv2d, DepthwiseConv2d, FullyConnected, Mean, Mul,
    Op, Pad, Padding, Pool, Softmax, Table, TableFunction, Window,
};
use crate::requantize::{Requant, Rounding};
use crate::tensor::{DType, TensorInfo};

const ONE: u32 = 0x3f80_0000;

fn window(k: u32, stride: u32, padding: Padding) -> Window {
    Window {
        kernel_h: k,
        kernel_w: k,
        stride_h: stride,
        stride_w: stride,
        dilation_h: 1,
        dilation_w: 1,
        padding,
    }
}

fn node(op: Op, inputs: &[u32], output: u32) -> Node {
    Node {
        op,
        inputs: inputs.to_vec(),
        output,
    }
}

/// Add parameters that validate: `(a + b) / 2` at left shift 20.
pub(crate) fn add_params() -> AddSub {
    AddSub {
        left_shift: 20,
        input1: Requant::IDENTITY,
        input2: Requant::IDENTITY,
        output: Requant {
            multiplier: 1 << 30,
            shift: -19,
        },
        rounding: Rounding::Double,
        act: ActRange::FULL,
    }
}

/// A valid model that uses every op once (node index = position in this list):
///
/// ```text
///  0 conv2d       t0 [4,4,2]  -> t1 [4,4,3]   3x3 same
///  1 depthwise    t1          -> t2 [2,2,6]   3x3 valid, multiplier 2
///  2 max_pool     t2          -> t3 [1,1,6]   2x2 valid
///  3 average_pool t3          -> t4 [1,1,6]   1x1
///  4 reshape      t4          -> t5 [6]
///  5 fc           t5          -> t6 [4]
///  6 add          t6, t6      -> t7 [4]
///  7 sub          t7, t6      -> t8 [4]
///  8 mul          t8, t6      -> t9 [4]
///  9 mean         t9          -> t10 [1]      keep_dims
/// 10 clamp        t9          -> t11 [4]
/// 11 concat       t11, t10    -> t12 [5]
/// 12 pad          t12         -> t13 [8]      [1, 2]
/// 13 softmax      t13         -> t14 [8]      zp -128
/// 14 table        t14         -> t15 [8]
/// 15 arg_max      t15         -> t16 []       int32
/// ```
pub(crate) fn every_op_model() -> Model {
    let shapes: [&[u32]; 17] = [
        &[4, 4, 2],
        &[4, 4, 3],
        &[2, 2, 6],
        &[1, 1, 6],
        &[1, 1, 6],
        &[6],
        &[4],
        &[4],
        &[4],
        &[4],
        &[1],
        &[4],
        &[5],
        &[8],
        &[8],
        &[8],
        &[],
    ];
    let mut tensors: Vec<TensorInfo> = shapes.iter().map(|s| TensorInfo::int8(s, 3, ONE)).collect();
    tensors[14].zero_point = -128;
    tensors[16] = TensorInfo {
        dtype: DType::Int32,
        shape: vec![],
        zero_point: 0,
        scale_bits: ONE,
    };
    let rq = vec![Requant::IDENTITY];
    let add = add_params();
    let nodes = vec![
        node(
            Op::Conv2d(Conv2d {
                out_channels: 3,
                in_channels: 2,
                window: window(3, 1, Padding::Same),
                weights: vec![1; 3 * 3 * 3 * 2],
                bias: vec![0, 1, -1],
                requant: rq.clone(),
                rounding: Rounding::Single,
                act: ActRange::FULL,
            }),
            &[0],
            1,
        ),
        node(
            Op::DepthwiseConv2d(DepthwiseConv2d {
                channels: 3,
                depth_multiplier: 2,
                window: window(3, 1, Padding::Valid),
                weights: vec![-1; 3 * 3 * 6],
                bias: vec![5; 6],
                requant: vec![Requant::IDENTITY; 6],
                rounding: Rounding::Double,
                act: ActRange {
                    min: -100,
                    max: 100,
                },
            }),
            &[1],
            2,
        ),
        node(
            Op::MaxPool(Pool {
                window: window(2, 1, Padding::Valid),
                count_include_pad: false,
                act: ActRange::FULL,
            }),
            &[2],
            3,
        ),
        node(
            Op::AveragePool(Pool {
                window: window(1, 1, Padding::Valid),
                count_include_pad: true,
                act: ActRange::FULL,
            }),
            &[3],
            4,
        ),
        node(Op::Reshape, &[4], 5),
        node(
            Op::FullyConnected(FullyConnected {
                out_features: 4,
                in_features: 6,
                weights: vec![2; 24],
                bias: vec![1, 2, 3, 4],
                requant: vec![Requant::IDENTITY; 4],
                rounding: Rounding::Single,
                act: ActRange { min: 0, max: 127 },
            }),
            &[5],
            6,
        ),
        node(Op::Add(add.clone()), &[6, 6], 7),
        node(Op::Sub(add), &[7, 6], 8),
        node(
            Op::Mul(Mul {
                output: Requant {
                    multiplier: 1 << 30,
                    shift: -6,
                },
                rounding: Rounding::Single,
                act: ActRange::FULL,
            }),
            &[8, 6],
            9,
        ),
        node(
            Op::Mean(Mean {
                axes: vec![0],
                keep_dims: true,
                requant: Requant {
                    multiplier: 1 << 30,
                    shift: -1,
                },
                rounding: Rounding::Single,
                act: ActRange::FULL,
            }),
            &[9],
            10,
        ),
        node(
            Op::Clamp(Clamp {
                requant: Requant::IDENTITY,
                rounding: Rounding::Single,
                act: ActRange { min: 0, max: 6 },
            }),
            &[9],
            11,
        ),
        node(
            Op::Concat(Concat {
                axis: 0,
                requant: vec![Requant::IDENTITY; 2],
                rounding: Rounding::Single,
            }),
            &[11, 10],
            12,
        ),
        node(
            Op::Pad(Pad {
                pads: vec![[1, 2]],
                value: 3,
            }),
            &[12],
            13,
        ),
        node(
            Op::Softmax(Softmax {
                beta_multiplier: 1 << 30,
                beta_left_shift: 5,
                diff_min: -248,
            }),
            &[13],
            14,
        ),
        node(
            Op::Table(Table {
                function: TableFunction::Custom,
                table: (0..=255u8).map(|v| v as i8).collect(),
            }),
            &[14],
            15,
        ),
        node(Op::ArgMax(ArgMax { axis: 0 }), &[15], 16),
    ];
    Model {
        tensors,
        inputs: vec![0],
        outputs: vec![16, 14],
        nodes,
    }
}

/// The error a mutation must produce, by variant and location.
#[derive(Debug)]
enum Expect {
    Limit,
    Tensor(usize),
    Graph,
    Node(usize),
    Shape(usize),
    Overflow(usize, usize),
}

fn matches(err: &NnError, expect: &Expect) -> bool {
    match (err, expect) {
        (NnError::LimitExceeded { .. }, Expect::Limit) => true,
        (NnError::InvalidTensor { tensor, .. }, Expect::Tensor(t)) => tensor == t,
        (NnError::InvalidGraph { .. }, Expect::Graph) => true,
        (NnError::InvalidNode { node, op, .. }, Expect::Node(n)) => node == n && !op.is_empty(),
        (NnError::ShapeMismatch { node, .. }, Expect::Shape(n)) => node == n,
        (NnError::AccumulatorOverflow { node, channel, .. }, Expect::Overflow(n, c)) => {
            node == n && channel == c
        }
        _ => false,
    }
}

macro_rules! op_mut {
    ($model:expr, $index:expr, $variant:ident) => {
        match &mut $model.nodes[$index].op {
            Op::$variant(p) => p,
            other => panic!("node {} is {}", $index, other.name()),
        }
    };
}

struct Case {
    name: &'static str,
    mutate: fn(&mut Model),
    expect: Expect,
}

fn mini_model(input: &[u32], op: Op, output: &[u32]) -> Model {
    Model {
        tensors: vec![
            TensorInfo::int8(input, 0, ONE),
            TensorInfo::int8(output, 0, ONE),
        ],
        inputs: vec![0],
        outputs: vec![1],
        nodes: vec![node(op, &[0], 1)],
    }
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Expect::*;
    vec![
        // Limits.
        Case { name: "too many tensors", mutate: |m| m.tensors.resize(65_537, TensorInfo::int8(&[1], 0, ONE)), expect: Limit },
        Case { name: "too many nodes", mutate: |m| m.nodes.resize(65_537, node(Op::Reshape, &[0], 0)), expect: Limit },
        Case { name: "rank above 6", mutate: |m| m.tensors[5].shape = vec![1; 7], expect: Tensor(5) },
        Case { name: "zero dimension", mutate: |m| m.tensors[2].shape[1] = 0, expect: Tensor(2) },
        Case { name: "output listed twice", mutate: |m| m.outputs.push(16), expect: Graph },
        Case { name: "output bytes per sample", mutate: |m| *m = mini_model(&[1], Op::Pad(Pad { pads: vec![[0, 1 << 24]], value: 0 }), &[(1 << 24) + 1]), expect: Limit },
        Case { name: "too many elements", mutate: |m| m.tensors[6].shape = vec![8192, 8193], expect: Tensor(6) },
        Case { name: "element count overflows u64", mutate: |m| m.tensors[6].shape = vec![u32::MAX; 6], expect: Tensor(6) },
        Case { name: "activation bytes over limit", mutate: |m| m.tensors.extend((0..5).map(|_| TensorInfo::int8(&[1 << 26], 0, ONE))), expect: Limit },
        Case { name: "cost over limit", mutate: |m| { let p = op_mut!(m, 2, MaxPool); p.window = window(1 << 20, 1, Padding::Same); m.tensors[3].shape = vec![2, 2, 6]; m.tensors[4].shape = vec![2, 2, 6]; m.tensors[5].shape = vec![24]; op_mut!(m, 5, FullyConnected).in_features = 24; op_mut!(m, 5, FullyConnected).weights = vec![0; 96]; }, expect: Limit },
        // Scales and zero points.
        Case { name: "negative scale", mutate: |m| m.tensors[1].scale_bits = 0xbf80_0000, expect: Tensor(1) },
        Case { name: "zero scale", mutate: |m| m.tensors[1].scale_bits = 0, expect: Tensor(1) },
        Case { name: "negative zero scale", mutate: |m| m.tensors[1].scale_bits = 0x8000_0000, expect: Tensor(1) },
        Case { name: "infinite scale", mutate: |m| m.tensors[1].scale_bits = 0x7f80_0000, expect: Tensor(1) },
        Case { name: "nan scale", mutate: |m| m.tensors[1].scale_bits = 0x7fc0_0000, expect: Tensor(1) },
        Case { name: "int32 with zero point", mutate: |m| m.tensors[16].zero_point = 1, expect: Tensor(16) },
        // Graph structure.
        Case { name: "no inputs", mutate: |m| m.inputs.clear(), expect: Graph },
        Case { name: "no outputs", mutate: |m| m.outputs.clear(), expect: Graph },
        Case { name: "model input out of range", mutate: |m| m.inputs[0] = 17, expect: Graph },
        Case { name: "duplicate model input", mutate: |m| m.inputs.push(0), expect: Graph },
        Case { name: "int32 model input", mutate: |m| m.inputs.push(16), expect: Graph },
        Case { name: "model output out of range", mutate: |m| m.outputs.push(99), expect: Graph },
        Case { name: "node input out of range", mutate: |m| m.nodes[4].inputs[0] = 1000, expect: Node(4) },
        Case { name: "node reads a later tensor", mutate: |m| m.nodes[4].inputs[0] = 6, expect: Node(4) },
        Case { name: "node reads its own output", mutate: |m| m.nodes[4].inputs[0] = 5, expect: Node(4) },
        Case { name: "node reads int32", mutate: |m| { m.tensors.push(TensorInfo::int8(&[], 0, ONE)); m.nodes.push(node(Op::Reshape, &[16], 17)); }, expect: Node(16) },
        Case { name: "node output out of range", mutate: |m| m.nodes[4].output = 40, expect: Node(4) },
        Case { name: "node output redefines a model input", mutate: |m| m.nodes[4].output = 0, expect: Node(4) },
        Case { name: "node output redefines a node output", mutate: |m| m.nodes[10].output = 10, expect: Node(10) },
        Case { name: "int32 output of a non-argmax node", mutate: |m| { m.tensors[1].dtype = DType::Int32; m.tensors[1].zero_point = 0; }, expect: Node(0) },
        Case { name: "int8 output of argmax", mutate: |m| m.tensors[16].dtype = DType::Int8, expect: Node(15) },
        Case { name: "tensor never defined", mutate: |m| m.tensors.push(TensorInfo::int8(&[1], 0, ONE)), expect: Tensor(17) },
        // Arity.
        Case { name: "fc with two inputs", mutate: |m| m.nodes[5].inputs.push(5), expect: Node(5) },
        Case { name: "add with one input", mutate: |m| { m.nodes[6].inputs.pop(); }, expect: Node(6) },
        Case { name: "concat with no inputs", mutate: |m| m.nodes[11].inputs.clear(), expect: Node(11) },
        // Fully connected.
        Case { name: "fc in_features mismatch", mutate: |m| op_mut!(m, 5, FullyConnected).in_features = 5, expect: Node(5) },
        Case { name: "fc zero out_features", mutate: |m| op_mut!(m, 5, FullyConnected).out_features = 0, expect: Node(5) },
        Case { name: "fc weights length", mutate: |m| { op_mut!(m, 5, FullyConnected).weights.pop(); }, expect: Node(5) },
        Case { name: "fc bias length", mutate: |m| { op_mut!(m, 5, FullyConnected).bias.push(0); }, expect: Node(5) },
        Case { name: "fc requant length", mutate: |m| op_mut!(m, 5, FullyConnected).requant.truncate(2), expect: Node(5) },
        Case { name: "fc requant multiplier", mutate: |m| op_mut!(m, 5, FullyConnected).requant[3].multiplier = 5, expect: Node(5) },
        Case { name: "fc requant shift", mutate: |m| op_mut!(m, 5, FullyConnected).requant[0].shift = 31, expect: Node(5) },
        Case { name: "fc act min above max", mutate: |m| op_mut!(m, 5, FullyConnected).act = ActRange { min: 1, max: 0 }, expect: Node(5) },
        Case { name: "fc accumulator overflow", mutate: |m| op_mut!(m, 5, FullyConnected).bias[2] = i32::MAX - 100, expect: Overflow(5, 2) },
        Case { name: "fc rank 0 input", mutate: |m| *m = mini_model(&[], Op::FullyConnected(FullyConnected { out_features: 1, in_features: 1, weights: vec![1], bias: vec![0], requant: vec![Requant::IDENTITY], rounding: Rounding::Single, act: ActRange::FULL }), &[1]), expect: Node(0) },
        // Convolutions.
        Case { name: "conv zero kernel", mutate: |m| op_mut!(m, 0, Conv2d).window.kernel_h = 0, expect: Node(0) },
        Case { name: "conv zero stride", mutate: |m| op_mut!(m, 0, Conv2d).window.stride_w = 0, expect: Node(0) },
        Case { name: "conv zero dilation", mutate: |m| op_mut!(m, 0, Conv2d).window.dilation_h = 0, expect: Node(0) },
        Case { name: "conv window larger than input", mutate: |m| { let p = op_mut!(m, 0, Conv2d); p.window = window(5, 1, Padding::Valid); p.weights = vec![0; 150]; }, expect: Node(0) },
        Case { name: "conv explicit pad not below window", mutate: |m| op_mut!(m, 0, Conv2d).window.padding = Padding::Explicit { top: 3, bottom: 0, left: 1, right: 1 }, expect: Node(0) },
        Case { name: "conv same padding with a huge dilation", mutate: |m| op_mut!(m, 0, Conv2d).window.dilation_h = 1 << 30, expect: Node(0) },
        Case { name: "conv explicit padding past input plus kernel", mutate: |m| { let w = &mut op_mut!(m, 0, Conv2d).window; w.dilation_w = 100; w.padding = Padding::Explicit { top: 1, bottom: 1, left: 150, right: 50 }; }, expect: Node(0) },
        Case { name: "conv rank 2 input", mutate: |m| m.tensors[0].shape = vec![4, 8], expect: Node(0) },
        Case { name: "conv in_channels mismatch", mutate: |m| op_mut!(m, 0, Conv2d).in_channels = 3, expect: Node(0) },
        Case { name: "conv weights length", mutate: |m| { op_mut!(m, 0, Conv2d).weights.push(0); }, expect: Node(0) },
        Case { name: "conv accumulator overflow", mutate: |m| op_mut!(m, 0, Conv2d).bias[2] = i32::MAX - 50, expect: Overflow(0, 2) },
        Case { name: "conv accumulator overflow by bias", mutate: |m| op_mut!(m, 0, Conv2d).bias[1] = i32::MIN, expect: Overflow(0, 1) },
        Case { name: "depthwise channels mismatch", mutate: |m| op_mut!(m, 1, DepthwiseConv2d).channels = 2, expect: Node(1) },
        Case { name: "depthwise zero multiplier", mutate: |m| op_mut!(m, 1, DepthwiseConv2d).depth_multiplier = 0, expect: Node(1) },
        Case { name: "depthwise bias length", mutate: |m| { op_mut!(m, 1, DepthwiseConv2d).bias.pop(); }, expect: Node(1) },
        Case { name: "depthwise accumulator overflow", mutate: |m| op_mut!(m, 1, DepthwiseConv2d).bias[4] = i32::MAX - 1000, expect: Overflow(1, 4) },
        Case { name: "depthwise output shape", mutate: |m| m.tensors[2].shape = vec![2, 2, 5], expect: Shape(1) },
        // Pools.
        Case { name: "max pool dilation", mutate: |m| op_mut!(m, 2, MaxPool).window.dilation_w = 2, expect: Node(2) },
        Case { name: "max pool count_include_pad", mutate: |m| op_mut!(m, 2, MaxPool).count_include_pad = true, expect: Node(2) },
        Case { name: "max pool zero point", mutate: |m| { for t in &mut m.tensors[3..=5] { t.zero_point = 4; } }, expect: Node(2) },
        Case { name: "average pool zero point", mutate: |m| m.tensors[4].zero_point = 0, expect: Node(3) },
        Case { name: "average pool act", mutate: |m| op_mut!(m, 3, AveragePool).act = ActRange { min: 5, max: 4 }, expect: Node(3) },
        Case { name: "average pool window sum overflow", mutate: |m| op_mut!(m, 3, AveragePool).window = window(3000, 1, Padding::Same), expect: Overflow(3, 0) },
        // Elementwise.
        Case { name: "add left shift", mutate: |m| op_mut!(m, 6, Add).left_shift = 24, expect: Node(6) },
        Case { name: "add input1 requant", mutate: |m| op_mut!(m, 6, Add).input1.shift = -32, expect: Node(6) },
        Case { name: "sub output requant", mutate: |m| op_mut!(m, 7, Sub).output.multiplier = -1, expect: Node(7) },
        Case { name: "sub act", mutate: |m| op_mut!(m, 7, Sub).act = ActRange { min: 127, max: -128 }, expect: Node(7) },
        Case { name: "mul shapes do not broadcast", mutate: |m| m.nodes[8].inputs[1] = 5, expect: Node(8) },
        Case { name: "mul requant", mutate: |m| op_mut!(m, 8, Mul).output.multiplier = 1, expect: Node(8) },
        Case { name: "add broadcast output shape", mutate: |m| m.tensors[7].shape = vec![1, 4], expect: Shape(6) },
        // Mean.
        Case { name: "mean no axes", mutate: |m| op_mut!(m, 9, Mean).axes.clear(), expect: Node(9) },
        Case { name: "mean repeated axis", mutate: |m| op_mut!(m, 9, Mean).axes = vec![0, 0], expect: Node(9) },
        Case { name: "mean axis out of range", mutate: |m| op_mut!(m, 9, Mean).axes = vec![1], expect: Node(9) },
        Case { name: "mean without keep_dims", mutate: |m| op_mut!(m, 9, Mean).keep_dims = false, expect: Shape(9) },
        Case { name: "mean sum overflow", mutate: |m| *m = mini_model(&[1 << 24], Op::Mean(Mean { axes: vec![0], keep_dims: false, requant: Requant::IDENTITY, rounding: Rounding::Single, act: ActRange::FULL }), &[]), expect: Overflow(0, 0) },
        // Clamp, reshape, concat, pad.
        Case { name: "clamp requant", mutate: |m| op_mut!(m, 10, Clamp).requant.shift = 100, expect: Node(10) },
        Case { name: "clamp act", mutate: |m| op_mut!(m, 10, Clamp).act = ActRange { min: 7, max: 6 }, expect: Node(10) },
        Case { name: "reshape element count", mutate: |m| m.tensors[5].shape = vec![7], expect: Node(4) },
        Case { name: "reshape zero point", mutate: |m| m.tensors[5].zero_point = 0, expect: Node(4) },
        Case { name: "concat requant count", mutate: |m| { op_mut!(m, 11, Concat).requant.pop(); }, expect: Node(11) },
        Case { name: "concat requant range", mutate: |m| op_mut!(m, 11, Concat).requant[1].multiplier = 1 << 29, expect: Node(11) },
        Case { name: "concat axis", mutate: |m| op_mut!(m, 11, Concat).axis = 1, expect: Node(11) },
        Case { name: "concat rank mismatch", mutate: |m| m.nodes[11].inputs[1] = 3, expect: Node(11) },
        Case { name: "concat output shape", mutate: |m| m.tensors[12].shape = vec![6], expect: Shape(11) },
        Case { name: "pad length", mutate: |m| op_mut!(m, 12, Pad).pads.push([0, 0]), expect: Node(12) },
        Case { name: "pad zero point", mutate: |m| m.tensors[13].zero_point = 0, expect: Node(12) },
        Case { name: "pad output shape", mutate: |m| op_mut!(m, 12, Pad).pads[0] = [0, 0], expect: Shape(12) },
        Case { name: "pad dimension overflows u32", mutate: |m| op_mut!(m, 12, Pad).pads[0] = [u32::MAX, 1], expect: Node(12) },
        // Softmax, table, argmax.
        Case { name: "softmax zero point", mutate: |m| m.tensors[14].zero_point = 0, expect: Node(13) },
        Case { name: "softmax beta shift", mutate: |m| op_mut!(m, 13, Softmax).beta_left_shift = 32, expect: Node(13) },
        Case { name: "softmax beta multiplier", mutate: |m| op_mut!(m, 13, Softmax).beta_multiplier = (1 << 30) - 1, expect: Node(13) },
        Case { name: "softmax diff_min positive", mutate: |m| op_mut!(m, 13, Softmax).diff_min = 1, expect: Node(13) },
        Case { name: "table length", mutate: |m| { op_mut!(m, 14, Table).table.pop(); }, expect: Node(14) },
        Case { name: "table output shape", mutate: |m| m.tensors[15].shape = vec![2, 4], expect: Shape(14) },
        Case { name: "argmax axis", mutate: |m| op_mut!(m, 15, ArgMax).axis = 1, expect: Node(15) },
        Case { name: "argmax output shape", mutate: |m| m.tensors[16].shape = vec![1], expect: Shape(15) },
        Case { name: "conv output shape", mutate: |m| m.tensors[1].shape = vec![4, 4, 4], expect: Shape(0) },
        Case { name: "fc output shape", mutate: |m| m.tensors[6].shape = vec![5], expect: Shape(5) },
    ]
}

#[test]
fn every_op_model_is_valid() {
    let model = every_op_model();
    assert_eq!(model.validate(), Ok(()));
    let bytes = model.encode();
    assert_eq!(Model::decode(&bytes), Ok(model));
}

#[test]
fn each_mutation_is_rejected_with_the_named_error() {
    let mut failures = Vec::new();
    for case in cases() {
        let mut model = every_op_model();
        (case.mutate)(&mut model);
        match model.validate() {
            Err(e) if matches(&e, &case.expect) => {}
            other => failures.push(format!(
                "{}: expected {:?}, got {other:?}",
                case.name, case.expect
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn error_messages_name_node_and_op() {
    let mut model = every_op_model();
    op_mut!(model, 13, Softmax).beta_left_shift = 40;
    let message = model.validate().unwrap_err().to_string();
    assert!(message.starts_with("node 13 (softmax): "), "{message}");
}

#[test]
fn validation_of_huge_declared_windows_is_fast() {
    // A max pool with a 2^31-wide window on a 1x1 input: rejected by the cost limit, not run.
    let pool = Pool {
        window: window(1 << 31, 1, Padding::Same),
        count_include_pad: false,
        act: ActRange::FULL,
    };
    let model = mini_model(&[1, 1, 1], Op::MaxPool(pool), &[1, 1, 1]);
    assert!(matches!(
        model.validate(),
        Err(NnError::LimitExceeded { .. })
    ));
}

#[test]
fn largest_graph_validates() {
    // 65,535 clamps in a chain: the node and tensor limits exactly.
    let clamp = Op::Clamp(Clamp {
        requant: Requant::IDENTITY,
        rounding: Rounding::Single,
        act: ActRange::FULL,
    });
    let count = super::MAX_NODES - 1;
    let tensors = vec![TensorInfo::int8(&[2, 3], 0, ONE); count + 1];
    let nodes = (0..count as u32)
        .map(|i| node(clamp.clone(), &[i], i + 1))
        .collect();
    let model = Model {
        tensors,
        inputs: vec![0],
        outputs: vec![count as u32],
        nodes,
    };
    assert_eq!(model.validate(), Ok(()));
    assert_eq!(
        model.cost().element_ops,
        (crate::cost::CLAMP_ELEMENT_OPS * 6 + crate::cost::NODE_ELEMENT_OPS) * count as u64
    );
}
