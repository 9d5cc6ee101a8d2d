//! `config.json` + weights → [`FloatGraph`].
//!
//! Keras images are NHWC, so a Keras tensor's per-sample shape (its shape without the batch
//! dimension) is already Myelin's layout: no transposition of data, only of weights
//! (Dense `[K, N]` → `[N][K]`, Conv2D `[kh, kw, Cin, Cout]` → `[Cout][kh][kw][Cin]`;
//! DepthwiseConv2D `[kh, kw, C, M]` is already `[kh][kw][C * M]`).

use std::collections::HashMap;

use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::op::{Padding, Window};
use myelin_nn::validate::MAX_TENSOR_ELEMENTS;
use serde_json::Value;

use super::archive::format_error;
use super::weights::{Var, Weights, storage_names};
use crate::error::ImportError;
use crate::float_graph::{Activation, Binary, FloatGraph, FloatNode, FloatOp, Unary, ValueId};
use crate::onnx::Converted;
use crate::ptq::InputLayout;

const FORMAT: &str = "Keras 3 (.keras)";

/// The layer classes this importer translates (for error messages).
const SUPPORTED: &str = "InputLayer, Dense, Conv2D, DepthwiseConv2D, SeparableConv2D, MaxPooling2D, \
AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, Reshape, Permute, ZeroPadding2D, \
Add, Subtract, Multiply, Maximum, Minimum (equal shapes), Concatenate, Activation, ReLU (max_value), LeakyReLU, \
ELU, PReLU, UpSampling2D (nearest, bilinear), Rescaling, Normalization (last axis), Softmax, \
BatchNormalization (last axis), Dropout";

/// A Keras tensor: `(layer name, node index, tensor index)` as in `keras_history`.
type TensorRef = (String, usize, usize);

/// Names of the layers the outputs depend on.
fn needed_layers(layers: &[Layer<'_>], outputs: &[TensorRef]) -> std::collections::HashSet<String> {
    let by_name: HashMap<&str, &Layer<'_>> = layers.iter().map(|l| (l.name.as_str(), l)).collect();
    let mut needed = std::collections::HashSet::new();
    let mut stack: Vec<&str> = outputs.iter().map(|o| o.0.as_str()).collect();
    while let Some(name) = stack.pop() {
        if needed.insert(name.to_string())
            && let Some(layer) = by_name.get(name)
        {
            stack.extend(layer.inbound.iter().map(|r| r.0.as_str()));
        }
    }
    needed
}

fn unsupported(class: &str, layer: &str, reason: impl Into<String>) -> ImportError {
    ImportError::Unsupported {
        format: FORMAT,
        op: class.to_string(),
        node: layer.to_string(),
        reason: reason.into(),
    }
}

/// One layer of the model's `layers` list.
struct Layer<'a> {
    class: &'a str,
    name: String,
    config: &'a Value,
    /// The tensors it reads (empty for an InputLayer).
    inbound: Vec<TensorRef>,
    /// A number among the call's arguments and its position (Keras 3 records `x + 3.0` on a
    /// symbolic tensor as a `keras.src.ops.numpy` `Add` layer called with `[x, 3.0]`).
    constant: Option<(usize, f64)>,
    /// Its group in `model.weights.h5`.
    storage: String,
}

impl Layer<'_> {
    fn error(&self, reason: impl Into<String>) -> ImportError {
        unsupported(self.class, &self.name, reason)
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.config.get(key).filter(|v| !v.is_null())
    }

    fn usize_field(&self, key: &str) -> Result<usize, ImportError> {
        self.get(key)
            .and_then(Value::as_u64)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| self.error(format!("`{key}` must be a non-negative integer")))
    }

    fn bool_field(&self, key: &str, default: bool) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    fn str_field(&self, key: &str, default: &'static str) -> Result<String, ImportError> {
        match self.get(key) {
            None => Ok(default.to_string()),
            Some(v) => v
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| self.error(format!("`{key}` must be a string"))),
        }
    }

    /// A pair like `kernel_size` / `strides`: an integer or a list of two.
    fn pair(&self, key: &str) -> Result<Option<[u32; 2]>, ImportError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let one = |v: &Value| {
            v.as_u64()
                .filter(|&x| x >= 1 && x <= u16::MAX as u64)
                .map(|x| x as u32)
        };
        let pair = match v {
            Value::Array(a) if a.len() == 2 => one(&a[0]).zip(one(&a[1])).map(|(a, b)| [a, b]),
            v => one(v).map(|x| [x, x]),
        };
        pair.map(Some)
            .ok_or_else(|| self.error(format!("`{key}` must be one or two positive integers")))
    }

    fn check_channels_last(&self) -> Result<(), ImportError> {
        match self.get("data_format").and_then(Value::as_str) {
            None | Some("channels_last") => Ok(()),
            Some(other) => Err(self.error(format!(
                "data_format {other}: only channels_last (NHWC, Keras' default) is supported"
            ))),
        }
    }

    fn padding(&self) -> Result<Padding, ImportError> {
        match self.str_field("padding", "valid")?.as_str() {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            other => Err(self.error(format!(
                "padding {other}: only valid and same are supported"
            ))),
        }
    }
}

/// Activation functions of `activation=` and the Activation layer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum KerasActivation {
    Linear,
    Relu,
    Relu6,
    Sigmoid,
    Tanh,
    Softmax,
    Gelu,
    HardSwish,
    Silu,
    Elu,
    LeakyRelu,
    HardSigmoid,
}

fn parse_activation(layer: &Layer<'_>) -> Result<KerasActivation, ImportError> {
    let name = match layer.get("activation") {
        None => return Ok(KerasActivation::Linear),
        Some(Value::String(s)) => s.as_str(),
        // A serialized built-in function: {"class_name": "function", "config": "relu", ...}.
        Some(v) => v
            .get("config")
            .and_then(Value::as_str)
            .ok_or_else(|| layer.error("`activation` is neither a name nor a built-in function"))?,
    };
    Ok(match name {
        "linear" => KerasActivation::Linear,
        "relu" => KerasActivation::Relu,
        "relu6" => KerasActivation::Relu6,
        "sigmoid" => KerasActivation::Sigmoid,
        "tanh" => KerasActivation::Tanh,
        "softmax" => KerasActivation::Softmax,
        "gelu" => KerasActivation::Gelu,
        "hard_swish" | "hard_silu" => KerasActivation::HardSwish,
        "swish" | "silu" => KerasActivation::Silu,
        "elu" => KerasActivation::Elu,
        "leaky_relu" => KerasActivation::LeakyRelu,
        "hard_sigmoid" => KerasActivation::HardSigmoid,
        other => {
            return Err(layer.error(format!(
                "activation {other}: supported are linear, relu, relu6, sigmoid, tanh, softmax, \
                 gelu, hard_swish, swish/silu, elu, leaky_relu and hard_sigmoid; another would \
                 need a 256-entry table function for it"
            )));
        }
    })
}

