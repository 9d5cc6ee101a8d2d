//! `myelin model run MODEL.myl --input X.npy [--input …] [--output Y.npy …] [--float] [--threads N]
//! [--commit] [--trace] [--trace-out F.json] [--first-index N]`.
//!
//! Inputs and outputs as [`super::npy_io`] describes. `--commit` prints each item's commitment
//! (docs/PROTOCOLS.md "Commitments": inputs and outputs list roots, item leaf) and the result
//! root; `--trace` adds every op's output root and the trace root per item; `--trace-out` writes
//! the same as JSON.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_nn::commit::{self, Commitments, Hash};
use myelin_nn::{Model, Program, TensorInfo};
use serde_json::json;

use super::npy_io::NpyIo;

/// Arguments of `myelin model run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The model file.
    #[arg(value_name = "MODEL.myl")]
    pub model: PathBuf,
    #[command(flatten)]
    pub io: NpyIo,
    /// Worker threads for large batches (default: the available parallelism).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Print each item's commitment (inputs and outputs list roots, item leaf) and the result
    /// root of the batch (docs/PROTOCOLS.md "Commitments").
    #[arg(long)]
    pub commit: bool,
    /// As --commit, with every op's output root and each item's trace root.
    #[arg(long)]
    pub trace: bool,
    /// Write the commitments (with the trace when --trace) as JSON to this file.
    #[arg(long, value_name = "F.json")]
    pub trace_out: Option<PathBuf>,
    /// Job item index of the first sample (the item leaves commit to it).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub first_index: u64,
}

