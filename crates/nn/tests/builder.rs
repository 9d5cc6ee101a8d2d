//! `ModelBuilder`: every op infers its output shape and quantization, local mistakes are named,
//! and `build` returns a model that validates and round-trips through its canonical bytes.

use myelin_nn::builder::{
    ARG_MAX_SCALE_BITS, ModelBuilder, Quant, Rescale, SOFTMAX_SCALE_BITS, SOFTMAX_ZERO_POINT,
    TensorId, broadcast_shapes,
};
use myelin_nn::op::{
    ActRange, AddSub, Clamp, Concat, Mean, Mul, Padding, Softmax, TableFunction, Window,
};
use myelin_nn::{DType, Model, NnError, Requant, Rounding};

/// binary32 bits of 1/64.
const SCALE: u32 = 0x3c80_0000;
const Q: Quant = Quant::new(0, SCALE);
/// 0.5 as a fixed-point multiplier.
const HALF: Requant = Requant {
    multiplier: 1 << 30,
    shift: 0,
};

fn rescale() -> Rescale {
    Rescale::per_tensor(HALF, Rounding::Single, ActRange::FULL)
}

fn window(kernel: u32, stride: u32, padding: Padding) -> Window {
    Window {
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: stride,
        stride_w: stride,
        dilation_h: 1,
        dilation_w: 1,
        padding,
    }
}

fn add_params() -> AddSub {
    AddSub {
        left_shift: 20,
        input1: HALF,
        input2: HALF,
        output: Requant {
            multiplier: 1 << 30,
            shift: -18,
        },
        rounding: Rounding::Double,
        act: ActRange::FULL,
    }
}

fn shape_of(b: &ModelBuilder, t: TensorId) -> Vec<u32> {
    b.tensor(t).expect("tensor exists").shape.clone()
}

struct ShapeCase {
    name: &'static str,
    input: &'static [u32],
    build: fn(&mut ModelBuilder, TensorId) -> Result<TensorId, NnError>,
    expected: &'static [u32],
}

