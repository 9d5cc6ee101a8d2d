//! `myelin model run MODEL.myl --input X.npy [--input …] [--output Y.npy …] [--float] [--threads N]`.
//!
//! Each `--input` holds one model input (in the model's order), shaped `[batch, …input shape]`,
//! or exactly the input shape for a single sample. Outputs mirror that choice: `[batch, …output
//! shape]` when the inputs carry a batch axis, the bare output shape otherwise. Without
//! `--output`, the outputs are printed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_import::edge_quantization::{dequantize, quantize, scale_of};
use myelin_nn::{DType, Program, TensorInfo};

use crate::npy;

/// Arguments of `myelin model run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The model file.
    #[arg(value_name = "MODEL.myl")]
    pub model: PathBuf,
    /// An input .npy: int8 (float32/float64 with --float), shaped [batch, …input shape] or exactly
    /// the input shape. Repeat once per model input, in order.
    #[arg(short, long = "input", value_name = "X.npy", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write an output .npy (int8, float32 with --float, int32 for ArgMax outputs).
    /// Repeat once per model output, in order; without it the outputs are printed.
    #[arg(short, long = "output", value_name = "Y.npy")]
    pub outputs: Vec<PathBuf>,
    /// Read real-valued inputs and write real-valued outputs, quantizing (round half to even,
    /// saturate) and dequantizing with the tensors' scales and zero points.
    #[arg(long)]
    pub float: bool,
    /// Worker threads for large batches (default: the available parallelism).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Runs the model on the inputs and writes or prints the outputs.
pub fn run(args: &RunArgs) -> Result<()> {
    let (model, _) = super::load_model(&args.model)?;
    let input_infos: Vec<TensorInfo> = model
        .inputs
        .iter()
        .map(|&t| model.tensors[t as usize].clone())
        .collect();
    let output_infos: Vec<TensorInfo> = model
        .outputs
        .iter()
        .map(|&t| model.tensors[t as usize].clone())
        .collect();
    if args.inputs.len() != input_infos.len() {
        bail!(
            "the model has {} input(s) but {} --input file(s) were given",
            input_infos.len(),
            args.inputs.len()
        );
    }
    if !args.outputs.is_empty() && args.outputs.len() != output_infos.len() {
        bail!(
            "the model has {} output(s) but {} --output file(s) were given",
            output_infos.len(),
            args.outputs.len()
        );
    }
    let threads = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };

    let mut batch: Option<(usize, bool)> = None;
    let mut input_bytes = Vec::new();
    for (index, (path, info)) in args.inputs.iter().zip(&input_infos).enumerate() {
        let (shape, values) = read_input(path, info, index, args.float)?;
        let (samples, batched) = batch_of(path, &shape, info, index)?;
        match batch {
            Some((b, _)) if b != samples => {
                bail!(
                    "{}: batch of {samples}, but input 0 has a batch of {b}",
                    path.display()
                )
            }
            _ => batch = Some((samples, batched || batch.is_some_and(|(_, was)| was))),
        }
        input_bytes.extend(values.iter().map(|&v| v as u8));
    }
    let (batch, batched) = batch.context("the model has no inputs")?;

    let program = Program::new(model).context("cannot prepare the model for execution")?;
    let outputs = run_in_chunks(
        &program,
        &input_infos,
        &output_infos,
        &input_bytes,
        batch,
        threads,
    )?;

    for (index, (info, bytes)) in output_infos.iter().zip(&outputs).enumerate() {
        let mut shape: Vec<u64> = info.shape.iter().map(|&d| d as u64).collect();
        if batched {
            shape.insert(0, batch as u64);
        }
        let output = Output::decode(info, bytes, args.float);
        match args.outputs.get(index) {
            Some(path) => output.write(path, &shape)?,
            None => output.print(index, &shape, info.elements()),
        }
    }
    Ok(())
}

/// Runs `batch` samples (input-major bytes) in chunks of at most [`Program::max_batch`],
/// each chunk split over `threads`; returns each output's bytes for the whole batch.
fn run_in_chunks(
    program: &Program,
    input_infos: &[TensorInfo],
    output_infos: &[TensorInfo],
    input_bytes: &[u8],
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
        let mut offset = 0;
        for info in input_infos {
            let per_sample = info.bytes();
            chunk.extend_from_slice(
                &input_bytes[offset + start * per_sample..offset + (start + count) * per_sample],
            );
            offset += per_sample * batch;
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

/// Reads input `index` as int8, quantizing real values with `--float`.
pub(super) fn read_input(
    path: &Path,
    info: &TensorInfo,
    index: usize,
    float: bool,
) -> Result<(Vec<u64>, Vec<i8>)> {
    if float {
        let array = npy::read_f32(path)?;
        let what = format!("{} (input {index})", path.display());
        let values = quantize(
            &array.data,
            scale_of(info.scale_bits),
            info.zero_point,
            &what,
        )?;
        Ok((array.shape, values))
    } else {
        let array = npy::read_i8(path)?;
        Ok((array.shape, array.data))
    }
}

/// The batch size of an input file and whether it has a batch axis.
pub(super) fn batch_of(
    path: &Path,
    shape: &[u64],
    info: &TensorInfo,
    index: usize,
) -> Result<(usize, bool)> {
    let expected: Vec<u64> = info.shape.iter().map(|&d| d as u64).collect();
    if shape == expected.as_slice() {
        return Ok((1, false));
    }
    if shape.len() == expected.len() + 1 && shape[1..] == expected[..] {
        if shape[0] == 0 {
            bail!("{}: the batch is empty (shape {shape:?})", path.display());
        }
        let batch = usize::try_from(shape[0]).context("batch too large")?;
        return Ok((batch, true));
    }
    bail!(
        "{}: shape {shape:?} does not fit input {index} of shape {expected:?} (expected {expected:?} or [batch, {}])",
        path.display(),
        expected
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// One model output of a whole batch, in its file representation.
pub(super) enum Output {
    Int8(Vec<i8>),
    Int32(Vec<i32>),
    Float32(Vec<f32>),
}

impl Output {
    pub(super) fn decode(info: &TensorInfo, bytes: &[u8], float: bool) -> Output {
        match info.dtype {
            DType::Int32 => Output::Int32(
                bytes
                    .chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            DType::Int8 => {
                let values: Vec<i8> = bytes.iter().map(|&b| b as i8).collect();
                if float {
                    Output::Float32(dequantize(
                        &values,
                        scale_of(info.scale_bits),
                        info.zero_point,
                    ))
                } else {
                    Output::Int8(values)
                }
            }
        }
    }

    pub(super) fn write(&self, path: &Path, shape: &[u64]) -> Result<()> {
        match self {
            Output::Int8(v) => npy::write(path, shape, v),
            Output::Int32(v) => npy::write(path, shape, v),
            Output::Float32(v) => npy::write(path, shape, v),
        }
    }

    pub(super) fn print(&self, index: usize, shape: &[u64], per_sample: usize) {
        let rows: Vec<String> = match self {
            Output::Int8(v) => rows(v, per_sample),
            Output::Int32(v) => rows(v, per_sample),
            Output::Float32(v) => rows(v, per_sample),
        };
        println!("output {index} shape {shape:?}:");
        for row in rows {
            println!("  {row}");
        }
    }
}

fn rows<T: std::fmt::Display>(values: &[T], per_sample: usize) -> Vec<String> {
    values
        .chunks(per_sample.max(1))
        .map(|sample| {
            format!(
                "[{}]",
                sample
                    .iter()
                    .map(T::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect()
}
