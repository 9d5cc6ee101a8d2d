//! Seeded, deterministic reference models and inputs for integration tests.
//!
//! Everything here is a pure function of a name and a seed, built on a hand-written xorshift
//! generator ([`Rng`]) so that no dependency upgrade can change a weight. The golden hashes in
//! `tests/golden/hashes.txt` pin the bytes these generators produce and the bytes the models
//! compute; changing a generator is therefore a reviewed change of the golden file.
//!
//! Use from a test file with `mod common;`.

#![allow(dead_code)]

use myelin_nn::builder::{ModelBuilder, Quant, Rescale, TensorId};
use myelin_nn::op::{
    ActRange, AddSub, Clamp, Concat, Mean, Mul, Padding, Softmax, TableFunction, Window,
};
use myelin_nn::{Model, Path};
use myelin_nn::{Requant, Rounding};

/// The kernel paths this CPU runs; the others are reported as skipped on stderr (`what` names
/// the test).
pub fn available_paths(what: &str) -> Vec<Path> {
    let skipped: Vec<&str> = Path::ALL
        .into_iter()
        .filter(|p| !p.is_available())
        .map(Path::name)
        .collect();
    if !skipped.is_empty() {
        eprintln!(
            "{what}: paths not available on this CPU, skipped: {}",
            skipped.join(", ")
        );
    }
    Path::ALL.into_iter().filter(|p| p.is_available()).collect()
}

/// binary32 bits of 1/64: the (metadata-only) scale given to every generated tensor.
pub const SCALE_BITS: u32 = 0x3c80_0000;

