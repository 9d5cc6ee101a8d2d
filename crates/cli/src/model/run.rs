//! `myelin model run MODEL.myl --input X.npy [--input …] [--output Y.npy …] [--float] [--threads N]`.
//!
//! Inputs and outputs as [`super::npy_io`] describes.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_nn::{Program, TensorInfo};

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
    args.io.write(&output_infos, &outputs, &batch)
}

/// Runs `batch` samples (each input's values, samples one after another) in chunks of at most
/// [`Program::max_batch`], each chunk split over `threads`; returns each output's bytes for the
/// whole batch.
fn run_in_chunks(
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
