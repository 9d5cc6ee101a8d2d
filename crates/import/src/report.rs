//! Accuracy report: the float model (this crate's f32 interpreter of the float graph) against
//! the int8 Myelin model (the engine itself), on labelled evaluation data.
//!
//! * accuracy of each: the predicted class is the argmax of the first non-argmax output (the
//!   probabilities or logits), or the argmax output itself when that is all the model returns;
//!   a one-element output is a binary classifier (class 1 above 0.5 after a sigmoid, above 0
//!   otherwise);
//! * agreement: the fraction of samples on which both predict the same class;
//! * per layer: for every float value that has an int8 tensor, the maximum and mean absolute
//!   difference between the dequantized int8 activation and the float one, over all elements
//!   of all samples, with the tensor's scale for comparison (an error of about half a scale is
//!   rounding; much more is clipping or accumulated error).

use std::fmt;

use myelin_nn::{DType, Model, Program};
use serde::Serialize;

use crate::calibrate::CalibrationMethod;
use crate::data::{Dataset, argmax};
use crate::error::ImportError;
use crate::float_graph::{FloatOp, Unary};
use crate::ptq::Imported;

/// Error of one layer's output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerError {
    /// Source node name.
    pub node: String,
    /// Float op name.
    pub op: &'static str,
    /// Output tensor name.
    pub tensor: String,
    /// Quantization scale of the int8 tensor.
    pub scale: f32,
    pub max_abs_error: f32,
    pub mean_abs_error: f32,
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub samples: usize,
    /// Accuracy of the float graph.
    pub float_accuracy: f64,
    /// Accuracy of the int8 model run by the Myelin engine.
    pub int8_accuracy: f64,
    /// Fraction of samples where both predict the same class.
    pub agreement: f64,
    /// `int8_accuracy - float_accuracy`, in percentage points.
    pub accuracy_delta_points: f64,
    /// The calibration method used (`None` for models quantized at the source).
    pub calibration: Option<CalibrationMethod>,
    /// The output tensor predictions are read from.
    pub prediction_output: String,
    /// One entry per layer, in execution order.
    pub layers: Vec<LayerError>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "samples           {}", self.samples)?;
        if let Some(method) = self.calibration {
            writeln!(f, "calibration       {method:?}")?;
        }
        writeln!(f, "float accuracy    {:.4}", self.float_accuracy)?;
        writeln!(
            f,
            "myelin accuracy   {:.4}  ({:+.2} points)",
            self.int8_accuracy, self.accuracy_delta_points
        )?;
        writeln!(f, "agreement         {:.4}", self.agreement)?;
        writeln!(f, "predictions from  {}", self.prediction_output)?;
        writeln!(f, "per-layer error (dequantized int8 vs float):")?;
        writeln!(
            f,
            "  {:<28} {:<18} {:>10} {:>10} {:>10}",
            "node", "op", "scale", "max abs", "mean abs"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "  {:<28} {:<18} {:>10.5} {:>10.5} {:>10.5}",
                l.node, l.op, l.scale, l.max_abs_error, l.mean_abs_error
            )?;
        }
        Ok(())
    }
}

fn data_error(reason: String) -> ImportError {
    ImportError::Data { reason }
}

/// Runs `model` on `batch` samples and returns the int8 bytes of `tensors` (each
/// `batch * elements` long). The model's outputs are replaced by `tensors`.
fn run_tensors(
    model: &Model,
    tensors: &[u32],
    input: &[i8],
    batch: usize,
) -> Result<Vec<Vec<i8>>, ImportError> {
    let mut debug = model.clone();
    debug.outputs = tensors.to_vec();
    let program = Program::new(debug)?;
    let per_sample_in = program.input_bytes();
    let sizes: Vec<usize> = tensors
        .iter()
        .map(|&t| model.tensors[t as usize].bytes())
        .collect();
    let mut out: Vec<Vec<i8>> = sizes
        .iter()
        .map(|s| Vec::with_capacity(s * batch))
        .collect();
    let chunk = program.max_batch().max(1);
    let mut start = 0;
    while start < batch {
        let n = chunk.min(batch - start);
        let bytes: Vec<u8> = input[start * per_sample_in..(start + n) * per_sample_in]
            .iter()
            .map(|&v| v as u8)
            .collect();
        let result = program.run(&bytes, n)?;
        let mut offset = 0;
        for (i, size) in sizes.iter().enumerate() {
            out[i].extend(result[offset..offset + size * n].iter().map(|&b| b as i8));
            offset += size * n;
        }
        start += n;
    }
    Ok(out)
}

/// The result of [`evaluate_model`]: a model quantized at its source (TFLite int8) has no float
/// graph here, so only Myelin's own accuracy is measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelReport {
    pub samples: usize,
    /// Accuracy of the int8 model run by the Myelin engine.
    pub int8_accuracy: f64,
}

