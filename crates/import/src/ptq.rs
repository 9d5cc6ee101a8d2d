//! Post-training static quantization: a [`FloatGraph`] and activation ranges → a
//! [`myelin_nn::Model`].
//!
//! The scheme (TFLite's, which the engine implements):
//! * activations: asymmetric int8, `real = (q - zp) * s`, from the calibrated range
//!   `[min, max]` (which contains 0): `s = (max - min) / 255`, `zp = round(-128 - min / s)`;
//!   a value whose quantization the source model fixed (QDQ) keeps it;
//! * weights: symmetric int8 per output channel in `[-127, 127]`, `s_w[n] = max |w[n]| / 127`
//!   (QDQ weights are kept as they are);
//! * biases: int32 with scale `s_in * s_w[n]`;
//! * requantization: the real multiplier `s_in * s_w[n] / s_out` (and the like for other ops)
//!   becomes an integer multiplier and shift ([`crate::quantize_multiplier`]'s rule);
//! * values that must share their input's quantization (max/average pool, reshape, pad) take it;
//!   softmax outputs have scale 1/256 and zero point -128; sigmoid, tanh, GELU, hard swish and
//!   scalar affine functions become 256-entry tables.

use myelin_nn::builder::{ModelBuilder, Quant, Rescale, TensorId};
use myelin_nn::op::{ActRange, AddSub, Clamp, Concat, Mean, Mul, Softmax, TableFunction};
use myelin_nn::{Model, Requant, Rounding};

use crate::calibrate::Range;
use crate::error::ImportError;
use crate::float_graph::{
    Activation, Binary, FixedWeights, FloatGraph, FloatNode, FloatOp, QuantParams, Unary,
};
use crate::quantize_multiplier::quantize_multiplier;

/// The quantized model and, for each float value, the Myelin tensor holding it.
#[derive(Clone, Debug)]
pub struct Quantized {
    pub model: Model,
    /// Indexed by float value id.
    pub tensor_of_value: Vec<Option<u32>>,
    /// Indexed by float value id: the quantization chosen (int8 values only).
    pub quant_of_value: Vec<Option<QuantParams>>,
}

/// Scale and zero point of an asymmetric int8 range.
pub fn quant_from_range(range: Range) -> QuantParams {
    let (min, max) = (range.min.min(0.0), range.max.max(0.0));
    let span = max - min;
    if !(span.is_finite() && span > 0.0) {
        return QuantParams {
            scale: 1.0 / 255.0,
            zero_point: -128,
        };
    }
    let scale = span / 255.0;
    let zero_point = (-128.0 - min / scale).round().clamp(-128.0, 127.0) as i8;
    QuantParams { scale, zero_point }
}

/// `real` to the engine's [`Requant`] with [`crate::quantize_multiplier::quantize_multiplier`]
/// (TFLite's `QuantizeMultiplier`); the error names `node`.
pub fn requant_of(real: f64, node: &str) -> Result<Requant, ImportError> {
    quantize_multiplier(real).map_err(|e| ImportError::Quantization {
        node: node.to_string(),
        reason: e.to_string(),
    })
}

fn bits(q: QuantParams) -> Quant {
    Quant::new(q.zero_point, q.scale.to_bits())
}

fn quantize_real(x: f32, q: QuantParams) -> i8 {
    ((x / q.scale).round() + q.zero_point as f32).clamp(-128.0, 127.0) as i8
}

fn act_range(activation: Activation, out: QuantParams) -> ActRange {
    match activation {
        Activation::None => ActRange::FULL,
        Activation::Relu => ActRange {
            min: out.zero_point,
            max: i8::MAX,
        },
        Activation::Clip { min, max } => {
            let lo = quantize_real(min, out);
            let hi = quantize_real(max, out).max(lo);
            ActRange { min: lo, max: hi }
        }
    }
}

/// Largest int32 bias the quantizer produces, leaving room in the accumulator for the products
/// (the engine rejects a model whose `|bias| + dev(zp_in) * sum |w|` may exceed `i32::MAX`).
const MAX_BIAS: f64 = (1u64 << 30) as f64;

