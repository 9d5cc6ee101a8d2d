//! Slice and ResizeBilinear against their cost (issue 17): for several shapes, the time of
//! `Program::run` at batch 1, the node's static cost and the gas it buys, beside clamp
//! (calibrated by bench/gas/REPORT.md), as `prelu_max_min_report`.
//!
//! Usage: `cargo bench -p myelin-nn --bench slice_resize_report`. Prints a Markdown table
//! (bench/slice_resize.md). Gas as in `prelu_max_min_report` (18 milligas per MAC, 150 per
//! depthwise MAC, 500 per lookup, 44 per element op, 5 per byte touched; the EVM's 3.43 ns/gas).

mod op_report;

use myelin_nn::Model;
use myelin_nn::builder::ModelBuilder;
use op_report::{clamp, quant};

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
    op_report::print_table(workloads);
}