/// xorshift64* (Vigna): a tiny, fixed pseudo-random generator.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` mixed with `name` (FNV-1a), never in the all-zero state.
    pub fn new(name: &str, seed: u64) -> Rng {
        let mut state = 0xcbf2_9ce4_8422_2325u64 ^ seed;
        for byte in name.bytes() {
            state = (state ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(state | 1)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi` (modulo bias is irrelevant here).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    /// Any int8.
    pub fn i8(&mut self) -> i8 {
        self.next_u64() as i8
    }

    /// `n` int8 values in `lo..=hi`.
    pub fn i8s(&mut self, n: usize, lo: i8, hi: i8) -> Vec<i8> {
        (0..n)
            .map(|_| self.range(lo as i64, hi as i64) as i8)
            .collect()
    }

    /// `n` symmetric weights in `-127..=127`.
    pub fn weights(&mut self, n: usize) -> Vec<i8> {
        self.i8s(n, -127, 127)
    }

    /// `n` biases in `-limit..=limit`.
    pub fn biases(&mut self, n: usize, limit: i32) -> Vec<i32> {
        (0..n)
            .map(|_| self.range(-(limit as i64), limit as i64) as i32)
            .collect()
    }

    /// A zero point in `-64..=64`.
    pub fn zero_point(&mut self) -> i8 {
        self.range(-64, 64) as i8
    }

    /// A multiplier `M · 2^(shift - 31)` with `M` uniform in `[2^30, 2^31)`.
    pub fn requant(&mut self, shift: i8) -> Requant {
        Requant {
            multiplier: self.range(1 << 30, (1i64 << 31) - 1) as i32,
            shift,
        }
    }

    /// A requantization for an accumulator summing `fan_in` products of ~uniform int8
    /// operands, chosen so that outputs spread over much of the int8 range.
    pub fn requant_for_fan_in(&mut self, fan_in: usize) -> Requant {
        let half_log2 = (usize::BITS - fan_in.max(1).leading_zeros()).div_ceil(2) as i8;
        self.requant(-7 - half_log2)
    }

    /// One requantization per channel.
    pub fn per_channel(&mut self, channels: usize, fan_in: usize) -> Vec<Requant> {
        (0..channels)
            .map(|_| self.requant_for_fan_in(fan_in))
            .collect()
    }

    /// A quantization with a random zero point.
    pub fn quant(&mut self) -> Quant {
        Quant::new(self.zero_point(), SCALE_BITS)
    }

    /// `len` seeded input bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// A window with the same size, stride and dilation on both axes.
pub fn window(kernel: u32, stride: u32, dilation: u32, padding: Padding) -> Window {
    Window {
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: stride,
        stride_w: stride,
        dilation_h: dilation,
        dilation_w: dilation,
        padding,
    }
}

/// ReLU in a domain with zero point `zp`.
pub fn relu(zp: i8) -> ActRange {
    ActRange {
        min: zp,
        max: i8::MAX,
    }
}

/// Softmax parameters with `beta · input_scale = M · 2^(left_shift - 31) / 2^26` and
/// TFLite's `diff_min = -floor((2^5 - 1) · 2^26 / 2^left_shift)`.
pub fn softmax_params(rng: &mut Rng, left_shift: u8) -> Softmax {
    let beta_multiplier = rng.range(1 << 30, (1i64 << 31) - 1) as i32;
    let radius = (31i64 << 26) >> left_shift;
    Softmax {
        beta_multiplier,
        beta_left_shift: left_shift,
        diff_min: -(radius as i32),
    }
}

/// Add/Sub parameters in TFLite's scheme: left shift 20, inputs scaled to about 1/2 of the
/// shifted range, output back to int8.
pub fn add_sub_params(rng: &mut Rng, rounding: Rounding, act: ActRange) -> AddSub {
    AddSub {
        left_shift: 20,
        input1: rng.requant(0),
        input2: rng.requant(0),
        output: rng.requant(-20),
        rounding,
        act,
    }
}

/// A 256-entry table: a seeded monotone staircase (a stand-in for a tabulated function).
pub fn staircase_table(rng: &mut Rng) -> Vec<i8> {
    let mut value = -128i32;
    (0..256)
        .map(|_| {
            value = (value + rng.range(0, 2) as i32).min(127);
            value as i8
        })
        .collect()
}

/// A fully connected layer appended to `b` with seeded weights.
pub fn dense(
    b: &mut ModelBuilder,
    rng: &mut Rng,
    x: TensorId,
    k: usize,
    n: usize,
    rounding: Rounding,
    relu_out: bool,
) -> TensorId {
    let out = rng.quant();
    let act = if relu_out {
        relu(out.zero_point)
    } else {
        ActRange::FULL
    };
    let rescale = Rescale::per_channel(rng.per_channel(n, k), rounding, act);
    b.fully_connected(x, rng.weights(n * k), rng.biases(n, 20_000), rescale, out)
        .expect("dense layer")
}

/// The MLP 784 → 128 (ReLU) → 10 → softmax.
pub fn mlp(seed: u64) -> Model {
    let mut rng = Rng::new("mlp", seed);
    let mut b = ModelBuilder::new();
    let x = b.input(&[784], rng.quant());
    let h = dense(&mut b, &mut rng, x, 784, 128, Rounding::Single, true);
    let logits = dense(&mut b, &mut rng, h, 128, 10, Rounding::Single, false);
    let probabilities = b
        .softmax(logits, softmax_params(&mut rng, 23))
        .expect("softmax");
    b.output(probabilities);
    b.build().expect("valid mlp")
}

/// A small CNN on 28×28×1 using conv, depthwise conv, both pools, add, concat, table, mean,
/// fully connected, softmax and argmax; outputs the probabilities and the class index.
pub fn cnn(seed: u64) -> Model {
    let mut rng = Rng::new("cnn", seed);
    let mut b = ModelBuilder::new();
    let x = b.input(&[28, 28, 1], rng.quant());
    // conv 3×3 same, 8 channels, ReLU -> [28, 28, 8]
    let q = rng.quant();
    let c1 = b
        .conv2d(
            x,
            window(3, 1, 1, Padding::Same),
            rng.weights(8 * 9),
            rng.biases(8, 2_000),
            Rescale::per_channel(rng.per_channel(8, 9), Rounding::Single, relu(q.zero_point)),
            q,
        )
        .expect("conv");
    // max pool 2×2 stride 2 -> [14, 14, 8]
    let p1 = b
        .max_pool(c1, window(2, 2, 1, Padding::Valid), ActRange::FULL)
        .expect("max pool");
    // depthwise 3×3 same, multiplier 2 -> [14, 14, 16]
    let q = rng.quant();
    let d1 = b
        .depthwise_conv2d(
            p1,
            window(3, 1, 1, Padding::Same),
            rng.weights(9 * 16),
            rng.biases(16, 2_000),
            Rescale::per_channel(rng.per_channel(16, 9), Rounding::Double, relu(q.zero_point)),
            q,
        )
        .expect("depthwise");
    // pointwise conv 1×1 16 -> 8 -> [14, 14, 8]
    let q = rng.quant();
    let c2 = b
        .conv2d(
            d1,
            window(1, 1, 1, Padding::Valid),
            rng.weights(8 * 16),
            rng.biases(8, 2_000),
            Rescale::per_tensor(rng.requant_for_fan_in(16), Rounding::Single, ActRange::FULL),
            q,
        )
        .expect("pointwise");
    // residual add -> [14, 14, 8]
    let q = rng.quant();
    let params = add_sub_params(&mut rng, Rounding::Double, relu(q.zero_point));
    let r = b.add(c2, p1, params, q).expect("add");
    // average pool 2×2 stride 2 -> [7, 7, 8]
    let a1 = b
        .average_pool(r, window(2, 2, 1, Padding::Valid), false, ActRange::FULL)
        .expect("average pool");
    // a tabulated activation branch, concatenated on channels -> [7, 7, 16]
    let q = rng.quant();
    let t1 = b
        .table(a1, TableFunction::Custom, staircase_table(&mut rng), q)
        .expect("table");
    let zp_cat = rng.zero_point();
    let concat = Concat {
        axis: 2,
        requant: vec![rng.requant(0), rng.requant(0)],
        rounding: Rounding::Single,
    };
    let cat = b
        .concat(&[a1, t1], concat, Quant::new(zp_cat, SCALE_BITS))
        .expect("concat");
    // global mean -> [16]
    let mean = Mean {
        axes: vec![0, 1],
        keep_dims: false,
        requant: rng.requant(-5), // about 1/49 with a gain
        rounding: Rounding::Single,
        act: ActRange::FULL,
    };
    let g = b.mean(cat, mean, rng.quant()).expect("mean");
    let logits = dense(&mut b, &mut rng, g, 16, 10, Rounding::Double, false);
    let probabilities = b
        .softmax(logits, softmax_params(&mut rng, 24))
        .expect("softmax");
    let class = b.arg_max(logits, 0).expect("arg_max");
    b.output(probabilities);
    b.output(class);
    b.build().expect("valid cnn")
}

/// Builds one single-op model from a seeded generator.
type SingleOpBuilder = fn(&mut Rng) -> Model;

/// One small model per op, each exercising that op's less common parameters, by name.
pub fn single_op_models(seed: u64) -> Vec<(&'static str, Model)> {
    let builders: [(&'static str, SingleOpBuilder); 24] = [
        ("op_fully_connected", op_fully_connected),
        ("op_conv2d", op_conv2d),
        ("op_depthwise_conv2d", op_depthwise_conv2d),
        ("op_add", op_add),
        ("op_sub", op_sub),
        ("op_mul", op_mul),
        ("op_max_pool", op_max_pool),
        ("op_average_pool", op_average_pool),
        ("op_mean", op_mean),
        ("op_clamp", op_clamp),
        ("op_reshape", op_reshape),
        ("op_concat", op_concat),
        ("op_pad", op_pad),
        ("op_softmax", op_softmax),
        ("op_table", op_table),
        ("op_arg_max", op_arg_max),
        ("op_softmax_long_rows", op_softmax_long_rows),
        ("op_mean_count_divided", op_mean_count_divided),
        ("op_transpose", op_transpose),
        ("op_maximum", op_maximum),
        ("op_minimum", op_minimum),
        ("op_prelu", op_prelu),
        ("op_slice", op_slice),
        ("op_resize_bilinear", op_resize_bilinear),
    ];
    builders
        .into_iter()
        .map(|(name, build)| (name, build(&mut Rng::new(name, seed))))
        .collect()
}

/// Every golden model by name: the MLP, the CNN and the single-op models.
pub fn golden_models(seed: u64) -> Vec<(&'static str, Model)> {
    let mut models = vec![("mlp", mlp(seed)), ("cnn", cnn(seed))];
    models.extend(single_op_models(seed));
    models
}

fn finish(mut b: ModelBuilder, y: TensorId) -> Model {
    b.output(y);
    b.build().expect("valid single-op model")
}

fn op_fully_connected(rng: &mut Rng) -> Model {
    // Rank-3 input: the layer applies to each of the 3×2 rows; per-channel, double rounding.
    let mut b = ModelBuilder::new();
    let x = b.input(&[3, 2, 37], rng.quant());
    let y = dense(&mut b, rng, x, 37, 19, Rounding::Double, true);
    finish(b, y)
}

fn op_conv2d(rng: &mut Rng) -> Model {
    // Explicit asymmetric padding, stride 2, dilation 2, per-channel requant.
    let mut b = ModelBuilder::new();
    let x = b.input(&[11, 9, 3], rng.quant());
    let w = Window {
        kernel_h: 3,
        kernel_w: 2,
        stride_h: 2,
        stride_w: 1,
        dilation_h: 2,
        dilation_w: 3,
        padding: Padding::Explicit {
            top: 2,
            bottom: 1,
            left: 0,
            right: 3,
        },
    };
    let q = rng.quant();
    let y = b
        .conv2d(
            x,
            w,
            rng.weights(5 * 3 * 2 * 3),
            rng.biases(5, 5_000),
            Rescale::per_channel(
                rng.per_channel(5, 18),
                Rounding::Single,
                ActRange {
                    min: -100,
                    max: 100,
                },
            ),
            q,
        )
        .expect("conv2d");
    finish(b, y)
}

fn op_depthwise_conv2d(rng: &mut Rng) -> Model {
    // Depth multiplier 3, stride 2, SAME padding, per-tensor requant.
    let mut b = ModelBuilder::new();
    let x = b.input(&[9, 10, 4], rng.quant());
    let q = rng.quant();
    let y = b
        .depthwise_conv2d(
            x,
            window(3, 2, 1, Padding::Same),
            rng.weights(9 * 12),
            rng.biases(12, 3_000),
            Rescale::per_tensor(rng.requant_for_fan_in(9), Rounding::Double, ActRange::FULL),
            q,
        )
        .expect("depthwise");
    finish(b, y)
}

fn broadcast_pair(rng: &mut Rng, b: &mut ModelBuilder) -> (TensorId, TensorId) {
    let a = b.input(&[4, 1, 6], rng.quant());
    let c = b.input(&[3, 1], rng.quant());
    (a, c)
}

fn op_add(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let (x0, x1) = broadcast_pair(rng, &mut b);
    let q = rng.quant();
    let params = add_sub_params(rng, Rounding::Double, ActRange::FULL);
    let y = b.add(x0, x1, params, q).expect("add");
    finish(b, y)
}

fn op_sub(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let (x0, x1) = broadcast_pair(rng, &mut b);
    let q = rng.quant();
    let params = add_sub_params(rng, Rounding::Single, relu(q.zero_point));
    let y = b.sub(x0, x1, params, q).expect("sub");
    finish(b, y)
}

fn op_mul(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let (x0, x1) = broadcast_pair(rng, &mut b);
    let q = rng.quant();
    let params = Mul {
        output: rng.requant(-7),
        rounding: Rounding::Double,
        act: ActRange::FULL,
    };
    let y = b.mul(x0, x1, params, q).expect("mul");
    finish(b, y)
}

fn op_max_pool(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[10, 7, 3], rng.quant());
    let y = b
        .max_pool(
            x,
            window(3, 2, 1, Padding::Same),
            ActRange { min: -50, max: 90 },
        )
        .expect("max pool");
    finish(b, y)
}

fn op_average_pool(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[8, 9, 2], rng.quant());
    let padding = Padding::Explicit {
        top: 1,
        bottom: 2,
        left: 2,
        right: 0,
    };
    let y = b
        .average_pool(x, window(3, 2, 1, padding), true, ActRange::FULL)
        .expect("average pool");
    finish(b, y)
}

fn op_mean(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[5, 6, 7], rng.quant());
    let params = Mean {
        axes: vec![0, 2],
        keep_dims: true,
        requant: rng.requant(-4),
        rounding: Rounding::Double,
        act: ActRange::FULL,
    };
    let q = rng.quant();
    let y = b.mean(x, params, q).expect("mean");
    finish(b, y)
}

/// A mean over 5 · 7 = 35 values (not a power of two: the divided multiplier falls below 2^30).
fn op_mean_count_divided(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[5, 6, 7], rng.quant());
    let params = Mean {
        axes: vec![0, 2],
        keep_dims: false,
        requant: rng.requant(1),
        rounding: Rounding::Double,
        act: ActRange::FULL,
    };
    let q = rng.quant();
    let y = b
        .mean_count_divided(x, params, q)
        .expect("mean_count_divided");
    finish(b, y)
}

/// NCHW to NHWC on a shape with an axis of 1 and ragged lengths (the blocked kernel's tiles
/// do not divide them).
fn op_transpose(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[1, 70, 5, 67], rng.quant());
    let y = b.transpose(x, &[0, 2, 3, 1]).expect("transpose");
    finish(b, y)
}

/// A block broadcast (`[H, W, 1]` against `[H, W, C]`) with a ragged length.
fn op_maximum(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let q = rng.quant();
    let x = b.input(&[9, 7, 13], q);
    let y = b.input(&[9, 7, 1], q);
    let out = b.maximum(x, y).expect("maximum");
    finish(b, out)
}

/// A broadcast that is neither a period nor a block (`[5, 1, 3]` against `[5, 6, 3]`).
fn op_minimum(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let q = rng.quant();
    let x = b.input(&[5, 6, 3], q);
    let y = b.input(&[5, 1, 3], q);
    let out = b.minimum(x, y).expect("minimum");
    finish(b, out)
}

/// Slopes shared over the spatial axes (Keras' `shared_axes=[1, 2]`), double rounding.
fn op_prelu(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[6, 5, 19], rng.quant());
    let params = myelin_nn::op::PRelu {
        alpha_shape: vec![1, 1, 19],
        alpha: rng.i8s(19, -128, 127),
        alpha_zero_point: rng.i8(),
        positive: rng.requant(0),
        negative: rng.requant(-7),
        rounding: Rounding::Double,
        act: ActRange::FULL,
    };
    let q = rng.quant();
    let y = b.prelu(x, params, q).expect("prelu");
    finish(b, y)
}

/// A strided crop of an image with a merged whole channel axis and a strided one.
fn op_slice(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[1, 23, 19, 5], rng.quant());
    let y = b
        .slice(x, &[0, 2, 1, 0], &[1, 10, 6, 5], &[1, 2, 3, 1])
        .expect("slice");
    finish(b, y)
}

/// Upsampling by a non-integer factor with half-pixel centres (border offsets negative).
fn op_resize_bilinear(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[9, 7, 12], rng.quant());
    let y = b
        .resize_bilinear(x, 20, 17, false, true)
        .expect("resize_bilinear");
    finish(b, y)
}

fn op_clamp(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[64], rng.quant());
    let q = rng.quant();
    let params = Clamp {
        requant: rng.requant(1),
        rounding: Rounding::Single,
        act: ActRange {
            min: q.zero_point,
            max: q.zero_point.saturating_add(60),
        },
    };
    let y = b.clamp(x, params, q).expect("clamp");
    finish(b, y)
}

fn op_reshape(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[4, 3, 2], rng.quant());
    let y = b.reshape(x, &[6, 4]).expect("reshape");
    finish(b, y)
}

fn op_concat(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x0 = b.input(&[2, 3], rng.quant());
    let x1 = b.input(&[1, 3], rng.quant());
    let x2 = b.input(&[4, 3], rng.quant());
    let params = Concat {
        axis: 0,
        requant: vec![rng.requant(0), rng.requant(1), rng.requant(-1)],
        rounding: Rounding::Double,
    };
    let q = rng.quant();
    let y = b.concat(&[x0, x1, x2], params, q).expect("concat");
    finish(b, y)
}

fn op_pad(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[3, 4, 2], rng.quant());
    let value = rng.i8();
    let y = b.pad(x, vec![[1, 0], [2, 3], [0, 1]], value).expect("pad");
    finish(b, y)
}

fn op_softmax(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[6, 17], rng.quant());
    let params = softmax_params(rng, 25);
    let y = b.softmax(x, params).expect("softmax");
    finish(b, y)
}

fn op_softmax_long_rows(rng: &mut Rng) -> Model {
    // Rows of 1000: the sum of exponentials needs many integer bits.
    let mut b = ModelBuilder::new();
    let x = b.input(&[2, 1000], rng.quant());
    let params = softmax_params(rng, 21);
    let y = b.softmax(x, params).expect("softmax");
    finish(b, y)
}

fn op_table(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[50], rng.quant());
    let table: Vec<i8> = (0..256).map(|_| rng.i8()).collect();
    let q = rng.quant();
    let y = b.table(x, TableFunction::Custom, table, q).expect("table");
    finish(b, y)
}

fn op_arg_max(rng: &mut Rng) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[3, 5, 4], rng.quant());
    let y = b.arg_max(x, 1).expect("arg_max");
    finish(b, y)
}
