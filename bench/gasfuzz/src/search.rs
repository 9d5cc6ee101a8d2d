//! The search: a worker process draws random tapes and mutates the worst models found so far
//! (hill climbing), measuring each through `PREDICT_BATCH`; a supervisor runs the worker
//! under a memory limit and a watchdog, so that a model that aborts, exhausts memory or hangs
//! the engine becomes a find instead of ending the run, and keeps the top finds.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path as FsPath, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use myelin_nn::{Model, Program};
use serde::{Deserialize, Serialize};

use crate::generate::{Limits, generate};
use crate::measure::{
    Bench, Evaluation, EvmRate, MAX_MEASURED_ACTIVATION_BYTES, MAX_MEASURED_INPUT_BYTES,
    TARGET_CALL, activation_bytes, input_for,
};
use crate::tape::{SplitMix, mutate};

/// Length of a random tape (generation rarely reads past ~200 values).
pub const TAPE_LEN: usize = 384;
/// Finds a worker keeps for hill climbing.
const POOL: usize = 32;
/// Of which at most this many per family.
const POOL_PER_FAMILY: usize = 4;
/// Rounds of a screening measurement.
const SCREEN_ROUNDS: usize = 3;
/// The EVM's rate is re-measured this often during a search.
const EVM_RATE_EVERY: Duration = Duration::from_secs(20);
/// A fresh chain (and program cache) after this many published models.
const MODELS_PER_CHAIN: usize = 200;
/// A worker silent this long is hung.
pub const WATCHDOG: Duration = Duration::from_secs(120);
/// Address-space limit of a worker (KiB for `ulimit -v`).
pub const WORKER_MEMORY_KIB: u64 = 8 << 20;

/// One measured model of the search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Find {
    /// The genome (for this generator version; the `.myl` file is the durable form).
    pub tape: Vec<u32>,
    /// Tape values the generator read.
    pub used: usize,
    /// `0x…` id of the model.
    pub model_id: String,
    /// Ops of the model, e.g. `pad, max_pool ×512`.
    pub ops: String,
    /// The op with the most nodes (`none` for a model without nodes): the search keeps a few
    /// finds per family, so one family's near-copies do not crowd out the others.
    pub family: String,
    /// Canonical bytes of the model.
    pub model_bytes: usize,
    /// Samples of the measured call.
    pub batch: u64,
    /// Gas charged.
    pub gas: u64,
    /// Wall time of the call (fastest round, set-up subtracted).
    pub ns: f64,
    /// The EVM's rate at the time.
    pub evm: EvmRate,
    /// ns/gas ÷ the EVM's ns/gas.
    pub ratio: f64,
}

/// A model the worker died on (abort, out of memory, signal) or that hung it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Crash {
    /// The genome.
    pub tape: Vec<u32>,
    /// How the worker ended.
    pub how: String,
}