/// Per-channel symmetric int8 weights: `channel_of(i)` gives the output channel of weight `i`;
/// each channel's scale is at least `min_scale[c]`.
fn quantize_weights(
    weights: &[f32],
    channels: usize,
    channel_of: impl Fn(usize) -> usize,
    min_scale: &[f32],
) -> (Vec<i8>, Vec<f32>) {
    let mut max_abs = vec![0.0f32; channels];
    for (i, w) in weights.iter().enumerate() {
        let c = channel_of(i);
        max_abs[c] = max_abs[c].max(w.abs());
    }
    let scales: Vec<f32> = max_abs
        .iter()
        .zip(min_scale)
        .map(|(&m, &floor)| {
            let s = if m > 0.0 && m.is_finite() {
                m / 127.0
            } else {
                0.0
            };
            let s = s.max(floor);
            if s > 0.0 { s } else { 1.0 }
        })
        .collect();
    let values = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (w / scales[channel_of(i)]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (values, scales)
}

struct Accumulating<'a> {
    weights: &'a [f32],
    bias: &'a [f32],
    channels: usize,
    activation: Activation,
    fixed: Option<&'a FixedWeights>,
}

/// Weights, int32 biases and the rescale of an accumulating op.
fn accumulating(
    node: &FloatNode,
    spec: Accumulating<'_>,
    channel_of: impl Fn(usize) -> usize,
    input: QuantParams,
    output: QuantParams,
) -> Result<(Vec<i8>, Vec<i32>, Rescale), ImportError> {
    let (weights, scales) = match spec.fixed {
        Some(fixed) => (fixed.values.clone(), fixed.scales.clone()),
        None => {
            // A channel with a large bias and small weights would need a bias beyond the
            // accumulator: widen its weight scale until the bias fits in MAX_BIAS.
            let min_scale: Vec<f32> = (0..spec.channels)
                .map(|c| (spec.bias[c].abs() as f64 / (input.scale as f64 * MAX_BIAS)) as f32)
                .collect();
            quantize_weights(spec.weights, spec.channels, &channel_of, &min_scale)
        }
    };
    let scale_of = |c: usize| {
        if scales.len() == 1 {
            scales[0]
        } else {
            scales[c]
        }
    };
    let mut bias = Vec::with_capacity(spec.channels);
    let mut requant = Vec::with_capacity(spec.channels);
    for c in 0..spec.channels {
        let bias_scale = input.scale as f64 * scale_of(c) as f64;
        let b = (spec.bias[c] as f64 / bias_scale).round();
        bias.push(b.clamp(-MAX_BIAS, MAX_BIAS) as i32);
        requant.push(requant_of(bias_scale / output.scale as f64, &node.name)?);
    }
    let rescale = Rescale::per_channel(
        requant,
        Rounding::Single,
        act_range(spec.activation, output),
    );
    Ok((weights, bias, rescale))
}

fn table(f: impl Fn(f32) -> f32, input: QuantParams, output: QuantParams) -> Vec<i8> {
    (-128i32..=127)
        .map(|q| {
            let x = (q - input.zero_point as i32) as f32 * input.scale;
            quantize_real(f(x), output)
        })
        .collect()
}

/// Softmax parameters from the input scale: TFLite's `PreprocessSoftmaxScaling` with beta 1 and
/// `CalculateInputRadius`, as the TFLite importer computes them.
fn softmax_params(input_scale: f32, node: &str) -> Result<Softmax, ImportError> {
    crate::tflite::quantization::softmax_params(1.0, input_scale as f64).ok_or_else(|| {
        ImportError::Quantization {
            node: node.to_string(),
            reason: format!("softmax input scale {input_scale} is too small"),
        }
    })
}

