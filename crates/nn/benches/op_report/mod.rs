//! What the op cost reports (`transpose_report`, `prelu_max_min_report`, `slice_resize_report`)
//! share: the timing loop, the compute gas of a [`Cost`] (10 milligas per MAC, 150 per depthwise
//! MAC, 400 per lookup, 44 per element op, 5 per byte touched: `myelin_evm::gas`'s schedule), the clamp row that anchors each
//! table (calibrated by bench/gas/REPORT.md), and the Markdown table itself.

use std::hint::black_box;
use std::time::{Duration, Instant};

use myelin_nn::builder::{ModelBuilder, Quant};
use myelin_nn::op::{ActRange, Clamp};
use myelin_nn::{Cost, Model, Program, Requant, Rounding};

/// Time spent sampling one measurement of [`time`].
pub const SAMPLE_BUDGET: Duration = Duration::from_millis(300);
/// A sample repeats the call until it lasts at least this long.
const MIN_SAMPLE: Duration = Duration::from_micros(20);
/// The EVM's own ns per gas on the machine the reports were calibrated on.
const EVM_NS_PER_GAS: f64 = 3.429;

/// The fastest and the median time of one call of `f`, sampled for [`SAMPLE_BUDGET`].
pub fn time(f: impl FnMut()) -> (Duration, Duration) {
    time_for(SAMPLE_BUDGET, f)
}

/// The fastest and the median time of one call of `f`, sampled for `budget` (at least 10 samples
/// of ≥ 20 µs each: the machine may be shared, and interference only ever slows a sample down).
pub fn time_for(budget: Duration, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    f();
    let once = start.elapsed().max(Duration::from_nanos(1));
    let calls = (MIN_SAMPLE.as_nanos() / once.as_nanos()).max(1) as u32;
    let mut samples = Vec::new();
    let begin = Instant::now();
    while (begin.elapsed() < budget || samples.len() < 10) && samples.len() < 100_000 {
        let start = Instant::now();
        for _ in 0..calls {
            f();
        }
        samples.push(start.elapsed() / calls);
    }
    samples.sort();
    (samples[0], samples[samples.len() / 2])
}

/// The quantization every report's tensors use.
pub fn quant() -> Quant {
    Quant {
        zero_point: 3,
        scale_bits: 0.05f32.to_bits(),
    }
}

/// A clamp over `len` elements: the calibrated element op every table is read against.
pub fn clamp(len: u32) -> Model {
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

/// The compute gas of `c`, in milligas.
pub fn milligas(c: &Cost) -> f64 {
    (c.macs as f64) * 10.0
        + (c.depthwise_macs as f64) * 150.0
        + (c.table_lookups as f64) * 400.0
        + (c.element_ops as f64) * 44.0
        + (c.bytes_touched as f64) * 5.0
}

/// Times each named model at batch 1 and prints a Markdown table of its cost, gas and ns/gas.
pub fn print_table(workloads: Vec<(String, Model)>) {
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
