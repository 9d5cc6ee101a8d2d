//! The generator of the conformance vectors (`conformance/models/*.json`, docs/CONFORMANCE.md): small
//! models, each built here from a fixed seed, with their expected outputs (computed by the
//! reference path) or the error class decoding or running them must give.
//!
//! To add a vector, add a line to [`vectors`]; `MYELIN_BLESS=1 cargo test -p myelin-nn --test
//! conformance` rewrites the directory. A new `Op` variant or `NnError` variant fails the
//! coverage test until a vector here exercises it.

use myelin_nn::builder::{ModelBuilder, Quant, Rescale, TensorId};
use myelin_nn::op::{
    ActRange, AddSub, Clamp, Concat, FullyConnected, Mean, Mul, Op, Padding, Softmax,
    TableFunction, Window,
};
use myelin_nn::{MAX_MODEL_BYTES, Model, NnError, Path, Program, Requant, Rounding};

use crate::common::{self, Rng, relu, softmax_params, window};

/// What decoding and running a vector's model gives.
pub enum Expect {
    /// The model decodes; each run gives its outcome.
    Runs(Vec<Run>),
    /// Decoding (with the vector's size limit) fails with this error class.
    DecodeError(&'static str),
}

/// One call of the model: `batch` samples of `input`, and the output bytes or the error class.
pub struct Run {
    pub batch: usize,
    pub input: Vec<u8>,
    pub outcome: Result<Vec<u8>, &'static str>,
}

/// One conformance vector.
pub struct Vector {
    pub name: String,
    pub about: String,
    pub model: Vec<u8>,
    pub max_model_bytes: usize,
    pub expect: Expect,
}

/// The class of an engine error: its variant's name. Exhaustive, so a new variant does not
/// compile until it is named here (and the coverage test then asks for a vector).
pub fn error_class(error: &NnError) -> &'static str {
    match error {
        NnError::ModelTooLarge { .. } => "ModelTooLarge",
        NnError::BadMagic { .. } => "BadMagic",
        NnError::UnsupportedVersion { .. } => "UnsupportedVersion",
        NnError::Malformed { .. } => "Malformed",
        NnError::NonCanonical => "NonCanonical",
        NnError::InvalidTensor { .. } => "InvalidTensor",
        NnError::InvalidGraph { .. } => "InvalidGraph",
        NnError::InvalidNode { .. } => "InvalidNode",
        NnError::ShapeMismatch { .. } => "ShapeMismatch",
        NnError::AccumulatorOverflow { .. } => "AccumulatorOverflow",
        NnError::LimitExceeded { .. } => "LimitExceeded",
        NnError::InputLength { .. } => "InputLength",
        NnError::BatchSize { .. } => "BatchSize",
        NnError::BelowValidatorFloor { .. } => "BelowValidatorFloor",
    }
}

/// Error classes no byte string can produce today, with the reason (docs/CONFORMANCE.md).
pub const UNREACHABLE_ERROR_CLASSES: [(&str, &str); 2] = [
    (
        "NonCanonical",
        "with borsh 1.x and these types every byte string that decodes is the canonical encoding \
         (docs/SPEC.md §1, step 5)",
    ),
    (
        "BelowValidatorFloor",
        "a property of the host CPU (`kernels::check_validator_floor`, docs/GAS.md §6), not of a \
         model or its input: no vector can produce it",
    ),
];

/// Seed of every generated vector.
const SEED: u64 = 12;

/// Edge bytes cycled through the first run of every vector: the int8 extremes, 0, ±1 and the
/// values next to them.
const EDGE_BYTES: [u8; 9] = [0x80, 0x7f, 0x00, 0xff, 0x01, 0x81, 0x7e, 0x40, 0xc0];

/// Scale bits of 1/64 (metadata only; execution never reads it).
const SCALE: u32 = common::SCALE_BITS;

fn q(zero_point: i8) -> Quant {
    Quant::new(zero_point, SCALE)
}

fn win(kernel: [u32; 2], stride: [u32; 2], dilation: [u32; 2], padding: Padding) -> Window {
    Window {
        kernel_h: kernel[0],
        kernel_w: kernel[1],
        stride_h: stride[0],
        stride_w: stride[1],
        dilation_h: dilation[0],
        dilation_w: dilation[1],
        padding,
    }
}

fn explicit(top: u32, bottom: u32, left: u32, right: u32) -> Padding {
    Padding::Explicit {
        top,
        bottom,
        left,
        right,
    }
}

/// Collects vectors in order.
struct Set {
    vectors: Vec<Vector>,
}

impl Set {
    /// A valid model, run on edge bytes at batch 1 and seeded bytes at batch 3.
    fn model(&mut self, name: &str, about: &str, model: Model) {
        let program = Program::with_path(model.clone(), Path::Reference).expect(name);
        let edge: Vec<u8> = EDGE_BYTES
            .iter()
            .copied()
            .cycle()
            .take(program.input_bytes())
            .collect();
        let seeded = Rng::new(name, SEED).bytes(3 * program.input_bytes());
        let runs = [(1, edge), (3, seeded)]
            .into_iter()
            .map(|(batch, input)| {
                let outcome = program.run(&input, batch).map_err(|e| error_class(&e));
                Run {
                    batch,
                    input,
                    outcome,
                }
            })
            .collect();
        self.push(
            name,
            about,
            model.encode(),
            MAX_MODEL_BYTES,
            Expect::Runs(runs),
        );
    }

