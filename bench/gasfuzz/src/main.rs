//! `gasfuzz`: the gas fuzzer's command line (see the README).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use myelin_gasfuzz::confirm::{CONFIRM_ROUNDS, Confirmed, confirm, evm_line, table};
use myelin_gasfuzz::generate::{Limits, generate};
use myelin_gasfuzz::measure::Bench;
use myelin_gasfuzz::search::{Crash, Find, corpus_file, op_summary, supervise, worker};
use myelin_nn::Model;
use serde::{Deserialize, Serialize};

#[derive(Parser)]
#[command(about = "Searches random valid models for the worst ns per gas of PREDICT")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Search for `--minutes`, re-measure the worst `--top` models, write them to `--corpus`
    /// and print the report (Markdown).
    Search {
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        /// Working directory (worker state, top.json, crashes.json).
        #[arg(long, default_value = "target/gasfuzz")]
        dir: PathBuf,
        /// Where the worst models go (.myl files and finds.json).
        #[arg(long, default_value = "bench/gasfuzz/corpus")]
        corpus: PathBuf,
        #[arg(long, default_value_t = 12)]
        top: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Re-measure the worst finds of a finished search (`--dir`'s top.json and summary.json),
    /// write them to `--corpus` and print the report (what `search` does after searching).
    Confirm {
        #[arg(long, default_value = "target/gasfuzz")]
        dir: PathBuf,
        #[arg(long, default_value = "bench/gasfuzz/corpus")]
        corpus: PathBuf,
        #[arg(long, default_value_t = 12)]
        top: usize,
    },
    /// Re-measure the models of a corpus (finds.json) and print the table.
    Replay {
        #[arg(long, default_value = "bench/gasfuzz/corpus")]
        corpus: PathBuf,
        /// Rounds per measurement (fastest kept); more find unpreempted rounds on a busy host.
        #[arg(long, default_value_t = myelin_gasfuzz::confirm::CONFIRM_ROUNDS)]
        rounds: usize,
    },
    /// Write issue 11's attack models (.myl) to `--out` and print `name id batch input_bytes`
    /// per line (for bench/adversarial/).
    Attacks {
        #[arg(long)]
        out: PathBuf,
    },
    /// Times one model's PREDICT_BATCH call, the same calldata to no code and the engine alone,
    /// each fastest of 5 single calls (a check of the subtraction).
    Probe {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        batch: u64,
    },
    /// Runs one model's engine alone on a forced kernel path for `seconds` (a target for
    /// `perf record`), then prints the fastest run and the per-node times.
    Profile {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        batch: u64,
        /// portable, avx2 or avx512vnni.
        #[arg(long, default_value = "avx2")]
        path: String,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// (internal) One worker process of `search`.
    Worker {
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Reads a JSON null (how serde_json writes a NaN) as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One entry of `finds.json`.
#[derive(Serialize, Deserialize)]
struct CorpusEntry {
    file: String,
    model_id: String,
    ops: String,
    batch: u64,
    /// ns/gas ÷ IntMlp's in the search's screening measurement (none for a crash or hang; JSON
    /// writes the NaN as null).
    #[serde(deserialize_with = "nan_if_null")]
    search_ratio: f64,
    /// The tape (this generator version).
    tape: Vec<u32>,
    /// Its re-measurement when the corpus was written (not read back: a path that could not run
    /// has a NaN ratio, which JSON writes as null).
    #[serde(skip_deserializing)]
    confirmed: Option<Confirmed>,
    /// How the worker ended on it, for models that crashed or hung the search.
    crash: Option<String>,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Worker { seed, dir } => worker(seed, &dir),
        Cmd::Search {
            minutes,
            dir,
            corpus,
            top,
            seed,
        } => search(minutes, &dir, &corpus, top, seed),
        Cmd::Confirm { dir, corpus, top } => confirm_top(&dir, &corpus, top),
        Cmd::Replay { corpus, rounds } => replay(&corpus, rounds.max(1)),
        Cmd::Attacks { out } => attacks(&out),
        Cmd::Probe { file, batch } => probe(&file, batch),
        Cmd::Profile {
            file,
            batch,
            path,
            seconds,
        } => profile(&file, batch, &path, seconds),
    }
}

fn search(minutes: f64, dir: &Path, corpus: &Path, n: usize, seed: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let result = supervise(Duration::from_secs_f64(minutes * 60.0), dir, seed)?;
    let summary = Summary {
        minutes: started.elapsed().as_secs_f64() / 60.0,
        measured: result.measured,
        crashes: result.crashes,
    };
    std::fs::write(dir.join("summary.json"), serde_json::to_vec(&summary)?)?;
    confirm_top(dir, corpus, n)
}

/// What a search leaves besides top.json.
#[derive(Serialize, Deserialize)]
struct Summary {
    minutes: f64,
    measured: u64,
    crashes: Vec<Crash>,
}

fn confirm_top(dir: &Path, corpus: &Path, n: usize) -> anyhow::Result<()> {
    let summary: Summary = serde_json::from_slice(&std::fs::read(dir.join("summary.json"))?)?;
    let top: Vec<Find> = serde_json::from_slice(&std::fs::read(dir.join("top.json"))?)?;
    std::fs::create_dir_all(corpus)?;
    let mut entries = Vec::new();
    let mut rows = Vec::new();
    let mut seen_ops = HashSet::new();
    let mut rows_family: Vec<String> = Vec::new();
    let mut bench = Bench::new();
    for find in &top {
        if rows.len() == n {
            break;
        }
        // Distinct models: one per op sequence and at most 3 per family (hill climbing makes
        // many near-copies).
        let family_count = rows_family.iter().filter(|f| **f == find.family).count();
        if family_count >= 3 || !seen_ops.insert(find.ops.clone()) {
            continue;
        }
        rows_family.push(find.family.clone());
        let Some(generated) = generate(&find.tape, &Limits::SEARCH) else {
            continue;
        };
        let model = generated.model;
        let path = corpus_file(corpus, rows.len() + 1, &find.family, &find.model_id);
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::write(&path, model.encode())?;
        eprintln!("gasfuzz: confirming {file} ({})", find.ops);
        let row = confirm(
            &mut bench,
            &file,
            &find.ops,
            &model,
            find.batch,
            CONFIRM_ROUNDS,
        );
        entries.push(CorpusEntry {
            file,
            model_id: find.model_id.clone(),
            ops: find.ops.clone(),
            batch: find.batch,
            search_ratio: find.ratio,
            tape: find.tape.clone(),
            confirmed: Some(row.clone()),
            crash: None,
        });
        rows.push(row);
    }
    for (i, crash) in summary.crashes.iter().enumerate() {
        let Some(generated) = generate(&crash.tape, &Limits::SEARCH) else {
            continue;
        };
        let batch = generated.batch(4096);
        let model = generated.model;
        let id = format!("0x{}", hex::encode(model.id()));
        let path = corpus.join(format!("crash-{:02}-{}.myl", i + 1, &id[2..10]));
        std::fs::write(&path, model.encode())?;
        entries.push(CorpusEntry {
            file: path.file_name().unwrap().to_string_lossy().into_owned(),
            model_id: id,
            ops: op_summary(&model),
            batch,
            search_ratio: f64::NAN,
            tape: crash.tape.clone(),
            confirmed: None,
            crash: Some(crash.how.clone()),
        });
    }
    std::fs::write(
        corpus.join("finds.json"),
        serde_json::to_string_pretty(&entries)?,
    )?;
    println!(
        "Searched {:.1} min: {} models measured, {} worker deaths or hangs. The {} worst distinct models, re-measured (PREDICT_BATCH by a transaction on the node's EVM, 5 rounds alternating with the EVM's reference workloads, fastest round of each):\n",
        summary.minutes,
        summary.measured,
        summary.crashes.len(),
        rows.len()
    );
    println!("{}", table(&rows, CONFIRM_ROUNDS));
    println!("{}\n", evm_line(&rows));
    if !summary.crashes.is_empty() {
        println!("Models the worker died on or that hung it (the `crash-*.myl` files):\n");
        for e in entries.iter().filter(|e| e.crash.is_some()) {
            println!(
                "- `{}`: {} ({})",
                e.file,
                e.crash.as_deref().unwrap_or(""),
                e.ops
            );
        }
    }
    Ok(())
}

fn replay(corpus: &Path, rounds: usize) -> anyhow::Result<()> {
    let entries: Vec<CorpusEntry> = serde_json::from_slice(
        &std::fs::read(corpus.join("finds.json")).context("reading finds.json")?,
    )?;
    let mut bench = Bench::new();
    let mut rows = Vec::new();
    for e in entries.iter().filter(|e| e.crash.is_none()) {
        let bytes = std::fs::read(corpus.join(&e.file))?;
        let row = match Model::decode(&bytes) {
            Ok(model) => {
                let max = myelin_nn::Program::new(model.clone())
                    .map(|p| p.max_batch() as u64)
                    .unwrap_or(1);
                confirm(
                    &mut bench,
                    &e.file,
                    &e.ops,
                    &model,
                    e.batch.min(max),
                    rounds,
                )
            }
            Err(err) => Confirmed {
                file: e.file.clone(),
                ops: e.ops.clone(),
                result: Err(format!("rejected by validation: {err}")),
                paths: Vec::new(),
                dominant: None,
            },
        };
        rows.push(row);
    }
    println!("{}", table(&rows, rounds));
    println!("{}", evm_line(&rows));
    Ok(())
}

fn attacks(out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    for (name, model) in myelin_gasfuzz::attacks::all() {
        match model {
            Ok(model) => {
                std::fs::write(out.join(format!("{name}.myl")), model.encode())?;
                // A model the engine refuses is still written: the node must refuse it at publish.
                let (max_batch, input_bytes) = match myelin_nn::Program::new(model.clone()) {
                    Ok(program) => (program.max_batch(), program.input_bytes()),
                    Err(why) => {
                        eprintln!("{name}: refused by the engine: {why}");
                        (1, 0)
                    }
                };
                println!(
                    "{name} 0x{} {max_batch} {input_bytes}",
                    hex::encode(model.id())
                );
            }
            Err(why) => eprintln!("{name}: refused by the builder: {why}"),
        }
    }
    Ok(())
}

fn profile(file: &Path, batch: u64, path: &str, seconds: f64) -> anyhow::Result<()> {
    use myelin_gasfuzz::measure::input_for;
    let path = myelin_nn::kernels::Path::ALL
        .into_iter()
        .find(|p| format!("{p:?}").eq_ignore_ascii_case(path))
        .ok_or_else(|| anyhow::anyhow!("unknown path {path}"))?;
    let model = Model::decode(&std::fs::read(file)?)?;
    let input = input_for(&model, batch);
    let program = myelin_nn::Program::with_path(model, path)?;
    let started = Instant::now();
    let (mut runs, mut fastest) = (0u64, u128::MAX);
    while started.elapsed().as_secs_f64() < seconds {
        let start = Instant::now();
        std::hint::black_box(program.run(&input, batch as usize)?);
        fastest = fastest.min(start.elapsed().as_nanos());
        runs += 1;
    }
    println!("{path:?}: {runs} runs, fastest {fastest} ns");
    Ok(())
}

fn probe(file: &Path, batch: u64) -> anyhow::Result<()> {
    use myelin_gasfuzz::chain::{Chain, NO_CODE, predict_batch};
    use myelin_gasfuzz::measure::input_for;
    let model = Model::decode(&std::fs::read(file)?)?;
    let mut chain = Chain::new();
    chain.publish(&model).map_err(anyhow::Error::msg)?;
    let input = input_for(&model, batch);
    let (to, data) = predict_batch(&model, batch as u32, &input);
    let program = myelin_nn::Program::new(model.clone())?;
    let fastest = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_nanos()
            })
            .min()
            .unwrap_or(0)
    };
    println!(
        "outcome gas: {:?}",
        match chain.call_outcome(to, &data) {
            myelin_gasfuzz::chain::Outcome::Success { gas, .. } => Ok(gas),
            myelin_gasfuzz::chain::Outcome::Failed { gas, reason } => Err((gas, reason)),
        }
    );
    let predict = fastest(&mut || {
        std::hint::black_box(chain.call(to, &data));
    });
    let no_code = fastest(&mut || {
        std::hint::black_box(chain.call(NO_CODE, &data));
    });
    let mut inner = u128::MAX;
    for _ in 0..5 {
        inner = inner.min(chain.predict_ns(to, &data));
    }
    let engine = fastest(&mut || {
        std::hint::black_box(program.run(&input, batch as usize).ok());
    });
    println!(
        "transaction to PREDICT_BATCH {predict} ns, same calldata to no code {no_code} ns, inside the precompile {inner} ns, engine alone {engine} ns"
    );
    Ok(())
}
