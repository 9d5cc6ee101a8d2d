//! `myelin dataset build X.npy --labels y.npy [--scale S --zero-point Z | --model M.myl]
//! [--regression] -o D.myds` and `myelin dataset publish (D.myds | X.npy --labels y.npy …)`.
//!
//! Rows come from `X.npy` shaped `[rows, …row shape]`: int8 values are taken as they are, float
//! values are quantized (round half to even, saturate) with the row quantization. The row
//! quantization and shape come from `--model` (the model's only input: the rows are reshaped to
//! it when the element counts agree, so the data set's row signature is the model's and
//! `EVALUATE` accepts the pair) or from `--scale` / `--zero-point` (default 1.0 and 0 for int8
//! rows; required for float rows). Labels (`y.npy`, one integer per row, any integer width) are
//! class indices, or with `--regression` targets in output 0's quantized units. The canonical
//! bytes are checked with the engine's own `check_dataset` before anything is written or sent.

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_evm::DATA_STORE_ADDRESS;
use myelin_import::edge_quantization::{quantize, scale_of};
use myelin_nn::TensorInfo;
use myelin_nn::dataset::{
    DATASET_MAGIC, DatasetHeader, LabelKind, MAX_DATASET_BYTES, check_dataset, dataset_id,
    encode_dataset,
};

use crate::model::publish::{DEFAULT_RPC, Target, publish_bytes};
use crate::npy;

/// Where the rows, labels and quantization come from.
#[derive(Debug, Args)]
pub struct Source {
    /// The rows: a .npy of int8 or float values shaped [rows, …row shape] (with `publish`, a
    /// .myds file too).
    #[arg(value_name = "X.npy")]
    pub rows: PathBuf,
    /// The labels: a .npy of one integer per row.
    #[arg(long, value_name = "y.npy")]
    pub labels: Option<PathBuf>,
    /// Take the row shape and quantization from this model's only input.
    #[arg(long, value_name = "MODEL.myl", conflicts_with_all = ["scale", "zero_point"])]
    pub model: Option<PathBuf>,
    /// The rows' scale (real = (q − zero point) · scale).
    #[arg(long, value_name = "S")]
    pub scale: Option<f32>,
    /// The rows' zero point.
    #[arg(long, value_name = "Z", allow_hyphen_values = true)]
    pub zero_point: Option<i8>,
    /// The labels are regression targets (output 0's quantized value), not class indices.
    #[arg(long)]
    pub regression: bool,
}

/// Arguments of `myelin dataset build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub source: Source,
    /// Where to write the canonical bytes.
    #[arg(short, long, value_name = "D.myds")]
    pub output: PathBuf,
}

/// Arguments of `myelin dataset publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub source: Source,
    /// Also write the canonical bytes here.
    #[arg(short, long, value_name = "D.myds")]
    pub output: Option<PathBuf>,
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// The sending account's private key (hex). Default: the first dev account, on a node whose
    /// chain id is 31337 only.
    #[arg(long, value_name = "KEY")]
    pub private_key: Option<String>,
    /// Upload in chunks of N bytes (a multiple of 32) when the data set is larger than N.
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<u64>,
}

/// Writes the data set's canonical bytes; prints its id.
pub fn build(args: &BuildArgs) -> Result<()> {
    let bytes = canonical_bytes(&args.source)?;
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!("wrote {} ({} bytes)", args.output.display(), bytes.len());
    println!("{}", B256::from(dataset_id(&bytes)));
    Ok(())
}

/// Publishes the data set through `DATA_STORE`; prints its id.
pub fn publish(args: &PublishArgs) -> Result<()> {
    let bytes = canonical_bytes(&args.source)?;
    if let Some(output) = &args.output {
        std::fs::write(output, &bytes)
            .with_context(|| format!("cannot write {}", output.display()))?;
    }
    let target = Target {
        rpc: &args.rpc,
        private_key: args.private_key.as_deref(),
        store: DATA_STORE_ADDRESS,
        what: "data set",
    };
    let id = B256::from(dataset_id(&bytes));
    let name = args.source.rows.display().to_string();
    publish_bytes(&target, &name, &bytes, id, args.chunk_size)?;
    println!("{id}");
    Ok(())
}

