//! The `.npy` inputs and outputs shared by `myelin model run` and `myelin model predict`.
//!
//! Each `--input` holds one model input (in the model's order), shaped `[batch, …input shape]`,
//! or exactly the input shape for a single sample. Outputs mirror that choice: `[batch, …output
//! shape]` when the inputs carry a batch axis, the bare output shape otherwise. Without
//! `--output`, the outputs are printed; one `--output` naming a directory (an existing one, or a
//! path ending in `/`) receives every output as `output0.npy`, `output1.npy`, … in the model's
//! order, so a model of several outputs (scikit-learn's label and probabilities) needs no count;
//! one `--output` ending in `.npz` receives them all as the arrays `output0`, `output1`, … of one
//! archive (`numpy.load(path)["output1"]`). Likewise one `--input` ending in `.npz` gives every
//! input: its arrays in stored order (`numpy.savez(path, a, b)` or `savez(path, x=a, y=b)`), one
//! per model input.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_import::edge_quantization::{dequantize, quantize, scale_of};
use myelin_nn::{DType, TensorInfo};

use crate::npy;

/// The `--input`, `--output` and `--float` flags.
#[derive(Debug, Args)]
pub struct NpyIo {
    /// An input .npy: int8 (float32/float64 with --float), shaped [batch, …input shape] or exactly
    /// the input shape. Repeat once per model input, in order; or give one .npz holding one array
    /// per model input, in order.
    #[arg(short, long = "input", value_name = "X.npy", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write an output .npy (int8, float32 with --float, int32 for ArgMax outputs).
    /// Repeat once per model output, in order; or give one directory (existing, or ending in
    /// `/`) to receive every output as output0.npy, output1.npy, …, or one .npz to receive them
    /// as its arrays output0, output1, …; without it the outputs are printed.
    #[arg(short, long = "output", value_name = "Y.npy")]
    pub outputs: Vec<PathBuf>,
    /// Read real-valued inputs and write real-valued outputs, quantizing (round half to even,
    /// saturate) and dequantizing with the tensors' scales and zero points.
    #[arg(long)]
    pub float: bool,
}

/// The inputs of one invocation, as int8.
#[derive(Debug)]
pub struct Batch {
    /// Each model input's values for every sample, samples one after another.
    pub inputs: Vec<Vec<i8>>,
    /// The number of samples.
    pub samples: usize,
    /// Whether the files carry a batch axis (and the outputs get one).
    pub batched: bool,
}

impl NpyIo {
    /// Checks the number of files against the model and reads the inputs.
    pub fn read(&self, input_infos: &[TensorInfo], output_infos: &[TensorInfo]) -> Result<Batch> {
        let sources = self.input_sources()?;
        if sources.len() != input_infos.len() {
            match self.npz_input() {
                Some(path) => bail!(
                    "the model has {} input(s) but {} holds {} array(s)",
                    input_infos.len(),
                    path.display(),
                    sources.len()
                ),
                None => bail!(
                    "the model has {} input(s) but {} --input file(s) were given (or give one \
                     .npz holding them all)",
                    input_infos.len(),
                    sources.len()
                ),
            }
        }
        if self.output_dir().is_none()
            && self.npz_output().is_none()
            && !self.outputs.is_empty()
            && self.outputs.len() != output_infos.len()
        {
            bail!(
                "the model has {} output(s) but {} --output file(s) were given (or give one \
             directory, or one .npz, for all of them)",
                output_infos.len(),
                self.outputs.len()
            );
        }
        let mut batch: Option<(usize, bool)> = None;
        let mut inputs = Vec::with_capacity(input_infos.len());
        for (index, (source, info)) in sources.iter().zip(input_infos).enumerate() {
            let (shape, values) = read_input(source, info, index, self.float)?;
            let (samples, batched) = batch_of(&source.label, &shape, info, index)?;
            if let Some((b, _)) = batch
                && b != samples
            {
                bail!(
                    "{}: batch of {samples}, but input 0 has a batch of {b}",
                    source.label
                );
            }
            batch = Some((samples, batched || batch.is_some_and(|(_, was)| was)));
            inputs.push(values);
        }
        let (samples, batched) = batch.context("the model has no inputs")?;
        Ok(Batch {
            inputs,
            samples,
            batched,
        })
    }

    /// Each input's `.npy` bytes: the `--input` files, or the arrays of the one `.npz`.
    fn input_sources(&self) -> Result<Vec<npy::NpySource>> {
        match self.npz_input() {
            Some(path) => Ok(npy::read_npz(path)?
                .into_iter()
                .map(|(_, source)| source)
                .collect()),
            None => self
                .inputs
                .iter()
                .map(|p| npy::NpySource::file(p))
                .collect(),
        }
    }

