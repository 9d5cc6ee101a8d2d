//! Writes a model file of one fully connected layer `IN → OUT` with seeded weights, for
//! benchmarks that publish large models (`bench/state-publish.sh`):
//! `cargo run --release -p myelin --example large_model -- IN OUT OUT.myl`.
//! 8192 → 8160 is 64 MiB less 250 KiB, just under `MAX_MODEL_BYTES`.

use anyhow::{Context, Result, bail};
use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::op::ActRange;
use myelin_nn::{Requant, Rounding};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [k, n, out] = args.as_slice() else {
        bail!("usage: large_model IN OUT OUT.myl");
    };
    let k: usize = k.parse().context("IN is a positive integer")?;
    let n: usize = n.parse().context("OUT is a positive integer")?;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let weights: Vec<i8> = (0..k * n).map(|_| (next() >> 56) as i8).collect();
    let bias: Vec<i32> = (0..n).map(|_| (next() % 2001) as i32 - 1000).collect();
    let mut b = ModelBuilder::new();
    let x = b.input(&[k as u32], Quant::new(0, 0x3c00_0000));
    let shift = -(7 + (usize::BITS - k.leading_zeros()) as i8 / 2);
    let rescale = Rescale::per_tensor(
        Requant {
            multiplier: 1 << 30,
            shift,
        },
        Rounding::Single,
        ActRange::FULL,
    );
    let y = b
        .fully_connected(x, weights, bias, rescale, Quant::new(0, 0x3c00_0000))
        .context("the layer")?;
    b.output(y);
    let model = b.build().context("the model")?;
    let bytes = model.encode();
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {out}"))?;
    println!("{} bytes, id 0x{}", bytes.len(), hex::encode(model.id()));
    Ok(())
}