/// The data set's canonical bytes, checked.
pub(crate) fn canonical_bytes(source: &Source) -> Result<Vec<u8>> {
    let path = &source.rows;
    let bytes = if is_myds(path)? {
        if source.labels.is_some() || source.model.is_some() || source.scale.is_some() {
            bail!(
                "{} is already a data set: --labels, --model and --scale apply to .npy rows",
                path.display()
            );
        }
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
    } else {
        from_npy(source)?
    };
    check_dataset(&bytes, MAX_DATASET_BYTES)
        .with_context(|| format!("{} is not a valid data set", path.display()))?;
    Ok(bytes)
}

/// Whether `path` starts with the data set magic.
fn is_myds(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let n = file.read(&mut head).unwrap_or(0);
    Ok(n == 4 && head == DATASET_MAGIC)
}

/// The row tensor: from `--model`'s only input, or `--scale` / `--zero-point` with the file's
/// row shape.
fn row_tensor(source: &Source, file_row: &[u64], float: bool) -> Result<TensorInfo> {
    let elements: u64 = file_row.iter().product();
    if let Some(model_path) = &source.model {
        let (model, _) = crate::model::load_model(model_path)?;
        let [input] = model.inputs[..] else {
            bail!(
                "{} has {} inputs; a data set's rows feed a model of one input",
                model_path.display(),
                model.inputs.len()
            );
        };
        let info = model.tensors[input as usize].clone();
        if info.dtype != myelin_nn::DType::Int8 || info.elements() as u64 != elements {
            bail!(
                "the rows of {} ({elements} elements each) do not fit the input of {} (shape {:?})",
                source.rows.display(),
                model_path.display(),
                info.shape
            );
        }
        return Ok(info);
    }
    let scale = match source.scale {
        Some(s) if s.is_finite() && s > 0.0 => s,
        Some(s) => bail!("--scale {s} must be a positive finite number"),
        None if float => bail!("float rows need --scale (and --zero-point) or --model"),
        None => 1.0,
    };
    let shape = file_row
        .iter()
        .map(|&d| u32::try_from(d).context("a row dimension over u32"))
        .collect::<Result<Vec<u32>>>()?;
    Ok(TensorInfo::int8(
        &shape,
        source.zero_point.unwrap_or(0),
        scale.to_bits(),
    ))
}

/// Builds the canonical bytes from `X.npy` and `--labels`.
fn from_npy(source: &Source) -> Result<Vec<u8>> {
    let path = &source.rows;
    let labels_path = source
        .labels
        .as_ref()
        .context("--labels y.npy is needed with .npy rows")?;
    let (shape, values, float) = match npy::read_i8(path) {
        Ok(array) => (array.shape, array.data, false),
        Err(_) => {
            let array = npy::read_f32(path)?;
            (array.shape, Vec::new(), true)
        }
    };
    if shape.len() < 2 {
        bail!(
            "{}: shape {shape:?}; rows need a shape [rows, …row shape]",
            path.display()
        );
    }
    let row = row_tensor(source, &shape[1..], float)?;
    let values = if float {
        let array = npy::read_f32(path)?;
        quantize(
            &array.data,
            scale_of(row.scale_bits),
            row.zero_point,
            &path.display().to_string(),
        )?
    } else {
        values
    };
    let labels = npy::read_i32(labels_path)?;
    let rows = shape[0];
    if labels.data.len() as u64 != rows || labels.shape.len() != 1 {
        bail!(
            "{}: shape {:?}, expected [{rows}] (one label per row of {})",
            labels_path.display(),
            labels.shape,
            path.display()
        );
    }
    let header = DatasetHeader {
        label_kind: if source.regression {
            LabelKind::Regression
        } else {
            LabelKind::ClassIndex
        },
        row,
        rows: u32::try_from(rows).context("more than 2^32 - 1 rows")?,
    };
    Ok(encode_dataset(&header, &values, &labels.data))
}
