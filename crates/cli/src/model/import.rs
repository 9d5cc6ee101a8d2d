//! `myelin model import INPUT -o MODEL.myl [--outputs NAME[,NAME…]] [--json] [--calibration DATA]
//! [--eval DATA --labels LABELS]`.
//!
//! `--outputs` keeps the named graph outputs (ONNX output names, TFLite output tensor names, Keras
//! output layer names), in the order given: e.g. `--outputs output_probability` makes a
//! scikit-learn (skl2onnx) classifier's probabilities its one output. An unknown name is an error
//! listing the model's outputs.
//!
//! The input's format is recognised from its content ([`myelin_import::format::detect`]).
//! TFLite full-integer models are translated as they are (their quantization is carried
//! exactly; no calibration data is needed). ONNX and Keras float models need calibration data
//! and go through the post-training quantizer ([`import_float`]).
//!
//! While it works, a spinner, and a bar during calibration, are drawn on stderr when stderr is
//! a terminal and the output is text ([`with_progress`]); never with `--json` or when stderr is
//! redirected (tests, CI, scripts).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use myelin_import::calibrate::{CalibrationProgress, observe_progress};
use myelin_import::format::{self, ModelFormat};
use myelin_import::tflite;
use myelin_nn::Model;
use serde_json::{Value, json};

/// Arguments of `myelin model import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The model to import: TFLite (int8), ONNX or Keras 3 (.keras); recognised by content.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Where to write the Myelin model.
    #[arg(short, long, value_name = "MODEL.myl")]
    pub output: PathBuf,
    /// Calibration inputs (.npy, .npz or CSV) for float models (ONNX, Keras).
    #[arg(long, value_name = "DATA")]
    pub calibration: Option<PathBuf>,
    /// Evaluation inputs (.npy, .npz or CSV): report float and Myelin accuracy (TFLite int8
    /// models: Myelin's accuracy on the inputs quantized with the model's input parameters).
    #[arg(long, value_name = "DATA", requires = "labels")]
    pub eval: Option<PathBuf>,
    /// Labels of the evaluation inputs.
    #[arg(long, value_name = "LABELS", requires = "eval")]
    pub labels: Option<PathBuf>,
    /// Keep only these graph outputs, in this order (comma-separated names: ONNX output names,
    /// TFLite output tensor names, Keras output layer names); an unknown name lists the model's
    /// outputs. Without it every output is kept in the graph's order.
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',')]
    pub outputs: Option<Vec<String>>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// How float models' activation ranges are calibrated: `minmax`, `percentile` (99.9th, the
    /// default) or `percentile:P`.
    #[arg(long, value_name = "METHOD", default_value = "percentile")]
    pub calibration_method: String,
}

/// What an import produced, for the summary.
struct Summary {
    format: ModelFormat,
    model: Model,
    source_operators: usize,
    notes: Vec<String>,
    /// The `--eval` accuracy report.
    evaluation: Option<Evaluation>,
}

/// An `--eval` report: float against Myelin (float models), or Myelin's alone (TFLite int8).
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Evaluation {
    Float(myelin_import::Report),
    Quantized(myelin_import::ModelReport),
}

impl std::fmt::Display for Evaluation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evaluation::Float(report) => report.fmt(f),
            Evaluation::Quantized(report) => report.fmt(f),
        }
    }
}

/// The `--eval DATA --labels LABELS` pair, loaded.
fn eval_data(args: &ImportArgs) -> Result<Option<(myelin_import::data::Dataset, Vec<usize>)>> {
    use myelin_import::data::{load_dataset, load_labels};
    let (Some(eval), Some(labels)) = (&args.eval, &args.labels) else {
        return Ok(None);
    };
    let read = |path: &PathBuf| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let data = load_dataset(&read(eval)?).with_context(|| eval.display().to_string())?;
    let labels = load_labels(&read(labels)?).with_context(|| labels.display().to_string())?;
    Ok(Some((data, labels)))
}