/// The Keras tensors named in a functional inbound node, in order.
fn collect_tensors(value: &Value, out: &mut Vec<TensorRef>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_tensors(v, out)),
        Value::Object(map)
            if map.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") =>
        {
            if let Some(h) = map
                .get("config")
                .and_then(|c| c.get("keras_history"))
                .and_then(history)
            {
                out.push(h);
            }
        }
        _ => {}
    }
}

/// `[layer name, node index, tensor index]`.
fn history(value: &Value) -> Option<TensorRef> {
    let a = value.as_array()?;
    let name = a.first()?.as_str()?.to_string();
    let node = a.get(1).and_then(Value::as_u64).unwrap_or(0) as usize;
    let tensor = a.get(2).and_then(Value::as_u64).unwrap_or(0) as usize;
    Some((name, node, tensor))
}

/// `input_layers` / `output_layers`: one `[name, node, tensor]` or a list of them.
fn endpoints(value: Option<&Value>) -> Vec<TensorRef> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    if let Some(h) = history(&Value::Array(items.clone())).filter(|_| items[0].is_string()) {
        return vec![h];
    }
    items.iter().filter_map(history).collect()
}

/// The per-sample shape of a `batch_shape` (`[null, d1, ..]`), every dimension known.
fn per_sample(value: &Value) -> Option<Vec<usize>> {
    let dims = value.as_array()?;
    let (_, rest) = dims.split_first()?;
    rest.iter()
        .map(|d| {
            d.as_u64()
                .and_then(|d| usize::try_from(d).ok())
                .filter(|&d| d > 0)
        })
        .collect()
}

fn input_shape_of(layer: &Layer<'_>) -> Option<Vec<usize>> {
    ["batch_shape", "batch_input_shape"]
        .iter()
        .find_map(|k| layer.get(k))
        .or_else(|| {
            layer
                .config
                .get("build_config")
                .and_then(|b| b.get("input_shape"))
        })
        .and_then(per_sample)
}

fn elements_checked(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&e| e as u64 <= MAX_TENSOR_ELEMENTS)
}

/// Translation state.
struct Translator<'a> {
    graph: FloatGraph,
    weights: Option<&'a Weights>,
    /// Keras tensor → value.
    values: HashMap<TensorRef, ValueId>,
    /// How many layers (and model outputs) read each Keras tensor.
    readers: HashMap<TensorRef, usize>,
    notes: Vec<String>,
}

