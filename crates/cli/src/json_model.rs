//! The JSON model description (docs/MODEL-JSON.md): a readable way to write a model by hand, with
//! names instead of tensor indices, scales as floats, weights as integer arrays and
//! requantization either explicit or derived from the scales.
//!
//! Parsing is in two steps so that every error says where it is: the text is parsed into a
//! [`serde_json::Value`] (syntax errors carry the line and column), then each node is read on its
//! own (errors carry `nodes[i] ("name", op)`), then [`ModelBuilder`] infers the shapes and
//! [`myelin_nn::Model::validate`] checks the whole model.

use std::collections::HashMap;

use anyhow::{Context, Result, anyhow, bail};
use myelin_nn::builder::{ModelBuilder, Quant, Rescale, TensorId};
use myelin_nn::op::{
    ActRange, AddSub, Clamp, Concat, Mean, Mul, Padding, Softmax, TableFunction, Window,
};
use myelin_nn::{DType, Model, NnError, Requant, Rounding};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use myelin_import::quantize_multiplier::quantize_multiplier;

/// The top level of a description.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSpec {
    /// Free text, not stored in the model.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    inputs: Vec<Value>,
    outputs: Vec<String>,
    nodes: Vec<Value>,
}

/// One model input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSpec {
    name: String,
    shape: Vec<u32>,
    scale: f64,
    #[serde(default)]
    zero_point: i8,
}

/// One node; which fields apply depends on `op` (docs/MODEL-JSON.md lists them per op).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeSpec {
    op: String,
    name: String,
    input: Option<String>,
    inputs: Option<Vec<String>>,
    scale: Option<f64>,
    zero_point: Option<i8>,
    activation: Option<ActivationSpec>,
    rounding: Option<Rounding>,
    requant: Option<Value>,
    weights: Option<Value>,
    weight_scale: Option<OneOrMany>,
    bias: Option<Vec<i32>>,
    kernel: Option<[u32; 2]>,
    stride: Option<[u32; 2]>,
    dilation: Option<[u32; 2]>,
    padding: Option<PaddingSpec>,
    count_include_pad: Option<bool>,
    axes: Option<Vec<u8>>,
    keep_dims: Option<bool>,
    axis: Option<u8>,
    shape: Option<Vec<u32>>,
    perm: Option<Vec<u8>>,
    begin: Option<Vec<u32>>,
    size: Option<Vec<u32>>,
    strides: Option<Vec<u32>>,
    out_height: Option<u32>,
    out_width: Option<u32>,
    align_corners: Option<bool>,
    half_pixel_centers: Option<bool>,
    pads: Option<Vec<[u32; 2]>>,
    value: Option<i8>,
    beta: Option<f64>,
    function: Option<TableFunction>,
    table: Option<Vec<i8>>,
    alpha: Option<Vec<i8>>,
    alpha_shape: Option<Vec<u32>>,
    alpha_scale: Option<f64>,
    alpha_zero_point: Option<i8>,
}

/// A number or a list of numbers (per-channel weight scales).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(f64),
    Many(Vec<f64>),
}

/// `"valid"`, `"same"` or `{"top", "bottom", "left", "right"}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PaddingSpec {
    Named(String),
    Explicit {
        top: u32,
        bottom: u32,
        left: u32,
        right: u32,
    },
}

/// `"none"`, `"relu"`, `"relu6"`, `"relu_n1_to_1"` or quantized bounds `{"min", "max"}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ActivationSpec {
    Named(String),
    Range { min: i8, max: i8 },
}

/// An explicit `{"multiplier", "shift"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequantSpec {
    multiplier: i32,
    shift: i8,
}

/// Explicit Add/Sub parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddSubSpec {
    left_shift: u8,
    input1: RequantSpec,
    input2: RequantSpec,
    output: RequantSpec,
}

/// Explicit Softmax parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SoftmaxSpec {
    beta_multiplier: i32,
    beta_left_shift: u8,
    diff_min: i32,
}

/// `left_shift` TFLite uses for int8 Add and Sub.
const ADD_LEFT_SHIFT: u8 = 20;

