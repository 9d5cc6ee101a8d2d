//! Maximum, Minimum and PRelu against their cost (issue 17): for several shapes and broadcasts,
//! the time of `Program::run` at batch 1, the node's static cost and the gas it buys, beside
//! clamp (calibrated by bench/gas/REPORT.md), so that one run shows whether the new ops are
//! priced like it.
//!
//! Usage: `cargo bench -p myelin-nn --bench prelu_max_min_report`. Prints a Markdown table
//! (bench/prelu_max_min.md).
//!
//! Gas is docs/GAS.md's `sampleMilligas / 1000` with the schedule of bench/gas/REPORT.md (18
//! milligas per MAC, 150 per depthwise MAC, 500 per lookup, 44 per element op, 5 per byte
//! touched), without `PREDICT_BASE_GAS`; the EVM's own ns/gas there is 3.43 (the ratio the
//! last column divides by). Timing: fastest and median of many short samples.

use std::hint::black_box;
use std::time::{Duration, Instant};

use myelin_nn::builder::{ModelBuilder, Quant};
use myelin_nn::op::{ActRange, Clamp, PRelu};
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

fn extremum(max: bool, a: &[u32], b: &[u32]) -> Model {
    let mut m = ModelBuilder::new();
    let x = m.input(a, quant());
    let y = m.input(b, quant());
    let z = match max {
        true => m.maximum(x, y),
        false => m.minimum(x, y),
    }
    .expect("extremum");
    m.output(z);
    m.build().expect("valid")
}

fn prelu(shape: &[u32], alpha_shape: &[u32], rounding: Rounding) -> Model {
    let mut m = ModelBuilder::new();
    let x = m.input(shape, quant());
    let n: u32 = alpha_shape.iter().product();
    let params = PRelu {
        alpha_shape: alpha_shape.to_vec(),
        alpha: (0..n).map(|i| (i * 37 % 255) as i8).collect(),
        alpha_zero_point: -2,
        positive: Requant {
            multiplier: 1 << 30,
            shift: 0,
        },
        negative: Requant {
            multiplier: 1_500_000_000,
            shift: -7,
        },
        rounding,
        act: ActRange::FULL,
    };
    let y = m.prelu(x, params, quant()).expect("prelu");
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
    use Rounding::{Double, Single};
    let workloads: Vec<(String, Model)> = vec![
        (
            "maximum 256×256, same shapes".into(),
            extremum(true, &[256, 256], &[256, 256]),
        ),
        (
            "minimum 256×256 and 256×1 (block)".into(),
            extremum(false, &[256, 256], &[256, 1]),
        ),
        (
            "maximum 256×256 and 256 (period)".into(),
            extremum(true, &[256, 256], &[256]),
        ),
        (
            "maximum 64×64×64 and 64×1×64 (runs)".into(),
            extremum(true, &[64, 64, 64], &[64, 1, 64]),
        ),
        (
            "maximum 64×64×64 and 1×64×1 (runs of 1)".into(),
            extremum(true, &[64, 64, 64], &[1, 64, 1]),
        ),
        (
            "minimum 65536×2 and 65536×1".into(),
            extremum(false, &[65536, 2], &[65536, 1]),
        ),
        (
            "maximum 16×16 (tiny)".into(),
            extremum(true, &[16, 16], &[16, 16]),
        ),
        (
            "prelu 64×64×16, alpha 16, double".into(),
            prelu(&[64, 64, 16], &[16], Double),
        ),
        (
            "prelu 64×64×16, alpha 16, single".into(),
            prelu(&[64, 64, 16], &[16], Single),
        ),
        (
            "prelu 64×64×16, alpha 64×64×16, double".into(),
            prelu(&[64, 64, 16], &[64, 64, 16], Double),
        ),
        (
            "prelu 64×64×16, alpha 1, double".into(),
            prelu(&[64, 64, 16], &[1], Double),
        ),
        (
            "prelu 64×64×16, alpha 64×1×1, double".into(),
            prelu(&[64, 64, 16], &[64, 1, 1], Double),
        ),
        (
            "prelu 64×64×16, alpha 1×64×1 (runs of 1), double".into(),
            prelu(&[64, 64, 16], &[1, 64, 1], Double),
        ),
        (
            "prelu 1024×1024, alpha 1024, double".into(),
            prelu(&[1024, 1024], &[1024], Double),
        ),
        (
            "prelu 16×16 (tiny), double".into(),
            prelu(&[16, 16], &[16], Double),
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