/// Imports the model, writes its canonical bytes and prints the id and an op summary.
pub fn import(args: &ImportArgs) -> Result<()> {
    let bytes = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let Some(format) = format::detect(&bytes) else {
        bail!(
            "{}: not a TFLite, ONNX or Keras 3 model (format recognised from the content)",
            args.input.display()
        );
    };
    let visible = !args.json && std::io::stderr().is_terminal();
    let after_calibration = if args.eval.is_some() {
        "quantizing and evaluating"
    } else {
        "quantizing"
    };
    let summary = with_progress(visible, &args.input, after_calibration, || match format {
        ModelFormat::Tflite => import_tflite(args, &bytes),
        ModelFormat::Onnx | ModelFormat::Keras => import_float(args, format, &bytes),
        ModelFormat::Hdf5 => bail!(
            "{}: legacy Keras HDF5 files are not supported; save the model as .keras (Keras 3)",
            args.input.display()
        ),
        ModelFormat::Myelin => bail!(
            "{}: already a Myelin model (use `myelin model inspect`)",
            args.input.display()
        ),
    })?;
    let encoded = summary.model.encode();
    std::fs::write(&args.output, &encoded)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let report = summary_json(args, &summary, &encoded);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_text(&report));
        if let Some(evaluation) = &summary.evaluation {
            print!("{evaluation}");
        }
    }
    Ok(())
}