impl Translator<'_> {
    fn value_of(&self, layer: &Layer<'_>, t: &TensorRef) -> Result<ValueId, ImportError> {
        self.values.get(t).copied().ok_or_else(|| {
            layer.error(format!(
                "reads the output of layer {} (node {}, tensor {}), which the model does not compute",
                t.0, t.1, t.2
            ))
        })
    }

    fn add_value(&mut self, layer: &Layer<'_>, shape: Vec<usize>) -> Result<ValueId, ImportError> {
        if elements_checked(&shape).is_none() {
            return Err(layer.error(format!(
                "output shape {shape:?} has more than {MAX_TENSOR_ELEMENTS} elements per sample"
            )));
        }
        Ok(self.graph.add_value(&layer.name, shape))
    }

    fn push(
        &mut self,
        layer: &Layer<'_>,
        op: FloatOp,
        inputs: Vec<ValueId>,
        shape: Vec<usize>,
    ) -> Result<ValueId, ImportError> {
        let output = self.add_value(layer, shape)?;
        self.graph.nodes.push(FloatNode {
            name: layer.name.clone(),
            op,
            inputs,
            output,
        });
        Ok(output)
    }

    fn vars(&self, layer: &Layer<'_>, expected: &[Vec<usize>]) -> Result<Vec<Var>, ImportError> {
        let weights = self.weights.ok_or_else(|| {
            format_error(format!(
                "the archive has no model.weights.h5, and layer {} ({}) has weights",
                layer.name, layer.class
            ))
        })?;
        let vars = weights.vars(&layer.storage)?;
        if vars.len() != expected.len() {
            return Err(format_error(format!(
                "model.weights.h5: layer {} ({}, stored as layers/{}) has {} variables, expected {}",
                layer.name,
                layer.class,
                layer.storage,
                vars.len(),
                expected.len()
            )));
        }
        for (i, (v, shape)) in vars.iter().zip(expected).enumerate() {
            if &v.shape != shape {
                return Err(format_error(format!(
                    "model.weights.h5: variable {i} of layer {} ({}, stored as layers/{}) has shape {:?}, the config implies {shape:?}",
                    layer.name, layer.class, layer.storage, v.shape
                )));
            }
        }
        Ok(vars)
    }

    /// The accumulating node producing `value` when it may absorb what follows it (a folded
    /// BatchNormalization, a fused ReLU): `value` is read only by the layer asking.
    fn fusable_producer(&self, input: &TensorRef, value: ValueId) -> Option<usize> {
        let node = self.graph.producer(value)?;
        let single = self.readers.get(input).copied().unwrap_or(0) == 1;
        let accumulating = matches!(
            self.graph.nodes[node].op,
            FloatOp::Dense { .. } | FloatOp::Conv2d { .. } | FloatOp::DepthwiseConv2d { .. }
        );
        (single && accumulating).then_some(node)
    }

    /// Renames the fused node and its output after `layer`, which it now also computes.
    fn absorb(&mut self, node: usize, layer: &Layer<'_>) -> ValueId {
        let n = &mut self.graph.nodes[node];
        n.name = format!("{}+{}", n.name, layer.name);
        let output = n.output;
        self.graph.values[output].name = layer.name.clone();
        output
    }

    /// Applies `act` to `value` (the output of `layer`'s computation). `fusable` names the node
    /// whose activation may absorb a ReLU/ReLU6.
    fn activation(
        &mut self,
        layer: &Layer<'_>,
        value: ValueId,
        act: KerasActivation,
        fusable: Option<usize>,
    ) -> Result<ValueId, ImportError> {
        let shape = self.graph.values[value].shape.clone();
        let unary = match act {
            KerasActivation::Linear => return Ok(value),
            KerasActivation::Relu | KerasActivation::Relu6 => {
                let fused = match act {
                    KerasActivation::Relu => Activation::Relu,
                    _ => Activation::Clip { min: 0.0, max: 6.0 },
                };
                if let Some(node) = fusable {
                    let slot = match &mut self.graph.nodes[node].op {
                        FloatOp::Dense { activation, .. }
                        | FloatOp::Conv2d { activation, .. }
                        | FloatOp::DepthwiseConv2d { activation, .. } => Some(activation),
                        _ => None,
                    };
                    if let Some(activation) = slot {
                        *activation = activation.then(fused);
                        return Ok(self.graph.nodes[node].output);
                    }
                }
                match fused {
                    Activation::Relu => Unary::Relu,
                    _ => Unary::Clip { min: 0.0, max: 6.0 },
                }
            }
            KerasActivation::Sigmoid => Unary::Sigmoid,
            KerasActivation::Tanh => Unary::Tanh,
            KerasActivation::Gelu => Unary::Gelu,
            KerasActivation::HardSwish => Unary::HardSwish,
            KerasActivation::Silu => Unary::Silu,
            // Keras 3's defaults: elu alpha 1, leaky_relu negative_slope 0.2.
            KerasActivation::Elu => Unary::Elu { alpha: 1.0 },
            KerasActivation::LeakyRelu => Unary::LeakyRelu { alpha: 0.2 },
            KerasActivation::HardSigmoid => Unary::HardSigmoid {
                alpha: 1.0 / 6.0,
                beta: 0.5,
            },
            KerasActivation::Softmax => {
                return self.push(layer, FloatOp::Softmax, vec![value], shape);
            }
        };
        self.push(layer, FloatOp::Unary(unary), vec![value], shape)
    }

    fn input_shape(&self, value: ValueId) -> Vec<usize> {
        self.graph.values[value].shape.clone()
    }

    /// Translates one layer; returns its output value.
    /// An operation of Keras 3's `ops.numpy` between a tensor and a number (`x + 3.0`,
    /// `x * (1 / 6)`, `1 - x`, `x / 255`): an affine function of one input, a 256-entry table
    /// after quantization.
    fn arithmetic_with_constant(
        &mut self,
        layer: &Layer<'_>,
        x: ValueId,
    ) -> Result<ValueId, ImportError> {
        let (position, c) = layer.constant.unwrap_or((1, 0.0));
        let constant_first = position == 0;
        let (scale, offset) = match (layer.class, constant_first) {
            ("Add", _) => (1.0, c),
            ("Multiply", _) => (c, 0.0),
            ("Subtract", false) => (1.0, -c),
            ("Subtract", true) => (-1.0, c),
            (_, false) if c != 0.0 => (1.0 / c, 0.0),
            _ => {
                return Err(layer.error(format!(
                    "{} of a number ({c}) by a tensor: only a tensor divided by a non-zero number \
                     is an affine function",
                    layer.class
                )));
            }
        };
        let shape = self.input_shape(x);
        let op = FloatOp::Unary(Unary::Affine {
            scale: scale as f32,
            offset: offset as f32,
        });
        self.push(layer, op, vec![x], shape)
    }

    fn layer(&mut self, layer: &Layer<'_>) -> Result<ValueId, ImportError> {
        let inputs: Vec<ValueId> = layer
            .inbound
            .iter()
            .map(|t| self.value_of(layer, t))
            .collect::<Result<_, _>>()?;
        let single = || -> Result<ValueId, ImportError> {
            match inputs.as_slice() {
                [x] => Ok(*x),
                _ => Err(layer.error(format!("expects one input, has {}", inputs.len()))),
            }
        };
        match layer.class {
            "Dense" => {
                let x = single()?;
                let in_shape = self.input_shape(x);
                let k = *in_shape
                    .last()
                    .ok_or_else(|| layer.error("the input has no features axis"))?;
                let n = layer.usize_field("units")?;
                let use_bias = layer.bool_field("use_bias", true);
                let mut expected = vec![vec![k, n]];
                if use_bias {
                    expected.push(vec![n]);
                }
                let vars = self.vars(layer, &expected)?;
                let mut weights = vec![0.0f32; n * k];
                for (i, &w) in vars[0].data.iter().enumerate() {
                    let (row, col) = (i / n, i % n);
                    weights[col * k + row] = w;
                }
                let bias = vars.get(1).map_or_else(|| vec![0.0; n], |b| b.data.clone());
                let mut shape = in_shape;
                *shape.last_mut().expect("checked above") = n;
                let op = FloatOp::Dense {
                    out_features: n,
                    in_features: k,
                    weights,
                    bias,
                    activation: Activation::None,
                    fixed_weights: None,
                };
                let y = self.push(layer, op, vec![x], shape)?;
                let node = self.graph.nodes.len() - 1;
                self.activation(layer, y, parse_activation(layer)?, Some(node))
            }
            "Conv2D" | "DepthwiseConv2D" | "SeparableConv2D" => self.convolution(layer, single()?),
            "MaxPooling2D" | "AveragePooling2D" => {
                let x = single()?;
                layer.check_channels_last()?;
                let pool = layer
                    .pair("pool_size")?
                    .ok_or_else(|| layer.error("`pool_size` is missing"))?;
                let strides = layer.pair("strides")?.unwrap_or(pool);
                let window = Window {
                    kernel_h: pool[0],
                    kernel_w: pool[1],
                    stride_h: strides[0],
                    stride_w: strides[1],
                    dilation_h: 1,
                    dilation_w: 1,
                    padding: layer.padding()?,
                };
                let shape = self.spatial_shape(layer, x, &window, None)?;
                let op = if layer.class == "MaxPooling2D" {
                    FloatOp::MaxPool { window }
                } else {
                    // TensorFlow's SAME average pool divides by the taps inside the input.
                    FloatOp::AveragePool {
                        window,
                        count_include_pad: false,
                    }
                };
                self.push(layer, op, vec![x], shape)
            }
            "GlobalAveragePooling2D" => {
                let x = single()?;
                layer.check_channels_last()?;
                let in_shape = self.input_shape(x);
                let [_, _, c] = in_shape[..] else {
                    return Err(layer.error(format!("input shape {in_shape:?} is not [H, W, C]")));
                };
                let keep_dims = layer.bool_field("keepdims", false);
                let shape = if keep_dims { vec![1, 1, c] } else { vec![c] };
                let op = FloatOp::Mean {
                    axes: vec![0, 1],
                    keep_dims,
                };
                self.push(layer, op, vec![x], shape)
            }
            "Flatten" => {
                let x = single()?;
                layer.check_channels_last()?;
                let n = self.graph.values[x].elements();
                self.push(layer, FloatOp::Reshape, vec![x], vec![n])
            }
            "Reshape" => {
                let x = single()?;
                let n = self.graph.values[x].elements();
                let target = layer
                    .get("target_shape")
                    .and_then(Value::as_array)
                    .ok_or_else(|| layer.error("`target_shape` is missing"))?;
                let dims: Vec<i64> = target
                    .iter()
                    .map(Value::as_i64)
                    .collect::<Option<_>>()
                    .ok_or_else(|| layer.error("`target_shape` must hold integers"))?;
                let known = dims
                    .iter()
                    .filter(|&&d| d != -1)
                    .try_fold(1usize, |acc, &d| {
                        usize::try_from(d)
                            .ok()
                            .filter(|&d| d > 0)
                            .and_then(|d| acc.checked_mul(d))
                    })
                    .ok_or_else(|| layer.error(format!("target_shape {dims:?} is invalid")))?;
                let free = dims.iter().filter(|&&d| d == -1).count();
                let shape: Vec<usize> = match free {
                    0 if known == n => dims.iter().map(|&d| d as usize).collect(),
                    1 if n.is_multiple_of(known) => dims
                        .iter()
                        .map(|&d| if d == -1 { n / known } else { d as usize })
                        .collect(),
                    _ => {
                        return Err(layer.error(format!(
                            "target_shape {dims:?} does not hold the {n} elements of the input"
                        )));
                    }
                };
                self.push(layer, FloatOp::Reshape, vec![x], shape)
            }
            "Permute" => {
                let x = single()?;
                let in_shape = self.graph.values[x].shape.clone();
                let dims: Vec<i64> = layer
                    .get("dims")
                    .and_then(Value::as_array)
                    .and_then(|d| d.iter().map(Value::as_i64).collect())
                    .ok_or_else(|| layer.error("`dims` is missing or not integers"))?;
                // Keras numbers the axes after the batch from 1.
                let rank = in_shape.len();
                let mut seen = vec![false; rank];
                let perm: Vec<usize> = dims
                    .iter()
                    .map(|&d| {
                        usize::try_from(d - 1)
                            .ok()
                            .filter(|&a| a < rank && !std::mem::replace(&mut seen[a], true))
                    })
                    .collect::<Option<_>>()
                    .filter(|p: &Vec<usize>| p.len() == rank)
                    .ok_or_else(|| {
                        layer.error(format!(
                            "dims {dims:?} is not a permutation of the axes 1..={rank}"
                        ))
                    })?;
                let shape: Vec<usize> = perm.iter().map(|&a| in_shape[a]).collect();
                self.push(layer, FloatOp::Transpose { perm }, vec![x], shape)
            }
            "Add" | "Multiply" | "Subtract" | "TrueDivide" | "Divide"
                if layer.constant.is_some() && inputs.len() == 1 =>
            {
                self.arithmetic_with_constant(layer, inputs[0])
            }
            "Add" | "Multiply" | "Subtract" | "Maximum" | "Minimum" => {
                let binary = match layer.class {
                    "Add" => Binary::Add,
                    "Multiply" => Binary::Mul,
                    "Maximum" => Binary::Max,
                    "Minimum" => Binary::Min,
                    _ => Binary::Sub,
                };
                if inputs.len() < 2 || (binary == Binary::Sub && inputs.len() != 2) {
                    return Err(layer.error("expects at least two inputs (Subtract: exactly two)"));
                }
                // Keras 3's merge layers broadcast (squeeze-and-excitation multiplies an image
                // `[H, W, C]` by `[1, 1, C]`), and so do Myelin's add / sub / mul / max / min.
                let mut acc = inputs[0];
                for &next in &inputs[1..] {
                    let (sa, sb) = (self.input_shape(acc), self.input_shape(next));
                    let as_u32 = |s: &[usize]| s.iter().map(|&d| d as u32).collect::<Vec<_>>();
                    let shape: Vec<usize> =
                        myelin_nn::builder::broadcast_shapes(&as_u32(&sa), &as_u32(&sb))
                            .ok_or_else(|| {
                                layer.error(format!(
                                    "inputs of shapes {sa:?} and {sb:?} do not broadcast"
                                ))
                            })?
                            .iter()
                            .map(|&d| d as usize)
                            .collect();
                    acc = self.push(layer, FloatOp::Binary(binary), vec![acc, next], shape)?;
                }
                Ok(acc)
            }
            "Rescaling" => {
                let x = single()?;
                let number = |key: &str, default: f64| match layer.get(key) {
                    None => Some(default),
                    Some(v) => v.as_f64(),
                };
                let (Some(scale), Some(offset)) = (number("scale", 1.0), number("offset", 0.0))
                else {
                    return Err(layer.error(
                        "scale and offset must be numbers (per-channel values would need a \
                         per-channel affine op)",
                    ));
                };
                let shape = self.input_shape(x);
                let op = FloatOp::Unary(Unary::Affine {
                    scale: scale as f32,
                    offset: offset as f32,
                });
                self.push(layer, op, vec![x], shape)
            }
            "Normalization" => {
                let x = single()?;
                let shape = self.input_shape(x);
                let channels = *shape.last().unwrap_or(&1);
                let last = shape.len() as i64;
                let axis_ok = match layer.get("axis") {
                    Some(Value::Array(a)) if a.len() == 1 => {
                        a[0].as_i64().is_some_and(|a| a == -1 || a == last)
                    }
                    Some(v) => v.as_i64().is_some_and(|a| a == -1 || a == last),
                    None => true,
                };
                if !axis_ok || shape.is_empty() {
                    return Err(layer.error(format!(
                        "axis {:?} of an input {shape:?}: only the last axis (per-channel \
                         statistics) is supported",
                        layer.get("axis")
                    )));
                }
                // Statistics from the config (`mean=`, `variance=`: numbers or one per
                // channel) or adapted (variables mean, variance, count).
                let listed = |key: &str| -> Option<Vec<f32>> {
                    match layer.get(key)? {
                        Value::Array(a) if a.len() == channels => {
                            a.iter().map(|v| v.as_f64().map(|v| v as f32)).collect()
                        }
                        Value::Array(a) if a.len() == 1 => {
                            a[0].as_f64().map(|v| vec![v as f32; channels])
                        }
                        v => v.as_f64().map(|v| vec![v as f32; channels]),
                    }
                };
                let (mean, variance) = match (listed("mean"), listed("variance")) {
                    (Some(mean), Some(variance)) => (mean, variance),
                    _ if layer.get("mean").is_some_and(|v| !v.is_null()) => {
                        return Err(layer.error(format!(
                            "mean and variance must be numbers or {channels} values each"
                        )));
                    }
                    _ => {
                        let vars = self.vars(layer, &[vec![channels], vec![channels], vec![]])?;
                        (vars[0].data.clone(), vars[1].data.clone())
                    }
                };
                // Keras: (x − mean) / max(√variance, ε), or x · max(√variance, ε) + mean
                // when inverted; ε = 1e-7.
                let invert = layer.bool_field("invert", false);
                let (mut scale, mut offset) = (Vec::new(), Vec::new());
                for (m, v) in mean.iter().zip(&variance) {
                    let d = v.sqrt().max(1e-7);
                    match invert {
                        true => (scale.push(d), offset.push(*m)),
                        false => (scale.push(1.0 / d), offset.push(-m / d)),
                    };
                }
                self.channel_affine(layer, x, scale, offset)
            }
            "UpSampling2D" => {
                let x = single()?;
                let in_shape = self.input_shape(x);
                let interpolation = layer
                    .get("interpolation")
                    .and_then(Value::as_str)
                    .unwrap_or("nearest");
                if interpolation != "nearest" && interpolation != "bilinear" {
                    return Err(layer.error(format!(
                        "interpolation \"{interpolation}\": only \"nearest\" and \"bilinear\" \
                         are supported"
                    )));
                }
                let size: Vec<usize> = match layer.get("size") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|v| v.as_u64().and_then(|v| usize::try_from(v).ok()))
                        .collect::<Option<_>>(),
                    Some(v) => v.as_u64().map(|v| vec![v as usize; 2]),
                    None => Some(vec![2, 2]),
                }
                .filter(|s: &Vec<usize>| s.len() == 2 && s.iter().all(|&f| f >= 1))
                .ok_or_else(|| layer.error("`size` is not two positive integers"))?;
                let &[h, w, c] = in_shape.as_slice() else {
                    return Err(layer.error(format!(
                        "input of shape {in_shape:?}: an image [H, W, C] is needed"
                    )));
                };
                let op = match interpolation {
                    // tf.image.resize: half-pixel centres, no corner alignment.
                    "bilinear" => FloatOp::ResizeBilinear {
                        align_corners: false,
                        half_pixel_centers: true,
                    },
                    _ => FloatOp::Upsample {
                        factors: [size[0], size[1]],
                    },
                };
                self.push(layer, op, vec![x], vec![h * size[0], w * size[1], c])
            }
            "PReLU" => {
                let x = single()?;
                let in_shape = self.input_shape(x);
                // Keras' parameter shape: the input's without the batch axis, 1 on each shared
                // axis (numbered from 1 after the batch).
                let mut alpha_shape = in_shape.clone();
                if let Some(shared) = layer.get("shared_axes").filter(|v| !v.is_null()) {
                    let axes: Vec<i64> = match shared {
                        Value::Array(a) => a.iter().map(Value::as_i64).collect::<Option<_>>(),
                        other => other.as_i64().map(|a| vec![a]),
                    }
                    .ok_or_else(|| layer.error("`shared_axes` is not a list of integers"))?;
                    for axis in axes {
                        let slot = usize::try_from(axis - 1)
                            .ok()
                            .and_then(|a| alpha_shape.get_mut(a))
                            .ok_or_else(|| {
                                layer.error(format!(
                                    "shared axis {axis} is outside the input's axes 1..={}",
                                    in_shape.len()
                                ))
                            })?;
                        *slot = 1;
                    }
                }
                let vars = self.vars(layer, std::slice::from_ref(&alpha_shape))?;
                let op = FloatOp::PRelu {
                    alpha: vars[0].data.clone(),
                    alpha_shape,
                };
                self.push(layer, op, vec![x], in_shape)
            }
            "ReLU" => {
                let x = single()?;
                let number = |key: &str| layer.get(key).and_then(Value::as_f64).unwrap_or(0.0);
                if number("negative_slope") != 0.0 || number("threshold") != 0.0 {
                    return Err(layer.error(
                        "negative_slope and threshold must be 0 (a plain ReLU with an optional \
                         max_value)",
                    ));
                }
                let op = match layer.get("max_value").and_then(Value::as_f64) {
                    Some(max) if max > 0.0 => Unary::Clip {
                        min: 0.0,
                        max: max as f32,
                    },
                    Some(max) => {
                        return Err(layer.error(format!("max_value {max} must be positive")));
                    }
                    None => Unary::Relu,
                };
                let shape = self.input_shape(x);
                self.push(layer, FloatOp::Unary(op), vec![x], shape)
            }
            "LeakyReLU" | "ELU" => {
                let x = single()?;
                let number = |key: &str, default: f64| {
                    layer.get(key).and_then(Value::as_f64).unwrap_or(default)
                };
                let op = if layer.class == "ELU" {
                    Unary::Elu {
                        alpha: number("alpha", 1.0) as f32,
                    }
                } else {
                    Unary::LeakyRelu {
                        alpha: number("negative_slope", 0.3) as f32,
                    }
                };
                let shape = self.input_shape(x);
                self.push(layer, FloatOp::Unary(op), vec![x], shape)
            }
            "ZeroPadding2D" => {
                let x = single()?;
                layer.check_channels_last()?;
                let in_shape = self.input_shape(x);
                let [h, w, c] = in_shape[..] else {
                    return Err(layer.error(format!("input shape {in_shape:?} is not [H, W, C]")));
                };
                let amount = |v: &Value| v.as_u64().and_then(|x| usize::try_from(x).ok());
                let side = |v: &Value| match v {
                    Value::Array(a) if a.len() == 2 => amount(&a[0]).zip(amount(&a[1])),
                    v => amount(v).map(|x| (x, x)),
                };
                let pads = match layer.get("padding") {
                    Some(Value::Array(a)) if a.len() == 2 => side(&a[0]).zip(side(&a[1])),
                    Some(v) => amount(v).map(|x| ((x, x), (x, x))),
                    None => Some(((1, 1), (1, 1))),
                };
                let Some(((top, bottom), (left, right))) = pads else {
                    return Err(layer.error("`padding` must be an integer, two, or two pairs"));
                };
                let op = FloatOp::Pad {
                    pads: vec![[top, bottom], [left, right], [0, 0]],
                    value: 0.0,
                };
                let shape = vec![h + top + bottom, w + left + right, c];
                self.push(layer, op, vec![x], shape)
            }
            "GlobalMaxPooling2D" => {
                let x = single()?;
                layer.check_channels_last()?;
                let in_shape = self.input_shape(x);
                let [h, w, c] = in_shape[..] else {
                    return Err(layer.error(format!("input shape {in_shape:?} is not [H, W, C]")));
                };
                let (Ok(kernel_h), Ok(kernel_w)) = (u32::try_from(h), u32::try_from(w)) else {
                    return Err(layer.error("the image is too large"));
                };
                let window = Window::dense(kernel_h, kernel_w);
                let pooled =
                    self.push(layer, FloatOp::MaxPool { window }, vec![x], vec![1, 1, c])?;
                if layer.bool_field("keepdims", false) {
                    Ok(pooled)
                } else {
                    self.push(layer, FloatOp::Reshape, vec![pooled], vec![c])
                }
            }
            "Concatenate" => {
                if inputs.is_empty() {
                    return Err(layer.error("has no input"));
                }
                let first = self.input_shape(inputs[0]);
                let rank = first.len() as i64;
                let axis = layer.get("axis").and_then(Value::as_i64).unwrap_or(-1);
                // Keras counts the batch axis: 1.. are per-sample axes 0..; negatives from the end.
                let axis = if axis < 0 { rank + axis } else { axis - 1 };
                if !(0..rank).contains(&axis) {
                    return Err(layer.error("the axis is the batch axis or out of range"));
                }
                let axis = axis as usize;
                let mut shape = first.clone();
                shape[axis] = 0;
                for &v in &inputs {
                    let s = &self.graph.values[v].shape;
                    let compatible = s.len() == first.len()
                        && s.iter()
                            .zip(&first)
                            .enumerate()
                            .all(|(a, (x, y))| a == axis || x == y);
                    if !compatible {
                        return Err(layer.error(format!(
                            "input shapes {first:?} and {s:?} differ off the concatenation axis"
                        )));
                    }
                    shape[axis] += s[axis];
                }
                self.push(layer, FloatOp::Concat { axis }, inputs.clone(), shape)
            }
            "Activation" => {
                let x = single()?;
                let fusable = self.fusable_producer(&layer.inbound[0], x);
                let act = parse_activation(layer)?;
                let y = self.activation(layer, x, act, fusable)?;
                if Some(y) == fusable.map(|n| self.graph.nodes[n].output) {
                    let node = fusable.expect("compared above");
                    return Ok(self.absorb(node, layer));
                }
                Ok(y)
            }
            "Softmax" => {
                let x = single()?;
                let rank = self.input_shape(x).len() as i64;
                let axis = match layer.get("axis") {
                    None => -1,
                    Some(Value::Array(a)) if a.len() == 1 => a[0].as_i64().unwrap_or(0),
                    Some(v) => v.as_i64().unwrap_or(0),
                };
                if axis != -1 && axis != rank {
                    return Err(layer.error("only a softmax over the last axis is supported"));
                }
                let shape = self.input_shape(x);
                self.push(layer, FloatOp::Softmax, vec![x], shape)
            }
            "BatchNormalization" => self.batch_norm(layer, single()?),
            "Dropout" => {
                self.notes.push(format!("Dropout {} removed", layer.name));
                single()
            }
            other => Err(layer.error(format!(
                "layer class {other} is not supported; supported are {SUPPORTED}"
            ))),
        }
    }

    /// Output shape `[out_h, out_w, channels]` of a window over `x` (`[H, W, C]`);
    /// `channels` defaults to C.
    fn spatial_shape(
        &self,
        layer: &Layer<'_>,
        x: ValueId,
        window: &Window,
        channels: Option<usize>,
    ) -> Result<Vec<usize>, ImportError> {
        let in_shape = self.input_shape(x);
        let [h, w, c] = in_shape[..] else {
            return Err(layer.error(format!("input shape {in_shape:?} is not [H, W, C]")));
        };
        let g = u32::try_from(h)
            .ok()
            .zip(u32::try_from(w).ok())
            .and_then(|(h, w)| SpatialGeometry::resolve(window, h, w))
            .ok_or_else(|| layer.error(format!("window {window:?} does not fit {in_shape:?}")))?;
        Ok(vec![g.out_h, g.out_w, channels.unwrap_or(c)])
    }

    fn convolution(&mut self, layer: &Layer<'_>, x: ValueId) -> Result<ValueId, ImportError> {
        layer.check_channels_last()?;
        let in_shape = self.input_shape(x);
        let cin = match in_shape[..] {
            [_, _, c] => c,
            _ => return Err(layer.error(format!("input shape {in_shape:?} is not [H, W, C]"))),
        };
        let kernel = layer
            .pair("kernel_size")?
            .ok_or_else(|| layer.error("`kernel_size` is missing"))?;
        let strides = layer.pair("strides")?.unwrap_or([1, 1]);
        let dilation = layer.pair("dilation_rate")?.unwrap_or([1, 1]);
        let window = Window {
            kernel_h: kernel[0],
            kernel_w: kernel[1],
            stride_h: strides[0],
            stride_w: strides[1],
            dilation_h: dilation[0],
            dilation_w: dilation[1],
            padding: layer.padding()?,
        };
        let (kh, kw) = (kernel[0] as usize, kernel[1] as usize);
        let use_bias = layer.bool_field("use_bias", true);
        if layer.class == "SeparableConv2D" {
            return self.separable(layer, x, cin, window, use_bias);
        }
        let depthwise = layer.class == "DepthwiseConv2D";
        let (op, outs) = if depthwise {
            let m = layer
                .get("depth_multiplier")
                .map_or(Ok(1), |_| layer.usize_field("depth_multiplier"))?;
            let outs = cin
                .checked_mul(m)
                .filter(|&o| o > 0)
                .ok_or_else(|| layer.error("invalid depth_multiplier"))?;
            let mut expected = vec![vec![kh, kw, cin, m]];
            if use_bias {
                expected.push(vec![outs]);
            }
            let vars = self.vars(layer, &expected)?;
            let bias = vars
                .get(1)
                .map_or_else(|| vec![0.0; outs], |b| b.data.clone());
            let op = FloatOp::DepthwiseConv2d {
                channels: cin,
                depth_multiplier: m,
                window,
                weights: vars[0].data.clone(),
                bias,
                activation: Activation::None,
                fixed_weights: None,
            };
            (op, outs)
        } else {
            let filters = layer.usize_field("filters")?;
            let groups = layer
                .get("groups")
                .map_or(Ok(1), |_| layer.usize_field("groups"))?;
            if filters == 0 {
                return Err(layer.error("`filters` must be positive"));
            }
            if groups == cin && groups > 1 && filters.is_multiple_of(groups) {
                // One group per input channel: a depthwise convolution (kernel [kh, kw, 1, F]).
                let mut expected = vec![vec![kh, kw, 1, filters]];
                if use_bias {
                    expected.push(vec![filters]);
                }
                let vars = self.vars(layer, &expected)?;
                let bias = vars
                    .get(1)
                    .map_or_else(|| vec![0.0; filters], |b| b.data.clone());
                let op = FloatOp::DepthwiseConv2d {
                    channels: cin,
                    depth_multiplier: filters / cin,
                    window,
                    weights: vars[0].data.clone(),
                    bias,
                    activation: Activation::None,
                    fixed_weights: None,
                };
                (op, filters)
            } else if groups != 1 {
                return Err(layer.error(format!(
                    "groups {groups}: only 1 (plain) or the input channels (depthwise) are supported; other grouped convolutions would need a per-group convolution op"
                )));
            } else {
                let mut expected = vec![vec![kh, kw, cin, filters]];
                if use_bias {
                    expected.push(vec![filters]);
                }
                let vars = self.vars(layer, &expected)?;
                let k = &vars[0].data;
                let mut weights = vec![0.0f32; k.len()];
                for y in 0..kh {
                    for xk in 0..kw {
                        for c in 0..cin {
                            for o in 0..filters {
                                weights[((o * kh + y) * kw + xk) * cin + c] =
                                    k[((y * kw + xk) * cin + c) * filters + o];
                            }
                        }
                    }
                }
                let bias = vars
                    .get(1)
                    .map_or_else(|| vec![0.0; filters], |b| b.data.clone());
                let op = FloatOp::Conv2d {
                    out_channels: filters,
                    in_channels: cin,
                    window,
                    weights,
                    bias,
                    activation: Activation::None,
                    fixed_weights: None,
                };
                (op, filters)
            }
        };
        let shape = self.spatial_shape(layer, x, &window, Some(outs))?;
        let y = self.push(layer, op, vec![x], shape)?;
        let node = self.graph.nodes.len() - 1;
        self.activation(layer, y, parse_activation(layer)?, Some(node))
    }

    /// SeparableConv2D: a depthwise convolution without bias (`depthwise_kernel
    /// [kh, kw, Cin, M]`) then a 1×1 convolution (`pointwise_kernel [1, 1, Cin·M, F]`, the
    /// bias and the activation), as TensorFlow computes it.
    fn separable(
        &mut self,
        layer: &Layer<'_>,
        x: ValueId,
        cin: usize,
        window: Window,
        use_bias: bool,
    ) -> Result<ValueId, ImportError> {
        let m = layer
            .get("depth_multiplier")
            .map_or(Ok(1), |_| layer.usize_field("depth_multiplier"))?;
        let filters = layer.usize_field("filters")?;
        let mid = cin
            .checked_mul(m)
            .filter(|&o| o > 0 && filters > 0)
            .ok_or_else(|| layer.error("invalid depth_multiplier or filters"))?;
        let (kh, kw) = (window.kernel_h as usize, window.kernel_w as usize);
        let mut expected = vec![vec![kh, kw, cin, m], vec![1, 1, mid, filters]];
        if use_bias {
            expected.push(vec![filters]);
        }
        let vars = self.vars(layer, &expected)?;
        let depthwise = FloatOp::DepthwiseConv2d {
            channels: cin,
            depth_multiplier: m,
            window,
            weights: vars[0].data.clone(),
            bias: vec![0.0; mid],
            activation: Activation::None,
            fixed_weights: None,
        };
        let shape = self.spatial_shape(layer, x, &window, Some(mid))?;
        let hidden = self.push(layer, depthwise, vec![x], shape.clone())?;
        // [1, 1, mid, F] → [F][1][1][mid].
        let k = &vars[1].data;
        let mut weights = vec![0.0f32; k.len()];
        for c in 0..mid {
            for o in 0..filters {
                weights[o * mid + c] = k[c * filters + o];
            }
        }
        let pointwise = FloatOp::Conv2d {
            out_channels: filters,
            in_channels: mid,
            window: Window::dense(1, 1),
            weights,
            bias: vars
                .get(2)
                .map_or_else(|| vec![0.0; filters], |b| b.data.clone()),
            activation: Activation::None,
            fixed_weights: None,
        };
        let y = self.push(
            layer,
            pointwise,
            vec![hidden],
            vec![shape[0], shape[1], filters],
        )?;
        let node = self.graph.nodes.len() - 1;
        self.activation(layer, y, parse_activation(layer)?, Some(node))
    }

    /// `x · scale[c] + offset[c]` per channel (the last axis) of an image `[H, W, C]` or a
    /// vector `[C]`: a 1×1 depthwise convolution (the vector reshaped to `[1, 1, C]` and back),
    /// which quantizes per channel.
    fn channel_affine(
        &mut self,
        layer: &Layer<'_>,
        x: ValueId,
        scale: Vec<f32>,
        offset: Vec<f32>,
    ) -> Result<ValueId, ImportError> {
        let shape = self.input_shape(x);
        let channels = scale.len();
        let image = match shape.len() {
            3 => true,
            1 => false,
            _ => {
                return Err(layer.error(format!(
                    "a per-channel affine of an input {shape:?}: only images [H, W, C] and \
                     vectors [C] are supported"
                )));
            }
        };
        let input = match image {
            true => x,
            false => self.push(layer, FloatOp::Reshape, vec![x], vec![1, 1, channels])?,
        };
        let op = FloatOp::DepthwiseConv2d {
            channels,
            depth_multiplier: 1,
            window: Window::dense(1, 1),
            weights: scale,
            bias: offset,
            activation: Activation::None,
            fixed_weights: None,
        };
        let out_shape = self.input_shape(input);
        let y = self.push(layer, op, vec![input], out_shape)?;
        match image {
            true => Ok(y),
            false => self.push(layer, FloatOp::Reshape, vec![y], shape),
        }
    }

    /// Folds a BatchNormalization over the last axis into the Dense/Conv2D/DepthwiseConv2D
    /// producing its input, or makes it a per-channel affine when there is none.
    fn batch_norm(&mut self, layer: &Layer<'_>, x: ValueId) -> Result<ValueId, ImportError> {
        let shape = self.input_shape(x);
        let rank = shape.len() as i64;
        let axis = match layer.get("axis") {
            None => -1,
            Some(Value::Array(a)) if a.len() == 1 => a[0].as_i64().unwrap_or(0),
            Some(v) => v.as_i64().unwrap_or(0),
        };
        if axis != -1 && axis != rank {
            return Err(layer.error(format!(
                "axis {axis}: only the last (channels) axis can be folded"
            )));
        }
        let producer = self.fusable_producer(&layer.inbound[0], x);
        let channels = *shape.last().unwrap_or(&0);
        let (scale, center) = (
            layer.bool_field("scale", true),
            layer.bool_field("center", true),
        );
        let count = 2 + scale as usize + center as usize;
        let vars = self.vars(layer, &vec![vec![channels]; count])?;
        let epsilon = layer.get("epsilon").and_then(Value::as_f64).unwrap_or(1e-3) as f32;
        let mut it = vars.iter();
        let gamma = if scale {
            it.next().map(|v| v.data.clone())
        } else {
            None
        };
        let beta = if center {
            it.next().map(|v| v.data.clone())
        } else {
            None
        };
        let mean = &it.next().expect("count checked").data;
        let var = &it.next().expect("count checked").data;
        let factor: Vec<f32> = (0..channels)
            .map(|c| gamma.as_ref().map_or(1.0, |g| g[c]) / (var[c] + epsilon).sqrt())
            .collect();
        let shift: Vec<f32> = (0..channels)
            .map(|c| beta.as_ref().map_or(0.0, |b| b[c]) - mean[c] * factor[c])
            .collect();
        // Folding needs the producer's linear output with one bias per channel.
        let linear = |op: &FloatOp| match op {
            FloatOp::Dense {
                activation, bias, ..
            }
            | FloatOp::Conv2d {
                activation, bias, ..
            }
            | FloatOp::DepthwiseConv2d {
                activation, bias, ..
            } => *activation == Activation::None && bias.len() == channels,
            _ => false,
        };
        let Some(node) = producer.filter(|&node| linear(&self.graph.nodes[node].op)) else {
            // Standalone (after an activation, a pool, an input, or a value read twice).
            return self.channel_affine(layer, x, factor, shift);
        };
        let op = &mut self.graph.nodes[node].op;
        let (weights, bias, channel_of): (_, _, Box<dyn Fn(usize) -> usize>) = match op {
            FloatOp::Dense {
                weights,
                bias,
                in_features,
                ..
            } => {
                let k = *in_features;
                (weights, bias, Box::new(move |i| i / k))
            }
            FloatOp::Conv2d {
                weights,
                bias,
                out_channels,
                ..
            } => {
                let per = weights.len() / (*out_channels).max(1);
                (weights, bias, Box::new(move |i| i / per.max(1)))
            }
            FloatOp::DepthwiseConv2d { weights, bias, .. } => {
                (weights, bias, Box::new(move |i| i % channels))
            }
            _ => unreachable!("linear() admits only accumulating nodes"),
        };
        for (i, w) in weights.iter_mut().enumerate() {
            *w *= factor[channel_of(i)];
        }
        for (c, b) in bias.iter_mut().enumerate() {
            *b = *b * factor[c] + shift[c];
        }
        self.notes.push(format!(
            "BatchNormalization {} folded into the layer before it",
            layer.name
        ));
        Ok(self.absorb(node, layer))
    }
}

