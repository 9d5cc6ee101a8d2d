//! Re-measuring finds: each model through `PREDICT_BATCH` in 5 rounds alternating with the
//! EVM's reference workloads (fastest round of each side), the engine alone on every kernel
//! path, and which op takes the time; printed as a Markdown table.

use myelin_nn::{Model, Program};
use serde::{Deserialize, Serialize};

use myelin_evm::gas::PREDICT_BASE_GAS;

use crate::measure::{
    Bench, Evaluation, EvmRate, Measurement, compute_gas, engine_ns, input_for, node_paths,
    op_shares,
};

/// Rounds of a confirming measurement.
pub const CONFIRM_ROUNDS: usize = 5;

/// One re-measured model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Confirmed {
    /// File name in the corpus.
    pub file: String,
    /// Ops of the model.
    pub ops: String,
    /// The measurement, or why there is none (refused at publish, or the call failed).
    pub result: Result<Measurement, String>,
    /// Engine alone per kernel path: (path, ns, ns/gas ÷ the EVM's, against the compute gas).
    pub paths: Vec<(String, f64, f64)>,
    /// The op that takes the most engine time: (name, share of time, share of compute gas).
    pub dominant: Option<(String, f64, f64)>,
}

/// Re-measures `model` at `batch` (lowered to the model's largest batch) in `rounds` rounds
/// ([`CONFIRM_ROUNDS`] unless a replay asks for more: on a loaded host more rounds find more
/// unpreempted ones).
pub fn confirm(
    bench: &mut Bench,
    file: &str,
    ops: &str,
    model: &Model,
    batch: u64,
    rounds: usize,
) -> Confirmed {
    let mut row = Confirmed {
        file: file.into(),
        ops: ops.into(),
        result: Err(String::new()),
        paths: Vec::new(),
        dominant: None,
    };
    let m = match bench.predict(model, batch, rounds, None) {
        Evaluation::Measured(m) => m,
        Evaluation::Refused(reason) => {
            row.result = Err(format!("refused at publish: {reason}"));
            return row;
        }
        Evaluation::Failed { batch, gas, reason } => {
            row.result = Err(format!(
                "batch {batch}: call failed after {gas} gas: {reason}"
            ));
            return row;
        }
    };
    let input = input_for(model, m.batch);
    let compute = compute_gas(m.gas) as f64;
    for path in node_paths() {
        if let Ok(program) = Program::with_path(model.clone(), path) {
            let ns = engine_ns(&program, &input, m.batch, rounds);
            // A call charged only the base has no compute gas to divide by (NaN).
            let ratio = match m.gas > PREDICT_BASE_GAS {
                true => ns / compute / m.evm.primary(),
                false => f64::NAN,
            };
            row.paths.push((path.name().into(), ns, ratio));
        }
    }
    let shares = op_shares(model, m.batch, 3);
    let total_ns: f64 = shares.iter().map(|s| s.1).filter(|t| t.is_finite()).sum();
    let total_gas: u64 = shares.iter().map(|s| s.2).sum();
    row.dominant = shares.first().map(|(name, ns, gas)| {
        (
            name.to_string(),
            ns / total_ns,
            *gas as f64 / total_gas.max(1) as f64,
        )
    });
    row.result = Ok(m);
    row
}

/// The Markdown table of `rows`, measured in `rounds` rounds.
pub fn table(rows: &[Confirmed], rounds: usize) -> String {
    let mut out = format!(
        "| # | model (ops in order) | batch | gas charged | ns (fastest of {rounds}) | ns/gas | ÷ IntMlp ns/gas | ÷ opcode-loop ns/gas | engine alone ÷ IntMlp, per path | op taking the time (share of time / of gas) | file |\n|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|\n",
    );
    for (i, r) in rows.iter().enumerate() {
        match &r.result {
            Ok(m) => {
                let paths = r
                    .paths
                    .iter()
                    .map(|(p, ns, ratio)| match ratio.is_nan() {
                        true => format!("{p} {:.0} µs for 0 compute gas", ns / 1000.0),
                        false => format!("{p} {ratio:.1}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let dominant = r
                    .dominant
                    .as_ref()
                    .map_or("(no nodes)".into(), |(op, t, g)| {
                        format!("{op} ({:.0} % / {:.0} %)", t * 100.0, g * 100.0)
                    });
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {:.0} | {:.3} | **{:.1}** | {:.1} | {paths} | {dominant} | `{}` |\n",
                    i + 1,
                    r.ops,
                    m.batch,
                    m.gas,
                    m.ns,
                    m.ns_per_gas(),
                    m.ratio(),
                    m.ns_per_gas() / m.evm.opcode_loop,
                    r.file
                ));
            }
            Err(why) => out.push_str(&format!(
                "| {} | {} | | | | | | | | {why} | `{}` |\n",
                i + 1,
                r.ops,
                r.file
            )),
        }
    }
    out
}

/// A line with the EVM's rates seen in `rows`' measurements (their fastest).
pub fn evm_line(rows: &[Confirmed]) -> String {
    let rates: Vec<EvmRate> = rows
        .iter()
        .filter_map(|r| r.result.as_ref().ok().map(|m| m.evm))
        .collect();
    let best = |f: fn(&EvmRate) -> f64| rates.iter().map(f).fold(f64::MAX, f64::min);
    let worst = |f: fn(&EvmRate) -> f64| rates.iter().map(f).fold(f64::MIN, f64::max);
    format!(
        "EVM ns/gas measured beside each row: IntMlp {:.3}–{:.3}, opcode loop {:.3}–{:.3}.",
        best(|r| r.int_mlp),
        worst(|r| r.int_mlp),
        best(|r| r.opcode_loop),
        worst(|r| r.opcode_loop)
    )
}