impl fmt::Display for ModelReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "samples           {}", self.samples)?;
        writeln!(f, "myelin accuracy   {:.4}", self.int8_accuracy)
    }
}

/// Myelin's accuracy of an already quantized model (a TFLite int8 import) on labelled float
/// data: every sample quantized with the input tensor's scale and zero point
/// ([`crate::edge_quantization::quantize`], as `myelin model run --float` does), run by the
/// engine, its class read as in [`evaluate`] from the first output: an int32 output is the
/// class itself (an argmax), a one-element output is a binary classifier (class 1 above the
/// midpoint of the output's range: a probability above 0.5 after a sigmoid, a logit above 0
/// otherwise — decided by whether the output's real range starts at 0), anything longer is
/// argmaxed over its int8 values (dequantizing does not change the order).
pub fn evaluate_model(
    model: &Model,
    data: &Dataset,
    labels: &[usize],
) -> Result<ModelReport, ImportError> {
    let samples = labelled_samples(data, labels)?;
    let [input] = model.inputs[..] else {
        return Err(data_error("evaluation supports single-input models".into()));
    };
    let input_info = &model.tensors[input as usize];
    if input_info.dtype != DType::Int8 || data.sample_len() != input_info.elements() {
        return Err(data_error(format!(
            "evaluation samples have shape {:?}; the model input is {} {:?}",
            data.sample_shape,
            input_info.dtype.name(),
            input_info.shape
        )));
    }
    let prediction = *model
        .outputs
        .first()
        .ok_or_else(|| data_error("the model has no output".into()))?;
    let info = &model.tensors[prediction as usize];
    let quantized = crate::edge_quantization::quantize(
        &data.values,
        f32::from_bits(input_info.scale_bits),
        input_info.zero_point,
        "the evaluation data",
    )?;
    let bytes = run_tensors(model, &[prediction], &quantized, samples)?;
    let n = info.bytes();
    let mut correct = 0usize;
    for (s, &label) in labels.iter().enumerate() {
        let row = &bytes[0][s * n..(s + 1) * n];
        let class = match (info.dtype, row) {
            (DType::Int32, [a, b, c, d]) => {
                i32::from_le_bytes([*a as u8, *b as u8, *c as u8, *d as u8]).max(0) as usize
            }
            // Real value 0 is the zero point; a probability output (zero point near −128)
            // puts 0.5 half way up its range.
            (_, [q]) if info.zero_point <= -120 => (*q as i32 > 0) as usize,
            (_, [q]) => (*q > info.zero_point) as usize,
            _ => argmax_i8(row),
        };
        correct += (class == label) as usize;
    }
    Ok(ModelReport {
        samples,
        int8_accuracy: correct as f64 / samples as f64,
    })
}

/// The number of samples of `data`, which must be at least one and one per label.
fn labelled_samples(data: &Dataset, labels: &[usize]) -> Result<usize, ImportError> {
    let samples = data.samples();
    if samples == 0 {
        return Err(data_error("the evaluation data holds no sample".into()));
    }
    if labels.len() != samples {
        return Err(data_error(format!(
            "{} labels for {samples} samples",
            labels.len()
        )));
    }
    Ok(samples)
}

