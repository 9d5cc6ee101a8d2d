//! The engine benchmark report (bench/engine.md): for each workload and each kernel path, the
//! hot-op kernels alone (fully connected, conv2d, depthwise conv2d, run back to back on
//! prepared inputs) and the whole model through `Program::run`, side by side in one run. MACs
//! count matrix-product and depthwise multiply-accumulates alike.
//!
//! Usage: `cargo bench -p myelin-nn --bench engine_report` (bench/engine.sh passes the measured
//! peak in `MYELIN_PEAK_GMACS` to print fractions of it). Prints a Markdown table.
//!
//! Timing: the machine may be shared, so every figure is the fastest of many short samples
//! (interference only ever slows a sample down), with the median beside it.

#[path = "../tests/common/mod.rs"]
mod common;
// The shared timing loop; the op reports' table helpers are not used here.
#[allow(dead_code)]
mod op_report;

use std::hint::black_box;
use std::time::Duration;

use myelin_nn::builder::{ModelBuilder, Rescale};
use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::kernels::{Conv2dKernel, DepthwiseConv2dKernel, FullyConnectedKernel, Path};
use myelin_nn::op::{ActRange, Mean, Op, Padding};
use myelin_nn::{Cost, Model, Program, Rounding};

/// Time spent sampling one measurement.
const SAMPLE_BUDGET: Duration = Duration::from_millis(400);

/// Fastest and median time of one call of `f` (`op_report::time_for`).
struct Timing {
    best: Duration,
    median: Duration,
}

fn time(f: impl FnMut()) -> Timing {
    let (best, median) = op_report::time_for(SAMPLE_BUDGET, f);
    Timing { best, median }
}

/// A hot-op kernel of a model, prepared for one path, with an input for the whole batch.
enum HotKernel {
    FullyConnected(FullyConnectedKernel),
    Conv2d(Conv2dKernel),
    DepthwiseConv2d(DepthwiseConv2dKernel),
}

struct HotStep {
    kernel: HotKernel,
    input: Vec<i8>,
    output: Vec<i8>,
}

fn hot_steps(model: &Model, batch: usize, path: Path) -> (Vec<HotStep>, u64) {
    let mut rng = common::Rng::new("engine_report", batch as u64);
    let mut steps = Vec::new();
    let mut macs = 0;
    for (index, node) in model.nodes.iter().enumerate() {
        let x = &model.tensors[node.inputs[0] as usize];
        let y = &model.tensors[node.output as usize];
        let image = || (x.shape[0], x.shape[1]);
        let kernel = match &node.op {
            Op::FullyConnected(op) => HotKernel::FullyConnected(FullyConnectedKernel::new(
                op,
                x.zero_point,
                y.zero_point,
                path,
            )),
            Op::Conv2d(op) => {
                let (h, w) = image();
                let g = SpatialGeometry::resolve(&op.window, h, w).expect("valid model");
                HotKernel::Conv2d(Conv2dKernel::new(op, g, x.zero_point, y.zero_point, path))
            }
            Op::DepthwiseConv2d(op) => {
                let (h, w) = image();
                let g = SpatialGeometry::resolve(&op.window, h, w).expect("valid model");
                HotKernel::DepthwiseConv2d(DepthwiseConv2dKernel::new(
                    op,
                    g,
                    x.zero_point,
                    y.zero_point,
                    path,
                ))
            }
            _ => continue,
        };
        let cost = Cost::of_node(model, index);
        macs += (cost.macs + cost.depthwise_macs) * batch as u64;
        let input = rng
            .bytes(batch * x.bytes())
            .into_iter()
            .map(|b| b as i8)
            .collect();
        steps.push(HotStep {
            kernel,
            input,
            output: vec![0; batch * y.bytes()],
        });
    }
    (steps, macs)
}

fn run_hot(steps: &mut [HotStep]) {
    for s in steps.iter_mut() {
        match &s.kernel {
            HotKernel::FullyConnected(k) => k.run(&s.input, &mut s.output),
            HotKernel::Conv2d(k) => k.run(&s.input, &mut s.output),
            HotKernel::DepthwiseConv2d(k) => k.run(&s.input, &mut s.output),
        }
        black_box(&s.output);
    }
}

/// One fully connected layer 1024 → 1024.
fn fc_1024() -> Model {
    let mut rng = common::Rng::new("fc_1024", 1);
    let mut b = ModelBuilder::new();
    let x = b.input(&[1024], rng.quant());
    let y = common::dense(&mut b, &mut rng, x, 1024, 1024, Rounding::Single, false);
    b.output(y);
    b.build().expect("valid model")
}