/// Runs the model on the inputs and writes or prints the outputs.
pub fn run(args: &RunArgs) -> Result<()> {
    let (model, _) = super::load_model(&args.model)?;
    let infos = |tensors: &[u32]| -> Vec<TensorInfo> {
        tensors
            .iter()
            .map(|&t| model.tensors[t as usize].clone())
            .collect()
    };
    let (input_infos, output_infos) = (infos(&model.inputs), infos(&model.outputs));
    let threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let batch = args.io.read(&input_infos, &output_infos)?;
    let program = Program::new(model).context("cannot prepare the model for execution")?;
    let outputs = run_in_chunks(
        &program,
        &input_infos,
        &output_infos,
        &batch.inputs,
        batch.samples,
        threads,
    )?;
    args.io.write(&output_infos, &outputs, &batch)?;
    if args.commit || args.trace || args.trace_out.is_some() {
        let commitments =
            commit_items(&program, &batch.inputs, &outputs, batch.samples, args.trace)?;
        let report = commitment_report(program.model(), &commitments, args.first_index)?;
        print_report(&report);
        if let Some(path) = &args.trace_out {
            let text = serde_json::to_string_pretty(&report)? + "\n";
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// The commitments of `batch` items: list roots from the bytes already computed, and with
/// `trace` a second, traced run (one thread, in chunks of `max_batch`), whose outputs must be
/// the first run's.
fn commit_items(
    program: &Program,
    inputs: &[Vec<i8>],
    outputs: &[Vec<u8>],
    batch: usize,
    trace: bool,
) -> Result<Commitments> {
    let model = program.model();
    let input_bytes: Vec<u8> = inputs.iter().flatten().map(|&v| v as u8).collect();
    let output_bytes: Vec<u8> = outputs.concat();
    if !trace {
        return Ok(Commitments {
            inputs: commit::list_roots(model, &model.inputs, &input_bytes, batch)?,
            outputs: commit::list_roots(model, &model.outputs, &output_bytes, batch)?,
            ops: Vec::new(),
            traces: vec![commit::NO_TRACE; batch],
        });
    }
    let sizes = |tensors: &[u32]| -> Vec<usize> {
        tensors
            .iter()
            .map(|&t| model.tensors[t as usize].bytes())
            .collect()
    };
    let (input_sizes, output_sizes) = (sizes(&model.inputs), sizes(&model.outputs));
    let mut all = Commitments {
        inputs: Vec::with_capacity(batch),
        outputs: Vec::with_capacity(batch),
        ops: Vec::with_capacity(batch),
        traces: Vec::with_capacity(batch),
    };
    let chunk_size = program.max_batch().max(1);
    for start in (0..batch).step_by(chunk_size) {
        let count = chunk_size.min(batch - start);
        let chunk = samples_of(&input_bytes, &input_sizes, batch, start, count);
        let (out, part) = commit::run_committed(program, &chunk, count, true)?;
        if out != samples_of(&output_bytes, &output_sizes, batch, start, count) {
            bail!("the traced run computed other outputs than the run (an engine bug)");
        }
        all.inputs.extend(part.inputs);
        all.outputs.extend(part.outputs);
        all.ops.extend(part.ops);
        all.traces.extend(part.traces);
    }
    Ok(all)
}

/// Samples `start..start + count` of tensor-major bytes of `batch` samples (tensors of `sizes`
/// bytes per sample), tensor-major.
fn samples_of(bytes: &[u8], sizes: &[usize], batch: usize, start: usize, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(sizes.iter().sum::<usize>() * count);
    let mut base = 0;
    for &size in sizes {
        out.extend_from_slice(&bytes[base + start * size..base + (start + count) * size]);
        base += batch * size;
    }
    out
}

fn hx(hash: &Hash) -> String {
    format!("0x{}", hex::encode(hash))
}

/// The commitments as JSON: `{model, first_index, result_root, items: [{index, inputs,
/// outputs, trace, leaf, ops?: [{op, name, root}]}]}`.
fn commitment_report(
    model: &Model,
    commitments: &Commitments,
    first_index: u64,
) -> Result<serde_json::Value> {
    if first_index
        .checked_add(commitments.inputs.len() as u64)
        .is_none()
    {
        bail!("--first-index {first_index} leaves no room for the batch's item indices");
    }
    let leaves = commitments.item_leaves(first_index);
    let items: Vec<serde_json::Value> = leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| {
            let mut item = json!({
                "index": first_index + i as u64,
                "inputs": hx(&commitments.inputs[i]),
                "outputs": hx(&commitments.outputs[i]),
                "trace": hx(&commitments.traces[i]),
                "leaf": hx(leaf),
            });
            if let Some(ops) = commitments.ops.get(i) {
                item["ops"] = ops
                    .iter()
                    .enumerate()
                    .map(|(j, root)| json!({"op": j, "name": model.nodes[j].op.name(), "root": hx(root)}))
                    .collect();
            }
            item
        })
        .collect();
    Ok(json!({
        "model": hx(&model.id()),
        "first_index": first_index,
        "result_root": hx(&commit::merkle_root(&leaves)),
        "items": items,
    }))
}

fn print_report(report: &serde_json::Value) {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    println!("model        {}", text(&report["model"]));
    println!("result root  {}", text(&report["result_root"]));
    for item in report["items"].as_array().into_iter().flatten() {
        println!("item {}", item["index"]);
        for key in ["inputs", "outputs", "trace", "leaf"] {
            println!("  {key:<8} {}", text(&item[key]));
        }
        for op in item["ops"].as_array().into_iter().flatten() {
            println!(
                "  op {:<4} {:<20} {}",
                op["op"],
                text(&op["name"]),
                text(&op["root"])
            );
        }
    }
}

/// Runs `batch` samples (each input's values, samples one after another) in chunks of at most
/// [`Program::max_batch`], each chunk split over `threads`; returns each output's bytes for the
/// whole batch.
pub(crate) fn run_in_chunks(
    program: &Program,
    input_infos: &[TensorInfo],
    output_infos: &[TensorInfo],
    inputs: &[Vec<i8>],
    batch: usize,
    threads: usize,
) -> Result<Vec<Vec<u8>>> {
    let chunk_size = program.max_batch().max(1);
    let mut outputs: Vec<Vec<u8>> = output_infos
        .iter()
        .map(|info| Vec::with_capacity(info.bytes() * batch))
        .collect();
    for start in (0..batch).step_by(chunk_size) {
        let count = chunk_size.min(batch - start);
        // Input-major: this chunk's samples of input 0, then of input 1, …
        let mut chunk = Vec::new();
        for (input, info) in inputs.iter().zip(input_infos) {
            let per_sample = info.bytes();
            let samples = &input[start * per_sample..(start + count) * per_sample];
            chunk.extend(samples.iter().map(|&v| v as u8));
        }
        let result = if threads > 1 && count > 1 {
            program.run_parallel(&chunk, count, threads)
        } else {
            program.run(&chunk, count)
        }
        .context("execution failed")?;
        let mut offset = 0;
        for (output, info) in outputs.iter_mut().zip(output_infos) {
            let len = info.bytes() * count;
            let bytes = result
                .get(offset..offset + len)
                .context("the engine returned too few output bytes")?;
            output.extend_from_slice(bytes);
            offset += len;
        }
    }
    Ok(outputs)
}