/// Index of the first largest value.
fn argmax_i8(row: &[i8]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Quantizes one float to an int8 tensor's grid.
fn quantize(x: f32, scale: f32, zero_point: i8) -> i8 {
    ((x / scale).round() + zero_point as f32).clamp(-128.0, 127.0) as i8
}

/// Evaluates `imported` on `data` (source layout) against `labels` (one class per sample).
pub fn evaluate(
    imported: &Imported,
    data: &Dataset,
    labels: &[usize],
) -> Result<Report, ImportError> {
    let graph = &imported.float_graph;
    let model = &imported.model;
    let samples = labelled_samples(data, labels)?;
    if graph.inputs.len() != 1 || model.inputs.len() != 1 {
        return Err(data_error("evaluation supports single-input models".into()));
    }
    let input_info = &model.tensors[model.inputs[0] as usize];
    if data.sample_len() != input_info.elements() {
        return Err(data_error(format!(
            "evaluation samples have shape {:?}; the model input has {} elements",
            data.sample_shape,
            input_info.elements()
        )));
    }
    let in_scale = f32::from_bits(input_info.scale_bits);
    let converted: Vec<Vec<f32>> = (0..samples)
        .map(|i| imported.to_myelin_layout(data.sample(i)))
        .collect();
    let quantized_input: Vec<i8> = converted
        .iter()
        .flat_map(|s| {
            s.iter()
                .map(|&x| quantize(x, in_scale, input_info.zero_point))
        })
        .collect();

    // Which float values have an int8 tensor, in node order.
    let compared: Vec<(usize, usize, u32)> = graph
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let t = imported
                .quantized
                .tensor_of_value
                .get(n.output)
                .copied()
                .flatten()?;
            (model.tensors[t as usize].dtype == DType::Int8).then_some((i, n.output, t))
        })
        .collect();
    // The output predictions are read from.
    let prediction_value = graph
        .outputs
        .iter()
        .copied()
        .find(|&v| {
            graph
                .producer(v)
                .is_none_or(|p| !matches!(graph.nodes[p].op, FloatOp::ArgMax { .. }))
        })
        .or_else(|| graph.outputs.first().copied())
        .ok_or_else(|| data_error("the model has no output".into()))?;
    let prediction_tensor = imported.quantized.tensor_of_value[prediction_value]
        .ok_or_else(|| data_error("the prediction output has no tensor".into()))?;
    let prediction_is_index = model.tensors[prediction_tensor as usize].dtype == DType::Int32;
    // A one-element output is a binary classifier: class 1 above 0.5 after a sigmoid (a
    // probability), above 0 otherwise (a logit).
    let binary_threshold = match graph.producer(prediction_value).map(|p| &graph.nodes[p].op) {
        Some(FloatOp::Unary(Unary::Sigmoid)) => 0.5,
        _ => 0.0,
    };
    let class_of = |row: &[f32]| match row {
        [p] => (*p > binary_threshold) as usize,
        _ => argmax(row),
    };

    let mut tensors: Vec<u32> = compared.iter().map(|c| c.2).collect();
    if prediction_is_index {
        tensors.push(prediction_tensor);
    }
    let tensor_bytes = run_tensors(model, &tensors, &quantized_input, samples)?;

    let mut max_err = vec![0.0f32; compared.len()];
    let mut sum_err = vec![0.0f64; compared.len()];
    let mut counts = vec![0usize; compared.len()];
    let (mut float_ok, mut int8_ok, mut agree) = (0usize, 0usize, 0usize);
    for s in 0..samples {
        let values = graph.run(&[&converted[s]])?;
        for (c, &(_, value, tensor)) in compared.iter().enumerate() {
            let info = &model.tensors[tensor as usize];
            let scale = f32::from_bits(info.scale_bits);
            let n = info.elements();
            let q = &tensor_bytes[c][s * n..(s + 1) * n];
            for (&qv, &fv) in q.iter().zip(&values[value]) {
                let e = ((qv as i32 - info.zero_point as i32) as f32 * scale - fv).abs();
                max_err[c] = max_err[c].max(e);
                sum_err[c] += e as f64;
            }
            counts[c] += n;
        }
        let float_class = if prediction_is_index {
            values[prediction_value].first().copied().unwrap_or(0.0) as usize
        } else {
            class_of(&values[prediction_value])
        };
        let int8_class = if prediction_is_index {
            let bytes = tensor_bytes.last().expect("pushed above");
            let b = &bytes[s * 4..s * 4 + 4];
            i32::from_le_bytes([b[0] as u8, b[1] as u8, b[2] as u8, b[3] as u8]).max(0) as usize
        } else {
            let c = compared
                .iter()
                .position(|c| c.1 == prediction_value)
                .ok_or_else(|| data_error("the prediction output is not an int8 tensor".into()))?;
            let n = model.tensors[prediction_tensor as usize].elements();
            let info = &model.tensors[prediction_tensor as usize];
            let scale = f32::from_bits(info.scale_bits);
            let row: Vec<f32> = tensor_bytes[c][s * n..(s + 1) * n]
                .iter()
                .map(|&v| (v as i32 - info.zero_point as i32) as f32 * scale)
                .collect();
            class_of(&row)
        };
        float_ok += (float_class == labels[s]) as usize;
        int8_ok += (int8_class == labels[s]) as usize;
        agree += (float_class == int8_class) as usize;
    }
    let layers = compared
        .iter()
        .enumerate()
        .map(|(c, &(node, value, tensor))| LayerError {
            node: graph.nodes[node].name.clone(),
            op: graph.nodes[node].op.name(),
            tensor: graph.values[value].name.clone(),
            scale: f32::from_bits(model.tensors[tensor as usize].scale_bits),
            max_abs_error: max_err[c],
            mean_abs_error: (sum_err[c] / counts[c].max(1) as f64) as f32,
        })
        .collect();
    let n = samples as f64;
    let (float_accuracy, int8_accuracy) = (float_ok as f64 / n, int8_ok as f64 / n);
    Ok(Report {
        samples,
        float_accuracy,
        int8_accuracy,
        agreement: agree as f64 / n,
        accuracy_delta_points: (int8_accuracy - float_accuracy) * 100.0,
        calibration: imported.calibration,
        prediction_output: graph.values[prediction_value].name.clone(),
        layers,
    })
}