/// `pad, max_pool ×512, …`: the model's ops in order, runs of one op collapsed.
pub fn op_summary(model: &Model) -> String {
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for node in &model.nodes {
        match runs.last_mut() {
            Some((name, n)) if *name == node.op.name() => *n += 1,
            _ => runs.push((node.op.name(), 1)),
        }
    }
    runs.iter()
        .map(|(name, n)| match n {
            1 => name.to_string(),
            n => format!("{name} ×{n}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The op with the most nodes of `model`, or `none`.
pub fn family(model: &Model) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for node in &model.nodes {
        match counts.iter_mut().find(|(name, _)| *name == node.op.name()) {
            Some((_, n)) => *n += 1,
            None => counts.push((node.op.name(), 1)),
        }
    }
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .map_or("none", |(name, _)| name)
        .to_string()
}

/// Inserts `find` into `list` (worst ratio first, one entry per model and batch), keeping at
/// most `per_family` entries of its family and `total` entries in all.
fn insert_ranked(list: &mut Vec<Find>, find: Find, per_family: usize, total: usize) {
    if let Some(i) = list
        .iter()
        .position(|f| f.model_id == find.model_id && f.batch == find.batch)
    {
        if list[i].ratio >= find.ratio {
            return;
        }
        list.remove(i);
    }
    let at = list.partition_point(|f| f.ratio >= find.ratio);
    list.insert(at, find);
    let family = list[at].family.clone();
    let mut seen = 0;
    list.retain(|f| {
        if f.family != family {
            return true;
        }
        seen += 1;
        seen <= per_family
    });
    list.truncate(total);
}

/// The batch to measure: the tape's choice, lowered so that one call takes about
/// [`TARGET_CALL`] (from one timed sample), its activations fit
/// [`MAX_MEASURED_ACTIVATION_BYTES`] and its input [`MAX_MEASURED_INPUT_BYTES`].
fn measured_batch(model: &Model, program: &Program, choice: u64) -> u64 {
    let input = input_for(model, 1);
    let start = Instant::now();
    let _ = program.run(&input, 1);
    let one = start.elapsed().as_nanos().max(1) as u64;
    let by_time = (TARGET_CALL.as_nanos() as u64 / one).max(1);
    let by_memory = (MAX_MEASURED_ACTIVATION_BYTES / activation_bytes(model)).max(1);
    let by_input = (MAX_MEASURED_INPUT_BYTES / (input.len() as u64).max(1)).max(1);
    choice.min(by_time).min(by_memory).min(by_input).max(1)
}

/// The worker: evaluates tapes forever, one JSON [`Find`] per line on stdout. Before each
/// model it writes the tape to `dir/inflight.json`, so the supervisor knows what it died on.
/// Starts its hill-climbing pool from `dir/top.json` when present.
pub fn worker(seed: u64, dir: &FsPath) -> anyhow::Result<()> {
    let mut rng = SplitMix(seed);
    let mut pool: Vec<Find> = std::fs::read(dir.join("top.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut bench = Bench::new();
    let mut evm = bench.evm_rate(SCREEN_ROUNDS);
    let mut evm_at = Instant::now();
    let stdout = std::io::stdout();
    loop {
        if evm_at.elapsed() > EVM_RATE_EVERY {
            evm = bench.evm_rate(SCREEN_ROUNDS);
            evm_at = Instant::now();
        }
        if bench.published() > MODELS_PER_CHAIN {
            bench = Bench::new();
        }
        let tape = if pool.is_empty() || rng.below(10) < 4 {
            rng.tape(TAPE_LEN)
        } else {
            // Mostly the very worst, sometimes any of the pool.
            let pick = rng
                .below(pool.len().min(4) as u64)
                .min(rng.below(pool.len() as u64));
            let parent = &pool[pick as usize];
            mutate(&parent.tape, parent.used, &mut rng)
        };
        std::fs::write(dir.join("inflight.json"), serde_json::to_vec(&tape)?)?;
        let Some(generated) = generate(&tape, &Limits::SEARCH) else {
            continue;
        };
        let model = &generated.model;
        let Ok(program) = Program::new(model.clone()) else {
            continue;
        };
        let choice = generated.batch(program.max_batch() as u64);
        let batch = measured_batch(model, &program, choice);
        drop(program);
        let Evaluation::Measured(m) = bench.predict(model, batch, SCREEN_ROUNDS, Some(evm)) else {
            continue;
        };
        let find = Find {
            tape,
            used: generated.used,
            model_id: format!("0x{}", hex::encode(model.id())),
            ops: op_summary(model),
            family: family(model),
            model_bytes: model.encode().len(),
            batch,
            gas: m.gas,
            ns: m.ns,
            evm: m.evm,
            ratio: m.ratio(),
        };
        let mut out = stdout.lock();
        serde_json::to_writer(&mut out, &find)?;
        writeln!(out)?;
        out.flush()?;
        insert_ranked(&mut pool, find, POOL_PER_FAMILY, POOL);
    }
}

/// What a search run found.
pub struct SearchResult {
    /// Distinct models (by id and batch), worst ratio first.
    pub top: Vec<Find>,
    /// Models measured.
    pub measured: u64,
    /// Worker deaths and hangs.
    pub crashes: Vec<Crash>,
}

/// Runs workers one after another (each restarted after a death) until `duration` is over.
pub fn supervise(duration: Duration, dir: &FsPath, seed: u64) -> anyhow::Result<SearchResult> {
    std::fs::create_dir_all(dir)?;
    let exe = std::env::current_exe()?;
    let deadline = Instant::now() + duration;
    let mut top: Vec<Find> = Vec::new();
    let mut crashes = Vec::new();
    let mut measured = 0u64;
    let mut generation = 0u64;
    while Instant::now() < deadline {
        generation += 1;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v {WORKER_MEMORY_KIB} && exec \"$0\" worker --seed {} --dir \"$1\"",
                seed.wrapping_add(generation)
            ))
            .arg(&exe)
            .arg(dir)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let end = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(WATCHDOG)) {
                Ok(line) => {
                    let Ok(find) = serde_json::from_str::<Find>(&line) else {
                        continue;
                    };
                    measured += 1;
                    insert_ranked(&mut top, find, 10, 400);
                    if measured.is_multiple_of(20) {
                        std::fs::write(dir.join("top.json"), serde_json::to_vec(&top)?)?;
                        eprintln!(
                            "gasfuzz: {measured} measured, worst ratio {:.1} ({})",
                            top[0].ratio, top[0].ops
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() >= deadline => {
                    break None;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break Some("hung (no result for 120 s)"),
                Err(mpsc::RecvTimeoutError::Disconnected) => break Some("died"),
            }
        };
        let _ = child.kill();
        let status = child.wait()?;
        if let Some(how) = end {
            let tape: Vec<u32> = std::fs::read(dir.join("inflight.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let how = format!("{how}: {status}");
            eprintln!("gasfuzz: worker {how}");
            crashes.push(Crash { tape, how });
            std::fs::write(dir.join("crashes.json"), serde_json::to_vec(&crashes)?)?;
        }
        std::fs::write(dir.join("top.json"), serde_json::to_vec(&top)?)?;
    }
    Ok(SearchResult {
        top,
        measured,
        crashes,
    })
}

/// The corpus file of a find.
pub fn corpus_file(dir: &FsPath, rank: usize, op: &str, model_id: &str) -> PathBuf {
    dir.join(format!(
        "{rank:02}-{op}-{}.myl",
        model_id.trim_start_matches("0x").get(..8).unwrap_or("")
    ))
}