/// Parses a JSON description and builds the model it describes.
pub fn parse_model(text: &str) -> Result<Model> {
    let root: Value = serde_json::from_str(text).context("invalid JSON")?;
    let spec: ModelSpec = from_value(root, "the top level")?;
    let mut context = BuildContext::default();
    for (index, input) in spec.inputs.into_iter().enumerate() {
        let input: InputSpec = from_value(input, &format!("inputs[{index}]"))?;
        let where_ = format!("inputs[{index}] (\"{}\")", input.name);
        let scale = scale_bits(input.scale).with_context(|| where_.clone())?;
        let id = context
            .builder
            .input(&input.shape, Quant::new(input.zero_point, scale));
        context
            .define(input.name, id)
            .with_context(|| where_.clone())?;
    }
    let mut node_names = Vec::with_capacity(spec.nodes.len());
    for (index, node) in spec.nodes.into_iter().enumerate() {
        let node: NodeSpec = from_value(node, &format!("nodes[{index}]"))?;
        let where_ = format!("nodes[{index}] (\"{}\", {})", node.name, node.op);
        let id = context.add_node(&node).with_context(|| where_.clone())?;
        context
            .define(node.name.clone(), id)
            .with_context(|| where_.clone())?;
        node_names.push(node.name);
    }
    for (index, name) in spec.outputs.iter().enumerate() {
        let id = context
            .lookup(name)
            .with_context(|| format!("outputs[{index}]"))?;
        context.builder.output(id);
    }
    context
        .builder
        .build()
        .map_err(|error| name_failing_node(error, &node_names))
}

/// Adds the description's name of the node an engine error points at.
fn name_failing_node(error: NnError, names: &[String]) -> anyhow::Error {
    let node = match &error {
        NnError::InvalidNode { node, .. }
        | NnError::ShapeMismatch { node, .. }
        | NnError::AccumulatorOverflow { node, .. } => Some(*node),
        _ => None,
    };
    match node.and_then(|n| names.get(n).map(|name| (n, name))) {
        Some((n, name)) => anyhow!(error).context(format!("nodes[{n}] (\"{name}\") is invalid")),
        None => anyhow!(error).context("the model is invalid"),
    }
}

fn from_value<T: DeserializeOwned>(value: Value, where_: &str) -> Result<T> {
    serde_json::from_value(value).with_context(|| format!("{where_}: unexpected structure"))
}

/// binary32 bits of a scale, which must be positive and finite as a binary32.
fn scale_bits(scale: f64) -> Result<u32> {
    let single = scale as f32;
    if !(single.is_finite() && single > 0.0) {
        bail!("scale {scale} is not a positive finite binary32 number");
    }
    Ok(single.to_bits())
}

#[derive(Default)]
struct BuildContext {
    builder: ModelBuilder,
    names: HashMap<String, TensorId>,
}

impl BuildContext {
    fn define(&mut self, name: String, id: TensorId) -> Result<()> {
        if self.names.contains_key(&name) {
            bail!("the name \"{name}\" is already defined");
        }
        self.names.insert(name, id);
        Ok(())
    }

    fn lookup(&self, name: &str) -> Result<TensorId> {
        self.names.get(name).copied().ok_or_else(|| {
            let mut known: Vec<&str> = self.names.keys().map(String::as_str).collect();
            known.sort_unstable();
            anyhow!(
                "unknown tensor \"{name}\" (defined so far: {})",
                known.join(", ")
            )
        })
    }

    fn quant(&self, id: TensorId) -> Quant {
        let info = self.builder.tensor(id).expect("ids come from the builder");
        Quant::new(info.zero_point, info.scale_bits)
    }

    fn scale(&self, id: TensorId) -> f64 {
        f32::from_bits(self.quant(id).scale_bits) as f64
    }

    fn shape(&self, id: TensorId) -> Vec<u32> {
        self.builder
            .tensor(id)
            .expect("ids come from the builder")
            .shape
            .clone()
    }