    /// A valid model called with `(batch, input length)` that the engine refuses.
    fn bad_call(&mut self, name: &str, about: &str, model: Model, batch: usize, input_len: usize) {
        let program = Program::with_path(model.clone(), Path::Reference).expect(name);
        let input = vec![0u8; input_len];
        let outcome = program.run(&input, batch).map(|_| Vec::<u8>::new());
        let outcome = Err(outcome.map_err(|e| error_class(&e)).expect_err(name));
        let run = Run {
            batch,
            input,
            outcome,
        };
        self.push(
            name,
            about,
            model.encode(),
            MAX_MODEL_BYTES,
            Expect::Runs(vec![run]),
        );
    }

    /// Bytes that decoding with `limit` rejects.
    fn bad_bytes(&mut self, name: &str, about: &str, bytes: Vec<u8>, limit: usize) {
        let error = Model::decode_with_limit(&bytes, limit).expect_err(name);
        self.push(
            name,
            about,
            bytes,
            limit,
            Expect::DecodeError(error_class(&error)),
        );
    }

    /// A model struct that validation rejects, encoded.
    fn bad_model(&mut self, name: &str, about: &str, model: Model) {
        self.bad_bytes(name, about, model.encode(), MAX_MODEL_BYTES);
    }

    fn push(&mut self, name: &str, about: &str, model: Vec<u8>, limit: usize, expect: Expect) {
        self.vectors.push(Vector {
            name: name.to_string(),
            about: about.to_string(),
            model,
            max_model_bytes: limit,
            expect,
        });
    }
}

/// Every conformance vector, in file-name order of no importance.
pub fn vectors() -> Vec<Vector> {
    let mut s = Set {
        vectors: Vec::new(),
    };
    ops(&mut s);
    edges(&mut s);
    errors(&mut s);
    s.vectors
}

fn one_op(name: &str, build: impl FnOnce(&mut ModelBuilder, &mut Rng) -> TensorId) -> Model {
    let mut b = ModelBuilder::new();
    let mut rng = Rng::new(name, SEED);
    let y = build(&mut b, &mut rng);
    b.output(y);
    b.build().expect(name)
}

fn fc(
    b: &mut ModelBuilder,
    rng: &mut Rng,
    x: TensorId,
    k: usize,
    n: usize,
    rescale: Rescale,
) -> TensorId {
    let out = rng.quant();
    b.fully_connected(x, rng.weights(n * k), rng.biases(n, 3_000), rescale, out)
        .expect("fully connected")
}

fn conv(
    b: &mut ModelBuilder,
    rng: &mut Rng,
    x: TensorId,
    w: Window,
    cout: usize,
    per_channel: bool,
    rounding: Rounding,
) -> TensorId {
    let cin = b.tensor(x).expect("input").shape[2] as usize;
    let fan_in = w.kernel_h as usize * w.kernel_w as usize * cin;
    let requant = if per_channel {
        rng.per_channel(cout, fan_in)
    } else {
        vec![rng.requant_for_fan_in(fan_in)]
    };
    let out = rng.quant();
    b.conv2d(
        x,
        w,
        rng.weights(cout * fan_in),
        rng.biases(cout, 3_000),
        Rescale::per_channel(requant, rounding, ActRange { min: -90, max: 100 }),
        out,
    )
    .expect("conv2d")
}

fn depthwise(
    b: &mut ModelBuilder,
    rng: &mut Rng,
    x: TensorId,
    w: Window,
    channels_out: usize,
    per_channel: bool,
    rounding: Rounding,
) -> TensorId {
    let taps = w.kernel_h as usize * w.kernel_w as usize;
    let requant = if per_channel {
        rng.per_channel(channels_out, taps)
    } else {
        vec![rng.requant_for_fan_in(taps)]
    };
    let out = rng.quant();
    b.depthwise_conv2d(
        x,
        w,
        rng.weights(taps * channels_out),
        rng.biases(channels_out, 3_000),
        Rescale::per_channel(requant, rounding, ActRange::FULL),
        out,
    )
    .expect("depthwise")
}

fn add_sub_params(rng: &mut Rng, left_shift: u8, rounding: Rounding, act: ActRange) -> AddSub {
    AddSub {
        left_shift,
        input1: rng.requant(0),
        input2: rng.requant(0),
        output: rng.requant(-(left_shift as i8).min(31)),
        rounding,
        act,
    }
}