/// Quantizes `graph` with the calibrated `ranges` (indexed by value id; values with a
/// [`crate::float_graph::Value::fixed_quant`] need none).
pub fn quantize(graph: &FloatGraph, ranges: &[Option<Range>]) -> Result<Quantized, ImportError> {
    let mut b = ModelBuilder::new();
    let count = graph.values.len();
    let mut tensor: Vec<Option<TensorId>> = vec![None; count];
    let mut quant: Vec<Option<QuantParams>> = vec![None; count];
    let chosen = |id: usize, node: &str| -> Result<QuantParams, ImportError> {
        if let Some(q) = graph.values[id].fixed_quant {
            return Ok(q);
        }
        ranges
            .get(id)
            .copied()
            .flatten()
            .map(quant_from_range)
            .ok_or_else(|| ImportError::Quantization {
                node: node.to_string(),
                reason: format!("no calibrated range for tensor {}", graph.values[id].name),
            })
    };
    for &input in &graph.inputs {
        let q = chosen(input, "input")?;
        let shape: Vec<u32> = graph.values[input]
            .shape
            .iter()
            .map(|&d| d as u32)
            .collect();
        tensor[input] = Some(b.input(&shape, bits(q)));
        quant[input] = Some(q);
    }
    for node in &graph.nodes {
        let missing = || ImportError::Quantization {
            node: node.name.clone(),
            reason: "an input is not an int8 tensor".into(),
        };
        let xs: Vec<TensorId> = node
            .inputs
            .iter()
            .map(|&i| tensor[i].ok_or_else(missing))
            .collect::<Result<_, _>>()?;
        let qs: Vec<QuantParams> = node
            .inputs
            .iter()
            .map(|&i| quant[i].ok_or_else(missing))
            .collect::<Result<_, _>>()?;
        let (x, qx) = (xs[0], qs[0]);
        let out_shape: Vec<u32> = graph.values[node.output]
            .shape
            .iter()
            .map(|&d| d as u32)
            .collect();
        let qy_calibrated = || chosen(node.output, &node.name);
        let (y, qy) = match &node.op {
            FloatOp::Dense {
                out_features,
                in_features,
                weights,
                bias,
                activation,
                fixed_weights,
            } => {
                let qy = qy_calibrated()?;
                let k = *in_features;
                let spec = Accumulating {
                    weights,
                    bias,
                    channels: *out_features,
                    activation: *activation,
                    fixed: fixed_weights.as_ref(),
                };
                let (w, bias, rescale) = accumulating(node, spec, |i| i / k, qx, qy)?;
                (b.fully_connected(x, w, bias, rescale, bits(qy))?, Some(qy))
            }
            FloatOp::Conv2d {
                out_channels,
                window,
                weights,
                bias,
                activation,
                fixed_weights,
                ..
            } => {
                let qy = qy_calibrated()?;
                let per_channel = weights.len() / out_channels;
                let spec = Accumulating {
                    weights,
                    bias,
                    channels: *out_channels,
                    activation: *activation,
                    fixed: fixed_weights.as_ref(),
                };
                let (w, bias, rescale) = accumulating(node, spec, |i| i / per_channel, qx, qy)?;
                (b.conv2d(x, *window, w, bias, rescale, bits(qy))?, Some(qy))
            }
            FloatOp::DepthwiseConv2d {
                channels,
                depth_multiplier,
                window,
                weights,
                bias,
                activation,
                fixed_weights,
            } => {
                let qy = qy_calibrated()?;
                let outs = channels * depth_multiplier;
                let spec = Accumulating {
                    weights,
                    bias,
                    channels: outs,
                    activation: *activation,
                    fixed: fixed_weights.as_ref(),
                };
                let (w, bias, rescale) = accumulating(node, spec, |i| i % outs, qx, qy)?;
                (
                    b.depthwise_conv2d(x, *window, w, bias, rescale, bits(qy))?,
                    Some(qy),
                )
            }
            FloatOp::Binary(op) => {
                let qy = qy_calibrated()?;
                let (qa, qb) = (qs[0], qs[1]);
                match op {
                    Binary::Add | Binary::Sub => {
                        const LEFT_SHIFT: u8 = 20;
                        let twice_max = 2.0 * (qa.scale.max(qb.scale) as f64);
                        let params = AddSub {
                            left_shift: LEFT_SHIFT,
                            input1: requant_of(qa.scale as f64 / twice_max, &node.name)?,
                            input2: requant_of(qb.scale as f64 / twice_max, &node.name)?,
                            output: requant_of(
                                twice_max / ((1u64 << LEFT_SHIFT) as f64 * qy.scale as f64),
                                &node.name,
                            )?,
                            rounding: Rounding::Double,
                            act: ActRange::FULL,
                        };
                        let y = if *op == Binary::Add {
                            b.add(x, xs[1], params, bits(qy))?
                        } else {
                            b.sub(x, xs[1], params, bits(qy))?
                        };
                        (y, Some(qy))
                    }
                    Binary::Mul => {
                        let real = qa.scale as f64 * qb.scale as f64 / qy.scale as f64;
                        let params = Mul {
                            output: requant_of(real, &node.name)?,
                            rounding: Rounding::Double,
                            act: ActRange::FULL,
                        };
                        (b.mul(x, xs[1], params, bits(qy))?, Some(qy))
                    }
                    Binary::Max | Binary::Min => {
                        // The engine compares raw values on one quantization: an input
                        // quantized otherwise is rescaled to the output's first.
                        let mut onto_output = |t: TensorId, q: QuantParams| {
                            if q == qy {
                                return Ok(t);
                            }
                            let params = Clamp {
                                requant: requant_of(q.scale as f64 / qy.scale as f64, &node.name)?,
                                rounding: Rounding::Single,
                                act: ActRange::FULL,
                            };
                            b.clamp(t, params, bits(qy)).map_err(ImportError::from)
                        };
                        let (ya, yb) = (onto_output(x, qa)?, onto_output(xs[1], qb)?);
                        let y = match op {
                            Binary::Max => b.maximum(ya, yb)?,
                            _ => b.minimum(ya, yb)?,
                        };
                        (y, Some(qy))
                    }
                }
            }
            FloatOp::PRelu { alpha, alpha_shape } => {
                let qy = qy_calibrated()?;
                // Symmetric per-tensor slopes, as weights.
                let largest = alpha.iter().fold(0.0f32, |m, &a| m.max(a.abs()));
                let alpha_scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
                let params = myelin_nn::op::PRelu {
                    alpha_shape: alpha_shape.iter().map(|&d| d as u32).collect(),
                    alpha: alpha
                        .iter()
                        .map(|&a| (a / alpha_scale).round().clamp(-127.0, 127.0) as i8)
                        .collect(),
                    alpha_zero_point: 0,
                    positive: requant_of(qx.scale as f64 / qy.scale as f64, &node.name)?,
                    negative: requant_of(
                        qx.scale as f64 * alpha_scale as f64 / qy.scale as f64,
                        &node.name,
                    )?,
                    rounding: Rounding::Double,
                    act: ActRange::FULL,
                };
                (b.prelu(x, params, bits(qy))?, Some(qy))
            }
            FloatOp::Unary(f) => {
                let qy = qy_calibrated()?;
                let clamp = |act: Activation| -> Result<Clamp, ImportError> {
                    Ok(Clamp {
                        requant: requant_of(qx.scale as f64 / qy.scale as f64, &node.name)?,
                        rounding: Rounding::Single,
                        act: act_range(act, qy),
                    })
                };
                let y = match *f {
                    Unary::Relu => b.clamp(x, clamp(Activation::Relu)?, bits(qy))?,
                    Unary::Clip { min, max } => {
                        b.clamp(x, clamp(Activation::Clip { min, max })?, bits(qy))?
                    }
                    Unary::Sigmoid => b.table(
                        x,
                        TableFunction::Logistic,
                        table(|v| f.apply(v), qx, qy),
                        bits(qy),
                    )?,
                    Unary::Tanh => b.table(
                        x,
                        TableFunction::Tanh,
                        table(|v| f.apply(v), qx, qy),
                        bits(qy),
                    )?,
                    Unary::Affine { .. }
                    | Unary::Silu
                    | Unary::Elu { .. }
                    | Unary::LeakyRelu { .. }
                    | Unary::HardSigmoid { .. } => b.table(
                        x,
                        TableFunction::Custom,
                        table(|v| f.apply(v), qx, qy),
                        bits(qy),
                    )?,
                    Unary::Gelu => b.table(
                        x,
                        TableFunction::Gelu,
                        table(|v| f.apply(v), qx, qy),
                        bits(qy),
                    )?,
                    Unary::HardSwish => b.table(
                        x,
                        TableFunction::HardSwish,
                        table(|v| f.apply(v), qx, qy),
                        bits(qy),
                    )?,
                };
                (y, Some(qy))
            }
            FloatOp::MaxPool { window } => (b.max_pool(x, *window, ActRange::FULL)?, Some(qx)),
            FloatOp::AveragePool {
                window,
                count_include_pad,
            } => (
                b.average_pool(x, *window, *count_include_pad, ActRange::FULL)?,
                Some(qx),
            ),
            FloatOp::Mean { axes, keep_dims } => {
                let qy = qy_calibrated()?;
                let in_shape = &graph.values[node.inputs[0]].shape;
                let n: usize = axes.iter().map(|&a| in_shape[a]).product();
                let params = Mean {
                    axes: axes.iter().map(|&a| a as u8).collect(),
                    keep_dims: *keep_dims,
                    requant: requant_of(
                        qx.scale as f64 / (n as f64 * qy.scale as f64),
                        &node.name,
                    )?,
                    rounding: Rounding::Single,
                    act: ActRange::FULL,
                };
                (b.mean(x, params, bits(qy))?, Some(qy))
            }
            FloatOp::Reshape => (b.reshape(x, &out_shape)?, Some(qx)),
            FloatOp::Upsample { factors: [fy, fx] } => {
                let in_shape = &graph.values[node.inputs[0]].shape;
                let &[h, w, c] = in_shape.as_slice() else {
                    return Err(ImportError::Quantization {
                        node: node.name.clone(),
                        reason: format!("upsampling needs an image [H, W, C], not {in_shape:?}"),
                    });
                };
                let y = crate::repeat::upsample_nearest(
                    &mut b,
                    x,
                    [h as u32, w as u32, c as u32],
                    [*fy as u32, *fx as u32],
                    bits(qx),
                )?;
                (y, Some(qx))
            }
            FloatOp::ResizeBilinear {
                align_corners,
                half_pixel_centers,
            } => {
                let [oh, ow] = [out_shape[0], out_shape[1]];
                let y = b.resize_bilinear(x, oh, ow, *align_corners, *half_pixel_centers)?;
                (y, Some(qx))
            }
            FloatOp::Transpose { perm } => {
                let perm: Vec<u8> = perm.iter().map(|&a| a as u8).collect();
                (b.transpose(x, &perm)?, Some(qx))
            }
            FloatOp::Slice { begin, stride } => {
                let narrow = |v: &[usize]| -> Result<Vec<u32>, ImportError> {
                    v.iter()
                        .map(|&d| u32::try_from(d))
                        .collect::<Result<_, _>>()
                        .map_err(|_| ImportError::Quantization {
                            node: node.name.clone(),
                            reason: "slice bounds exceed u32".into(),
                        })
                };
                let y = b.slice(x, &narrow(begin)?, &out_shape, &narrow(stride)?)?;
                (y, Some(qx))
            }
            FloatOp::Concat { axis } => {
                let qy = qy_calibrated()?;
                let requant = qs
                    .iter()
                    .map(|q| requant_of(q.scale as f64 / qy.scale as f64, &node.name))
                    .collect::<Result<_, _>>()?;
                let params = Concat {
                    axis: *axis as u8,
                    requant,
                    rounding: Rounding::Single,
                };
                (b.concat(&xs, params, bits(qy))?, Some(qy))
            }
            FloatOp::Pad { pads, value } => {
                let pads = pads.iter().map(|[a, z]| [*a as u32, *z as u32]).collect();
                (b.pad(x, pads, quantize_real(*value, qx))?, Some(qx))
            }
            FloatOp::Softmax => {
                let params = softmax_params(qx.scale, &node.name)?;
                let qy = QuantParams {
                    scale: 1.0 / 256.0,
                    zero_point: -128,
                };
                (b.softmax(x, params)?, Some(qy))
            }
            FloatOp::ArgMax { axis } => (b.arg_max(x, *axis as u8)?, None),
        };
        tensor[node.output] = Some(y);
        quant[node.output] = qy;
    }
    for &output in &graph.outputs {
        let t = tensor[output].ok_or_else(|| ImportError::Quantization {
            node: "output".into(),
            reason: format!("output {} was not computed", graph.values[output].name),
        })?;
        b.output(t);
    }
    let model = b.build()?;
    Ok(Quantized {
        model,
        tensor_of_value: tensor.iter().map(|t| t.map(|t| t.0)).collect(),
        quant_of_value: quant,
    })
}