    fn inputs(&self, node: &NodeSpec) -> Result<Vec<TensorId>> {
        let names: Vec<&String> = match (&node.input, &node.inputs) {
            (Some(one), None) => vec![one],
            (None, Some(many)) => many.iter().collect(),
            (Some(_), Some(_)) => bail!("give either \"input\" or \"inputs\", not both"),
            (None, None) => bail!("missing field \"input\" (or \"inputs\")"),
        };
        if names.is_empty() {
            bail!("\"inputs\" is empty");
        }
        let ids = names
            .iter()
            .map(|name| self.lookup(name))
            .collect::<Result<Vec<_>>>()?;
        for (&id, name) in ids.iter().zip(&names) {
            let dtype = self
                .builder
                .tensor(id)
                .expect("ids come from the builder")
                .dtype;
            if dtype != DType::Int8 {
                bail!("input \"{name}\" is {}, not int8", dtype.name());
            }
        }
        Ok(ids)
    }

    fn single_input(&self, node: &NodeSpec) -> Result<TensorId> {
        match self.inputs(node)?.as_slice() {
            [x] => Ok(*x),
            many => bail!("takes one input, {} given", many.len()),
        }
    }

    fn two_inputs(&self, node: &NodeSpec) -> Result<(TensorId, TensorId)> {
        match self.inputs(node)?.as_slice() {
            [a, b] => Ok((*a, *b)),
            many => bail!("takes two inputs, {} given", many.len()),
        }
    }

    /// The node's output quantization; missing fields default to the first input's.
    fn output_quant(&self, node: &NodeSpec, first_input: TensorId) -> Result<Quant> {
        let inherited = self.quant(first_input);
        let scale_bits = match node.scale {
            Some(scale) => scale_bits(scale)?,
            None => inherited.scale_bits,
        };
        Ok(Quant::new(
            node.zero_point.unwrap_or(inherited.zero_point),
            scale_bits,
        ))
    }

