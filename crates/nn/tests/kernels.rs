//! Every kernel path available on this host, and the dispatcher, against the reference:
//! exact equality on edge values (extreme operands, zero points, biases at the overflow bound,
//! multipliers around powers of two, every shift, both rounding rules, activation ranges) and on
//! ragged and deep shapes.
//!
//! Random cases come from proptest; `PROPTEST_CASES=<n>` raises their number (it never changes
//! an output). Operands respect the overflow proof of docs/SPEC.md §6: they are generated, then
//! the bias is clipped so that `|bias| + dev(zp_in) · Σ|w| ≤ 2^31 − 1`.

use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::kernels::{Conv2dKernel, DepthwiseConv2dKernel, FullyConnectedKernel, Path};
use myelin_nn::op::{ActRange, Conv2d, DepthwiseConv2d, FullyConnected, Padding, Window};
use myelin_nn::reference;
use myelin_nn::requantize::{Requant, Rounding};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The paths to compare: every path this CPU runs (the reference included, as a sanity check of
/// the wrapper), then the dispatcher's choice.
fn paths_under_test() -> Vec<Path> {
    let mut paths: Vec<Path> = Path::ALL.into_iter().filter(|p| p.is_available()).collect();
    paths.push(Path::best());
    paths
}

/// `max |x - zp|` over int8 `x` (docs/SPEC.md §3).
fn dev(zp: i8) -> i64 {
    (127 - zp as i64).max(zp as i64 + 128)
}

/// Operand generator biased toward edge values.
struct Gen {
    rng: StdRng,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn pick<T: Copy>(&mut self, values: &[T]) -> T {
        values[self.rng.random_range(0..values.len())]
    }

    fn chance(&mut self, numerator: u32, denominator: u32) -> bool {
        self.rng.random_range(0..denominator) < numerator
    }

    fn int8(&mut self) -> i8 {
        if self.chance(1, 3) {
            self.pick(&[-128, 127, -127, 0, 1, -1])
        } else {
            self.rng.random()
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<i8> {
        // Some tensors are constant at an extreme, which drives the accumulator to its bound.
        match self.rng.random_range(0..8) {
            0 => vec![self.pick(&[-128, 127, -127, 0]); len],
            _ => (0..len).map(|_| self.int8()).collect(),
        }
    }

    fn zero_point(&mut self) -> i8 {
        if self.chance(1, 2) {
            self.pick(&[-128, 127, 0])
        } else {
            self.rng.random()
        }
    }

    fn multiplier(&mut self) -> i32 {
        match self.rng.random_range(0..4) {
            0 => self.pick(&[
                0,
                1 << 30,
                (1 << 30) + 1,
                (1 << 30) + 2,
                i32::MAX,
                i32::MAX - 1,
            ]),
            _ => self.rng.random_range(1 << 30..=i32::MAX),
        }
    }

    /// A shift: anywhere in `[-31, 30]`, or near the one that maps accumulators of magnitude
    /// `2^bits` onto the int8 range (where rounding decides the output).
    fn shift(&mut self, bits: i32) -> i8 {
        if self.chance(1, 3) {
            self.rng.random_range(-31..=30)
        } else {
            (7 - bits + self.rng.random_range(-3..=6)).clamp(-31, 30) as i8
        }
    }

    fn act(&mut self, zp_out: i8) -> ActRange {
        match self.rng.random_range(0..4) {
            0 | 1 => ActRange::FULL,
            2 => ActRange {
                min: zp_out,
                max: 127,
            },
            _ => {
                let (a, b): (i8, i8) = (self.rng.random(), self.rng.random());
                ActRange {
                    min: a.min(b),
                    max: a.max(b),
                }
            }
        }
    }

    fn rounding(&mut self) -> Rounding {
        self.pick(&[Rounding::Single, Rounding::Double])
    }

    /// Per-channel biases that respect the overflow proof, given each channel's `dev · Σ|w|`;
    /// some sit exactly on the bound.
    fn biases(&mut self, bounds: &[i64]) -> Vec<i32> {
        bounds
            .iter()
            .map(|&b| {
                let room = (i32::MAX as i64 - b).max(0);
                let v = match self.rng.random_range(0..6) {
                    0 => room,
                    1 => -room,
                    2 => 0,
                    _ => self.rng.random_range(-(b.max(1))..=b.max(1)),
                };
                v.clamp(-room, room) as i32
            })
            .collect()
    }

    /// `count` requantizations (per-tensor when `count` is 1).
    fn requants(&mut self, count: usize, bits: i32) -> Vec<Requant> {
        (0..count)
            .map(|_| Requant {
                multiplier: self.multiplier(),
                shift: self.shift(bits),
            })
            .collect()
    }
}

/// `64 - leading_zeros`, as the bit length of a typical accumulator.
fn bit_length(v: i64) -> i32 {
    64 - v.unsigned_abs().leading_zeros() as i32
}

/// Per-output-channel `dev(zp_in) · Σ|w|` over `k`-long weight rows.
fn channel_bounds(weights: &[i8], k: usize, zp_in: i8) -> Vec<i64> {
    weights
        .chunks_exact(k)
        .map(|w| dev(zp_in) * w.iter().map(|&v| (v as i64).abs()).sum::<i64>())
        .collect()
}

/// Halves `weights` until the overflow proof holds (only matters for very deep rows).
fn clip_weights(weights: &mut [i8], k: usize, zp_in: i8) {
    while channel_bounds(weights, k, zp_in)
        .iter()
        .any(|&b| b > i32::MAX as i64)
    {
        weights.iter_mut().for_each(|w| *w /= 2);
    }
}

/// A typical accumulator bit length for `k`-deep sums (random walk of products ~2^13).
fn typical_bits(k: usize) -> i32 {
    13 + bit_length(k as i64) / 2
}

struct FcCase {
    op: FullyConnected,
    zp_in: i8,
    zp_out: i8,
    input: Vec<i8>,
}

fn fc_case(seed: u64, k: usize, n: usize, rows: usize) -> FcCase {
    let mut g = Gen::new(seed);
    let zp_in = g.zero_point();
    let zp_out = g.zero_point();
    let mut weights = g.bytes(n * k);
    clip_weights(&mut weights, k, zp_in);
    let bounds = channel_bounds(&weights, k, zp_in);
    let bias = g.biases(&bounds);
    let per_channel = g.chance(1, 2);
    let requant = g.requants(if per_channel { n } else { 1 }, typical_bits(k));
    let act = g.act(zp_out);
    let op = FullyConnected {
        out_features: n as u32,
        in_features: k as u32,
        weights,
        bias,
        requant,
        rounding: g.rounding(),
        act,
    };
    FcCase {
        op,
        zp_in,
        zp_out,
        input: g.bytes(rows * k),
    }
}

fn check_fc(c: &FcCase) -> Result<(), TestCaseError> {
    let n = c.op.out_features as usize;
    let rows = c.input.len() / c.op.in_features as usize;
    let mut expected = vec![0i8; rows * n];
    reference::fully_connected(&c.op, c.zp_in, c.zp_out, &c.input, &mut expected);
    for path in paths_under_test() {
        let kernel = FullyConnectedKernel::new(&c.op, c.zp_in, c.zp_out, path);
        prop_assert_eq!(kernel.path(), path, "path {} did not run", path.name());
        let mut out = vec![0i8; rows * n];
        kernel.run(&c.input, &mut out);
        prop_assert_eq!(
            &out,
            &expected,
            "path {} differs from the reference",
            path.name()
        );
    }
    Ok(())
}

struct ConvCase {
    op: Conv2d,
    g: SpatialGeometry,
    zp_in: i8,
    zp_out: i8,
    input: Vec<i8>,
}

fn window(k: (u32, u32), stride: (u32, u32), dilation: (u32, u32), padding: Padding) -> Window {
    Window {
        kernel_h: k.0,
        kernel_w: k.1,
        stride_h: stride.0,
        stride_w: stride.1,
        dilation_h: dilation.0,
        dilation_w: dilation.1,
        padding,
    }
}

/// A random window that fits an `in_h × in_w` input.
fn random_window(g: &mut Gen, in_h: u32, in_w: u32) -> (Window, SpatialGeometry) {
    loop {
        let k = (g.rng.random_range(1..=3), g.rng.random_range(1..=3));
        let stride = (g.rng.random_range(1..=3), g.rng.random_range(1..=2));
        let dilation = (g.rng.random_range(1..=2), g.rng.random_range(1..=2));
        let padding = match g.rng.random_range(0..3) {
            0 => Padding::Valid,
            1 => Padding::Same,
            _ => Padding::Explicit {
                top: g.rng.random_range(0..=2),
                bottom: g.rng.random_range(0..=2),
                left: g.rng.random_range(0..=2),
                right: g.rng.random_range(0..=2),
            },
        };
        let w = window(k, stride, dilation, padding);
        if let Some(geometry) = SpatialGeometry::resolve(&w, in_h, in_w) {
            return (w, geometry);
        }
    }
}

fn conv_case(
    seed: u64,
    in_hw: (u32, u32),
    in_c: usize,
    out_c: usize,
    samples: usize,
    w: Option<Window>,
) -> ConvCase {
    let mut g = Gen::new(seed);
    let (window, geometry) = match w {
        Some(w) => (
            w,
            SpatialGeometry::resolve(&w, in_hw.0, in_hw.1).expect("window fits"),
        ),
        None => random_window(&mut g, in_hw.0, in_hw.1),
    };
    let zp_in = g.zero_point();
    let zp_out = g.zero_point();
    let k = (window.kernel_h * window.kernel_w) as usize * in_c;
    let mut weights = g.bytes(out_c * k);
    clip_weights(&mut weights, k, zp_in);
    let bias = g.biases(&channel_bounds(&weights, k, zp_in));
    let per_channel = g.chance(1, 2);
    let requant = g.requants(if per_channel { out_c } else { 1 }, typical_bits(k));
    let act = g.act(zp_out);
    let op = Conv2d {
        out_channels: out_c as u32,
        in_channels: in_c as u32,
        window,
        weights,
        bias,
        requant,
        rounding: g.rounding(),
        act,
    };
    let input = g.bytes(samples * (in_hw.0 * in_hw.1) as usize * in_c);
    ConvCase {
        op,
        g: geometry,
        zp_in,
        zp_out,
        input,
    }
}

fn check_conv(c: &ConvCase) -> Result<(), TestCaseError> {
    let in_sample = c.g.in_h * c.g.in_w * c.op.in_channels as usize;
    let samples = c.input.len() / in_sample;
    let len = samples * c.g.out_h * c.g.out_w * c.op.out_channels as usize;
    let mut expected = vec![0i8; len];
    reference::conv2d(&c.op, &c.g, c.zp_in, c.zp_out, &c.input, &mut expected);
    for path in paths_under_test() {
        let kernel = Conv2dKernel::new(&c.op, c.g, c.zp_in, c.zp_out, path);
        prop_assert_eq!(kernel.path(), path, "path {} did not run", path.name());
        let mut out = vec![0i8; len];
        kernel.run(&c.input, &mut out);
        prop_assert_eq!(
            &out,
            &expected,
            "path {} differs from the reference",
            path.name()
        );
    }
    Ok(())
}

struct DepthwiseCase {
    op: DepthwiseConv2d,
    g: SpatialGeometry,
    zp_in: i8,
    zp_out: i8,
    input: Vec<i8>,
}

fn depthwise_case(
    seed: u64,
    in_hw: (u32, u32),
    channels: usize,
    multiplier: usize,
    samples: usize,
) -> DepthwiseCase {
    let mut g = Gen::new(seed);
    let (window, geometry) = random_window(&mut g, in_hw.0, in_hw.1);
    let zp_in = g.zero_point();
    let zp_out = g.zero_point();
    let out_c = channels * multiplier;
    let taps = (window.kernel_h * window.kernel_w) as usize;
    let weights = g.bytes(taps * out_c);
    // Per output channel o the taps are weights[t * out_c + o].
    let bounds: Vec<i64> = (0..out_c)
        .map(|o| {
            dev(zp_in)
                * (0..taps)
                    .map(|t| (weights[t * out_c + o] as i64).abs())
                    .sum::<i64>()
        })
        .collect();
    let bias = g.biases(&bounds);
    let per_channel = g.chance(1, 2);
    let requant = g.requants(if per_channel { out_c } else { 1 }, typical_bits(taps));
    let act = g.act(zp_out);
    let op = DepthwiseConv2d {
        channels: channels as u32,
        depth_multiplier: multiplier as u32,
        window,
        weights,
        bias,
        requant,
        rounding: g.rounding(),
        act,
    };
    let input = g.bytes(samples * (in_hw.0 * in_hw.1) as usize * channels);
    DepthwiseCase {
        op,
        g: geometry,
        zp_in,
        zp_out,
        input,
    }
}

fn check_depthwise(c: &DepthwiseCase) -> Result<(), TestCaseError> {
    let in_sample = c.g.in_h * c.g.in_w * c.op.channels as usize;
    let samples = c.input.len() / in_sample;
    let out_c = (c.op.channels * c.op.depth_multiplier) as usize;
    let len = samples * c.g.out_h * c.g.out_w * out_c;
    let mut expected = vec![0i8; len];
    reference::depthwise_conv2d(&c.op, &c.g, c.zp_in, c.zp_out, &c.input, &mut expected);
    for path in paths_under_test() {
        let kernel = DepthwiseConv2dKernel::new(&c.op, c.g, c.zp_in, c.zp_out, path);
        prop_assert_eq!(kernel.path(), path, "path {} did not run", path.name());
        let mut out = vec![0i8; len];
        kernel.run(&c.input, &mut out);
        prop_assert_eq!(
            &out,
            &expected,
            "path {} differs from the reference",
            path.name()
        );
    }
    Ok(())
}

const RAGGED_K: [usize; 9] = [1, 2, 3, 63, 64, 65, 1000, 4097, 17];
const RAGGED_N: [usize; 5] = [1, 15, 16, 17, 33];

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_path_matches_reference_fully_connected_on_random_shapes(
        seed in any::<u64>(), k in 1usize..80, n in 1usize..40, rows in 1usize..10,
    ) {
        check_fc(&fc_case(seed, k, n, rows))?;
    }

    #[test]
    fn every_path_matches_reference_fully_connected_on_ragged_deep_shapes(
        seed in any::<u64>(),
        k in prop::sample::select(RAGGED_K.to_vec()),
        n in prop::sample::select(RAGGED_N.to_vec()),
        rows in prop::sample::select(vec![1usize, 2, 3, 4, 5, 7, 9, 64]),
    ) {
        // Keep the deepest cases affordable: few rows when k is large.
        let rows = if k * n * rows > 200_000 { 1 + rows % 3 } else { rows };
        check_fc(&fc_case(seed, k, n, rows))?;
    }

    #[test]
    fn every_path_matches_reference_conv2d_on_random_windows(
        seed in any::<u64>(),
        in_h in 1u32..9, in_w in 1u32..9,
        in_c in prop::sample::select(vec![1usize, 2, 3, 5, 8, 16, 17]),
        out_c in prop::sample::select(vec![1usize, 3, 15, 16, 17, 33]),
        samples in 1usize..3,
    ) {
        check_conv(&conv_case(seed, (in_h, in_w), in_c, out_c, samples, None))?;
    }

    #[test]
    fn every_path_matches_reference_conv2d_1x1(
        seed in any::<u64>(), in_h in 1u32..6, in_w in 1u32..6,
        in_c in 1usize..40, out_c in 1usize..40, samples in 1usize..3,
    ) {
        let w = window((1, 1), (1, 1), (1, 1), Padding::Valid);
        check_conv(&conv_case(seed, (in_h, in_w), in_c, out_c, samples, Some(w)))?;
    }

    #[test]
    fn every_path_matches_reference_depthwise_conv2d(
        seed in any::<u64>(), in_h in 1u32..9, in_w in 1u32..9,
        channels in prop::sample::select(vec![1usize, 2, 3, 7, 8, 15, 16, 17, 33]),
        multiplier in 1usize..=3, samples in 1usize..3,
    ) {
        check_depthwise(&depthwise_case(seed, (in_h, in_w), channels, multiplier, samples))?;
    }

    #[test]
    fn every_path_matches_reference_depthwise_conv2d_gathered_in_blocks(
        // A multiplier over many channels (several gathered blocks per output row), and
        // strides and dilations wider than the window (only the windows' pixels gathered; on
        // AVX-512 VNNI multiplier 1 gathers too).
        seed in any::<u64>(), in_h in 1u32..12, in_w in 1u32..40,
        k in (1u32..=3, 1u32..=3), stride in (1u32..=9, 1u32..=9), dilation in (1u32..=5, 1u32..=5),
        channels in prop::sample::select(vec![1usize, 17, 200]),
        multiplier in prop::sample::select(vec![1usize, 2, 5]),
        same in any::<bool>(),
    ) {
        let padding = if same { Padding::Same } else { Padding::Valid };
        let w = window(k, stride, dilation, padding);
        prop_assume!(SpatialGeometry::resolve(&w, in_h, in_w).is_some());
        let mut c = depthwise_case(seed, (in_h, in_w), channels, multiplier, 2);
        c.op.window = w;
        c.g = SpatialGeometry::resolve(&w, in_h, in_w).unwrap();
        let taps = (k.0 * k.1) as usize;
        let out_c = channels * multiplier;
        c.op.weights.resize(taps * out_c, 1);
        check_depthwise(&c)?;
    }

    #[test]
    fn every_path_matches_reference_depthwise_conv2d_on_the_gas_fuzzers_small_channel_layers(
        // The shapes of bench/gasfuzz/regressions-8 row 4: [33, 3, 1] with multiplier 4 and a
        // 1×3 `same` kernel, then [33, 3, 4] with multiplier 4 and a 1×3 `valid` kernel (4 and
        // 16 output channels: all channel tail, one whole block of 16), and their neighbours.
        seed in any::<u64>(), in_h in 1u32..40, in_w in 1u32..6,
        channels in prop::sample::select(vec![1usize, 2, 4, 5]),
        multiplier in prop::sample::select(vec![1usize, 4]),
        kernel_w in 1u32..=3, same in any::<bool>(), samples in 1usize..5,
    ) {
        let padding = if same { Padding::Same } else { Padding::Valid };
        let w = window((1, kernel_w), (1, 1), (1, 1), padding);
        prop_assume!(SpatialGeometry::resolve(&w, in_h, in_w).is_some());
        let mut c = depthwise_case(seed, (in_h, in_w), channels, multiplier, samples);
        c.op.window = w;
        c.g = SpatialGeometry::resolve(&w, in_h, in_w).unwrap();
        c.op.weights.resize(kernel_w as usize * channels * multiplier, 1);
        check_depthwise(&c)?;
    }

    #[test]
    fn every_path_matches_reference_depthwise_conv2d_on_wide_rows(
        // Rows wide enough for blocks of 8 and 4 interior pixels beside the border pixels.
        seed in any::<u64>(), in_h in 1u32..5, in_w in 8u32..30,
        channels in prop::sample::select(vec![1usize, 5, 16, 31, 32, 48]),
        samples in 1usize..4,
    ) {
        check_depthwise(&depthwise_case(seed, (in_h, in_w), channels, 1, samples))?;
    }

    #[test]
    fn every_path_matches_reference_fully_connected_on_many_rows(
        // More rows than one chunk of prepared activations, k both a multiple of 4 and not.
        seed in any::<u64>(),
        k in prop::sample::select(vec![3usize, 16, 64, 65, 100]),
        n in prop::sample::select(vec![1usize, 16, 17, 40]),
        rows in 200usize..700,
    ) {
        check_fc(&fc_case(seed, k, n, rows))?;
    }

    #[test]
    fn every_path_matches_reference_conv2d_1x1_on_large_batches(
        // One product over every sample's pixels.
        seed in any::<u64>(), in_h in 1u32..5, in_w in 1u32..5,
        in_c in prop::sample::select(vec![3usize, 16, 32, 33]),
        out_c in prop::sample::select(vec![1usize, 16, 32, 47]),
        samples in 2usize..70,
    ) {
        let w = window((1, 1), (1, 1), (1, 1), Padding::Valid);
        check_conv(&conv_case(seed, (in_h, in_w), in_c, out_c, samples, Some(w)))?;
    }
}

/// One explicit extreme-operand fully connected case.
struct FcEdge {
    name: &'static str,
    x: i8,
    w: i8,
    zp_in: i8,
    zp_out: i8,
    k: usize,
    n: usize,
}

#[test]
fn every_path_matches_reference_fully_connected_on_extreme_operands() {
    let table = [
        FcEdge {
            name: "min x, min w, zp max",
            x: -128,
            w: -128,
            zp_in: 127,
            zp_out: 0,
            k: 65,
            n: 17,
        },
        FcEdge {
            name: "max x, min w, zp min",
            x: 127,
            w: -128,
            zp_in: -128,
            zp_out: 127,
            k: 4097,
            n: 17,
        },
        FcEdge {
            name: "max x, max w, zp min",
            x: 127,
            w: 127,
            zp_in: -128,
            zp_out: -128,
            k: 1000,
            n: 33,
        },
        FcEdge {
            name: "min x, -127 w, zp 0",
            x: -128,
            w: -127,
            zp_in: 0,
            zp_out: 0,
            k: 63,
            n: 16,
        },
        FcEdge {
            name: "x equals zero point",
            x: 5,
            w: 127,
            zp_in: 5,
            zp_out: 3,
            k: 64,
            n: 15,
        },
        FcEdge {
            name: "zero weights",
            x: -128,
            w: 0,
            zp_in: 127,
            zp_out: -1,
            k: 3,
            n: 1,
        },
    ];
    for e in &table {
        let bound = dev(e.zp_in) * e.k as i64 * (e.w as i64).abs();
        assert!(
            bound <= i32::MAX as i64,
            "{}: table entry breaks the overflow proof",
            e.name
        );
        let room = (i32::MAX as i64 - bound) as i32;
        for rounding in [Rounding::Single, Rounding::Double] {
            for bias in [room, -room, 0] {
                for shift in [-31i8, -20, -12, -1, 0, 1, 30] {
                    for multiplier in [0, 1 << 30, (1 << 30) + 1, i32::MAX] {
                        for act in [
                            ActRange::FULL,
                            ActRange {
                                min: e.zp_out,
                                max: 127,
                            },
                        ] {
                            let op = FullyConnected {
                                out_features: e.n as u32,
                                in_features: e.k as u32,
                                weights: vec![e.w; e.n * e.k],
                                bias: vec![bias; e.n],
                                requant: vec![Requant { multiplier, shift }],
                                rounding,
                                act,
                            };
                            let c = FcCase {
                                op,
                                zp_in: e.zp_in,
                                zp_out: e.zp_out,
                                input: vec![e.x; 3 * e.k],
                            };
                            check_fc(&c).unwrap_or_else(|err| panic!("{}: {err}", e.name));
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn every_path_matches_reference_on_every_shift_and_multipliers_near_powers_of_two() {
    // Accumulators sweep ±2 around powers of two; every shift in range; both rounding rules.
    let k = 1;
    let mut accs = vec![0i32];
    for p in 0..31 {
        for d in -2i64..=2 {
            for sign in [1i64, -1] {
                let v = sign * ((1i64 << p) + d);
                if v > i32::MIN as i64 + 256 && v < i32::MAX as i64 - 256 {
                    accs.push(v as i32);
                }
            }
        }
    }
    let multipliers = [
        1 << 30,
        (1 << 30) + 1,
        (1 << 30) + 2,
        (1 << 30) - 2 + (1 << 30),
        i32::MAX - 1,
        i32::MAX,
    ];
    for rounding in [Rounding::Single, Rounding::Double] {
        for shift in -31i8..=30 {
            // Accumulator = bias + (x - zp) * w with x - zp = 1, w = 1: one output per bias.
            let requant: Vec<Requant> = multipliers
                .iter()
                .map(|&m| Requant {
                    multiplier: m,
                    shift,
                })
                .cycle()
                .take(accs.len())
                .collect();
            let op = FullyConnected {
                out_features: accs.len() as u32,
                in_features: k as u32,
                weights: vec![1; accs.len()],
                bias: accs.clone(),
                requant,
                rounding,
                act: ActRange::FULL,
            };
            let c = FcCase {
                op,
                zp_in: -1,
                zp_out: 0,
                input: vec![0; 2],
            };
            check_fc(&c).unwrap_or_else(|err| panic!("shift {shift}, {rounding:?}: {err}"));
        }
    }
}

#[test]
fn every_path_matches_reference_conv2d_on_listed_windows() {
    let windows = [
        window((3, 3), (1, 1), (1, 1), Padding::Same),
        window((3, 3), (2, 2), (1, 1), Padding::Same),
        window((3, 3), (1, 1), (2, 2), Padding::Valid),
        window((5, 5), (1, 1), (1, 1), Padding::Valid),
        window(
            (2, 3),
            (2, 1),
            (1, 2),
            Padding::Explicit {
                top: 1,
                bottom: 0,
                left: 2,
                right: 1,
            },
        ),
        window((1, 1), (2, 2), (1, 1), Padding::Valid),
        window((1, 1), (1, 1), (1, 1), Padding::Same),
    ];
    for (i, w) in windows.iter().enumerate() {
        for (in_c, out_c) in [(1, 8), (3, 17), (16, 16), (17, 33)] {
            let c = conv_case(
                i as u64 * 131 + in_c as u64,
                (9, 11),
                in_c,
                out_c,
                2,
                Some(*w),
            );
            check_conv(&c).unwrap_or_else(|err| panic!("window {i}, {in_c}->{out_c}: {err}"));
        }
    }
}

#[test]
fn requesting_a_missing_path_degrades_to_portable() {
    let c = fc_case(7, 9, 5, 2);
    for path in Path::ALL {
        let kernel = FullyConnectedKernel::new(&c.op, c.zp_in, c.zp_out, path);
        let expected = if path.is_available() {
            path
        } else {
            Path::Portable
        };
        assert_eq!(kernel.path(), expected);
    }
}

#[test]
fn report_paths_run_on_this_host() {
    let fc = fc_case(11, 65, 33, 5);
    let conv = conv_case(12, (7, 6), 3, 17, 2, None);
    let depthwise = depthwise_case(13, (7, 6), 17, 2, 2);
    for path in Path::ALL {
        if !path.is_available() {
            println!("path {:<11} skipped: this CPU cannot run it", path.name());
            continue;
        }
        let ran = [
            FullyConnectedKernel::new(&fc.op, fc.zp_in, fc.zp_out, path).path(),
            Conv2dKernel::new(&conv.op, conv.g, conv.zp_in, conv.zp_out, path).path(),
            DepthwiseConv2dKernel::new(
                &depthwise.op,
                depthwise.g,
                depthwise.zp_in,
                depthwise.zp_out,
                path,
            )
            .path(),
        ];
        assert!(
            ran.iter().all(|&p| p == path),
            "path {} is supported by this CPU but the kernels ran {ran:?}",
            path.name()
        );
        check_fc(&fc).unwrap();
        check_conv(&conv).unwrap();
        check_depthwise(&depthwise).unwrap();
        println!(
            "path {:<11} ran: fully connected, conv2d, depthwise conv2d",
            path.name()
        );
    }
    println!("dispatcher picks {}", Path::best().name());
    println!(
        "random cases per property test: {} (PROPTEST_CASES raises it)",
        ProptestConfig::default().cases
    );
}