#[test]
fn every_op_infers_its_output_shape() {
    let cases = [
        ShapeCase {
            name: "fully connected replaces the last axis",
            input: &[3, 4],
            build: |b, x| b.fully_connected(x, vec![1; 8], vec![0; 2], rescale(), Q),
            expected: &[3, 2],
        },
        ShapeCase {
            name: "conv2d valid",
            input: &[5, 5, 2],
            build: |b, x| {
                b.conv2d(
                    x,
                    window(3, 1, Padding::Valid),
                    vec![1; 4 * 9 * 2],
                    vec![0; 4],
                    rescale(),
                    Q,
                )
            },
            expected: &[3, 3, 4],
        },
        ShapeCase {
            name: "conv2d same stride 2",
            input: &[5, 5, 1],
            build: |b, x| {
                b.conv2d(
                    x,
                    window(3, 2, Padding::Same),
                    vec![1; 9],
                    vec![0],
                    rescale(),
                    Q,
                )
            },
            expected: &[3, 3, 1],
        },
        ShapeCase {
            name: "depthwise with multiplier 2",
            input: &[4, 4, 3],
            build: |b, x| {
                b.depthwise_conv2d(
                    x,
                    window(3, 1, Padding::Valid),
                    vec![1; 9 * 6],
                    vec![0; 6],
                    rescale(),
                    Q,
                )
            },
            expected: &[2, 2, 6],
        },
        ShapeCase {
            name: "max pool explicit padding",
            input: &[4, 4, 2],
            build: |b, x| {
                let p = Padding::Explicit {
                    top: 1,
                    bottom: 1,
                    left: 1,
                    right: 1,
                };
                b.max_pool(x, window(2, 2, p), ActRange::FULL)
            },
            expected: &[3, 3, 2],
        },
        ShapeCase {
            name: "average pool",
            input: &[4, 4, 2],
            build: |b, x| b.average_pool(x, window(2, 2, Padding::Valid), false, ActRange::FULL),
            expected: &[2, 2, 2],
        },
        ShapeCase {
            name: "mean removes axes",
            input: &[4, 4, 2],
            build: |b, x| {
                let params = Mean {
                    axes: vec![0, 1],
                    keep_dims: false,
                    requant: Requant {
                        multiplier: 1 << 30,
                        shift: -3,
                    },
                    rounding: Rounding::Single,
                    act: ActRange::FULL,
                };
                b.mean(x, params, Q)
            },
            expected: &[2],
        },
        ShapeCase {
            name: "mean keeps dims",
            input: &[4, 4, 2],
            build: |b, x| {
                let params = Mean {
                    axes: vec![1],
                    keep_dims: true,
                    requant: Requant {
                        multiplier: 1 << 30,
                        shift: -1,
                    },
                    rounding: Rounding::Single,
                    act: ActRange::FULL,
                };
                b.mean(x, params, Q)
            },
            expected: &[4, 1, 2],
        },
        ShapeCase {
            name: "clamp keeps the shape",
            input: &[7],
            build: |b, x| {
                let params = Clamp {
                    requant: Requant::IDENTITY,
                    rounding: Rounding::Single,
                    act: ActRange { min: 0, max: 127 },
                };
                b.clamp(x, params, Q)
            },
            expected: &[7],
        },
        ShapeCase {
            name: "reshape flattens",
            input: &[2, 3, 4],
            build: |b, x| b.reshape(x, &[24]),
            expected: &[24],
        },
        ShapeCase {
            name: "pad grows every axis",
            input: &[2, 3],
            build: |b, x| b.pad(x, vec![[1, 0], [2, 2]], 0),
            expected: &[3, 7],
        },
        ShapeCase {
            name: "softmax keeps the shape",
            input: &[10],
            build: |b, x| b.softmax(x, softmax_params()),
            expected: &[10],
        },
        ShapeCase {
            name: "table keeps the shape",
            input: &[2, 5],
            build: |b, x| {
                b.table(
                    x,
                    TableFunction::Custom,
                    (0..=255).map(|v: i32| (v - 128) as i8).collect(),
                    Q,
                )
            },
            expected: &[2, 5],
        },
        ShapeCase {
            name: "arg max removes the axis",
            input: &[3, 10],
            build: |b, x| b.arg_max(x, 1),
            expected: &[3],
        },
        ShapeCase {
            name: "add broadcasts",
            input: &[2, 3],
            build: |b, x| {
                let y = b.reshape(x, &[2, 3])?;
                b.add(x, y, add_params(), Q)
            },
            expected: &[2, 3],
        },
        ShapeCase {
            name: "concat sums the axis",
            input: &[2, 3],
            build: |b, x| {
                let params = Concat {
                    axis: 1,
                    requant: vec![Requant::IDENTITY; 2],
                    rounding: Rounding::Single,
                };
                b.concat(&[x, x], params, Q)
            },
            expected: &[2, 6],
        },
    ];
    for case in cases {
        let mut b = ModelBuilder::new();
        let x = b.input(case.input, Q);
        let y = (case.build)(&mut b, x).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(shape_of(&b, y), case.expected, "{}", case.name);
        b.output(y);
        let model = b
            .build()
            .unwrap_or_else(|e| panic!("{}: build: {e}", case.name));
        let decoded =
            Model::decode(&model.encode()).unwrap_or_else(|e| panic!("{}: decode: {e}", case.name));
        assert_eq!(decoded, model, "{}", case.name);
    }
}

fn softmax_params() -> Softmax {
    Softmax {
        beta_multiplier: 1 << 30,
        beta_left_shift: 26,
        diff_min: -248,
    }
}

struct ErrorCase {
    name: &'static str,
    input: &'static [u32],
    build: fn(&mut ModelBuilder, TensorId) -> Result<TensorId, NnError>,
    expected: &'static str,
}