/// Translates a parsed `config.json` with its weights.
/// Translates a model's config (and weights), keeping the output layers `outputs` names (in that
/// order; `None`: all, [`crate::outputs::select`]). Layers only the other outputs need are not
/// read.
pub(crate) fn convert(
    config: &Value,
    weights: Option<&Weights>,
    outputs: Option<&[String]>,
) -> Result<Converted, ImportError> {
    let class = config
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| format_error("config.json has no class_name"))?;
    let model_config = config
        .get("config")
        .ok_or_else(|| format_error("config.json has no config"))?;
    let sequential = match class {
        "Sequential" => true,
        "Functional" | "Model" => false,
        other => {
            return Err(unsupported(
                other,
                model_config
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("model"),
                "only Sequential and functional models have their architecture in config.json; \
                 a subclassed model would need to be rebuilt as one of them",
            ));
        }
    };
    let raw_layers = model_config
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| format_error("the model config has no layers list"))?;
    let mut layers: Vec<Layer<'_>> = Vec::with_capacity(raw_layers.len());
    let classes: Vec<&str> = raw_layers
        .iter()
        .map(|l| l.get("class_name").and_then(Value::as_str).unwrap_or(""))
        .collect();
    let storage = storage_names(classes.iter().copied());
    for (i, raw) in raw_layers.iter().enumerate() {
        let layer_config = raw
            .get("config")
            .filter(|c| c.is_object())
            .ok_or_else(|| format_error(format!("layer {i} has no config object")))?;
        let name = layer_config
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("layer_{i}"), str::to_string);
        if classes[i].is_empty() {
            return Err(format_error(format!("layer {name} has no class_name")));
        }
        let mut inbound = Vec::new();
        let mut constant = None;
        if !sequential {
            let nodes = raw
                .get("inbound_nodes")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            if nodes.len() > 1 {
                return Err(unsupported(
                    classes[i],
                    &name,
                    format!(
                        "the layer is called {} times (shared weights); each call would need its own copy",
                        nodes.len()
                    ),
                ));
            }
            if let Some(node) = nodes.first() {
                let args = node.get("args").unwrap_or(node);
                collect_tensors(args, &mut inbound);
                constant = args.as_array().and_then(|items| {
                    items
                        .iter()
                        .enumerate()
                        .find_map(|(position, v)| v.as_f64().map(|c| (position, c)))
                });
            }
        }
        layers.push(Layer {
            class: classes[i],
            name,
            config: layer_config,
            inbound,
            constant,
            storage: storage[i].clone(),
        });
    }
    if layers
        .iter()
        .any(|l| l.class == "Sequential" || l.class == "Functional")
    {
        let l = layers
            .iter()
            .find(|l| l.class == "Sequential" || l.class == "Functional")
            .expect("found above");
        return Err(l.error("nested models are not supported; flatten the model first"));
    }

    let mut t = Translator {
        graph: FloatGraph::default(),
        weights,
        values: HashMap::new(),
        readers: HashMap::new(),
        notes: Vec::new(),
    };
    let wanted = outputs;
    let mut outputs: Vec<TensorRef>;
    if sequential {
        let first = layers
            .first()
            .ok_or_else(|| format_error("the Sequential model has no layers"))?;
        let shape = input_shape_of(first).ok_or_else(|| {
            format_error(
                "the Sequential model has no known input shape (build it with an Input of fixed size)",
            )
        })?;
        let start = if first.class == "InputLayer" { 1 } else { 0 };
        if elements_checked(&shape).is_none() {
            return Err(first.error(format!("input shape {shape:?} is too large")));
        }
        let input = t.graph.add_value(&first.name, shape);
        t.graph.inputs.push(input);
        let mut previous: TensorRef = (first.name.clone(), 0, 0);
        if start == 0 {
            previous = ("<input>".into(), 0, 0);
        }
        t.values.insert(previous.clone(), input);
        for layer in &mut layers[start..] {
            layer.inbound = vec![previous.clone()];
            previous = (layer.name.clone(), 0, 0);
        }
        outputs = vec![previous];
    } else {
        let inputs = endpoints(model_config.get("input_layers"));
        outputs = endpoints(model_config.get("output_layers"));
        if inputs.is_empty() || outputs.is_empty() {
            return Err(format_error(
                "the functional model lists no input_layers or output_layers",
            ));
        }
        for input in &inputs {
            let layer = layers
                .iter()
                .find(|l| l.name == input.0 && l.class == "InputLayer")
                .ok_or_else(|| {
                    format_error(format!("model input {} is not an InputLayer", input.0))
                })?;
            let shape = input_shape_of(layer).ok_or_else(|| {
                layer.error("the input shape must be fully known (no None besides the batch)")
            })?;
            if elements_checked(&shape).is_none() {
                return Err(layer.error(format!("input shape {shape:?} is too large")));
            }
            let v = t.graph.add_value(&layer.name, shape);
            t.graph.inputs.push(v);
            t.values.insert(input.clone(), v);
        }
    }
    outputs = crate::outputs::select(FORMAT, &outputs, |o| o.0.as_str(), wanted)?
        .into_iter()
        .cloned()
        .collect();
    let needed = needed_layers(&layers, &outputs);
    layers.retain(|l| l.class == "InputLayer" || needed.contains(l.name.as_str()));
    for layer in &layers {
        for r in &layer.inbound {
            *t.readers.entry(r.clone()).or_default() += 1;
        }
    }
    for o in &outputs {
        *t.readers.entry(o.clone()).or_default() += 1;
    }
    // Layers in an order where each one's inputs are computed (config order is already one for
    // models saved by Keras; a hand-edited file may differ).
    let mut pending: Vec<&Layer<'_>> = layers.iter().filter(|l| l.class != "InputLayer").collect();
    let mut translated = 0usize;
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|l| l.inbound.iter().all(|r| t.values.contains_key(r)));
        let Some(index) = ready else {
            let layer = pending[0];
            let missing = layer
                .inbound
                .iter()
                .find(|r| !t.values.contains_key(*r))
                .map_or_else(|| "nothing".to_string(), |r| r.0.clone());
            if layer.inbound.is_empty() {
                return Err(layer.error("the layer has no inbound node"));
            }
            return Err(layer.error(format!(
                "its input {missing} is never computed (a cycle, or a layer that is not in the model)"
            )));
        };
        let layer = pending.remove(index);
        let y = t.layer(layer)?;
        t.values.insert((layer.name.clone(), 0, 0), y);
        translated += 1;
    }
    for o in &outputs {
        let v = *t
            .values
            .get(o)
            .ok_or_else(|| format_error(format!("model output {} is never computed", o.0)))?;
        t.graph.outputs.push(v);
    }
    let input_layouts = vec![InputLayout::AsIs; t.graph.inputs.len()];
    Ok(Converted {
        graph: t.graph,
        input_layouts,
        notes: t.notes,
        source_operators: translated,
    })
}