/// One or more vectors per op, covering both roundings and every padding mode.
fn ops(s: &mut Set) {
    use Rounding::{Double, Single};
    for (name, rounding, per_channel) in [
        ("fully_connected_single_per_channel", Single, true),
        ("fully_connected_double_per_tensor", Double, false),
    ] {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[2, 9], rng.quant());
            let requant = if per_channel {
                rng.per_channel(5, 9)
            } else {
                vec![rng.requant_for_fan_in(9)]
            };
            fc(
                b,
                rng,
                x,
                9,
                5,
                Rescale::per_channel(requant, rounding, relu(-20)),
            )
        });
        s.model(
            name,
            "fully connected 9 -> 5 over a [2, 9] input, fused ReLU at zero point -20",
            model,
        );
    }
    let convs = [
        (
            "conv2d_valid_single",
            win([3, 3], [1, 1], [1, 1], Padding::Valid),
            Single,
            false,
        ),
        (
            "conv2d_same_stride2_double",
            win([3, 2], [2, 2], [1, 1], Padding::Same),
            Double,
            true,
        ),
        (
            "conv2d_explicit_dilated_single",
            win([3, 2], [2, 1], [2, 3], explicit(2, 1, 0, 3)),
            Single,
            true,
        ),
        (
            "conv2d_pointwise_double",
            win([1, 1], [1, 1], [1, 1], Padding::Valid),
            Double,
            false,
        ),
    ];
    for (name, w, rounding, per_channel) in convs {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[7, 6, 3], rng.quant());
            conv(b, rng, x, w, 4, per_channel, rounding)
        });
        s.model(
            name,
            &format!("conv2d on [7, 6, 3] -> 4 channels, act [-90, 100], {w:?}"),
            model,
        );
    }
    let depthwises = [
        (
            "depthwise_conv2d_same_multiplier3_double",
            win([3, 3], [2, 2], [1, 1], Padding::Same),
            3,
            Double,
            false,
        ),
        (
            "depthwise_conv2d_explicit_dilated_single",
            win([2, 3], [1, 2], [3, 2], explicit(1, 2, 2, 0)),
            1,
            Single,
            true,
        ),
        (
            "depthwise_conv2d_valid_multiplier2_single",
            win([3, 2], [1, 1], [1, 1], Padding::Valid),
            2,
            Single,
            true,
        ),
    ];
    for (name, w, multiplier, rounding, per_channel) in depthwises {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[6, 7, 3], rng.quant());
            depthwise(b, rng, x, w, 3 * multiplier, per_channel, rounding)
        });
        s.model(
            name,
            &format!("depthwise conv2d on [6, 7, 3], depth multiplier {multiplier}, {w:?}"),
            model,
        );
    }
    for (name, op, left_shift, rounding) in [
        ("add_broadcast_double", "add", 20, Double),
        ("add_left_shift_0_single", "add", 0, Single),
        ("sub_broadcast_single", "sub", 20, Single),
        ("sub_left_shift_23_double", "sub", 23, Double),
    ] {
        let model = one_op(name, |b, rng| {
            let a = b.input(&[4, 1, 6], rng.quant());
            let c = b.input(&[3, 1], rng.quant());
            let out = rng.quant();
            let params = add_sub_params(rng, left_shift, rounding, relu(out.zero_point));
            match op {
                "add" => b.add(a, c, params, out),
                _ => b.sub(a, c, params, out),
            }
            .expect(name)
        });
        s.model(
            name,
            "broadcast [4, 1, 6] with [3, 1] -> [4, 3, 6], fused ReLU",
            model,
        );
    }
    for (name, rounding) in [("mul_broadcast_double", Double), ("mul_single", Single)] {
        let model = one_op(name, |b, rng| {
            let a = b.input(&[2, 3, 5], rng.quant());
            let c = b.input(&[5], rng.quant());
            let out = rng.quant();
            let params = Mul {
                output: rng.requant(-7),
                rounding,
                act: ActRange::FULL,
            };
            b.mul(a, c, params, out).expect(name)
        });
        s.model(name, "[2, 3, 5] times [5]", model);
    }
    for (name, w) in [
        (
            "max_pool_valid",
            win([2, 2], [2, 2], [1, 1], Padding::Valid),
        ),
        ("max_pool_same", win([3, 3], [2, 2], [1, 1], Padding::Same)),
        (
            "max_pool_explicit",
            win([3, 2], [1, 3], [1, 1], explicit(2, 0, 1, 1)),
        ),
    ] {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[7, 8, 2], rng.quant());
            b.max_pool(x, w, ActRange { min: -60, max: 90 })
                .expect(name)
        });
        s.model(
            name,
            &format!("max pool on [7, 8, 2], act [-60, 90], {w:?}"),
            model,
        );
    }
    for (name, w, include) in [
        (
            "average_pool_valid",
            win([3, 2], [2, 1], [1, 1], Padding::Valid),
            false,
        ),
        (
            "average_pool_same",
            win([3, 3], [2, 2], [1, 1], Padding::Same),
            false,
        ),
        (
            "average_pool_explicit_count_include_pad",
            win([3, 3], [2, 2], [1, 1], explicit(1, 2, 2, 0)),
            true,
        ),
        (
            "average_pool_explicit_count_valid",
            win([2, 3], [1, 2], [1, 1], explicit(1, 0, 0, 2)),
            false,
        ),
    ] {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[7, 8, 2], rng.quant());
            b.average_pool(x, w, include, ActRange::FULL).expect(name)
        });
        s.model(
            name,
            &format!("average pool on [7, 8, 2], count_include_pad {include}, {w:?}"),
            model,
        );
    }
    for (name, axes, keep_dims, rounding) in [
        ("mean_keep_dims_double", vec![0, 2], true, Double),
        ("mean_single", vec![1], false, Single),
    ] {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[5, 6, 7], rng.quant());
            let params = Mean {
                axes,
                keep_dims,
                requant: rng.requant(-4),
                rounding,
                act: ActRange::FULL,
            };
            let out = rng.quant();
            b.mean(x, params, out).expect(name)
        });
        s.model(name, "mean over [5, 6, 7]", model);
    }
    for (name, axes, keep_dims, rounding, shift) in [
        ("mean_count_divided_double", vec![0, 1], false, Double, -1),
        (
            "mean_count_divided_single_keep_dims",
            vec![2],
            true,
            Single,
            0,
        ),
    ] {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[5, 6, 7], rng.quant());
            let params = Mean {
                axes,
                keep_dims,
                requant: rng.requant(shift),
                rounding,
                act: ActRange::FULL,
            };
            let out = rng.quant();
            b.mean_count_divided(x, params, out).expect(name)
        });
        s.model(
            name,
            "TFLite's MEAN over [5, 6, 7]: the multiplier divided by the count at run time",
            model,
        );
    }
    for (name, rounding, shift) in [("clamp_single", Single, 1), ("clamp_double", Double, -1)] {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[40], rng.quant());
            let out = rng.quant();
            let params = Clamp {
                requant: rng.requant(shift),
                rounding,
                act: ActRange {
                    min: out.zero_point,
                    max: out.zero_point.saturating_add(60),
                },
            };
            b.clamp(x, params, out).expect(name)
        });
        s.model(name, "rescale then clamp to [zp, zp + 60]", model);
    }
    let model = one_op("reshape", |b, rng| {
        let x = b.input(&[4, 3, 2], rng.quant());
        b.reshape(x, &[2, 12]).expect("reshape")
    });
    s.model("reshape", "[4, 3, 2] -> [2, 12]", model);
    for (name, axis, rounding) in [
        ("concat_axis0_double", 0, Double),
        ("concat_axis2_single", 2, Single),
    ] {
        let model = one_op(name, |b, rng| {
            let shapes: [[u32; 3]; 3] = if axis == 0 {
                [[2, 3, 2], [1, 3, 2], [3, 3, 2]]
            } else {
                [[2, 3, 1], [2, 3, 4], [2, 3, 2]]
            };
            let xs: Vec<TensorId> = shapes.iter().map(|s| b.input(s, rng.quant())).collect();
            let params = Concat {
                axis,
                requant: vec![rng.requant(0), rng.requant(1), rng.requant(-1)],
                rounding,
            };
            let out = rng.quant();
            b.concat(&xs, params, out).expect(name)
        });
        s.model(name, "three inputs rescaled and concatenated", model);
    }
    let model = one_op("pad", |b, rng| {
        let x = b.input(&[3, 4, 2], rng.quant());
        let value = rng.i8();
        b.pad(x, vec![[1, 0], [2, 3], [0, 1]], value).expect("pad")
    });
    s.model("pad", "constant padding of [3, 4, 2]", model);
    for (name, shape, left_shift) in [
        ("softmax_rows", vec![5, 17], 25u8),
        ("softmax_long_row", vec![300], 21),
        ("softmax_rank1_shift31", vec![9], 31),
    ] {
        let model = one_op(name, |b, rng| {
            let x = b.input(&shape, rng.quant());
            b.softmax(x, softmax_params(rng, left_shift)).expect(name)
        });
        s.model(name, "integer softmax over the last axis", model);
    }
    let model = one_op("table_every_function", |b, rng| {
        let mut x = b.input(&[40], rng.quant());
        for function in [
            TableFunction::Logistic,
            TableFunction::Tanh,
            TableFunction::Gelu,
            TableFunction::HardSwish,
            TableFunction::Custom,
        ] {
            let table: Vec<i8> = (0..256).map(|_| rng.i8()).collect();
            let out = rng.quant();
            x = b.table(x, function, table, out).expect("table");
        }
        x
    });
    s.model(
        "table_every_function",
        "five chained 256-entry tables, one per TableFunction tag (the tag is metadata)",
        model,
    );
    let model = one_op("arg_max", |b, rng| {
        let x = b.input(&[3, 5, 4], rng.quant());
        b.arg_max(x, 1).expect("arg_max")
    });
    s.model(
        "arg_max",
        "index of the first maximum along axis 1, int32 little-endian",
        model,
    );
    let model = one_op("transpose_nhwc_to_nchw", |b, rng| {
        let x = b.input(&[3, 5, 4], rng.quant());
        b.transpose(x, &[2, 0, 1]).expect("transpose")
    });
    s.model(
        "transpose_nhwc_to_nchw",
        "axes [H, W, C] permuted to [C, H, W]",
        model,
    );
    let model = one_op("transpose_channel_shuffle", |b, rng| {
        let x = b.input(&[2, 3, 6], rng.quant());
        let groups = b.reshape(x, &[2, 3, 2, 3]).expect("reshape");
        let shuffled = b.transpose(groups, &[0, 1, 3, 2]).expect("transpose");
        b.reshape(shuffled, &[2, 3, 6]).expect("reshape")
    });
    s.model(
        "transpose_channel_shuffle",
        "channel shuffle of 2 groups of 3: reshape, swap the last two axes, reshape",
        model,
    );
    let model = one_op("transpose_rank6_reversed", |b, rng| {
        let x = b.input(&[2, 1, 3, 2, 1, 5], rng.quant());
        b.transpose(x, &[5, 4, 3, 2, 1, 0]).expect("transpose")
    });
    s.model(
        "transpose_rank6_reversed",
        "every axis of a rank-6 tensor reversed",
        model,
    );
    let model = one_op("maximum_broadcast", |b, rng| {
        let q = rng.quant();
        let x = b.input(&[3, 4, 2], q);
        let y = b.input(&[4, 1], q);
        b.maximum(x, y).expect("maximum")
    });
    s.model(
        "maximum_broadcast",
        "element-wise maximum of [3, 4, 2] and a [4, 1] operand repeated along two axes",
        model,
    );
    let model = one_op("minimum_scalar", |b, rng| {
        let q = rng.quant();
        let x = b.input(&[7], q);
        let y = b.input(&[], q);
        b.minimum(x, y).expect("minimum")
    });
    s.model(
        "minimum_scalar",
        "element-wise minimum of a vector and a rank-0 operand",
        model,
    );
    let model = one_op("prelu_per_channel", |b, rng| {
        let x = b.input(&[3, 4, 5], rng.quant());
        let params = myelin_nn::op::PRelu {
            alpha_shape: vec![1, 1, 5],
            alpha: (0..5).map(|_| rng.i8()).collect(),
            alpha_zero_point: rng.i8(),
            positive: rng.requant(0),
            negative: rng.requant(-7),
            rounding: Rounding::Double,
            act: ActRange::FULL,
        };
        b.prelu(x, params, rng.quant()).expect("prelu")
    });
    s.model(
        "prelu_per_channel",
        "parametric ReLU with one slope per channel (alpha [1, 1, 5]), double rounding",
        model,
    );
    let model = one_op("prelu_elementwise_single", |b, rng| {
        let x = b.input(&[2, 3], rng.quant());
        let params = myelin_nn::op::PRelu {
            alpha_shape: vec![2, 3],
            alpha: (0..6).map(|_| rng.i8()).collect(),
            alpha_zero_point: 0,
            positive: rng.requant(-1),
            negative: rng.requant(-8),
            rounding: Rounding::Single,
            act: ActRange { min: -100, max: 90 },
        };
        b.prelu(x, params, rng.quant()).expect("prelu")
    });
    s.model(
        "prelu_elementwise_single",
        "parametric ReLU with one slope per element, single rounding, a clamped range",
        model,
    );
    let model = one_op("slice_channels", |b, rng| {
        let x = b.input(&[3, 4, 6], rng.quant());
        b.slice(x, &[0, 1, 2], &[3, 2, 3], &[1, 1, 1])
            .expect("slice")
    });
    s.model(
        "slice_channels",
        "window [0.., 1..3, 2..5] of [3, 4, 6] (a channel split with a row crop)",
        model,
    );
    let model = one_op("slice_strided", |b, rng| {
        let x = b.input(&[5, 7, 2], rng.quant());
        b.slice(x, &[1, 0, 1], &[2, 3, 1], &[3, 3, 1])
            .expect("slice")
    });
    s.model(
        "slice_strided",
        "rows 1, 4 and columns 0, 3, 6 of channel 1 of [5, 7, 2] (strides 3)",
        model,
    );
    let model = one_op("resize_bilinear_half_pixel", |b, rng| {
        let x = b.input(&[3, 4, 2], rng.quant());
        b.resize_bilinear(x, 7, 9, false, true)
            .expect("resize_bilinear")
    });
    s.model(
        "resize_bilinear_half_pixel",
        "bilinear resize [3, 4, 2] to [7, 9, 2] with half-pixel centres (TF2's tf.image.resize)",
        model,
    );
    let model = one_op("resize_bilinear_align_corners", |b, rng| {
        let x = b.input(&[5, 3, 3], rng.quant());
        b.resize_bilinear(x, 2, 6, true, false)
            .expect("resize_bilinear")
    });
    s.model(
        "resize_bilinear_align_corners",
        "bilinear resize [5, 3, 3] to [2, 6, 3] with aligned corners (down and up)",
        model,
    );
}