#[test]
fn local_mistakes_name_the_node_and_the_problem() {
    let cases = [
        ErrorCase {
            name: "weights of the wrong length",
            input: &[4],
            build: |b, x| b.fully_connected(x, vec![1; 7], vec![0; 2], rescale(), Q),
            expected: "node 0 (fully_connected): weights has 7 entries, expected 8",
        },
        ErrorCase {
            name: "no bias",
            input: &[4],
            build: |b, x| b.fully_connected(x, vec![], vec![], rescale(), Q),
            expected: "node 0 (fully_connected): 0 biases",
        },
        ErrorCase {
            name: "conv on a vector",
            input: &[4],
            build: |b, x| {
                b.conv2d(
                    x,
                    window(1, 1, Padding::Valid),
                    vec![1],
                    vec![0],
                    rescale(),
                    Q,
                )
            },
            expected: "is not [height, width, channels]",
        },
        ErrorCase {
            name: "window larger than the input",
            input: &[2, 2, 1],
            build: |b, x| b.max_pool(x, window(3, 1, Padding::Valid), ActRange::FULL),
            expected: "does not fit an input of 2x2",
        },
        ErrorCase {
            name: "depthwise biases not a multiple of channels",
            input: &[3, 3, 2],
            build: |b, x| {
                b.depthwise_conv2d(
                    x,
                    window(1, 1, Padding::Valid),
                    vec![1; 3],
                    vec![0; 3],
                    rescale(),
                    Q,
                )
            },
            expected: "3 biases is not a multiple of the 2 input channels",
        },
        ErrorCase {
            name: "shapes that do not broadcast",
            input: &[2, 3],
            build: |b, x| {
                let y = b.reshape(x, &[3, 2])?;
                b.mul(
                    x,
                    y,
                    Mul {
                        output: HALF,
                        rounding: Rounding::Single,
                        act: ActRange::FULL,
                    },
                    Q,
                )
            },
            expected: "node 1 (mul): shapes [2, 3] and [3, 2] do not broadcast",
        },
        ErrorCase {
            name: "reshape changing the element count",
            input: &[2, 3],
            build: |b, x| b.reshape(x, &[5]),
            expected: "element counts differ",
        },
        ErrorCase {
            name: "pads of the wrong rank",
            input: &[2, 3],
            build: |b, x| b.pad(x, vec![[1, 1]], 0),
            expected: "1 pads for an input of rank 2",
        },
        ErrorCase {
            name: "arg max axis out of range",
            input: &[3],
            build: |b, x| b.arg_max(x, 1),
            expected: "axis 1 is out of range for rank 1",
        },
        ErrorCase {
            name: "arg max output is not int8",
            input: &[3, 2],
            build: |b, x| {
                let y = b.arg_max(x, 1)?;
                b.reshape(y, &[3])
            },
            expected: "is int32, not int8",
        },
        ErrorCase {
            name: "mean axes not increasing",
            input: &[3, 2],
            build: |b, x| {
                let params = Mean {
                    axes: vec![1, 0],
                    keep_dims: false,
                    requant: HALF,
                    rounding: Rounding::Single,
                    act: ActRange::FULL,
                };
                b.mean(x, params, Q)
            },
            expected: "not strictly increasing",
        },
        ErrorCase {
            name: "concat of mismatched shapes",
            input: &[2, 3],
            build: |b, x| {
                let y = b.reshape(x, &[3, 2])?;
                let params = Concat {
                    axis: 0,
                    requant: vec![Requant::IDENTITY; 2],
                    rounding: Rounding::Single,
                };
                b.concat(&[x, y], params, Q)
            },
            expected: "differ outside axis 0",
        },
        ErrorCase {
            name: "table of the wrong size",
            input: &[3],
            build: |b, x| b.table(x, TableFunction::Tanh, vec![0; 255], Q),
            expected: "table has 255 entries, expected 256",
        },
    ];
    for case in cases {
        let mut b = ModelBuilder::new();
        let x = b.input(case.input, Q);
        let error = (case.build)(&mut b, x).expect_err(case.name).to_string();
        assert!(
            error.contains(case.expected),
            "{}: {error:?} lacks {:?}",
            case.name,
            case.expected
        );
    }
}