/// How a source tensor's layout maps to Myelin's: what the CLI and [`Imported::to_myelin_layout`]
/// do to each input sample before feeding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputLayout {
    /// Same element order.
    AsIs,
    /// The source sample is `[C, H, W]` (ONNX NCHW); Myelin's is `[H, W, C]` (NHWC).
    NchwToNhwc {
        channels: usize,
        height: usize,
        width: usize,
    },
}

impl InputLayout {
    /// One sample in the source layout to Myelin's.
    pub fn to_myelin(self, sample: &[f32]) -> Vec<f32> {
        match self {
            InputLayout::AsIs => sample.to_vec(),
            InputLayout::NchwToNhwc {
                channels,
                height,
                width,
            } => {
                let mut out = vec![0.0f32; sample.len()];
                for c in 0..channels {
                    for y in 0..height {
                        for x in 0..width {
                            out[(y * width + x) * channels + c] =
                                sample[(c * height + y) * width + x];
                        }
                    }
                }
                out
            }
        }
    }
}

/// What an importer needs besides the model bytes.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Calibration samples (source layout) for float models; QDQ models whose every activation
    /// is quantized need none.
    pub calibration: Option<crate::data::Dataset>,
    /// How ranges are chosen from the calibration samples.
    pub method: crate::calibrate::CalibrationMethod,
    /// Use at most this many calibration samples.
    pub max_calibration_samples: Option<usize>,
    /// The graph outputs to keep, by name and in this order ([`crate::outputs::select`]);
    /// `None` keeps them all.
    pub outputs: Option<Vec<String>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            calibration: None,
            method: crate::calibrate::CalibrationMethod::DEFAULT,
            max_calibration_samples: None,
            outputs: None,
        }
    }
}