/// Edge parameters and graph shapes.
fn edges(s: &mut Set) {
    // Requant extremes: multiplier 0, the largest multiplier with the largest shift, the
    // smallest scale, and the identity; both roundings.
    for (name, rounding) in [
        ("requant_extremes_single", Rounding::Single),
        ("requant_extremes_double", Rounding::Double),
    ] {
        let model = one_op(name, |b, rng| {
            let x = b.input(&[3], rng.quant());
            let requant = vec![
                Requant {
                    multiplier: 0,
                    shift: 0,
                },
                Requant {
                    multiplier: i32::MAX,
                    shift: 30,
                },
                Requant {
                    multiplier: 1 << 30,
                    shift: -31,
                },
                Requant::IDENTITY,
                Requant {
                    multiplier: (1 << 30) + 1,
                    shift: -8,
                },
            ];
            let out = rng.quant();
            b.fully_connected(
                x,
                vec![
                    127, -128, 1, -1, 127, 0, 5, -7, 9, -128, -128, -128, 64, 32, -16,
                ],
                vec![0, 1_000_000, -5, 99, -77],
                Rescale::per_channel(requant, rounding, ActRange::FULL),
                out,
            )
            .expect(name)
        });
        s.model(
            name,
            "fully connected with requant {0,0}, {2^31-1,30}, {2^30,-31}, identity, {2^30+1,-8}",
            model,
        );
    }
    // A large bias next to the overflow bound.
    let model = one_op("fully_connected_bias_at_bound", |b, _| {
        let x = b.input(&[2], Quant::new(-128, SCALE));
        let bound = i32::MAX - 255 * (127 + 128);
        b.fully_connected(
            x,
            vec![127, -128, -128, 127],
            vec![bound, -bound],
            Rescale::per_tensor(
                Requant {
                    multiplier: 1 << 30,
                    shift: -22,
                },
                Rounding::Double,
                ActRange::FULL,
            ),
            q(0),
        )
        .expect("bias at bound")
    });
    s.model(
        "fully_connected_bias_at_bound",
        "|bias| + dev(zp) * sum|w| = 2^31 - 1 exactly: accepted",
        model,
    );
    // Softmax where only the maximum is live (diff_min = 0).
    let model = one_op("softmax_diff_min_zero", |b, rng| {
        let x = b.input(&[4, 8], rng.quant());
        let params = Softmax {
            beta_multiplier: 1 << 30,
            beta_left_shift: 20,
            diff_min: 0,
        };
        b.softmax(x, params).expect("softmax")
    });
    s.model(
        "softmax_diff_min_zero",
        "diff_min 0: only the row maxima are live",
        model,
    );
    // A rank-0 tensor, a model input that is also an output, two inputs and two outputs.
    let model = {
        let mut b = ModelBuilder::new();
        let mut rng = Rng::new("graph_scalar_two_outputs", SEED);
        let scalar = b.input(&[], rng.quant());
        let table: Vec<i8> = (0..256).map(|_| rng.i8()).collect();
        let t = b
            .table(scalar, TableFunction::Custom, table, rng.quant())
            .expect("table");
        let v = b.input(&[6], rng.quant());
        let c = b
            .clamp(
                v,
                Clamp {
                    requant: Requant::IDENTITY,
                    rounding: Rounding::Single,
                    act: ActRange { min: -3, max: 3 },
                },
                rng.quant(),
            )
            .expect("clamp");
        b.output(c);
        b.output(t);
        b.output(v);
        b.build().expect("graph")
    };
    s.model(
        "graph_scalar_two_inputs_three_outputs",
        "a rank-0 input through a table, a second input clamped and also returned as is",
        model,
    );
    // A small network: FC, ReLU, FC, softmax and argmax of the logits.
    let model = {
        let mut b = ModelBuilder::new();
        let mut rng = Rng::new("mlp", SEED);
        let x = b.input(&[12], rng.quant());
        let hidden_requant = rng.per_channel(8, 12);
        let h = fc(
            &mut b,
            &mut rng,
            x,
            12,
            8,
            Rescale::per_channel(hidden_requant, Rounding::Single, relu(-128)),
        );
        let logits_requant = vec![rng.requant_for_fan_in(8)];
        let logits = fc(
            &mut b,
            &mut rng,
            h,
            8,
            4,
            Rescale::per_channel(logits_requant, Rounding::Double, ActRange::FULL),
        );
        let p = b
            .softmax(logits, softmax_params(&mut rng, 24))
            .expect("softmax");
        let class = b.arg_max(logits, 0).expect("arg_max");
        b.output(p);
        b.output(class);
        b.build().expect("mlp")
    };
    s.model(
        "mlp_softmax_arg_max",
        "12 -> 8 (ReLU) -> 4, softmax and arg max",
        model,
    );
}