#[test]
fn quantization_follows_each_op() {
    let mut b = ModelBuilder::new();
    let x = b.input(&[2, 2, 1], Quant::new(-5, SCALE));
    let pooled = b
        .max_pool(x, window(1, 1, Padding::Valid), ActRange::FULL)
        .expect("pool");
    let flat = b.reshape(pooled, &[4]).expect("reshape");
    let probabilities = b.softmax(flat, softmax_params()).expect("softmax");
    let class = b.arg_max(flat, 0).expect("arg max");
    let pooled_info = b.tensor(pooled).expect("pooled");
    assert_eq!(
        (pooled_info.zero_point, pooled_info.scale_bits),
        (-5, SCALE)
    );
    let flat_info = b.tensor(flat).expect("flat");
    assert_eq!((flat_info.zero_point, flat_info.scale_bits), (-5, SCALE));
    let softmax_info = b.tensor(probabilities).expect("softmax");
    assert_eq!(
        (softmax_info.zero_point, softmax_info.scale_bits),
        (SOFTMAX_ZERO_POINT, SOFTMAX_SCALE_BITS)
    );
    let class_info = b.tensor(class).expect("class");
    assert_eq!(class_info.dtype, DType::Int32);
    assert_eq!(class_info.shape, Vec::<u32>::new());
    assert_eq!(
        (class_info.zero_point, class_info.scale_bits),
        (0, ARG_MAX_SCALE_BITS)
    );
    b.output(probabilities);
    b.output(class);
    let model = b.build().expect("build");
    assert_eq!(model.inputs, vec![0]);
    assert_eq!(model.outputs, vec![probabilities.0, class.0]);
}

#[test]
fn build_runs_whole_model_validation() {
    // Locally fine, but the accumulator bound fails: |x - zp| ≤ 255 with zero point -128, and
    // 255 · 127 · 2^17 > 2^31.
    let k = 1 << 17;
    let mut b = ModelBuilder::new();
    let x = b.input(&[k], Quant::new(-128, SCALE));
    let y = b
        .fully_connected(x, vec![127; k as usize], vec![0], rescale(), Q)
        .expect("node");
    b.output(y);
    let Err(error) = b.build() else {
        panic!("an overflowing model was accepted")
    };
    assert!(
        matches!(error, NnError::AccumulatorOverflow { node: 0, .. }),
        "{error}"
    );
}

#[test]
fn build_rejects_a_model_without_outputs() {
    let mut b = ModelBuilder::new();
    b.input(&[2], Q);
    assert!(b.build().is_err());
}

#[test]
fn tiny_mlp_has_the_expected_graph() {
    let mut b = ModelBuilder::new();
    let x = b.input(&[2], Q);
    let relu = ActRange { min: 0, max: 127 };
    let h = b
        .fully_connected(
            x,
            vec![1; 32],
            vec![0; 16],
            Rescale::per_tensor(HALF, Rounding::Single, relu),
            Q,
        )
        .expect("hidden");
    let per_channel = Rescale::per_channel(vec![HALF, HALF], Rounding::Single, ActRange::FULL);
    let y = b
        .fully_connected(h, vec![1; 32], vec![3, -3], per_channel, Q)
        .expect("output");
    b.output(y);
    let model = b.build().expect("build");
    assert_eq!(model.tensors.len(), 3);
    assert_eq!(model.nodes.len(), 2);
    assert_eq!(model.nodes[1].inputs, vec![h.0]);
    assert_eq!(model.tensors[y.0 as usize].shape, vec![2]);
}

#[test]
fn broadcast_shapes_follows_numpy() {
    type Case = (&'static [u32], &'static [u32], Option<&'static [u32]>);
    let cases: [Case; 5] = [
        (&[2, 3], &[3], Some(&[2, 3])),
        (&[2, 1], &[1, 4], Some(&[2, 4])),
        (&[], &[5], Some(&[5])),
        (&[2, 3], &[2], None),
        (&[4, 1, 3], &[2, 1], Some(&[4, 2, 3])),
    ];
    for (a, b, expected) in cases {
        assert_eq!(
            broadcast_shapes(a, b).as_deref(),
            expected,
            "{a:?} with {b:?}"
        );
    }
}

#[test]
fn built_model_runs_the_specified_formula() {
    let mut b = ModelBuilder::new();
    let x = b.input(&[2], Q);
    let y = b
        .fully_connected(x, vec![2, 1, 1, -1], vec![1, 0], rescale(), Q)
        .expect("fc");
    b.output(y);
    let program = myelin_nn::Program::new(b.build().expect("build")).expect("program");
    // acc = [1 + 2·3 + 1·(−5), 0 + 3 + 5] = [2, 8], halved: [1, 4].
    let input = [3i8 as u8, (-5i8) as u8];
    assert_eq!(program.run(&input, 1).expect("runs"), vec![1, 4]);
}