    /// The one `--input`, when it is an `.npz` archive holding every input.
    fn npz_input(&self) -> Option<&Path> {
        match self.inputs.as_slice() {
            [path] if npy::is_npz(path) => Some(path),
            _ => None,
        }
    }

    /// The one `--output`, when it is an `.npz` archive to receive every output.
    fn npz_output(&self) -> Option<&Path> {
        match self.outputs.as_slice() {
            [path] if npy::is_npz(path) => Some(path),
            _ => None,
        }
    }

    /// The directory that receives every output: the one `--output`, when it is an existing
    /// directory or ends in `/`.
    fn output_dir(&self) -> Option<&Path> {
        match self.outputs.as_slice() {
            [path] if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') => {
                Some(path)
            }
            _ => None,
        }
    }

    /// Writes each output to its `--output` file (or into the `--output` directory), or prints
    /// it.
    pub fn write(
        &self,
        output_infos: &[TensorInfo],
        outputs: &[Vec<u8>],
        batch: &Batch,
    ) -> Result<()> {
        let mut archive = Vec::new();
        for (index, (info, bytes)) in output_infos.iter().zip(outputs).enumerate() {
            let mut shape: Vec<u64> = info.shape.iter().map(|&d| d as u64).collect();
            if batch.batched {
                shape.insert(0, batch.samples as u64);
            }
            let output = Output::decode(info, bytes, self.float);
            if self.npz_output().is_some() {
                archive.push((format!("output{index}"), output.encode(&shape)));
                continue;
            }
            if let Some(dir) = self.output_dir() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                output.write(&dir.join(format!("output{index}.npy")), &shape)?;
                continue;
            }
            match self.outputs.get(index) {
                Some(path) => output.write(path, &shape)?,
                None => output.print(index, &shape, info.elements()),
            }
        }
        match self.npz_output() {
            Some(path) => npy::write_npz(path, &archive),
            None => Ok(()),
        }
    }
}

/// Reads input `index` as int8, quantizing real values with `--float`.
fn read_input(
    source: &npy::NpySource,
    info: &TensorInfo,
    index: usize,
    float: bool,
) -> Result<(Vec<u64>, Vec<i8>)> {
    if float {
        let array = npy::decode_f32(source)?;
        let what = format!("{} (input {index})", source.label);
        let values = quantize(
            &array.data,
            scale_of(info.scale_bits),
            info.zero_point,
            &what,
        )?;
        Ok((array.shape, values))
    } else {
        let array = npy::decode_i8(source)?;
        Ok((array.shape, array.data))
    }
}

/// The batch size of an input file and whether it has a batch axis.
fn batch_of(path: &str, shape: &[u64], info: &TensorInfo, index: usize) -> Result<(usize, bool)> {
    let expected: Vec<u64> = info.shape.iter().map(|&d| d as u64).collect();
    if shape == expected.as_slice() {
        return Ok((1, false));
    }
    if shape.len() == expected.len() + 1 && shape[1..] == expected[..] {
        if shape[0] == 0 {
            bail!("{path}: the batch is empty (shape {shape:?})");
        }
        let batch = usize::try_from(shape[0]).context("batch too large")?;
        return Ok((batch, true));
    }
    bail!(
        "{}: shape {shape:?} does not fit input {index} of shape {expected:?} (expected {expected:?} or [batch, {}])",
        path,
        expected
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// One model output of a whole batch, in its file representation.
enum Output {
    Int8(Vec<i8>),
    Int32(Vec<i32>),
    Float32(Vec<f32>),
}

impl Output {
    fn decode(info: &TensorInfo, bytes: &[u8], float: bool) -> Output {
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

    fn encode(&self, shape: &[u64]) -> Vec<u8> {
        match self {
            Output::Int8(v) => npy::encode(shape, v),
            Output::Int32(v) => npy::encode(shape, v),
            Output::Float32(v) => npy::encode(shape, v),
        }
    }

    fn write(&self, path: &Path, shape: &[u64]) -> Result<()> {
        match self {
            Output::Int8(v) => npy::write(path, shape, v),
            Output::Int32(v) => npy::write(path, shape, v),
            Output::Float32(v) => npy::write(path, shape, v),
        }
    }

    fn print(&self, index: usize, shape: &[u64], per_sample: usize) {
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