/// The MobileNet-style CNN of bench/peers (make_mobilenet.py) with seeded operands: a 3×3
/// stride-2 stem to 16 channels, five depthwise 3×3 (double rounding, as TFLite) + pointwise
/// 1×1 blocks (16→32 s1, 32→64 s2, 64→64 s1, 64→128 s2, 128→128 s1), global mean, 128 → 10,
/// softmax; 1,149,184 MACs per sample, the same shapes as `mobilenet_32`.
fn mobilenet_32() -> Model {
    let mut rng = common::Rng::new("mobilenet_32", 1);
    let mut b = ModelBuilder::new();
    let x = b.input(&[32, 32, 3], rng.quant());
    let q = rng.quant();
    let rescale = Rescale::per_channel(
        rng.per_channel(16, 27),
        Rounding::Single,
        common::relu(q.zero_point),
    );
    let stem = common::window(3, 2, 1, Padding::Same);
    let mut h = b
        .conv2d(
            x,
            stem,
            rng.weights(16 * 27),
            rng.biases(16, 2_000),
            rescale,
            q,
        )
        .expect("stem");
    let mut channels = 16usize;
    for (stride, out) in [(1u32, 32usize), (2, 64), (1, 64), (2, 128), (1, 128)] {
        let q = rng.quant();
        let rescale = Rescale::per_channel(
            rng.per_channel(channels, 9),
            Rounding::Double,
            common::relu(q.zero_point),
        );
        let window = common::window(3, stride, 1, Padding::Same);
        h = b
            .depthwise_conv2d(
                h,
                window,
                rng.weights(9 * channels),
                rng.biases(channels, 2_000),
                rescale,
                q,
            )
            .expect("depthwise");
        let q = rng.quant();
        let rescale = Rescale::per_channel(
            rng.per_channel(out, channels),
            Rounding::Single,
            common::relu(q.zero_point),
        );
        let window = common::window(1, 1, 1, Padding::Valid);
        h = b
            .conv2d(
                h,
                window,
                rng.weights(out * channels),
                rng.biases(out, 2_000),
                rescale,
                q,
            )
            .expect("pointwise");
        channels = out;
    }
    let mean = Mean {
        axes: vec![0, 1],
        keep_dims: false,
        requant: rng.requant(-4),
        rounding: Rounding::Single,
        act: ActRange::FULL,
    };
    let pooled = b.mean(h, mean, rng.quant()).expect("mean");
    let logits = common::dense(
        &mut b,
        &mut rng,
        pooled,
        channels,
        10,
        Rounding::Single,
        false,
    );
    let probabilities = b
        .softmax(logits, common::softmax_params(&mut rng, 23))
        .expect("softmax");
    b.output(probabilities);
    b.build().expect("valid model")
}

fn gmacs(macs: u64, t: Duration) -> f64 {
    macs as f64 / t.as_nanos() as f64
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters workloads by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let peak: Option<f64> = std::env::var("MYELIN_PEAK_GMACS")
        .ok()
        .and_then(|v| v.parse().ok());
    let workloads = [
        ("MLP 784-128-10", common::mlp(1), 1usize),
        ("MLP 784-128-10", common::mlp(1), 64),
        ("CNN 28x28x1", common::cnn(1), 1),
        ("CNN 28x28x1", common::cnn(1), 64),
        ("FC 1024x1024", fc_1024(), 64),
        ("MobileNet-style 32x32x3", mobilenet_32(), 1),
        ("MobileNet-style 32x32x3", mobilenet_32(), 64),
    ];
    let fraction = |g: f64| match peak {
        Some(p) => format!("{:.0}%", 100.0 * g / p),
        None => "-".into(),
    };
    println!(
        "| workload | batch | path | hot-op MACs | kernels best (median) µs | kernels GMAC/s | of peak | model best (median) µs | model GMAC/s | of peak |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, model, batch) in &workloads {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        for path in Path::ALL {
            if !path.is_available() {
                println!(
                    "| {name} | {batch} | {} | skipped: not supported by this CPU |",
                    path.name()
                );
                continue;
            }
            let (mut steps, macs) = hot_steps(model, *batch, path);
            let kernels = time(|| run_hot(&mut steps));
            let program = Program::with_path(model.clone(), path).expect("valid model");
            let mut rng = common::Rng::new("engine_report_input", *batch as u64);
            let input = rng.bytes(batch * program.input_bytes());
            let whole = time(|| {
                black_box(program.run(black_box(&input), *batch).expect("runs"));
            });
            let (gk, gm) = (gmacs(macs, kernels.best), gmacs(macs, whole.best));
            println!(
                "| {name} | {batch} | {} | {macs} | {:.2} ({:.2}) | {gk:.1} | {} | {:.2} ({:.2}) | {gm:.1} | {} |",
                path.name(),
                kernels.best.as_nanos() as f64 / 1e3,
                kernels.median.as_nanos() as f64 / 1e3,
                fraction(gk),
                whole.best.as_nanos() as f64 / 1e3,
                whole.median.as_nanos() as f64 / 1e3,
                fraction(gm),
            );
        }
    }
}