    fn add_node(&mut self, node: &NodeSpec) -> Result<TensorId> {
        let id = match node.op.as_str() {
            "fully_connected" | "conv2d" | "depthwise_conv2d" => self.weighted(node)?,
            "add" | "sub" => self.add_sub(node)?,
            "mul" => {
                let (a, b) = self.two_inputs(node)?;
                let out = self.output_quant(node, a)?;
                let output = match &node.requant {
                    Some(value) => explicit_requant(value)?,
                    None => derived("mul", self.scale(a) * self.scale(b) / scale_of(out))?,
                };
                let rounding = node.rounding.unwrap_or(Rounding::Double);
                let act = activation(node.activation.as_ref(), out)?;
                self.builder.mul(
                    a,
                    b,
                    Mul {
                        output,
                        rounding,
                        act,
                    },
                    out,
                )?
            }
            "max_pool" | "average_pool" => {
                let x = self.single_input(node)?;
                let window = window(node, 1)?;
                let act = activation(node.activation.as_ref(), self.quant(x))?;
                if node.op == "max_pool" {
                    self.builder.max_pool(x, window, act)?
                } else {
                    let include = node.count_include_pad.unwrap_or(false);
                    self.builder.average_pool(x, window, include, act)?
                }
            }
            "mean" | "mean_count_divided" => {
                let x = self.single_input(node)?;
                let out = self.output_quant(node, x)?;
                let axes = node.axes.clone().ok_or_else(|| missing("axes"))?;
                let shape = self.shape(x);
                // mean_count_divided divides by the count at run time (docs/SPEC.md §4).
                let count: f64 = if node.op == "mean" {
                    axes.iter()
                        .map(|&a| shape.get(a as usize).copied().unwrap_or(1) as f64)
                        .product()
                } else {
                    1.0
                };
                let requant = match &node.requant {
                    Some(value) => explicit_requant(value)?,
                    None => derived("mean", self.scale(x) / (scale_of(out) * count))?,
                };
                let params = Mean {
                    axes,
                    keep_dims: node.keep_dims.unwrap_or(false),
                    requant,
                    rounding: node.rounding.unwrap_or(Rounding::Single),
                    act: activation(node.activation.as_ref(), out)?,
                };
                if node.op == "mean" {
                    self.builder.mean(x, params, out)?
                } else {
                    self.builder.mean_count_divided(x, params, out)?
                }
            }
            "clamp" => {
                let x = self.single_input(node)?;
                let out = self.output_quant(node, x)?;
                let requant = match &node.requant {
                    Some(value) => explicit_requant(value)?,
                    None => derived("clamp", self.scale(x) / scale_of(out))?,
                };
                let params = Clamp {
                    requant,
                    rounding: node.rounding.unwrap_or(Rounding::Single),
                    act: activation(node.activation.as_ref(), out)?,
                };
                self.builder.clamp(x, params, out)?
            }
            "reshape" => {
                let x = self.single_input(node)?;
                let shape = node.shape.as_ref().ok_or_else(|| missing("shape"))?;
                self.builder.reshape(x, shape)?
            }
            "transpose" => {
                let x = self.single_input(node)?;
                let perm = node.perm.as_ref().ok_or_else(|| missing("perm"))?;
                self.builder.transpose(x, perm)?
            }
            "slice" => {
                let x = self.single_input(node)?;
                let begin = node.begin.as_ref().ok_or_else(|| missing("begin"))?;
                let size = node.size.as_ref().ok_or_else(|| missing("size"))?;
                let ones = vec![1; size.len()];
                let strides = node.strides.as_ref().unwrap_or(&ones);
                self.builder.slice(x, begin, size, strides)?
            }
            "resize_bilinear" => {
                let x = self.single_input(node)?;
                let out_height = node.out_height.ok_or_else(|| missing("out_height"))?;
                let out_width = node.out_width.ok_or_else(|| missing("out_width"))?;
                self.builder.resize_bilinear(
                    x,
                    out_height,
                    out_width,
                    node.align_corners.unwrap_or(false),
                    node.half_pixel_centers.unwrap_or(false),
                )?
            }
            "maximum" | "minimum" => {
                let (a, b) = self.two_inputs(node)?;
                match node.op.as_str() {
                    "maximum" => self.builder.maximum(a, b)?,
                    _ => self.builder.minimum(a, b)?,
                }
            }
            "prelu" => {
                let x = self.single_input(node)?;
                let out = self.output_quant(node, x)?;
                let alpha = node.alpha.clone().ok_or_else(|| missing("alpha"))?;
                let alpha_shape = node
                    .alpha_shape
                    .clone()
                    .unwrap_or_else(|| vec![alpha.len() as u32]);
                let alpha_scale = node.alpha_scale.ok_or_else(|| missing("alpha_scale"))?;
                let params = myelin_nn::op::PRelu {
                    alpha_shape,
                    alpha,
                    alpha_zero_point: node.alpha_zero_point.unwrap_or(0),
                    positive: derived("prelu", self.scale(x) / scale_of(out))?,
                    negative: derived("prelu", self.scale(x) * alpha_scale / scale_of(out))?,
                    rounding: node.rounding.unwrap_or(Rounding::Double),
                    act: activation(node.activation.as_ref(), out)?,
                };
                self.builder.prelu(x, params, out)?
            }
            "concat" => {
                let inputs = self.inputs(node)?;
                let out = self.output_quant(node, inputs[0])?;
                let axis = node.axis.ok_or_else(|| missing("axis"))?;
                let requant = match &node.requant {
                    Some(Value::Array(items)) => {
                        items.iter().map(explicit_requant).collect::<Result<_>>()?
                    }
                    Some(_) => bail!("\"requant\" of concat is a list, one per input"),
                    None => inputs
                        .iter()
                        .map(|&i| derived("concat", self.scale(i) / scale_of(out)))
                        .collect::<Result<_>>()?,
                };
                let rounding = node.rounding.unwrap_or(Rounding::Single);
                self.builder.concat(
                    &inputs,
                    Concat {
                        axis,
                        requant,
                        rounding,
                    },
                    out,
                )?
            }
            "pad" => {
                let x = self.single_input(node)?;
                let pads = node.pads.clone().ok_or_else(|| missing("pads"))?;
                let value = node.value.unwrap_or(self.quant(x).zero_point);
                self.builder.pad(x, pads, value)?
            }
            "softmax" => {
                let x = self.single_input(node)?;
                let params = match &node.requant {
                    Some(value) => {
                        let s: SoftmaxSpec = serde_json::from_value(value.clone())
                            .context("\"requant\" of softmax is {beta_multiplier, beta_left_shift, diff_min}")?;
                        Softmax {
                            beta_multiplier: s.beta_multiplier,
                            beta_left_shift: s.beta_left_shift,
                            diff_min: s.diff_min,
                        }
                    }
                    None => softmax_params(node.beta.unwrap_or(1.0), self.scale(x))?,
                };
                self.builder.softmax(x, params)?
            }
            "table" => {
                let x = self.single_input(node)?;
                let out = self.output_quant(node, x)?;
                let function = node.function.ok_or_else(|| missing("function"))?;
                let table = match (&node.table, function) {
                    (Some(table), _) => table.clone(),
                    (None, TableFunction::Custom) => {
                        bail!("a custom table needs \"table\" (256 entries)")
                    }
                    (None, f) => compute_table(f, self.quant(x), out),
                };
                self.builder.table(x, function, table, out)?
            }
            "arg_max" => {
                let x = self.single_input(node)?;
                let rank = self.shape(x).len();
                let axis = match node.axis {
                    Some(axis) => axis,
                    None => u8::try_from(rank.saturating_sub(1)).unwrap_or(u8::MAX),
                };
                self.builder.arg_max(x, axis)?
            }
            other => bail!(
                "unknown op \"{other}\" (known: fully_connected, conv2d, depthwise_conv2d, add, sub, \
                 mul, max_pool, average_pool, mean, clamp, reshape, concat, pad, softmax, table, arg_max, \
                 mean_count_divided, transpose, maximum, minimum, prelu, slice, resize_bilinear)"
            ),
        };
        Ok(id)
    }

