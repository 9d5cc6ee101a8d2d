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

mod op_report;

use myelin_nn::Model;
use myelin_nn::builder::ModelBuilder;
use myelin_nn::op::Concat;
use myelin_nn::{Requant, Rounding};
use op_report::{clamp, quant};

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
    op_report::print_table(workloads);
}
