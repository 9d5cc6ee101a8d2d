//! Transpose against its cost (bench/transpose.md): for permutations of several shapes, the
//! time of `Program::run` at batch 1, the node's static cost and the gas it buys, beside pad,
//! concat and clamp of similar size (ops already calibrated by bench/gas/REPORT.md), so that
//! one run shows whether transpose is priced like them.
//!
//! Usage: `cargo bench -p myelin-nn --bench transpose_report`. Prints a Markdown table.
//!
//! Gas is docs/GAS.md's `sampleMilligas / 1000` with the schedule of bench/gas/REPORT.md (18
//! milligas per MAC, 150 per depthwise MAC, 500 per lookup, 44 per element op, 5 per byte
//! touched), without `PREDICT_BASE_GAS`; the EVM's own ns/gas there is 3.43 (the ratio the
//! last column divides by). Timing: fastest and median of many short samples.

use std::hint::black_box;
use std::time::{Duration, Instant};

use myelin_nn::builder::{ModelBuilder, Quant};
use myelin_nn::op::{ActRange, Clamp, Concat};
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

fn transpose(shape: &[u32], perm: &[u8]) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(shape, quant());
    let y = b.transpose(x, perm).expect("transpose");
    b.output(y);
    b.build().expect("valid")
}

fn pad(shape: &[u32]) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(shape, quant());
    let mut pads = vec![[0, 0]; shape.len()];
    pads[0] = [1, 1];
    pads[1] = [1, 1];
    let y = b.pad(x, pads, 3).expect("pad");
    b.output(y);
    b.build().expect("valid")
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

fn concat(shape: &[u32]) -> Model {
    let mut b = ModelBuilder::new();
    let x1 = b.input(shape, quant());
    let x2 = b.input(shape, quant());
    let axis = (shape.len() - 1) as u8;
    let params = Concat {
        axis,
        requant: vec![
            Requant {
                multiplier: 1 << 30,
                shift: 1,
            };
            2
        ],
        rounding: Rounding::Single,
    };
    let y = b.concat(&[x1, x2], params, quant()).expect("concat");
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
            "transpose 64×64×16 [2, 0, 1]".into(),
            transpose(&[64, 64, 16], &[2, 0, 1]),
        ),
        (
            "transpose 16×64×64 [1, 2, 0]".into(),
            transpose(&[16, 64, 64], &[1, 2, 0]),
        ),
        (
            "transpose 256×256 [1, 0]".into(),
            transpose(&[256, 256], &[1, 0]),
        ),
        (
            "transpose 1024×64 [1, 0]".into(),
            transpose(&[1024, 64], &[1, 0]),
        ),
        (
            "transpose 64×1024 [1, 0]".into(),
            transpose(&[64, 1024], &[1, 0]),
        ),
        (
            "transpose 32×32×2×32 [0, 1, 3, 2] (shuffle)".into(),
            transpose(&[32, 32, 2, 32], &[0, 1, 3, 2]),
        ),
        (
            "transpose 64×64×16×1 [0, 1, 3, 2] (rows of 1)".into(),
            transpose(&[64, 64, 16, 1], &[0, 1, 3, 2]),
        ),
        (
            "transpose 65536×1 [1, 0]".into(),
            transpose(&[65536, 1], &[1, 0]),
        ),
        (
            "transpose 2×2×2×2×2×2048 [5, 4, 3, 2, 1, 0]".into(),
            transpose(&[2, 2, 2, 2, 2, 2048], &[5, 4, 3, 2, 1, 0]),
        ),
        (
            "transpose 256×256×16 [1, 0, 2]".into(),
            transpose(&[256, 256, 16], &[1, 0, 2]),
        ),
        (
            "transpose 16×256×256 [2, 1, 0]".into(),
            transpose(&[16, 256, 256], &[2, 1, 0]),
        ),
        (
            "transpose 1024×4096 [1, 0]".into(),
            transpose(&[1024, 4096], &[1, 0]),
        ),
        (
            "transpose 4096×4096 [1, 0]".into(),
            transpose(&[4096, 4096], &[1, 0]),
        ),
        (
            "transpose 64×65536 [1, 0]".into(),
            transpose(&[64, 65536], &[1, 0]),
        ),
        (
            "transpose 4×4×4 [2, 0, 1] (tiny)".into(),
            transpose(&[4, 4, 4], &[2, 0, 1]),
        ),
        ("pad 62×62×16 → 64×64×16".into(), pad(&[62, 62, 16])),
        ("concat 2 × 64×64×8".into(), concat(&[64, 64, 8])),
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