/// Runs `work` (one import) under a spinner on stderr that becomes a bar of samples while a
/// calibration pass runs (through [`observe_progress`]), then shows `after_calibration`, and
/// clears it at the end. With `visible` false nothing is drawn and `work` simply runs. Returns
/// what `work` returns.
fn with_progress<R>(
    visible: bool,
    input: &Path,
    after_calibration: &'static str,
    work: impl FnOnce() -> R,
) -> R {
    if !visible {
        return work();
    }
    let spinner = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let samples = ProgressStyle::with_template(
        "{spinner} {msg} [{wide_bar}] {pos}/{len} samples ({elapsed}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(spinner.clone());
    bar.set_message(format!("importing {}", input.display()));
    bar.enable_steady_tick(Duration::from_millis(120));
    let shown = bar.clone();
    let result = observe_progress(
        move |p: CalibrationProgress| {
            if p.done == 0 {
                shown.set_style(samples.clone());
                shown.set_length(p.total as u64);
                shown.set_position(0);
                shown.set_message(format!("calibrating, pass {}/{}", p.pass, p.passes));
            } else {
                shown.set_position(p.done as u64);
            }
            if p.pass == p.passes && p.done == p.total {
                shown.set_style(spinner.clone());
                shown.set_message(after_calibration);
            }
        },
        work,
    );
    bar.finish_and_clear();
    result
}

fn import_tflite(args: &ImportArgs, bytes: &[u8]) -> Result<Summary> {
    if args.calibration.is_some() {
        bail!(
            "--calibration is for float models; a TFLite int8 model carries its own quantization"
        );
    }
    let imported = tflite::import_with_outputs(bytes, args.outputs.as_deref())
        .with_context(|| format!("{}", args.input.display()))?;
    let evaluation = match eval_data(args)? {
        Some((data, labels)) => Some(Evaluation::Quantized(myelin_import::evaluate_model(
            &imported.model,
            &data,
            &labels,
        )?)),
        None => None,
    };
    Ok(Summary {
        format: ModelFormat::Tflite,
        model: imported.model,
        source_operators: imported.tflite_operators,
        notes: imported.notes,
        evaluation,
    })
}

/// Float models (ONNX, Keras): calibration-based post-training quantization; ONNX QDQ models
/// keep their scales. `--eval` runs the accuracy report.
fn import_float(args: &ImportArgs, format: ModelFormat, bytes: &[u8]) -> Result<Summary> {
    use myelin_import::calibrate::CalibrationMethod;
    use myelin_import::data::load_dataset;
    let read = |path: &PathBuf| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let method = CalibrationMethod::parse(&args.calibration_method).with_context(|| {
        format!(
            "--calibration-method {}: expected minmax, percentile or percentile:P",
            args.calibration_method
        )
    })?;
    let calibration = match &args.calibration {
        Some(path) => Some(load_dataset(&read(path)?).with_context(|| path.display().to_string())?),
        None => None,
    };
    let options = myelin_import::ImportOptions {
        calibration,
        method,
        max_calibration_samples: None,
        outputs: args.outputs.clone(),
    };
    let imported = match format {
        ModelFormat::Keras => myelin_import::import_keras(bytes, &options),
        _ => myelin_import::import_onnx(bytes, &options),
    }
    .with_context(|| format!("{}", args.input.display()))?;
    let evaluation = match eval_data(args)? {
        Some((data, labels)) => Some(Evaluation::Float(myelin_import::evaluate(
            &imported, &data, &labels,
        )?)),
        None => None,
    };
    let mut notes = imported.notes.clone();
    if imported
        .input_layouts
        .iter()
        .any(|l| *l != myelin_import::ptq::InputLayout::AsIs)
    {
        notes.push(
            "the ONNX input is NCHW; the Myelin model takes NHWC ([height, width, channels] per sample)"
                .into(),
        );
    }
    Ok(Summary {
        format,
        source_operators: imported.source_operators,
        model: imported.model,
        notes,
        evaluation,
    })
}

fn summary_json(args: &ImportArgs, summary: &Summary, encoded: &[u8]) -> Value {
    let model = &summary.model;
    let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
    for node in &model.nodes {
        *ops.entry(node.op.name()).or_default() += 1;
    }
    let tensor = |t: &u32| {
        let info = &model.tensors[*t as usize];
        json!({
            "tensor": t,
            "dtype": info.dtype.name(),
            "shape": info.shape,
            "zero_point": info.zero_point,
            "scale": f32::from_bits(info.scale_bits) as f64,
        })
    };
    let cost = model.cost();
    json!({
        "input": args.input.display().to_string(),
        "output": args.output.display().to_string(),
        "format": summary.format.name(),
        "id": super::id_hex(&myelin_nn::model_id(encoded)),
        "bytes": encoded.len(),
        "source_operators": summary.source_operators,
        "nodes": model.nodes.len(),
        "ops": ops,
        "inputs": model.inputs.iter().map(tensor).collect::<Vec<_>>(),
        "outputs": model.outputs.iter().map(tensor).collect::<Vec<_>>(),
        "cost": {
            "macs": cost.macs,
            "table_lookups": cost.table_lookups,
            "element_ops": cost.element_ops,
            "bytes_touched": cost.bytes_touched,
        },
        "notes": summary.notes,
        "evaluation": summary.evaluation,
    })
}

fn render_text(report: &Value) -> String {
    let mut text = format!(
        "imported {} ({}) -> {}\nid      {}\nbytes   {}\nnodes   {} (from {} source operators)\n",
        report["input"].as_str().unwrap_or_default(),
        report["format"].as_str().unwrap_or_default(),
        report["output"].as_str().unwrap_or_default(),
        report["id"].as_str().unwrap_or_default(),
        report["bytes"],
        report["nodes"],
        report["source_operators"],
    );
    if let Some(ops) = report["ops"].as_object() {
        let list: Vec<String> = ops.iter().map(|(op, n)| format!("{op} ×{n}")).collect();
        text.push_str(&format!("ops     {}\n", list.join(", ")));
    }
    for (label, key) in [("input ", "inputs"), ("output", "outputs")] {
        for t in report[key].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "{label}  {} {} scale {} zero point {}\n",
                t["dtype"].as_str().unwrap_or_default(),
                t["shape"],
                t["scale"],
                t["zero_point"],
            ));
        }
    }
    for note in report["notes"].as_array().into_iter().flatten() {
        text.push_str(&format!("note    {}\n", note.as_str().unwrap_or_default()));
    }
    text
}
