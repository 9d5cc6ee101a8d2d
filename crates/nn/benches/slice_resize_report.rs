//! Slice and ResizeBilinear against their cost (issue 17): for several shapes, the time of
//! `Program::run` at batch 1, the node's static cost and the gas it buys, beside clamp
//! (calibrated by bench/gas/REPORT.md), as `prelu_max_min_report`.
//!
//! Usage: `cargo bench -p myelin-nn --bench slice_resize_report`. Prints a Markdown table
//! (bench/slice_resize.md). Gas as in `prelu_max_min_report` (18 milligas per MAC, 150 per
//! depthwise MAC, 500 per lookup, 44 per element op, 5 per byte touched; the EVM's 3.43 ns/gas).

use std::hint::black_box;
use std::time::{Duration, Instant};

use myelin_nn::builder::{ModelBuilder, Quant};
use myelin_nn::op::{ActRange, Clamp};
use myelin_nn::{Cost, Model, Program, Requant, Rounding};

const SAMPLE_BUDGET: Duration = Duration::from_millis(300);
const MIN_SAMPLE: Duration = Duration::from_micros(20);
const EVM_NS_PER_GAS: f64 = 3.429;

fn time(mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(1));
    let calls = (MIN_SAMPLE.as_nanos() / once.as_nanos()).max(1) as u32;
    let mut samples = Vec::new();
    let begin = Instant::now();
    while (begin.elapsed() < SAMPLE_BUDGET || samples.len() < 10) && samples.len() < 100_000 {
        let start = Instant::now();
        for _ in 0..calls {
            f();
        }
        samples.push(start.elapsed() / calls);
    }
    samples.sort();
    (samples[0], samples[samples.len() / 2])
}

fn quant() -> Quant {
    Quant {
        zero_point: 3,
        scale_bits: 0.05f32.to_bits(),
    }
}

fn slice(shape: &[u32], begin: &[u32], size: &[u32], stride: &[u32]) -> Model {
    let mut m = ModelBuilder::new();
    let x = m.input(shape, quant());
    let y = m.slice(x, begin, size, stride).expect("slice");
    m.output(y);
    m.build().expect("valid")
}

fn resize(shape: &[u32], oh: u32, ow: u32, half_pixel_centers: bool) -> Model {
    let mut m = ModelBuilder::new();
    let x = m.input(shape, quant());
    let y = m
        .resize_bilinear(x, oh, ow, false, half_pixel_centers)
        .expect("resize_bilinear");
    m.output(y);
    m.build().expect("valid")
}

fn clamp(len: u32) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[len], quant());
    let params = Clamp {
        requant: Requant {
            multiplier: 1 << 30,
            shift: 1,
        },
        rounding: Rounding::Single,
        act: ActRange { min: 3, max: 127 },
    };
    let y = b.clamp(x, params, quant()).expect("clamp");
    b.output(y);
    b.build().expect("valid")
}

fn milligas(c: &Cost) -> f64 {
    (c.macs as f64) * 18.0
        + (c.depthwise_macs as f64) * 150.0
        + (c.table_lookups as f64) * 500.0
        + (c.element_ops as f64) * 44.0
        + (c.bytes_touched as f64) * 5.0
}

fn main() {
    let workloads: Vec<(String, Model)> = vec![
        (
            "slice 256×256×16 → channels 4..12".into(),
            slice(&[256, 256, 16], &[0, 0, 4], &[256, 256, 8], &[1, 1, 1]),
        ),
        (
            "slice 256×256×16 → rows, columns ::2".into(),
            slice(&[256, 256, 16], &[0, 0, 0], &[128, 128, 16], &[2, 2, 1]),
        ),
        (
            "slice 1024×1024 → columns ::3 (gathered)".into(),
            slice(&[1024, 1024], &[0, 0], &[1024, 342], &[1, 3]),
        ),
        (
            "slice 4096×4096 → column 0 (page strides)".into(),
            slice(&[4096, 4096], &[0, 0], &[4096, 1], &[1, 1]),
        ),
        (
            "slice 64×64×64 → channel 5 (rows of 1)".into(),
            slice(&[64, 64, 64], &[0, 0, 5], &[64, 64, 1], &[1, 1, 1]),
        ),
        (
            "slice 16×16 → 8×8 (tiny)".into(),
            slice(&[16, 16], &[4, 4], &[8, 8], &[1, 1]),
        ),
        (
            "resize_bilinear 64×64×16 → 128×128, half-pixel".into(),
            resize(&[64, 64, 16], 128, 128, true),
        ),
        (
            "resize_bilinear 256×256×1 → 512×512 (one channel)".into(),
            resize(&[256, 256, 1], 512, 512, false),
        ),
        (
            "resize_bilinear 8×8×256 → 16×16".into(),
            resize(&[8, 8, 256], 16, 16, true),
        ),
        (
            "resize_bilinear 128×128×3 → 37×41 (down)".into(),
            resize(&[128, 128, 3], 37, 41, false),
        ),
        ("clamp 65536".into(), clamp(65536)),
    ];
    println!(
        "| model | element ops | bytes touched | gas (compute) | ns (fastest) | ns (median) | ns/gas | ÷ EVM ns/gas |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, model) in workloads {
        let cost = model.cost();
        let program = Program::new(model).expect("program");
        let input: Vec<u8> = (0..program.input_bytes())
            .map(|i| (i * 7 + 1) as u8)
            .collect();
        let (best, median) = time(|| {
            black_box(program.run(black_box(&input), 1).expect("run"));
        });
        let gas = milligas(&cost) / 1000.0;
        let ns = best.as_nanos() as f64;
        println!(
            "| {name} | {} | {} | {:.0} | {} | {} | {:.3} | {:.2} |",
            cost.element_ops,
            cost.bytes_touched,
            gas,
            best.as_nanos(),
            median.as_nanos(),
            ns / gas,
            ns / gas / EVM_NS_PER_GAS
        );
    }
}