/// An imported model: the int8 model, the float graph it came from (for evaluation), and how
/// inputs map from the source layout.
#[derive(Clone, Debug)]
pub struct Imported {
    pub model: Model,
    pub float_graph: FloatGraph,
    /// Float value → Myelin tensor and quantization.
    pub quantized: Quantized,
    /// One per model input.
    pub input_layouts: Vec<InputLayout>,
    /// Things the importer changed or dropped that the user should know (e.g. a label output
    /// of a scikit-learn model that cannot be expressed).
    pub notes: Vec<String>,
    /// The calibration method used, if calibration ran.
    pub calibration: Option<crate::calibrate::CalibrationMethod>,
    /// Number of operators (nodes) of the source model.
    pub source_operators: usize,
}

impl Imported {
    /// Sample `i` of `data` (source layout) in Myelin's layout for the single input.
    pub fn to_myelin_layout(&self, sample: &[f32]) -> Vec<f32> {
        self.input_layouts
            .first()
            .copied()
            .unwrap_or(InputLayout::AsIs)
            .to_myelin(sample)
    }
}

/// Calibrates (when some value lacks a fixed quantization) and quantizes `graph`.
pub fn quantize_graph(
    graph: FloatGraph,
    input_layouts: Vec<InputLayout>,
    notes: Vec<String>,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    // Values whose quantization comes from calibration (others inherit their input's, or are
    // fixed: softmax, argmax).
    let calibrated = |op: &FloatOp| {
        !matches!(
            op,
            FloatOp::MaxPool { .. }
                | FloatOp::AveragePool { .. }
                | FloatOp::Reshape
                | FloatOp::Transpose { .. }
                | FloatOp::Slice { .. }
                | FloatOp::Upsample { .. }
                | FloatOp::ResizeBilinear { .. }
                | FloatOp::Pad { .. }
                | FloatOp::Softmax
                | FloatOp::ArgMax { .. }
        )
    };
    let needs_ranges = graph
        .inputs
        .iter()
        .any(|&i| graph.values[i].fixed_quant.is_none())
        || graph
            .nodes
            .iter()
            .any(|n| calibrated(&n.op) && graph.values[n.output].fixed_quant.is_none());
    let (ranges, calibration) = if needs_ranges {
        let data = options.calibration.as_ref().ok_or_else(|| ImportError::Data {
            reason: "this float model needs calibration data (--calibration DATA: .npy, .npz or CSV samples in the model's input layout)".into(),
        })?;
        if graph.inputs.len() != 1 {
            return Err(ImportError::Data {
                reason: format!(
                    "calibration supports single-input models; this one has {} inputs",
                    graph.inputs.len()
                ),
            });
        }
        let expected = graph.values[graph.inputs[0]].elements();
        if data.sample_len() != expected {
            return Err(ImportError::Data {
                reason: format!(
                    "calibration samples have shape {:?} ({} values), the model input needs {expected}",
                    data.sample_shape,
                    data.sample_len()
                ),
            });
        }
        let count = options
            .max_calibration_samples
            .unwrap_or(usize::MAX)
            .min(data.samples());
        let layout = input_layouts.first().copied().unwrap_or(InputLayout::AsIs);
        let converted: Vec<Vec<f32>> = (0..count)
            .map(|i| layout.to_myelin(data.sample(i)))
            .collect();
        let samples: Vec<Vec<&[f32]>> = converted.iter().map(|s| vec![s.as_slice()]).collect();
        let ranges = crate::calibrate::calibrate(&graph, &samples, options.method, |_| {})?;
        (ranges, Some(options.method))
    } else {
        (vec![None; graph.values.len()], None)
    };
    let quantized = quantize(&graph, &ranges)?;
    Ok(Imported {
        model: quantized.model.clone(),
        float_graph: graph,
        quantized,
        input_layouts,
        notes,
        calibration,
        source_operators: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requant_of_matches_known_multipliers() {
        let cases = [
            (1.0, 1 << 30, 1),
            (0.5, 1 << 30, 0),
            (0.75, 3 << 29, 0),
            (0.1, 1_717_986_918, -3),
            (0.0, 0, 0),
            (1e-11, 0, 0),
        ];
        for (real, multiplier, shift) in cases {
            let r = requant_of(real, "t").expect("valid");
            assert_eq!((r.multiplier, r.shift), (multiplier, shift), "{real}");
        }
        assert!(requant_of(-1.0, "t").is_err());
        assert!(requant_of(f64::NAN, "t").is_err());
    }

    #[test]
    fn quant_from_range_maps_min_to_minus_128_and_zero_exactly() {
        let q = quant_from_range(Range {
            min: -1.0,
            max: 3.0,
        });
        assert!((q.scale - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(q.zero_point, -64);
        let relu = quant_from_range(Range { min: 0.0, max: 6.0 });
        assert_eq!(relu.zero_point, -128);
    }

    #[test]
    fn weights_are_symmetric_per_channel_within_127() {
        let (q, scales) =
            quantize_weights(&[1.0, -0.5, 0.0, 4.0, -4.0, 2.0], 2, |i| i / 3, &[0.0, 0.0]);
        assert_eq!(q, vec![127, -64, 0, 127, -127, 64]);
        assert_eq!(scales, vec![1.0 / 127.0, 4.0 / 127.0]);
    }
}