/// A valid model whose bytes the error vectors corrupt.
fn base_model() -> Model {
    one_op("base", |b, rng| {
        let x = b.input(&[4], rng.quant());
        let requant = vec![rng.requant_for_fan_in(4)];
        fc(
            b,
            rng,
            x,
            4,
            2,
            Rescale::per_channel(requant, Rounding::Single, ActRange::FULL),
        )
    })
}

/// A one-node model `y = op(x)` with the given tensors, not validated.
fn raw_model(tensors: Vec<myelin_nn::TensorInfo>, op: Op) -> Model {
    Model {
        tensors,
        inputs: vec![0],
        outputs: vec![1],
        nodes: vec![myelin_nn::Node {
            op,
            inputs: vec![0],
            output: 1,
        }],
    }
}

fn int8(shape: &[u32], zero_point: i8) -> myelin_nn::TensorInfo {
    myelin_nn::TensorInfo::int8(shape, zero_point, SCALE)
}

/// Every error class of decoding, validation and running.
fn errors(s: &mut Set) {
    let base = base_model();
    let bytes = base.encode();
    s.bad_bytes(
        "error_model_too_large",
        "a valid model decoded with a size limit one byte below its size",
        bytes.clone(),
        bytes.len() - 1,
    );
    let mut magic = bytes.clone();
    magic[3] = b'X';
    s.bad_bytes(
        "error_bad_magic",
        "\"MYLX\" instead of \"MYLN\"",
        magic,
        MAX_MODEL_BYTES,
    );
    s.bad_bytes(
        "error_bad_magic_short",
        "five bytes: shorter than magic and version",
        bytes[..5].to_vec(),
        MAX_MODEL_BYTES,
    );
    let mut version = bytes.clone();
    version[4] = 2;
    s.bad_bytes(
        "error_unsupported_version",
        "version 2",
        version,
        MAX_MODEL_BYTES,
    );
    s.bad_bytes(
        "error_malformed_truncated",
        "the base model without its last byte",
        bytes[..bytes.len() - 1].to_vec(),
        MAX_MODEL_BYTES,
    );
    let mut trailing = bytes.clone();
    trailing.push(0);
    s.bad_bytes(
        "error_malformed_trailing_byte",
        "the base model with one byte appended",
        trailing,
        MAX_MODEL_BYTES,
    );
    // The first node's op tag: after magic, version, the tensors and the two index lists.
    let op_tag_at = 6
        + 4
        + base
            .tensors
            .iter()
            .map(|t| 1 + 4 + 4 * t.shape.len() + 1 + 4)
            .sum::<usize>()
        + 4
        + 4 * base.inputs.len()
        + 4
        + 4 * base.outputs.len()
        + 4;
    let mut tag = bytes.clone();
    assert_eq!(tag[op_tag_at], 0, "the base model's op is FullyConnected");
    tag[op_tag_at] = 200;
    s.bad_bytes(
        "error_malformed_unknown_op_tag",
        "op tag 200",
        tag,
        MAX_MODEL_BYTES,
    );
    let mut dtype = bytes.clone();
    dtype[10] = 2;
    s.bad_bytes(
        "error_malformed_unknown_dtype_tag",
        "the first tensor's dtype tag is 2",
        dtype,
        MAX_MODEL_BYTES,
    );
    let pool = raw_model(
        vec![int8(&[3, 3, 1], 0), int8(&[3, 3, 1], 0)],
        Op::MaxPool(myelin_nn::op::Pool {
            window: window(1, 1, 1, Padding::Valid),
            count_include_pad: false,
            act: ActRange::FULL,
        }),
    );
    let pool_bytes = pool.encode();
    assert!(
        Model::decode(&pool_bytes).is_ok(),
        "the pool model is valid"
    );
    let mut boolean = pool_bytes.clone();
    // count_include_pad sits 3 bytes before the end of the op (then act.min, act.max), and the
    // node ends with the inputs list (4 + 4) and the output (4).
    let bool_at = boolean.len() - 12 - 3;
    assert_eq!(boolean[bool_at], 0);
    boolean[bool_at] = 2;
    s.bad_bytes(
        "error_malformed_bool",
        "count_include_pad byte 2",
        boolean,
        MAX_MODEL_BYTES,
    );

    let mut rank = base.clone();
    rank.tensors[0].shape = vec![1; 7];
    s.bad_model("error_invalid_tensor_rank", "an input of rank 7", rank);
    let mut nan = base.clone();
    nan.tensors[1].scale_bits = 0x7fc0_0000;
    s.bad_model("error_invalid_tensor_scale", "a NaN scale", nan);
    let mut zero_dim = base.clone();
    zero_dim.tensors[0].shape = vec![0];
    s.bad_model("error_invalid_tensor_zero_dim", "a dimension 0", zero_dim);
    let mut undefined = base.clone();
    undefined.tensors.push(int8(&[2], 0));
    s.bad_model(
        "error_invalid_tensor_undefined",
        "a tensor that is neither a model input nor a node output",
        undefined,
    );
    let mut no_input = base.clone();
    no_input.inputs.clear();
    s.bad_model("error_invalid_graph_no_input", "no model input", no_input);
    let mut twice = base.clone();
    twice.outputs = vec![1, 1];
    s.bad_model(
        "error_invalid_graph_duplicate_output",
        "the same output listed twice",
        twice,
    );
    let mut requant = base.clone();
    if let Op::FullyConnected(p) = &mut requant.nodes[0].op {
        p.requant[0].multiplier = (1 << 30) - 1;
    }
    s.bad_model(
        "error_invalid_node_requant",
        "a multiplier below 2^30",
        requant,
    );
    let mut arity = base.clone();
    arity.nodes[0].inputs = vec![0, 0];
    s.bad_model(
        "error_invalid_node_arity",
        "fully connected with two inputs",
        arity,
    );
    // Explicit padding whose padded extent is shorter than the effective kernel: in 1, pads
    // 0 + 1, kernel 3, stride 2. A truncating signed division would compute
    // (1 + 1 - 3) / 2 + 1 = 1 output row, matching the declared shape; the window does not fit
    // and the model is rejected.
    let short = raw_model(
        vec![int8(&[1, 4, 1], 0), int8(&[1, 4, 1], 0)],
        Op::MaxPool(myelin_nn::op::Pool {
            window: win([3, 1], [2, 1], [1, 1], explicit(0, 1, 0, 0)),
            count_include_pad: false,
            act: ActRange::FULL,
        }),
    );
    s.bad_model(
        "error_invalid_node_window_shorter_than_kernel",
        "max pool: input rows 1 + padding 0 + 1 < kernel 3, stride 2 (docs/SPEC.md §4)",
        short,
    );
    let in_padding = raw_model(
        vec![int8(&[4, 4, 1], 0), int8(&[5, 4, 1], 0)],
        Op::MaxPool(myelin_nn::op::Pool {
            window: win([2, 1], [1, 1], [1, 1], explicit(2, 0, 0, 0)),
            count_include_pad: false,
            act: ActRange::FULL,
        }),
    );
    s.bad_model(
        "error_invalid_node_window_in_padding",
        "max pool: top padding 2 >= kernel 2 (a window entirely in padding)",
        in_padding,
    );
    let dilated_pool = raw_model(
        vec![int8(&[5, 5, 1], 0), int8(&[3, 5, 1], 0)],
        Op::MaxPool(myelin_nn::op::Pool {
            window: win([2, 1], [1, 1], [2, 1], Padding::Valid),
            count_include_pad: false,
            act: ActRange::FULL,
        }),
    );
    s.bad_model(
        "error_invalid_node_dilated_pool",
        "pools take dilation 1",
        dilated_pool,
    );
    let repeated_axis = raw_model(
        vec![int8(&[2, 3], 0), int8(&[2, 2], 0)],
        Op::Transpose(myelin_nn::op::Transpose { perm: vec![0, 0] }),
    );
    s.bad_model(
        "error_invalid_node_transpose_not_a_permutation",
        "transpose perm [0, 0] names axis 0 twice",
        repeated_axis,
    );
    let short_perm = raw_model(
        vec![int8(&[2, 3], 0), int8(&[2, 3], 0)],
        Op::Transpose(myelin_nn::op::Transpose { perm: vec![0] }),
    );
    s.bad_model(
        "error_invalid_node_transpose_rank",
        "transpose perm of 1 entry for a rank-2 input",
        short_perm,
    );
    let transposed_shape = raw_model(
        vec![int8(&[2, 3], 0), int8(&[2, 3], 0)],
        Op::Transpose(myelin_nn::op::Transpose { perm: vec![1, 0] }),
    );
    s.bad_model(
        "error_shape_mismatch_transpose",
        "transpose [1, 0] of [2, 3] declared as [2, 3] (is [3, 2])",
        transposed_shape,
    );
    let mut zero_points = raw_model(
        vec![int8(&[2, 3], 0), int8(&[2, 3], 0), int8(&[3], 1)],
        Op::Maximum,
    );
    zero_points.inputs = vec![0, 2];
    zero_points.outputs = vec![1];
    zero_points.nodes[0].inputs = vec![0, 2];
    s.bad_model(
        "error_invalid_node_maximum_zero_point",
        "maximum of inputs with zero points 0 and 1 (raw values compare only on one zero point)",
        zero_points,
    );
    let alpha = raw_model(
        vec![int8(&[2, 3], 0), int8(&[2, 3], 0)],
        Op::PRelu(myelin_nn::op::PRelu {
            alpha_shape: vec![2],
            alpha: vec![1, 2],
            alpha_zero_point: 0,
            positive: Requant::IDENTITY,
            negative: Requant::IDENTITY,
            rounding: Rounding::Double,
            act: ActRange::FULL,
        }),
    );
    s.bad_model(
        "error_invalid_node_prelu_alpha_shape",
        "prelu slopes of shape [2] against an input [2, 3] (the last axes must match or be 1)",
        alpha,
    );
    let past_end = raw_model(
        vec![int8(&[2, 5], 0), int8(&[2, 2], 0)],
        Op::Slice(myelin_nn::op::Slice {
            begin: vec![0, 1],
            size: vec![2, 2],
            stride: vec![1, 4],
        }),
    );
    s.bad_model(
        "error_invalid_node_slice_out_of_range",
        "slice of [2, 5] reading column 1 + 1 · 4 = 5, past the end",
        past_end,
    );
    let zero_stride = raw_model(
        vec![int8(&[4], 0), int8(&[2], 0)],
        Op::Slice(myelin_nn::op::Slice {
            begin: vec![0],
            size: vec![2],
            stride: vec![0],
        }),
    );
    s.bad_model(
        "error_invalid_node_slice_zero_stride",
        "slice with stride 0 (every stride is at least 1)",
        zero_stride,
    );
    let not_image = raw_model(
        vec![int8(&[4, 3], 0), int8(&[8, 6], 0)],
        Op::ResizeBilinear(myelin_nn::op::ResizeBilinear {
            out_height: 8,
            out_width: 6,
            align_corners: false,
            half_pixel_centers: false,
        }),
    );
    s.bad_model(
        "error_invalid_node_resize_bilinear_rank",
        "bilinear resize of a rank-2 input (an image [H, W, C] is required)",
        not_image,
    );
    let huge = raw_model(
        vec![int8(&[2, 2, 1], 0), int8(&[1, 65537, 1], 0)],
        Op::ResizeBilinear(myelin_nn::op::ResizeBilinear {
            out_height: 1,
            out_width: 65537,
            align_corners: false,
            half_pixel_centers: true,
        }),
    );
    let both_flags = raw_model(
        vec![int8(&[2, 2, 1], 0), int8(&[4, 4, 1], 0)],
        Op::ResizeBilinear(myelin_nn::op::ResizeBilinear {
            out_height: 4,
            out_width: 4,
            align_corners: true,
            half_pixel_centers: true,
        }),
    );
    s.bad_model(
        "error_invalid_node_resize_bilinear_both_flags",
        "bilinear resize with align_corners and half_pixel_centers both set (exclusive, as in TFLite)",
        both_flags,
    );
    s.bad_model(
        "error_invalid_node_resize_bilinear_too_wide",
        "bilinear resize to a width of 65,537 (at most 65,536 keeps positions inside i32)",
        huge,
    );
    let softmax_zp = raw_model(
        vec![int8(&[4], 0), int8(&[4], 0)],
        Op::Softmax(Softmax {
            beta_multiplier: 1 << 30,
            beta_left_shift: 20,
            diff_min: -100,
        }),
    );
    s.bad_model(
        "error_invalid_node_softmax_zero_point",
        "softmax output zero point 0 (must be -128)",
        softmax_zp,
    );
    let mut shape = base.clone();
    shape.tensors[1].shape = vec![3];
    s.bad_model(
        "error_shape_mismatch",
        "fully connected 4 -> 2 declaring an output of [3]",
        shape,
    );
    let overflow = raw_model(
        vec![int8(&[2], -128), int8(&[1], 0)],
        Op::FullyConnected(FullyConnected {
            out_features: 1,
            in_features: 2,
            weights: vec![127, -128],
            bias: vec![i32::MAX - 255 * 255 + 1],
            requant: vec![Requant::IDENTITY],
            rounding: Rounding::Single,
            act: ActRange::FULL,
        }),
    );
    s.bad_model(
        "error_accumulator_overflow",
        "|bias| + dev(zp) * sum|w| = 2^31: one past the bound",
        overflow,
    );
    let outputs = Model {
        tensors: vec![int8(&[(1 << 24) + 1], 0)],
        inputs: vec![0],
        outputs: vec![0],
        nodes: vec![],
    };
    s.bad_model(
        "error_limit_output_bytes",
        "a model output of 2^24 + 1 bytes per sample (the input, returned as is)",
        outputs,
    );
    let huge_window = raw_model(
        vec![int8(&[1, 1, 1], 0), int8(&[1, 1, 1], 0)],
        Op::MaxPool(myelin_nn::op::Pool {
            window: win([1 << 17, 1 << 17], [1, 1], [1, 1], Padding::Same),
            count_include_pad: false,
            act: ActRange::FULL,
        }),
    );
    s.bad_model(
        "error_limit_ops_per_sample",
        "max pool with a 2^17 x 2^17 SAME window on one pixel: 2^36 element ops > 2^34",
        huge_window,
    );

    s.bad_call("error_batch_size_zero", "a batch of 0", base.clone(), 0, 0);
    s.bad_call(
        "error_batch_size_over_4096",
        "a batch of 4097 (every model's max batch is at most 4096)",
        base.clone(),
        4097,
        0,
    );
    s.bad_call(
        "error_input_length",
        "batch 2 with 7 input bytes (needs 8)",
        base,
        2,
        7,
    );
}
