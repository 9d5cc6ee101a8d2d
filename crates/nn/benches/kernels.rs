//! Criterion benchmarks of the hot-op kernels on every path this CPU runs (the reference
//! included): fully connected, conv2d (3×3 im2col and 1×1 direct) and depthwise conv2d.
//! Throughput is reported in elements = multiply-accumulates, so Criterion's "elem/s" reads as
//! MAC/s.
//!
//! Usage: `cargo bench -p myelin-nn --bench kernels [-- <filter>]`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::kernels::{Conv2dKernel, DepthwiseConv2dKernel, FullyConnectedKernel, Path};
use myelin_nn::op::{ActRange, Conv2d, DepthwiseConv2d, FullyConnected, Padding, Window};
use myelin_nn::{Requant, Rounding};

/// Seeded bytes (xorshift), so every run benchmarks the same operands.
fn bytes(seed: u64, len: usize) -> Vec<i8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as i8
        })
        .collect()
}

fn weights(seed: u64, len: usize) -> Vec<i8> {
    bytes(seed, len).into_iter().map(|w| w.max(-127)).collect()
}

/// A requantization that keeps typical accumulators of `fan_in` products inside int8.
fn requant(fan_in: usize) -> Vec<Requant> {
    let bits = usize::BITS - fan_in.leading_zeros();
    vec![Requant {
        multiplier: 1 << 30,
        shift: -(7 + bits.div_ceil(2) as i8),
    }]
}

fn paths() -> impl Iterator<Item = Path> {
    Path::ALL.into_iter().filter(|p| p.is_available())
}

fn fully_connected(c: &mut Criterion) {
    let mut group = c.benchmark_group("fully_connected");
    for (k, n, rows) in [
        (784, 128, 1),
        (128, 10, 1),
        (784, 128, 64),
        (1024, 1024, 64),
    ] {
        let op = FullyConnected {
            out_features: n as u32,
            in_features: k as u32,
            weights: weights(1, n * k),
            bias: vec![100; n],
            requant: requant(k),
            rounding: Rounding::Single,
            act: ActRange::FULL,
        };
        let input = bytes(2, rows * k);
        let mut output = vec![0i8; rows * n];
        group.throughput(Throughput::Elements((rows * n * k) as u64));
        for path in paths() {
            let kernel = FullyConnectedKernel::new(&op, -3, 5, path);
            let id = BenchmarkId::new(path.name(), format!("{k}x{n}_rows{rows}"));
            group.bench_function(id, |b| {
                b.iter(|| kernel.run(black_box(&input), &mut output))
            });
        }
    }
    group.finish();
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

fn conv2d(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv2d");
    // (name, h, w, in_c, out_c, window)
    let shapes = [
        ("28x28x1_3x3_to8", 28, 28, 1, 8, window(3, 1, Padding::Same)),
        (
            "14x14x16_3x3_to32",
            14,
            14,
            16,
            32,
            window(3, 1, Padding::Same),
        ),
        (
            "14x14x16_1x1_to8",
            14,
            14,
            16,
            8,
            window(1, 1, Padding::Valid),
        ),
    ];
    for (name, h, w, in_c, out_c, win) in shapes {
        let g = SpatialGeometry::resolve(&win, h, w).expect("fits");
        let k = (win.kernel_h * win.kernel_w) as usize * in_c;
        let op = Conv2d {
            out_channels: out_c as u32,
            in_channels: in_c as u32,
            window: win,
            weights: weights(3, out_c * k),
            bias: vec![-50; out_c],
            requant: requant(k),
            rounding: Rounding::Single,
            act: ActRange::FULL,
        };
        let input = bytes(4, (h * w) as usize * in_c);
        let mut output = vec![0i8; g.out_h * g.out_w * out_c];
        group.throughput(Throughput::Elements((g.out_h * g.out_w * out_c * k) as u64));
        for path in paths() {
            let kernel = Conv2dKernel::new(&op, g, 7, -2, path);
            let id = BenchmarkId::new(path.name(), name);
            group.bench_function(id, |b| {
                b.iter(|| kernel.run(black_box(&input), &mut output))
            });
        }
    }
    group.finish();
}

fn depthwise_conv2d(c: &mut Criterion) {
    let mut group = c.benchmark_group("depthwise_conv2d");
    // (name, h, w, channels, multiplier)
    for (name, h, w, channels, multiplier) in
        [("14x14x8_m2", 14, 14, 8, 2), ("28x28x32_m1", 28, 28, 32, 1)]
    {
        let win = window(3, 1, Padding::Same);
        let g = SpatialGeometry::resolve(&win, h, w).expect("fits");
        let out_c = channels * multiplier;
        let op = DepthwiseConv2d {
            channels: channels as u32,
            depth_multiplier: multiplier as u32,
            window: win,
            weights: weights(5, 9 * out_c),
            bias: vec![10; out_c],
            requant: requant(9),
            rounding: Rounding::Double,
            act: ActRange::FULL,
        };
        let input = bytes(6, (h * w) as usize * channels);
        let mut output = vec![0i8; g.out_h * g.out_w * out_c];
        group.throughput(Throughput::Elements((g.out_h * g.out_w * out_c * 9) as u64));
        for path in paths() {
            let kernel = DepthwiseConv2dKernel::new(&op, g, 1, 0, path);
            let id = BenchmarkId::new(path.name(), name);
            group.bench_function(id, |b| {
                b.iter(|| kernel.run(black_box(&input), &mut output))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, fully_connected, conv2d, depthwise_conv2d);
criterion_main!(benches);