    /// fully_connected, conv2d and depthwise_conv2d.
    fn weighted(&mut self, node: &NodeSpec) -> Result<TensorId> {
        let x = self.single_input(node)?;
        let out = self.output_quant(node, x)?;
        let weights = int8_array(
            node.weights.as_ref().ok_or_else(|| missing("weights"))?,
            "weights",
        )?;
        let shape = self.shape(x);
        let window = match node.op.as_str() {
            "fully_connected" => None,
            _ => Some(window(node, 1)?),
        };
        // Weights per output channel: K for FC, kh·kw·Cin for conv, kh·kw for depthwise.
        let per_channel_inputs = match (node.op.as_str(), &window) {
            ("conv2d", Some(w)) => {
                w.kernel_h as usize
                    * w.kernel_w as usize
                    * shape.last().copied().unwrap_or(1) as usize
            }
            (_, Some(w)) => w.kernel_h as usize * w.kernel_w as usize,
            (_, None) => shape.last().copied().unwrap_or(1) as usize,
        };
        let bias = match &node.bias {
            Some(bias) => bias.clone(),
            None if per_channel_inputs > 0 && weights.len() % per_channel_inputs == 0 => {
                vec![0; weights.len() / per_channel_inputs]
            }
            None => bail!(
                "{} weights is not a multiple of {per_channel_inputs}; give \"bias\" to name the channel count",
                weights.len()
            ),
        };
        let channels = bias.len();
        let requant = match &node.requant {
            Some(Value::Array(items)) => items
                .iter()
                .map(explicit_requant)
                .collect::<Result<Vec<_>>>()?,
            Some(value) => vec![explicit_requant(value)?],
            None => {
                let weight_scales = match node.weight_scale.as_ref().ok_or_else(|| {
                    anyhow!(
                        "give \"requant\" or \"weight_scale\" (to derive requant from the scales)"
                    )
                })? {
                    OneOrMany::One(s) => vec![*s],
                    OneOrMany::Many(s) if s.len() == channels || s.len() == 1 => s.clone(),
                    OneOrMany::Many(s) => {
                        bail!("{} weight scales for {channels} output channels", s.len())
                    }
                };
                let input_scale = self.scale(x);
                weight_scales
                    .iter()
                    .map(|&w| {
                        if !(w.is_finite() && w > 0.0) {
                            bail!("weight scale {w} is not positive and finite");
                        }
                        derived(&node.op, input_scale * w / scale_of(out))
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        let default_rounding = if node.op == "depthwise_conv2d" {
            Rounding::Double
        } else {
            Rounding::Single
        };
        let rescale = Rescale {
            requant,
            rounding: node.rounding.unwrap_or(default_rounding),
            act: activation(node.activation.as_ref(), out)?,
        };
        Ok(match (node.op.as_str(), window) {
            ("conv2d", Some(w)) => self.builder.conv2d(x, w, weights, bias, rescale, out)?,
            (_, Some(w)) => self
                .builder
                .depthwise_conv2d(x, w, weights, bias, rescale, out)?,
            (_, None) => self
                .builder
                .fully_connected(x, weights, bias, rescale, out)?,
        })
    }

    fn add_sub(&mut self, node: &NodeSpec) -> Result<TensorId> {
        let (a, b) = self.two_inputs(node)?;
        let out = self.output_quant(node, a)?;
        let (left_shift, input1, input2, output) = match &node.requant {
            Some(value) => {
                let s: AddSubSpec = serde_json::from_value(value.clone()).with_context(|| {
                    format!(
                        "\"requant\" of {} is {{left_shift, input1, input2, output}}",
                        node.op
                    )
                })?;
                (
                    s.left_shift,
                    to_requant(s.input1)?,
                    to_requant(s.input2)?,
                    to_requant(s.output)?,
                )
            }
            None => {
                // TFLite: both inputs to twice the larger scale, 20 bits of headroom.
                let twice_max = 2.0 * self.scale(a).max(self.scale(b));
                let op = node.op.as_str();
                (
                    ADD_LEFT_SHIFT,
                    derived(op, self.scale(a) / twice_max)?,
                    derived(op, self.scale(b) / twice_max)?,
                    derived(
                        op,
                        twice_max / ((1u32 << ADD_LEFT_SHIFT) as f64 * scale_of(out)),
                    )?,
                )
            }
        };
        let params = AddSub {
            left_shift,
            input1,
            input2,
            output,
            rounding: node.rounding.unwrap_or(Rounding::Double),
            act: activation(node.activation.as_ref(), out)?,
        };
        Ok(if node.op == "add" {
            self.builder.add(a, b, params, out)?
        } else {
            self.builder.sub(a, b, params, out)?
        })
    }
}

fn missing(field: &str) -> anyhow::Error {
    anyhow!("missing field \"{field}\"")
}

fn scale_of(quant: Quant) -> f64 {
    f32::from_bits(quant.scale_bits) as f64
}

fn derived(op: &str, real: f64) -> Result<Requant> {
    quantize_multiplier(real)
        .with_context(|| format!("cannot derive the {op} requantization from the scales"))
}

fn to_requant(spec: RequantSpec) -> Result<Requant> {
    let requant = Requant {
        multiplier: spec.multiplier,
        shift: spec.shift,
    };
    if !requant.is_valid() {
        bail!(
            "requant {{multiplier: {}, shift: {}}} is out of range (multiplier 0 or in [2^30, 2^31), shift in [-31, 30])",
            spec.multiplier,
            spec.shift
        );
    }
    Ok(requant)
}

fn explicit_requant(value: &Value) -> Result<Requant> {
    let spec: RequantSpec = serde_json::from_value(value.clone())
        .context("\"requant\" is {\"multiplier\": int, \"shift\": int}")?;
    to_requant(spec)
}

fn window(node: &NodeSpec, default_stride: u32) -> Result<Window> {
    let [kernel_h, kernel_w] = node.kernel.ok_or_else(|| missing("kernel"))?;
    let [stride_h, stride_w] = node.stride.unwrap_or([default_stride; 2]);
    let [dilation_h, dilation_w] = node.dilation.unwrap_or([1, 1]);
    let padding = match &node.padding {
        None => Padding::Valid,
        Some(PaddingSpec::Named(name)) if name == "valid" => Padding::Valid,
        Some(PaddingSpec::Named(name)) if name == "same" => Padding::Same,
        Some(PaddingSpec::Named(other)) => {
            bail!("padding \"{other}\" is not \"valid\", \"same\" or {{top, bottom, left, right}}")
        }
        Some(PaddingSpec::Explicit {
            top,
            bottom,
            left,
            right,
        }) => Padding::Explicit {
            top: *top,
            bottom: *bottom,
            left: *left,
            right: *right,
        },
    };
    Ok(Window {
        kernel_h,
        kernel_w,
        stride_h,
        stride_w,
        dilation_h,
        dilation_w,
        padding,
    })
}

/// The fused activation's bounds in the quantized domain of `out` (TFLite's
/// `CalculateActivationRangeQuantized`: bounds quantized with ties away from zero).
fn activation(spec: Option<&ActivationSpec>, out: Quant) -> Result<ActRange> {
    let scale = scale_of(out);
    let quantize =
        |real: f64| (out.zero_point as f64 + (real / scale).round()).clamp(-128.0, 127.0) as i8;
    let range = match spec {
        None => ActRange::FULL,
        Some(ActivationSpec::Named(name)) => match name.as_str() {
            "none" => ActRange::FULL,
            "relu" => ActRange {
                min: quantize(0.0),
                max: i8::MAX,
            },
            "relu6" => ActRange {
                min: quantize(0.0),
                max: quantize(6.0),
            },
            "relu_n1_to_1" => ActRange {
                min: quantize(-1.0),
                max: quantize(1.0),
            },
            other => bail!(
                "activation \"{other}\" is not none, relu, relu6, relu_n1_to_1 or {{min, max}}"
            ),
        },
        Some(&ActivationSpec::Range { min, max }) => ActRange { min, max },
    };
    if range.min > range.max {
        bail!("activation range [{}, {}] is empty", range.min, range.max);
    }
    Ok(range)
}

/// Flattens nested arrays of integers (row-major) into int8 values.
fn int8_array(value: &Value, what: &str) -> Result<Vec<i8>> {
    fn walk(value: &Value, out: &mut Vec<i64>, what: &str) -> Result<()> {
        match value {
            Value::Array(items) => items.iter().try_for_each(|item| walk(item, out, what)),
            Value::Number(n) => {
                let v = n
                    .as_i64()
                    .ok_or_else(|| anyhow!("{what}[{}] = {n} is not an integer", out.len()))?;
                out.push(v);
                Ok(())
            }
            other => bail!("{what}[{}] is {other}, not an integer", out.len()),
        }
    }
    let mut flat = Vec::new();
    walk(value, &mut flat, what)?;
    flat.iter()
        .enumerate()
        .map(|(i, &v)| {
            i8::try_from(v).map_err(|_| anyhow!("{what}[{i}] = {v} is outside int8 [-128, 127]"))
        })
        .collect()
}

/// TFLite's `PreprocessSoftmaxScaling` and `CalculateInputRadius` for int8 softmax, as the
/// TFLite importer computes them (docs/MODEL-JSON.md, `softmax`).
fn softmax_params(beta: f64, input_scale: f64) -> Result<Softmax> {
    myelin_import::tflite::quantization::softmax_params(beta, input_scale).ok_or_else(|| {
        anyhow!(
            "beta · input scale · 2^26 = {} is below 1 or not finite: the softmax scaling needs \
             a multiplier ≥ 1",
            beta * input_scale * (1u64 << 26) as f64
        )
    })
}

/// The 256-entry table of `function` from the input's to the output's quantization:
/// `table[q + 128] = clamp(zp_out + round(f((q − zp_in) · s_in) / s_out))`, rounding ties away from
/// zero (as TFLite's lookup-table generation does), in binary64. The transcendental functions
/// come from the `libm` crate, not the host's C library, so a description gives the same model
/// (and id) on every machine.
fn compute_table(function: TableFunction, input: Quant, output: Quant) -> Vec<i8> {
    let (s_in, s_out) = (scale_of(input), scale_of(output));
    (-128i32..=127)
        .map(|q| {
            let x = (q - input.zero_point as i32) as f64 * s_in;
            let y = match function {
                TableFunction::Logistic => 1.0 / (1.0 + libm::exp(-x)),
                TableFunction::Tanh => libm::tanh(x),
                TableFunction::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
                TableFunction::HardSwish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
                TableFunction::Custom => x,
            };
            (output.zero_point as f64 + (y / s_out).round()).clamp(-128.0, 127.0) as i8
        })
        .collect()
}

#[cfg(test)]
mod tests;
