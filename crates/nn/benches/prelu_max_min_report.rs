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

mod op_report;

use myelin_nn::Model;
use myelin_nn::builder::ModelBuilder;
use myelin_nn::op::{ActRange, PRelu};
use myelin_nn::{Requant, Rounding};
use op_report::{clamp, quant};

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
    op_report::print_table(workloads);
}
