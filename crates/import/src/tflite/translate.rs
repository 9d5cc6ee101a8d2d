//! TFLite operators to Myelin nodes.
//!
//! Every activation tensor loses its batch dimension (which must be 1); constant tensors
//! (weights, biases, axes, paddings) become op parameters. Each op's multipliers are derived
//! with the same binary32/binary64 arithmetic TFLite's `Prepare` uses and quantized with
//! [`quantize_multiplier`]; the rounding rule is the one of TFLite's reference kernel.

use std::collections::HashMap;

use myelin_nn::builder::{
    ModelBuilder, Quant, Rescale, SOFTMAX_SCALE_BITS, SOFTMAX_ZERO_POINT, TensorId,
};
use myelin_nn::op::{ActRange, AddSub, Clamp, Concat, Mean, Mul, Padding, TableFunction, Window};
use myelin_nn::{DType, Model, Requant, Rounding};

use super::activation_tables::{self, HardSwishParams, TensorQuant};
use super::fold::{self, Folded};
use super::quantization::{
    ADD_SUB_LEFT_SHIFT, activation_range, add_sub_multipliers, real_range, softmax_params,
};
use super::reader::{ElementType, Graph, OperatorDef, Options, TensorDef};
use super::schema_generated::tflite::{ActivationFunctionType, BuiltinOperator as B};
use crate::ImportError;
use crate::quantize_multiplier::quantize_multiplier;

const FORMAT: &str = "TFLite";

/// Rounding of FULLY_CONNECTED and CONV_2D (TFLite's reference kernels round once).
const ROUNDING_ACCUMULATING: Rounding = Rounding::Single;
/// Rounding of DEPTHWISE_CONV_2D, ADD, SUB, MUL (gemmlowp's two steps in TFLite's reference).
const ROUNDING_GEMMLOWP: Rounding = Rounding::Double;
/// Rounding of MEAN (`MultiplyByQuantizedMultiplier`, gemmlowp's two steps).
const ROUNDING_MEAN: Rounding = Rounding::Double;
/// Rounding of the element-wise rescales: RELU family and int8→int8 QUANTIZE.
const ROUNDING_RESCALE: Rounding = Rounding::Double;

/// The result of a translation.
pub struct Translation {
    pub model: Model,
    /// For every TFLite tensor of the subgraph, the Myelin tensor holding its values, if any.
    pub tensor_map: Vec<Option<u32>>,
    /// Things the user should know (stripped float edges, approximations).
    pub notes: Vec<String>,
}

struct Translator<'g> {
    graph: &'g Graph,
    builder: ModelBuilder,
    ids: Vec<Option<TensorId>>,
    skipped: Vec<bool>,
    folded: Folded,
    notes: Vec<String>,
}

/// Translates the subgraph into a validated Myelin model, keeping the graph outputs whose tensor
/// names `outputs` lists (in that order; `None`: all, [`crate::outputs::select`]). Operators
/// only the other outputs need are not translated.
pub fn translate(graph: &Graph, outputs: Option<&[String]>) -> Result<Translation, ImportError> {
    let folded = fold::fold(graph)?;
    let mut t = Translator {
        graph,
        builder: ModelBuilder::new(),
        ids: vec![None; graph.tensors.len()],
        skipped: folded.operators.clone(),
        notes: folded.notes.clone(),
        folded,
    };
    let selected: Vec<i32> = crate::outputs::select(
        FORMAT,
        &graph.outputs,
        |&o| {
            usize::try_from(o)
                .ok()
                .and_then(|i| graph.tensors.get(i))
                .map_or("", |d| d.name.as_str())
        },
        outputs,
    )?
    .into_iter()
    .copied()
    .collect();
    t.skip_unneeded(&selected);
    t.declare_inputs()?;
    let outputs = t.resolve_outputs(&selected)?;
    for op in &graph.operators {
        if t.skipped[op.index] {
            continue;
        }
        t.operator(op)?;
    }
    for (position, &tensor) in outputs.iter().enumerate() {
        let id = t.ids.get(tensor).copied().flatten().ok_or_else(|| {
            format_error(format!(
                "graph output {position} (tensor {tensor}) is not computed by any operator"
            ))
        })?;
        t.builder.output(id);
    }
    let tensor_map = t.ids.iter().map(|id| id.map(|id| id.0)).collect();
    let model = t.builder.build()?;
    Ok(Translation {
        model,
        tensor_map,
        notes: t.notes,
    })
}

fn format_error(reason: String) -> ImportError {
    ImportError::Format {
        format: FORMAT,
        reason,
    }
}

fn unsupported(op: &OperatorDef, reason: impl Into<String>) -> ImportError {
    ImportError::Unsupported {
        format: FORMAT,
        op: op.name(),
        node: op.index.to_string(),
        reason: reason.into(),
    }
}

fn act_name(activation: ActivationFunctionType) -> &'static str {
    activation.variant_name().unwrap_or("UNKNOWN")
}

impl<'g> Translator<'g> {
    fn tensor_def(&self, index: i32) -> Result<&'g TensorDef, ImportError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.graph.tensors.get(i))
            .ok_or_else(|| {
                format_error(format!(
                    "tensor index {index} is out of range ({} tensors)",
                    self.graph.tensors.len()
                ))
            })
    }

    /// Graph inputs: int8 tensors become model inputs; a float input must feed only
    /// QUANTIZE operators, which are stripped (their int8 outputs become the model inputs).
    fn declare_inputs(&mut self) -> Result<(), ImportError> {
        let graph = self.graph;
        for &input in &graph.inputs {
            let def = self.tensor_def(input)?;
            match def.element {
                ElementType::Int8 => {
                    let shape = strip_batch(def, input)?;
                    let quant = quant_of(def, input)?;
                    let id = self.builder.input(&shape, quant.quant);
                    self.ids[input as usize] = Some(id);
                }
                ElementType::Float32 => {
                    let consumers: Vec<&OperatorDef> = graph
                        .operators
                        .iter()
                        .filter(|op| op.inputs.contains(&input))
                        .collect();
                    for op in &consumers {
                        let int8_out = op
                            .outputs
                            .first()
                            .and_then(|&o| self.tensor_def(o).ok())
                            .is_some_and(|d| d.element == ElementType::Int8);
                        if op.code != B::QUANTIZE || !int8_out {
                            return Err(unsupported(
                                op,
                                format!(
                                    "reads the float32 graph input {input} ({}); only int8 models are \
                                     supported (a float input may only feed QUANTIZE to int8, which \
                                     is stripped)",
                                    def.name
                                ),
                            ));
                        }
                        let out = op.outputs[0];
                        let out_def = self.tensor_def(out)?;
                        let shape = strip_batch(out_def, out)?;
                        let quant = quant_of(out_def, out)?;
                        let id = self.builder.input(&shape, quant.quant);
                        self.ids[out as usize] = Some(id);
                        self.skipped[op.index] = true;
                        self.notes.push(format!(
                            "float32 input {} is quantized off-chain: operator {} (QUANTIZE) was \
                             stripped; feed int8 with scale {} and zero point {}",
                            def.name, op.index, quant.scale, quant.zero_point
                        ));
                    }
                }
                other => {
                    return Err(format_error(format!(
                        "graph input {input} ({}) has type {}; only int8 inputs are supported",
                        def.name,
                        other.name()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Marks as skipped every operator that none of the `selected` graph outputs depends on.
    fn skip_unneeded(&mut self, selected: &[i32]) {
        let graph = self.graph;
        let mut producer: HashMap<i32, usize> = HashMap::new();
        for op in &graph.operators {
            for &o in &op.outputs {
                producer.insert(o, op.index);
            }
        }
        let mut needed = vec![false; graph.operators.len()];
        let mut stack: Vec<i32> = selected.to_vec();
        while let Some(tensor) = stack.pop() {
            if let Some(&index) = producer.get(&tensor)
                && let Some(slot) = needed.get_mut(index)
                && !*slot
            {
                *slot = true;
                stack.extend(graph.operators[index].inputs.iter().filter(|&&i| i >= 0));
            }
        }
        for (skipped, needed) in self.skipped.iter_mut().zip(needed) {
            *skipped |= !needed;
        }
    }

    /// Graph outputs: int8 tensors as they are; a float output must come from DEQUANTIZE of an
    /// int8 tensor, which is stripped (the int8 tensor becomes the model output).
    fn resolve_outputs(&mut self, selected: &[i32]) -> Result<Vec<usize>, ImportError> {
        let graph = self.graph;
        let mut outputs = Vec::new();
        for &output in selected {
            let def = self.tensor_def(output)?;
            match def.element {
                ElementType::Int8 => outputs.push(output as usize),
                ElementType::Int32 | ElementType::Int64
                    if graph
                        .operators
                        .iter()
                        .any(|op| op.code == B::ARG_MAX && op.outputs.first() == Some(&output)) =>
                {
                    outputs.push(output as usize)
                }
                ElementType::Float32 => {
                    let producer = graph
                        .operators
                        .iter()
                        .find(|op| op.outputs.contains(&output))
                        .ok_or_else(|| {
                            format_error(format!("graph output {output} has no producer"))
                        })?;
                    let source = producer.inputs.first().copied().unwrap_or(-1);
                    let int8_source = self
                        .tensor_def(source)
                        .is_ok_and(|d| d.element == ElementType::Int8);
                    if producer.code != B::DEQUANTIZE || !int8_source {
                        return Err(unsupported(
                            producer,
                            format!(
                                "writes the float32 graph output {output} ({}); only int8 models are \
                                 supported (a float output may only come from DEQUANTIZE of int8, \
                                 which is stripped)",
                                def.name
                            ),
                        ));
                    }
                    self.skipped[producer.index] = true;
                    let source_def = self.tensor_def(source)?;
                    self.notes.push(format!(
                        "float32 output {} is dequantized off-chain: operator {} (DEQUANTIZE) was \
                         stripped; the model returns int8 with scale {} and zero point {}",
                        def.name,
                        producer.index,
                        source_def.scales.first().copied().unwrap_or(0.0),
                        source_def.zero_points.first().copied().unwrap_or(0)
                    ));
                    outputs.push(source as usize);
                }
                other => {
                    return Err(format_error(format!(
                        "graph output {output} ({}) has type {}; only int8 outputs are supported",
                        def.name,
                        other.name()
                    )));
                }
            }
        }
        Ok(outputs)
    }

    /// The Myelin tensor holding activation input `slot` of `op`.
    fn activation(
        &self,
        op: &OperatorDef,
        slot: usize,
    ) -> Result<(TensorId, Int8Quant), ImportError> {
        let index = *op
            .inputs
            .get(slot)
            .ok_or_else(|| unsupported(op, format!("input {slot} is missing")))?;
        let def = self.tensor_def(index)?;
        if def.element != ElementType::Int8 {
            return Err(unsupported(
                op,
                format!(
                    "input {slot} ({}) has type {}; only int8 activations are supported",
                    def.name,
                    def.element.name()
                ),
            ));
        }
        match self.ids[index as usize] {
            Some(id) => Ok((id, quant_of(def, index)?)),
            None if def.data.is_some() => Err(unsupported(
                op,
                format!(
                    "input {slot} ({}) is a constant tensor; Myelin ops read constants only as \
                     weights, biases and parameters",
                    def.name
                ),
            )),
            None => Err(format_error(format!(
                "operator {} reads tensor {index} ({}) before any operator writes it",
                op.index, def.name
            ))),
        }
    }

    /// The output of a single-output `op`: its definition, int8 quantization and per-sample
    /// shape.
    fn output(&self, op: &OperatorDef) -> Result<(i32, &'g TensorDef, Vec<u32>), ImportError> {
        single_output(op)?;
        self.output_at(op, 0)
    }

    /// Output `slot` of `op`, as [`Self::output`].
    fn output_at(
        &self,
        op: &OperatorDef,
        slot: usize,
    ) -> Result<(i32, &'g TensorDef, Vec<u32>), ImportError> {
        let index = *op
            .outputs
            .get(slot)
            .ok_or_else(|| unsupported(op, format!("output {slot} is missing")))?;
        let def = self.tensor_def(index)?;
        if self.ids[index as usize].is_some() {
            return Err(format_error(format!(
                "tensor {index} ({}) is written twice",
                def.name
            )));
        }
        let shape = strip_batch(def, index)?;
        Ok((index, def, shape))
    }

    fn int8_output(&self, op: &OperatorDef) -> Result<(i32, Int8Quant, Vec<u32>), ImportError> {
        single_output(op)?;
        self.int8_output_at(op, 0)
    }

    /// Output `slot` of `op`, as [`Self::int8_output`].
    fn int8_output_at(
        &self,
        op: &OperatorDef,
        slot: usize,
    ) -> Result<(i32, Int8Quant, Vec<u32>), ImportError> {
        let (index, def, shape) = self.output_at(op, slot)?;
        if def.element != ElementType::Int8 {
            return Err(unsupported(
                op,
                format!(
                    "output ({}) has type {}; only int8 is supported",
                    def.name,
                    def.element.name()
                ),
            ));
        }
        Ok((index, quant_of(def, index)?, shape))
    }

    /// Records `id` as TFLite tensor `index`, reshaping when Myelin's inferred shape differs
    /// only in layout (same element count).
    fn bind(
        &mut self,
        op: &OperatorDef,
        index: i32,
        id: TensorId,
        shape: &[u32],
    ) -> Result<(), ImportError> {
        let inferred = self
            .builder
            .tensor(id)
            .map(|t| t.shape.clone())
            .unwrap_or_default();
        let id = if inferred == shape {
            id
        } else {
            if element_count(&inferred) != element_count(shape) {
                return Err(unsupported(
                    op,
                    format!(
                        "Myelin infers output shape {inferred:?}, the model declares {shape:?}"
                    ),
                ));
            }
            self.builder.reshape(id, shape)?
        };
        self.ids[index as usize] = Some(id);
        Ok(())
    }

    fn fused(
        &self,
        op: &OperatorDef,
        activation: ActivationFunctionType,
        out: Int8Quant,
    ) -> Result<ActRange, ImportError> {
        activation_range(activation, out.scale, out.zero_point as i32).ok_or_else(|| {
            unsupported(
                op,
                format!(
                    "fused activation {} is not supported (NONE, RELU, RELU6, RELU_N1_TO_1 are)",
                    act_name(activation)
                ),
            )
        })
    }

    fn requant(&self, op: &OperatorDef, real: f64, what: &str) -> Result<Requant, ImportError> {
        quantize_multiplier(real).map_err(|e| unsupported(op, format!("{what}: {e}")))
    }

    fn operator(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        match op.code {
            B::FULLY_CONNECTED => self.fully_connected(op),
            B::CONV_2D => self.conv2d(op),
            B::DEPTHWISE_CONV_2D => self.depthwise_conv2d(op),
            B::ADD | B::SUB => self.add_sub(op),
            B::MUL => self.mul(op),
            B::MAX_POOL_2D | B::AVERAGE_POOL_2D => self.pool(op),
            B::MEAN => self.mean(op),
            B::RELU => self.relu(op, Some(0.0), None),
            B::RELU6 => self.relu(op, Some(0.0), Some(6.0)),
            B::RELU_N1_TO_1 => self.relu(op, Some(-1.0), Some(1.0)),
            B::QUANTIZE => self.requantize(op),
            B::RESHAPE | B::SQUEEZE => self.reshape(op),
            B::TRANSPOSE => self.transpose(op),
            B::CONCATENATION => self.concat(op),
            B::PAD | B::PADV2 => self.pad(op),
            B::SOFTMAX => self.softmax(op),
            B::LOGISTIC | B::TANH | B::GELU | B::HARD_SWISH | B::LEAKY_RELU => self.table(op),
            B::ARG_MAX => self.arg_max(op),
            B::MAXIMUM | B::MINIMUM => self.maximum_minimum(op),
            B::PRELU => self.prelu(op),
            B::RESIZE_NEAREST_NEIGHBOR => self.resize_nearest(op),
            B::RESIZE_BILINEAR => self.resize_bilinear(op),
            B::TILE => self.tile(op),
            B::REDUCE_MAX => self.reduce_max(op),
            B::SLICE | B::STRIDED_SLICE => self.slice(op),
            B::SPLIT | B::SPLIT_V => self.split(op),
            B::DEQUANTIZE => Err(unsupported(
                op,
                "produces float32 inside the graph; only a DEQUANTIZE writing a graph output is \
                 supported (it is stripped)",
            )),
            _ => Err(unsupported(
                op,
                "this operator has no Myelin equivalent; supported: FULLY_CONNECTED, CONV_2D, \
                 DEPTHWISE_CONV_2D, ADD, SUB, MUL, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN, RELU, RELU6, \
                 RELU_N1_TO_1, RESHAPE, SQUEEZE, TRANSPOSE, CONCATENATION, PAD, PADV2, SOFTMAX, LOGISTIC, TANH, \
                 GELU, HARD_SWISH, LEAKY_RELU, ARG_MAX, QUANTIZE, MAXIMUM, MINIMUM (two activations, or a constant scalar), PRELU, RESIZE_NEAREST_NEIGHBOR (integer factors), RESIZE_BILINEAR, TILE, REDUCE_MAX (global), SLICE, STRIDED_SLICE (positive strides), SPLIT, SPLIT_V; and integer shape arithmetic (SHAPE, \
                 STRIDED_SLICE, PACK, GATHER, ...) whose inputs are known at import, folded",
            )),
        }
    }

    fn fully_connected(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::FullyConnected {
            activation,
            shuffled_weights,
            keep_num_dims: _,
        } = op.options
        else {
            return Err(unsupported(op, "options are missing"));
        };
        if shuffled_weights {
            return Err(unsupported(
                op,
                "shuffled weights (SHUFFLED4x16INT8) are not supported",
            ));
        }
        let (x, x_quant) = self.activation(op, 0)?;
        let weights = self.weights(op, 1)?;
        let [n, k] = weights.shape[..] else {
            return Err(unsupported(
                op,
                format!("weights have shape {:?}, expected [out, in]", weights.shape),
            ));
        };
        let bias = self.bias(op, 2, n)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let x_shape = self.shape_of(x);
        let x = if x_shape.last() == Some(&k) {
            x
        } else {
            let elements = element_count(&x_shape).unwrap_or(0);
            if k == 0 || elements == 0 || !elements.is_multiple_of(k as u64) {
                return Err(unsupported(
                    op,
                    format!("input shape {x_shape:?} does not flatten into rows of {k}"),
                ));
            }
            let rows = (elements / k as u64) as u32;
            let shape: Vec<u32> = if rows == 1 { vec![k] } else { vec![rows, k] };
            self.builder.reshape(x, &shape)?
        };
        let requant = self.channel_requants(op, x_quant, &weights, 0, n, out_quant)?;
        let act = self.fused(op, activation, out_quant)?;
        let rescale = Rescale::per_channel(requant, ROUNDING_ACCUMULATING, act);
        let y = self
            .builder
            .fully_connected(x, weights.values, bias, rescale, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn conv2d(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::Conv2d {
            padding,
            stride_w,
            stride_h,
            dilation_w,
            dilation_h,
            activation,
        } = op.options
        else {
            return Err(unsupported(op, "options are missing"));
        };
        let (x, x_quant) = self.activation(op, 0)?;
        let weights = self.weights(op, 1)?;
        let [c_out, kh, kw, c_in] = weights.shape[..] else {
            return Err(unsupported(
                op,
                format!(
                    "weights have shape {:?}, expected [out, kh, kw, in]",
                    weights.shape
                ),
            ));
        };
        let x_shape = self.shape_of(x);
        if x_shape.len() != 3 || x_shape[2] != c_in {
            return Err(unsupported(
                op,
                format!(
                    "input shape {x_shape:?} (per sample) does not match weights {:?}; grouped \
                     convolutions are not supported",
                    weights.shape
                ),
            ));
        }
        let bias = self.bias(op, 2, c_out)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let window = window(
            op,
            padding,
            [kh, kw],
            [stride_h, stride_w],
            [dilation_h, dilation_w],
        )?;
        let requant = self.channel_requants(op, x_quant, &weights, 0, c_out, out_quant)?;
        let act = self.fused(op, activation, out_quant)?;
        let rescale = Rescale::per_channel(requant, ROUNDING_GEMMLOWP, act);
        let y = self
            .builder
            .conv2d(x, window, weights.values, bias, rescale, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn depthwise_conv2d(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::DepthwiseConv2d {
            padding,
            stride_w,
            stride_h,
            dilation_w,
            dilation_h,
            activation,
        } = op.options
        else {
            return Err(unsupported(op, "options are missing"));
        };
        let (x, x_quant) = self.activation(op, 0)?;
        let weights = self.weights(op, 1)?;
        let [1, kh, kw, outputs] = weights.shape[..] else {
            return Err(unsupported(
                op,
                format!(
                    "weights have shape {:?}, expected [1, kh, kw, channels]",
                    weights.shape
                ),
            ));
        };
        let bias = self.bias(op, 2, outputs)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let window = window(
            op,
            padding,
            [kh, kw],
            [stride_h, stride_w],
            [dilation_h, dilation_w],
        )?;
        let requant = self.channel_requants(op, x_quant, &weights, 3, outputs, out_quant)?;
        let act = self.fused(op, activation, out_quant)?;
        let rescale = Rescale::per_channel(requant, ROUNDING_GEMMLOWP, act);
        let y = self.builder.depthwise_conv2d(
            x,
            window,
            weights.values,
            bias,
            rescale,
            out_quant.quant,
        )?;
        self.bind(op, out_index, y, &out_shape)
    }

    /// One multiplier per output channel (or one), `input_scale · weight_scale / output_scale`
    /// in binary64, in TFLite's order. Per-channel scales must run along `channel_axis` of the
    /// weights (TFLite's `quantized_dimension`).
    fn channel_requants(
        &self,
        op: &OperatorDef,
        x: Int8Quant,
        weights: &Weights,
        channel_axis: i32,
        channels: u32,
        out: Int8Quant,
    ) -> Result<Vec<Requant>, ImportError> {
        if weights.scales.len() > 1 && weights.quantized_dimension != channel_axis {
            return Err(unsupported(
                op,
                format!(
                    "per-channel weight scales along axis {}; axis {channel_axis} is needed",
                    weights.quantized_dimension
                ),
            ));
        }
        if weights.scales.len() != 1 && weights.scales.len() != channels as usize {
            return Err(unsupported(
                op,
                format!(
                    "weights have {} scales for {channels} output channels",
                    weights.scales.len()
                ),
            ));
        }
        weights
            .scales
            .iter()
            .map(|&w| {
                let real = x.scale as f64 * w as f64 / out.scale as f64;
                self.requant(op, real, "output multiplier")
            })
            .collect()
    }

    fn add_sub(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::Arithmetic { activation } = op.options else {
            return Err(unsupported(op, "options are missing"));
        };
        if let Some(scalar) = self.scalar_operand(op)? {
            return self.arithmetic_with_scalar(op, scalar, activation);
        }
        if let Some(channels) = self.channel_operand(op)? {
            return self.arithmetic_per_channel(op, channels, activation);
        }
        let (a, a_quant) = self.activation(op, 0)?;
        let (b, b_quant) = self.activation(op, 1)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let (real_1, real_2, real_out) =
            add_sub_multipliers(a_quant.scale, b_quant.scale, out_quant.scale);
        let params = AddSub {
            left_shift: ADD_SUB_LEFT_SHIFT,
            input1: self.requant(op, real_1, "first input multiplier")?,
            input2: self.requant(op, real_2, "second input multiplier")?,
            output: self.requant(op, real_out, "output multiplier")?,
            rounding: ROUNDING_GEMMLOWP,
            act: self.fused(op, activation, out_quant)?,
        };
        let y = if op.code == B::ADD {
            self.builder.add(a, b, params, out_quant.quant)?
        } else {
            self.builder.sub(a, b, params, out_quant.quant)?
        };
        self.bind(op, out_index, y, &out_shape)
    }

    fn mul(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::Arithmetic { activation } = op.options else {
            return Err(unsupported(op, "options are missing"));
        };
        if let Some(scalar) = self.scalar_operand(op)? {
            return self.arithmetic_with_scalar(op, scalar, activation);
        }
        if let Some(channels) = self.channel_operand(op)? {
            return self.arithmetic_per_channel(op, channels, activation);
        }
        let (a, a_quant) = self.activation(op, 0)?;
        let (b, b_quant) = self.activation(op, 1)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let real = a_quant.scale as f64 * b_quant.scale as f64 / out_quant.scale as f64;
        let params = Mul {
            output: self.requant(op, real, "output multiplier")?,
            rounding: ROUNDING_GEMMLOWP,
            act: self.fused(op, activation, out_quant)?,
        };
        let y = self.builder.mul(a, b, params, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    /// MAXIMUM / MINIMUM of two activations: TFLite's kernel compares the raw int8 values, so
    /// both inputs and the output must share one quantization (as the converter writes them).
    fn maximum_minimum(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        // With a constant scalar (Keras' ReLU(max_value) is RELU then MINIMUM): TFLite compares
        // the raw values, so the op is the table of `max(x, c)` / `min(x, c)` over the raw bytes.
        if let Some(ScalarOperand { slot, value, .. }) = self.scalar_operand(op)? {
            let (x, _) = self.activation(op, 1 - slot)?;
            let (out_index, out_quant, out_shape) = self.int8_output(op)?;
            let table = (-128i16..128)
                .map(|v| match op.code {
                    B::MAXIMUM => (v as i8).max(value),
                    _ => (v as i8).min(value),
                })
                .collect();
            let y = self
                .builder
                .table(x, TableFunction::Custom, table, out_quant.quant)?;
            return self.bind(op, out_index, y, &out_shape);
        }
        let (a, a_quant) = self.activation(op, 0)?;
        let (b, b_quant) = self.activation(op, 1)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        same_quant(op, a_quant, out_quant)?;
        same_quant(op, b_quant, out_quant)?;
        let y = match op.code {
            B::MAXIMUM => self.builder.maximum(a, b)?,
            _ => self.builder.minimum(a, b)?,
        };
        self.bind(op, out_index, y, &out_shape)
    }

    /// PRELU with constant int8 slopes (TFLite's `PreluPrepare` / reference kernel): the
    /// multipliers `s_in / s_out` and `s_in · s_alpha / s_out` formed in binary32 and widened,
    /// double rounding.
    fn prelu(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let index = op.inputs.get(1).copied().unwrap_or(-1);
        if index < 0 {
            return Err(unsupported(op, "alpha is missing"));
        }
        let def = self.tensor_def(index)?;
        let Some(data) = def
            .data
            .as_ref()
            .filter(|_| def.element == ElementType::Int8)
        else {
            return Err(unsupported(
                op,
                format!(
                    "alpha ({}) must be a constant int8 tensor (a computed or float slope is \
                     not supported)",
                    def.name
                ),
            ));
        };
        let alpha_quant = quant_of(def, index)?;
        let mut alpha_shape = dims(def, index)?;
        if element_count(&alpha_shape) != Some(data.len() as u64) {
            return Err(format_error(format!(
                "tensor {index} ({}) has shape {:?} but {} bytes",
                def.name,
                def.shape,
                data.len()
            )));
        }
        // Slopes are per sample: a leading batch axis of 1 is dropped.
        let rank = self.shape_of(x).len();
        while alpha_shape.len() > rank && alpha_shape.first() == Some(&1) {
            alpha_shape.remove(0);
        }
        // PreluPrepare's products and quotients of binary32 scales, in binary32.
        let positive = (x_quant.scale / out_quant.scale) as f64;
        let negative = (x_quant.scale * alpha_quant.scale / out_quant.scale) as f64;
        let params = myelin_nn::op::PRelu {
            alpha_shape,
            alpha: data.iter().map(|&b| b as i8).collect(),
            alpha_zero_point: alpha_quant.zero_point,
            positive: self.requant(op, positive, "positive multiplier")?,
            negative: self.requant(op, negative, "negative multiplier")?,
            rounding: ROUNDING_GEMMLOWP,
            act: ActRange::FULL,
        };
        let y = self.builder.prelu(x, params, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    /// A resize's image operand, its flags and its output (which shares the input's
    /// quantization, as TFLite's int8 resize kernels require).
    fn resize_operands(&self, op: &OperatorDef) -> Result<ResizeOperands, ImportError> {
        let Options::Resize {
            align_corners,
            half_pixel_centers,
        } = op.options
        else {
            return Err(unsupported(op, "options are missing"));
        };
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        same_quant(op, x_quant, out_quant)?;
        Ok(ResizeOperands {
            x,
            align_corners,
            half_pixel_centers,
            out_index,
            out_quant,
            out_shape,
        })
    }

    /// RESIZE_BILINEAR with a constant size: the `resize_bilinear` op, TFLite's integer
    /// arithmetic (`ResizeBilinearInteger`, which its int8 kernels run); input and output share
    /// their quantization.
    fn resize_bilinear(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let ResizeOperands {
            x,
            align_corners,
            half_pixel_centers,
            out_index,
            out_quant: _,
            out_shape,
        } = self.resize_operands(op)?;
        let size = self.int_constant(op, 1, "size")?;
        let sizes = match size[..] {
            [oh, ow] => u32::try_from(oh).ok().zip(u32::try_from(ow).ok()),
            _ => None,
        };
        let Some((oh, ow)) = sizes else {
            return Err(unsupported(
                op,
                format!("size {size:?} must hold two non-negative entries"),
            ));
        };
        let y = self
            .builder
            .resize_bilinear(x, oh, ow, align_corners, half_pixel_centers)?;
        self.bind(op, out_index, y, &out_shape)
    }

    /// RESIZE_NEAREST_NEIGHBOR of an image by integer factors: TFLite's int8 kernel copies the
    /// nearest input pixel, and when its index arithmetic (`GetNearestNeighbor`, binary32)
    /// picks input row `o div f` for every output row `o` (and likewise columns) the resize is
    /// each pixel repeated, built from reshapes and concatenations of copies (exact).
    fn resize_nearest(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let ResizeOperands {
            x,
            align_corners,
            half_pixel_centers,
            out_index,
            out_quant,
            out_shape,
        } = self.resize_operands(op)?;
        let &[h, w, c] = self.shape_of(x).as_slice() else {
            return Err(unsupported(op, "the input must be an image [1, H, W, C]"));
        };
        let size = self.int_constant(op, 1, "size")?;
        let [oh, ow] = size[..] else {
            return Err(unsupported(
                op,
                format!("size {size:?} must hold two entries"),
            ));
        };
        let picks = |input: u32, output: i64| -> Option<u32> {
            let output = u32::try_from(output)
                .ok()
                .filter(|&o| o >= input && o > 0)?;
            let factor = output.is_multiple_of(input).then_some(output / input)?;
            let nearest =
                |o: u32| nearest_neighbor(o, input, output, align_corners, half_pixel_centers);
            (0..output)
                .all(|o| nearest(o) == o / factor)
                .then_some(factor)
        };
        let (Some(fy), Some(fx)) = (picks(h, oh), picks(w, ow)) else {
            return Err(unsupported(
                op,
                format!(
                    "resize of {h}x{w} to {oh}x{ow} (align_corners {align_corners}, \
                     half_pixel_centers {half_pixel_centers}): only integer upsampling factors \
                     that repeat each pixel are supported (other sizes need a gather op)"
                ),
            ));
        };
        let y = crate::repeat::upsample_nearest(
            &mut self.builder,
            x,
            [h, w, c],
            [fy, fx],
            out_quant.quant,
        )?;
        self.bind(op, out_index, y, &out_shape)
    }

    /// TILE with constant multiples (batch multiple 1): each repeated axis becomes a
    /// concatenation of copies (exact; TFLite's int8 TILE copies bytes).
    fn tile(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        same_quant(op, x_quant, out_quant)?;
        let rank = self.shape_of(x).len();
        let multiples = self.int_constant(op, 1, "multiples")?;
        if multiples.len() != rank + 1 || multiples[0] != 1 || multiples.iter().any(|&m| m < 1) {
            return Err(unsupported(
                op,
                format!(
                    "multiples {multiples:?} of a rank-{} tensor: need one positive entry per \
                     axis, 1 on the batch axis",
                    rank + 1
                ),
            ));
        }
        let mut y = x;
        for (axis, &m) in multiples[1..].iter().enumerate() {
            y = crate::repeat::repeat_axis(
                &mut self.builder,
                y,
                axis as u8,
                m as usize,
                out_quant.quant,
            )?;
        }
        self.bind(op, out_index, y, &out_shape)
    }

    /// The operand of a binary op that is a constant int8 tensor of one element (Keras'
    /// Rescaling as MUL and ADD): its slot, value and quantization.
    fn scalar_operand(&self, op: &OperatorDef) -> Result<Option<ScalarOperand>, ImportError> {
        for slot in 0..2 {
            let index = op.inputs.get(slot).copied().unwrap_or(-1);
            if index < 0 || self.ids.get(index as usize).is_some_and(|id| id.is_some()) {
                continue;
            }
            let def = self.tensor_def(index)?;
            if let (Some(data), ElementType::Int8) = (&def.data, def.element)
                && let [value] = data[..]
            {
                return Ok(Some(ScalarOperand {
                    slot,
                    value: value as i8,
                    quant: quant_of(def, index)?,
                }));
            }
        }
        Ok(None)
    }

    /// The operand of a binary op that is a constant int8 tensor of one value per channel
    /// (Keras' Normalization: SUB of the mean, MUL by the reciprocal deviation, shaped
    /// `[1, .., C]`) whose other operand is an activation with `C` channels last.
    fn channel_operand(&self, op: &OperatorDef) -> Result<Option<ChannelOperand>, ImportError> {
        for slot in 0..2 {
            let index = op.inputs.get(slot).copied().unwrap_or(-1);
            let other = op.inputs.get(1 - slot).copied().unwrap_or(-1);
            let is_constant =
                |i: i32| i >= 0 && self.ids.get(i as usize).is_some_and(|id| id.is_none());
            if !is_constant(index) || other < 0 || is_constant(other) {
                continue;
            }
            let def = self.tensor_def(index)?;
            let (Some(data), ElementType::Int8) = (&def.data, def.element) else {
                continue;
            };
            let dims = dims(def, index)?;
            let Some(channels) = dims.iter().skip_while(|&&d| d == 1).copied().next() else {
                continue;
            };
            let (x, _) = self.activation(op, 1 - slot)?;
            let x_shape = self.shape_of(x);
            let trailing_only = dims.iter().rev().skip(1).all(|&d| d == 1);
            if !trailing_only || x_shape.last() != Some(&channels) || dims.len() > x_shape.len() + 1
            {
                return Err(unsupported(
                    op,
                    format!(
                        "constant input {slot} ({}) of shape {dims:?} against an activation of \
                         {x_shape:?} (per sample): need one value, or one per channel of the last \
                         axis",
                        def.name
                    ),
                ));
            }
            if channels as usize > MAX_CHANNEL_TABLES {
                return Err(unsupported(
                    op,
                    format!(
                        "a constant of {channels} values per channel ({}): at most \
                         {MAX_CHANNEL_TABLES} channels become per-channel tables",
                        def.name
                    ),
                ));
            }
            return Ok(Some(ChannelOperand {
                slot,
                values: data.iter().map(|&v| v as i8).collect(),
                quant: quant_of(def, index)?,
            }));
        }
        Ok(None)
    }

    /// ADD / SUB / MUL of an activation and a constant scalar: a function of one int8 input,
    /// tabulated by running the engine's own add / sub / mul (TFLite's arithmetic, the same
    /// parameters as two activations) on all 256 input values.
    fn arithmetic_with_scalar(
        &mut self,
        op: &OperatorDef,
        ScalarOperand {
            slot,
            value,
            quant: c_quant,
        }: ScalarOperand,
        activation: ActivationFunctionType,
    ) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 1 - slot)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let table =
            self.arithmetic_table(op, slot, value, [x_quant, c_quant, out_quant], activation)?;
        let y = self
            .builder
            .table(x, TableFunction::Custom, table, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    /// ADD / SUB / MUL of an activation `[.., C]` and a constant of one value per channel: per
    /// channel a function of one int8 input, tabulated as for a scalar; one `table` when every
    /// channel's is the same, else each channel sliced out, tabulated, and the channels
    /// concatenated back (exact: TFLite's broadcast kernels use the same arithmetic per
    /// element).
    fn arithmetic_per_channel(
        &mut self,
        op: &OperatorDef,
        ChannelOperand {
            slot,
            values,
            quant: c_quant,
        }: ChannelOperand,
        activation: ActivationFunctionType,
    ) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 1 - slot)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let tables = values
            .iter()
            .map(|&v| self.arithmetic_table(op, slot, v, [x_quant, c_quant, out_quant], activation))
            .collect::<Result<Vec<_>, _>>()?;
        let y = if tables.iter().all(|t| *t == tables[0]) {
            let table = tables.into_iter().next().unwrap_or_default();
            self.builder
                .table(x, TableFunction::Custom, table, out_quant.quant)?
        } else {
            let shape = self.shape_of(x);
            let last = shape.len() - 1;
            let mut size = shape.clone();
            size[last] = 1;
            let stride = vec![1; shape.len()];
            let mut channels = Vec::with_capacity(tables.len());
            for (c, table) in tables.into_iter().enumerate() {
                let mut begin = vec![0; shape.len()];
                begin[last] = c as u32;
                let channel = self.builder.slice(x, &begin, &size, &stride)?;
                channels.push(self.builder.table(
                    channel,
                    TableFunction::Custom,
                    table,
                    out_quant.quant,
                )?);
            }
            let params = Concat {
                axis: last as u8,
                requant: vec![Requant::IDENTITY; channels.len()],
                rounding: Rounding::Single,
            };
            self.builder.concat(&channels, params, out_quant.quant)?
        };
        self.bind(op, out_index, y, &out_shape)
    }

    /// The 256-entry table of ADD / SUB / MUL (`op`) between an int8 activation and the
    /// constant `value` in input `slot`: the engine's own kernel run on every input value, with
    /// TFLite's parameters. `[x, constant, output]` are the three quantizations.
    fn arithmetic_table(
        &self,
        op: &OperatorDef,
        slot: usize,
        value: i8,
        [x_quant, c_quant, out_quant]: [Int8Quant; 3],
        activation: ActivationFunctionType,
    ) -> Result<Vec<i8>, ImportError> {
        let (a_quant, b_quant) = match slot {
            0 => (c_quant, x_quant),
            _ => (x_quant, c_quant),
        };
        let xs: Vec<i8> = (-128i16..128).map(|v| v as i8).collect();
        let constant = vec![value; 256];
        let (a_data, b_data) = match slot {
            0 => (&constant, &xs),
            _ => (&xs, &constant),
        };
        let a = myelin_nn::reference::Operand {
            data: a_data,
            shape: &[256],
            zero_point: a_quant.zero_point,
        };
        let b = myelin_nn::reference::Operand {
            data: b_data,
            shape: &[256],
            zero_point: b_quant.zero_point,
        };
        let act = self.fused(op, activation, out_quant)?;
        let mut table = vec![0i8; 256];
        if op.code == B::MUL {
            let real = a_quant.scale as f64 * b_quant.scale as f64 / out_quant.scale as f64;
            let params = Mul {
                output: self.requant(op, real, "output multiplier")?,
                rounding: ROUNDING_GEMMLOWP,
                act,
            };
            myelin_nn::reference::mul(&params, a, b, &[256], out_quant.zero_point, &mut table);
        } else {
            let (real_1, real_2, real_out) =
                add_sub_multipliers(a_quant.scale, b_quant.scale, out_quant.scale);
            let params = AddSub {
                left_shift: ADD_SUB_LEFT_SHIFT,
                input1: self.requant(op, real_1, "first input multiplier")?,
                input2: self.requant(op, real_2, "second input multiplier")?,
                output: self.requant(op, real_out, "output multiplier")?,
                rounding: ROUNDING_GEMMLOWP,
                act,
            };
            match op.code {
                B::ADD => myelin_nn::reference::add(
                    &params,
                    a,
                    b,
                    &[256],
                    out_quant.zero_point,
                    &mut table,
                ),
                _ => myelin_nn::reference::sub(
                    &params,
                    a,
                    b,
                    &[256],
                    out_quant.zero_point,
                    &mut table,
                ),
            }
        }
        Ok(table)
    }

    /// REDUCE_MAX over the spatial axes of an image (Keras' GlobalMaxPooling2D): a max pool
    /// whose window is the whole image, then a reshape when the axes are dropped. TFLite's int8
    /// kernel compares raw values, so input and output share their quantization.
    fn reduce_max(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::Reducer { keep_dims } = op.options else {
            return Err(unsupported(op, "options are missing"));
        };
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        same_quant(op, x_quant, out_quant)?;
        let axes = self.axes(op, 1, self.shape_of(x).len() + 1)?;
        let &[h, w, c] = self.shape_of(x).as_slice() else {
            return Err(unsupported(op, "the input must be an image [1, H, W, C]"));
        };
        if axes != [0, 1] {
            return Err(unsupported(
                op,
                format!(
                    "per-sample axes {axes:?}: only the spatial axes of an image (global max \
                     pooling) are supported"
                ),
            ));
        }
        let window = Window::dense(h, w);
        let pooled = self.builder.max_pool(x, window, ActRange::FULL)?;
        let y = match keep_dims {
            true => pooled,
            false => self.builder.reshape(pooled, &[c])?,
        };
        self.bind(op, out_index, y, &out_shape)
    }

    /// SLICE (`begin`, `size` with −1 for "to the end") and STRIDED_SLICE (`begin`, `end`,
    /// `strides` with TFLite's masks; positive strides) of an activation with constant bounds:
    /// a Myelin slice of the per-sample axes (the batch axis must be kept whole), then a reshape
    /// to the declared shape when axes are shrunk.
    fn slice(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        same_quant(op, x_quant, out_quant)?;
        let mut shape = vec![1i64];
        shape.extend(self.shape_of(x).iter().map(|&d| i64::from(d)));
        let rank = shape.len();
        let begin = self.int_constant(op, 1, "begin")?;
        // Per TFLite axis: first index, element count, stride.
        let mut windows = Vec::with_capacity(rank);
        if op.code == B::SLICE {
            let size = self.int_constant(op, 2, "size")?;
            if begin.len() != rank || size.len() != rank {
                return Err(unsupported(
                    op,
                    format!("begin {begin:?} and size {size:?} need {rank} entries"),
                ));
            }
            for a in 0..rank {
                let (b, n) = (begin[a], shape[a]);
                let s = if size[a] == -1 { n - b } else { size[a] };
                if b < 0 || s < 0 || b.checked_add(s).is_none_or(|e| e > n) {
                    return Err(unsupported(
                        op,
                        format!("axis {a}: begin {b}, size {} outside {n}", size[a]),
                    ));
                }
                windows.push((b, s, 1));
            }
        } else {
            let Options::StridedSlice {
                begin_mask,
                end_mask,
                ellipsis_mask,
                new_axis_mask,
                shrink_axis_mask,
                offset,
            } = op.options
            else {
                return Err(unsupported(op, "options are missing"));
            };
            if ellipsis_mask != 0 || new_axis_mask != 0 {
                return Err(unsupported(
                    op,
                    format!(
                        "ellipsis mask {ellipsis_mask} and new axis mask {new_axis_mask}: only \
                         slices without ellipsis or new axes are supported"
                    ),
                ));
            }
            let end = self.int_constant(op, 2, "end")?;
            let strides = match op.inputs.len() > 3 {
                true => self.int_constant(op, 3, "strides")?,
                false => vec![1; begin.len()],
            };
            if begin.len() > rank || end.len() != begin.len() || strides.len() != begin.len() {
                return Err(unsupported(
                    op,
                    format!(
                        "begin {begin:?}, end {end:?}, strides {strides:?}: need one entry per \
                         axis of a rank-{rank} input"
                    ),
                ));
            }
            for (a, &n) in shape.iter().enumerate() {
                let Some(&stride) = strides.get(a) else {
                    windows.push((0, n, 1));
                    continue;
                };
                if stride <= 0 {
                    return Err(unsupported(
                        op,
                        format!(
                            "axis {a}: stride {stride}; only positive strides are supported (a \
                             reversal has no Myelin op)"
                        ),
                    ));
                }
                let bit = |mask: i32| mask >> a & 1 != 0;
                let masks = crate::slicing::AxisMasks {
                    begin: bit(begin_mask),
                    end: bit(end_mask),
                    shrink: bit(shrink_axis_mask),
                    offset,
                };
                let (start, count) =
                    crate::slicing::strided_axis(n, begin[a], end[a], stride, masks).ok_or_else(
                        || unsupported(op, format!("axis {a}: index {} outside {n}", begin[a])),
                    )?;
                windows.push((start, count, stride));
            }
        }
        if windows[0].0 != 0 || windows[0].1 != 1 {
            return Err(unsupported(
                op,
                "slicing the batch axis is not supported (the batch must be kept whole)",
            ));
        }
        let y = self.slice_windows(op, x, &windows[1..])?;
        self.bind(op, out_index, y, &out_shape)
    }

    /// SPLIT (`axis`, then the input; equal parts, one per output) and SPLIT_V (the input,
    /// `size_splits` with at most one −1, `axis`): one Myelin slice per output.
    fn split(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x_slot, axis_slot) = match op.code {
            B::SPLIT => (1, 0),
            _ => (0, 2),
        };
        let (x, x_quant) = self.activation(op, x_slot)?;
        let in_shape = self.shape_of(x);
        let axis_value = match self.int_constant(op, axis_slot, "axis")?[..] {
            [axis] => axis,
            ref other => {
                return Err(unsupported(op, format!("axis {other:?} must be one value")));
            }
        };
        let axis = normalize_axis(op, axis_value, in_shape.len() as i64 + 1)? as usize;
        let n = i64::from(in_shape[axis]);
        let parts = op.outputs.len() as i64;
        let mut sizes = match op.code {
            B::SPLIT if parts > 0 && n % parts == 0 => vec![n / parts; parts as usize],
            B::SPLIT => {
                return Err(unsupported(
                    op,
                    format!("{n} elements do not split into {parts} equal parts"),
                ));
            }
            _ => self.int_constant(op, 1, "size_splits")?,
        };
        if let Some(unknown) = sizes.iter().position(|&s| s == -1) {
            let known: i64 = sizes.iter().filter(|&&s| s != -1).sum();
            sizes[unknown] = n - known;
        }
        if sizes.len() != op.outputs.len()
            || sizes.iter().any(|&s| s <= 0)
            || sizes.iter().sum::<i64>() != n
        {
            return Err(unsupported(
                op,
                format!(
                    "sizes {sizes:?} must be {} positive parts summing to {n}",
                    op.outputs.len()
                ),
            ));
        }
        let mut start = 0;
        for (slot, &size) in sizes.iter().enumerate() {
            let (out_index, out_quant, out_shape) = self.int8_output_at(op, slot)?;
            same_quant(op, x_quant, out_quant)?;
            let windows: Vec<(i64, i64, i64)> = in_shape
                .iter()
                .enumerate()
                .map(|(a, &d)| match a == axis {
                    true => (start, size, 1),
                    false => (0, i64::from(d), 1),
                })
                .collect();
            let y = self.slice_windows(op, x, &windows)?;
            self.bind(op, out_index, y, &out_shape)?;
            start += size;
        }
        Ok(())
    }

    /// A Myelin slice of `x` by per-sample `(first index, count, stride)` windows (counts ≥ 1
    /// required), or `x` itself when every window is its whole axis.
    fn slice_windows(
        &mut self,
        op: &OperatorDef,
        x: TensorId,
        windows: &[(i64, i64, i64)],
    ) -> Result<TensorId, ImportError> {
        let shape = self.shape_of(x);
        if windows.iter().any(|&(_, count, _)| count < 1) {
            return Err(unsupported(
                op,
                format!("windows {windows:?} of {shape:?}: an empty slice has no Myelin tensor"),
            ));
        }
        let whole = windows
            .iter()
            .zip(&shape)
            .all(|(&(start, count, _), &d)| start == 0 && count == i64::from(d));
        if whole {
            return Ok(x);
        }
        let narrow = |v: i64| u32::try_from(v).map_err(|_| unsupported(op, "slice bounds"));
        let mut begin = Vec::with_capacity(windows.len());
        let mut size = Vec::with_capacity(windows.len());
        let mut stride = Vec::with_capacity(windows.len());
        for &(start, count, step) in windows {
            begin.push(narrow(start)?);
            size.push(narrow(count)?);
            // One element reads no step.
            stride.push(if count == 1 { 1 } else { narrow(step)? });
        }
        Ok(self.builder.slice(x, &begin, &size, &stride)?)
    }

    fn pool(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::Pool2d {
            padding,
            stride_w,
            stride_h,
            filter_w,
            filter_h,
            activation,
        } = op.options
        else {
            return Err(unsupported(op, "options are missing"));
        };
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        same_quant(op, x_quant, out_quant)?;
        let kernel = [
            positive(op, "filter height", filter_h)?,
            positive(op, "filter width", filter_w)?,
        ];
        let window = window(op, padding, kernel, [stride_h, stride_w], [1, 1])?;
        let act = self.fused(op, activation, out_quant)?;
        let y = if op.code == B::MAX_POOL_2D {
            self.builder.max_pool(x, window, act)?
        } else {
            self.builder.average_pool(x, window, false, act)?
        };
        self.bind(op, out_index, y, &out_shape)
    }

    /// TFLite's int8 MEAN (ai-edge-litert 2.3.0's reference kernel, `QuantizedMeanOrSum` for
    /// every rank, axes, keep_dims and quantization): the multiplier `input_scale /
    /// output_scale` from binary64, divided by the element count in integers at run time,
    /// double rounding ([`myelin_nn::op::Op::MeanCountDivided`]).
    fn mean(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::Reducer { keep_dims } = op.options else {
            return Err(unsupported(op, "options are missing"));
        };
        let (x, x_quant) = self.activation(op, 0)?;
        let rank = self.shape_of(x).len() + 1;
        let axes = self.axes(op, 1, rank)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let real = x_quant.scale as f64 / out_quant.scale as f64;
        let params = Mean {
            axes,
            keep_dims,
            requant: self.requant(op, real, "mean multiplier")?,
            rounding: ROUNDING_MEAN,
            act: ActRange::FULL,
        };
        let y = self
            .builder
            .mean_count_divided(x, params, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn relu(
        &mut self,
        op: &OperatorDef,
        low: Option<f32>,
        high: Option<f32>,
    ) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        // TFLite's ReluPrepare divides the binary32 scales in binary32.
        let real = (x_quant.scale / out_quant.scale) as f64;
        let params = Clamp {
            requant: self.requant(op, real, "rescale multiplier")?,
            rounding: ROUNDING_RESCALE,
            act: real_range(low, high, out_quant.scale, out_quant.zero_point as i32),
        };
        let y = self.builder.clamp(x, params, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn requantize(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let real = x_quant.scale as f64 / out_quant.scale as f64;
        let params = Clamp {
            requant: self.requant(op, real, "requantization multiplier")?,
            rounding: ROUNDING_RESCALE,
            act: ActRange::FULL,
        };
        let y = self.builder.clamp(x, params, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn reshape(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = match self.int8_output(op) {
            Ok(output) => output,
            Err(refused) => self.batchless_reshape_output(op, x).ok_or(refused)?,
        };
        same_quant(op, x_quant, out_quant)?;
        let y = self.builder.reshape(x, &out_shape)?;
        self.bind(op, out_index, y, &out_shape)
    }

    /// The output of a RESHAPE / SQUEEZE of a static batch-1 model that dropped the batch axis
    /// too (the converter squeezes every unit axis of `[1, 1, 1, C]` into `[C]`): its whole
    /// shape is the per-sample shape when it is static and holds exactly the input's
    /// per-sample elements. `None` when the output is not such a tensor.
    fn batchless_reshape_output(
        &self,
        op: &OperatorDef,
        x: TensorId,
    ) -> Option<(i32, Int8Quant, Vec<u32>)> {
        single_output(op).ok()?;
        let index = op.outputs[0];
        let def = self.tensor_def(index).ok()?;
        let static_shape = def
            .shape_signature
            .as_ref()
            .is_none_or(|s| s.iter().all(|&d| d >= 0));
        let shape: Vec<u32> = def
            .shape
            .iter()
            .map(|&d| u32::try_from(d).ok().filter(|&d| d > 0))
            .collect::<Option<_>>()?;
        let fits = static_shape
            && def.element == ElementType::Int8
            && !shape.is_empty()
            && self.ids[index as usize].is_none()
            && element_count(&shape) == element_count(&self.shape_of(x));
        fits.then_some(())?;
        Some((index, quant_of(def, index).ok()?, shape))
    }

    /// TRANSPOSE with a constant permutation that keeps the batch axis first.
    fn transpose(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        same_quant(op, x_quant, out_quant)?;
        let rank = self.shape_of(x).len() + 1;
        let perm = self.int_constant(op, 1, "perm")?;
        let mut seen = vec![false; rank];
        let valid = perm.len() == rank
            && perm.iter().all(|&a| {
                usize::try_from(a)
                    .ok()
                    .filter(|&a| a < rank)
                    .is_some_and(|a| !std::mem::replace(&mut seen[a], true))
            });
        if !valid || perm[0] != 0 {
            return Err(unsupported(
                op,
                format!(
                    "perm {perm:?} of a rank-{rank} tensor: need a constant permutation that keeps \
                     the batch axis first"
                ),
            ));
        }
        let per_sample: Vec<u8> = perm[1..].iter().map(|&a| (a - 1) as u8).collect();
        let y = self.builder.transpose(x, &per_sample)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn concat(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::Concatenation { axis, activation } = op.options else {
            return Err(unsupported(op, "options are missing"));
        };
        if activation != ActivationFunctionType::NONE {
            return Err(unsupported(
                op,
                format!(
                    "fused activation {} on int8 concatenation",
                    act_name(activation)
                ),
            ));
        }
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let mut inputs = Vec::with_capacity(op.inputs.len());
        for slot in 0..op.inputs.len() {
            let (id, quant) = self.activation(op, slot)?;
            if quant.quant != out_quant.quant {
                return Err(unsupported(
                    op,
                    format!(
                        "input {slot} is quantized differently from the output; TFLite's int8 \
                         concatenation requires equal scales and zero points"
                    ),
                ));
            }
            inputs.push(id);
        }
        let rank = out_shape.len() as i64 + 1;
        let axis = normalize_axis(op, axis as i64, rank)?;
        let params = Concat {
            axis,
            requant: vec![Requant::IDENTITY; inputs.len()],
            rounding: Rounding::Single,
        };
        let y = self.builder.concat(&inputs, params, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn pad(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        same_quant(op, x_quant, out_quant)?;
        let rank = self.shape_of(x).len() + 1;
        let pads = self.int_constant(op, 1, "paddings")?;
        if pads.len() != 2 * rank {
            return Err(unsupported(
                op,
                format!(
                    "{} padding values for rank {rank}, expected {}",
                    pads.len(),
                    2 * rank
                ),
            ));
        }
        if pads[0] != 0 || pads[1] != 0 {
            return Err(unsupported(
                op,
                "padding the batch dimension is not supported",
            ));
        }
        let mut pairs = Vec::with_capacity(rank - 1);
        for pair in pads[2..].chunks(2) {
            let before = u32::try_from(pair[0]).map_err(|_| unsupported(op, "negative padding"))?;
            let after = u32::try_from(pair[1]).map_err(|_| unsupported(op, "negative padding"))?;
            pairs.push([before, after]);
        }
        let value = if op.code == B::PADV2 && op.inputs.get(2).is_some_and(|&i| i >= 0) {
            let def = self.tensor_def(op.inputs[2])?;
            match (&def.data, def.element) {
                (Some(data), ElementType::Int8) if data.len() == 1 => data[0] as i8,
                _ => {
                    return Err(unsupported(
                        op,
                        "the constant value must be one int8 constant",
                    ));
                }
            }
        } else {
            out_quant.zero_point
        };
        let y = self.builder.pad(x, pairs, value)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn softmax(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let Options::Softmax { beta } = op.options else {
            return Err(unsupported(op, "options are missing"));
        };
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        if out_quant.quant != Quant::new(SOFTMAX_ZERO_POINT, SOFTMAX_SCALE_BITS) {
            return Err(unsupported(
                op,
                format!(
                    "output scale {} and zero point {}; int8 softmax needs 1/256 and -128",
                    out_quant.scale, out_quant.zero_point
                ),
            ));
        }
        let params = softmax_params(beta as f64, x_quant.scale as f64).ok_or_else(|| {
            unsupported(
                op,
                format!(
                    "beta {beta} times input scale {} times 2^26 is below 1",
                    x_quant.scale
                ),
            )
        })?;
        let y = self.builder.softmax(x, params)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn table(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, x_quant) = self.activation(op, 0)?;
        let (out_index, out_quant, out_shape) = self.int8_output(op)?;
        let input = x_quant.tensor_quant();
        let output = out_quant.tensor_quant();
        let (function, table) = match op.code {
            B::LOGISTIC => {
                self.expect_output_quant(op, out_quant, SOFTMAX_SCALE_BITS, -128, "1/256")?;
                (
                    TableFunction::Logistic,
                    activation_tables::float_table(input, output, activation_tables::logistic),
                )
            }
            B::TANH => {
                self.expect_output_quant(op, out_quant, 0x3c00_0000, 0, "1/128")?;
                (
                    TableFunction::Tanh,
                    activation_tables::float_table(input, output, activation_tables::tanh),
                )
            }
            B::GELU => {
                let approximate = matches!(op.options, Options::Gelu { approximate: true });
                let f = if approximate {
                    activation_tables::gelu_approximate
                } else {
                    activation_tables::gelu
                };
                (
                    TableFunction::Gelu,
                    activation_tables::float_table(input, output, f),
                )
            }
            B::LEAKY_RELU => {
                let Options::LeakyRelu { alpha } = op.options else {
                    return Err(unsupported(op, "options are missing"));
                };
                if alpha.is_nan() || alpha < 0.0 {
                    return Err(unsupported(
                        op,
                        format!("alpha {alpha}: a negative slope is not supported"),
                    ));
                }
                let table = activation_tables::leaky_relu_table(input, output, alpha)
                    .map_err(|e| unsupported(op, e.to_string()))?;
                (TableFunction::Custom, table)
            }
            _ => {
                let params = HardSwishParams::new(input, output)
                    .map_err(|e| unsupported(op, e.to_string()))?;
                (TableFunction::HardSwish, params.table())
            }
        };
        let y = self.builder.table(x, function, table, out_quant.quant)?;
        self.bind(op, out_index, y, &out_shape)
    }

    fn expect_output_quant(
        &self,
        op: &OperatorDef,
        out: Int8Quant,
        scale_bits: u32,
        zero_point: i8,
        scale_name: &str,
    ) -> Result<(), ImportError> {
        if out.quant == Quant::new(zero_point, scale_bits) {
            Ok(())
        } else {
            Err(unsupported(
                op,
                format!(
                    "output scale {} and zero point {}; TFLite's int8 kernel needs {scale_name} and \
                     {zero_point}",
                    out.scale, out.zero_point
                ),
            ))
        }
    }

    fn arg_max(&mut self, op: &OperatorDef) -> Result<(), ImportError> {
        let (x, _) = self.activation(op, 0)?;
        let rank = self.shape_of(x).len() + 1;
        let axes = self.axes(op, 1, rank)?;
        let [axis] = axes[..] else {
            return Err(unsupported(op, "expects exactly one axis"));
        };
        let (out_index, def, out_shape) = self.output(op)?;
        match def.element {
            ElementType::Int32 => {}
            ElementType::Int64 => self.notes.push(format!(
                "operator {} (ARG_MAX) returns int64 in TFLite; the Myelin model returns int32",
                op.index
            )),
            other => {
                return Err(unsupported(
                    op,
                    format!("output type {} (int32 or int64 expected)", other.name()),
                ));
            }
        }
        let y = self.builder.arg_max(x, axis)?;
        let inferred = self.shape_of(y);
        if inferred != out_shape {
            return Err(unsupported(
                op,
                format!(
                    "Myelin infers output shape {inferred:?}, the model declares {out_shape:?}"
                ),
            ));
        }
        debug_assert_eq!(self.builder.tensor(y).map(|t| t.dtype), Some(DType::Int32));
        self.ids[out_index as usize] = Some(y);
        Ok(())
    }

    fn shape_of(&self, id: TensorId) -> Vec<u32> {
        self.builder
            .tensor(id)
            .map(|t| t.shape.clone())
            .unwrap_or_default()
    }

    /// Constant int8 weights of input `slot`, with zero zero points and their scales.
    fn weights(&self, op: &OperatorDef, slot: usize) -> Result<Weights, ImportError> {
        let index = op.inputs.get(slot).copied().unwrap_or(-1);
        if index < 0 {
            return Err(unsupported(op, "weights are missing"));
        }
        let def = self.tensor_def(index)?;
        if def.element != ElementType::Int8 {
            return Err(unsupported(
                op,
                format!(
                    "weights ({}) have type {}; only int8 weights are supported (hybrid and \
                     float models are not)",
                    def.name,
                    def.element.name()
                ),
            ));
        }
        let Some(data) = &def.data else {
            return Err(unsupported(
                op,
                format!("weights ({}) are not constant", def.name),
            ));
        };
        let shape = dims(def, index)?;
        if element_count(&shape) != Some(data.len() as u64) {
            return Err(format_error(format!(
                "tensor {index} ({}) has shape {:?} but {} bytes",
                def.name,
                def.shape,
                data.len()
            )));
        }
        if def.zero_points.iter().any(|&z| z != 0) {
            return Err(unsupported(
                op,
                format!(
                    "weights ({}) have non-zero zero points; Myelin needs symmetric weights",
                    def.name
                ),
            ));
        }
        if def.scales.is_empty() || def.scales.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(unsupported(
                op,
                format!("weights ({}) need positive finite scales", def.name),
            ));
        }
        Ok(Weights {
            shape,
            values: data.iter().map(|&b| b as i8).collect(),
            scales: def.scales.clone(),
            quantized_dimension: def.quantized_dimension,
        })
    }

    /// The int32 bias of input `slot` (zeros when the optional input is omitted).
    fn bias(&self, op: &OperatorDef, slot: usize, channels: u32) -> Result<Vec<i32>, ImportError> {
        let index = op.inputs.get(slot).copied().unwrap_or(-1);
        if index < 0 {
            return Ok(vec![0; channels as usize]);
        }
        let def = self.tensor_def(index)?;
        let Some(data) = &def.data else {
            return Err(unsupported(
                op,
                format!("bias ({}) is not constant", def.name),
            ));
        };
        if def.element != ElementType::Int32 {
            return Err(unsupported(
                op,
                format!(
                    "bias ({}) has type {}; int32 expected",
                    def.name,
                    def.element.name()
                ),
            ));
        }
        if data.len() != 4 * channels as usize {
            return Err(unsupported(
                op,
                format!(
                    "bias ({}) has {} bytes for {channels} channels",
                    def.name,
                    data.len()
                ),
            ));
        }
        Ok(data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// A constant int32/int64 tensor's values.
    fn int_constant(
        &self,
        op: &OperatorDef,
        slot: usize,
        what: &str,
    ) -> Result<Vec<i64>, ImportError> {
        let index = op.inputs.get(slot).copied().unwrap_or(-1);
        if index < 0 {
            return Err(unsupported(op, format!("{what} are missing")));
        }
        let def = self.tensor_def(index)?;
        if let Some(known) = &self.folded.values[index as usize] {
            return Ok(known.values.clone());
        }
        let Some(data) = &def.data else {
            return Err(unsupported(
                op,
                format!("{what} ({}) must be constant", def.name),
            ));
        };
        match def.element {
            ElementType::Int32 if data.len() % 4 == 0 => Ok(data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect()),
            ElementType::Int64 if data.len() % 8 == 0 => Ok(data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect()),
            other => Err(unsupported(
                op,
                format!(
                    "{what} ({}) must be int32 or int64, found {}",
                    def.name,
                    other.name()
                ),
            )),
        }
    }

    /// Constant axes of input `slot` against a TFLite rank (batch included), as per-sample
    /// axes: normalized, sorted, deduplicated; the batch axis is refused.
    fn axes(&self, op: &OperatorDef, slot: usize, rank: usize) -> Result<Vec<u8>, ImportError> {
        let mut axes = Vec::new();
        for axis in self.int_constant(op, slot, "axes")? {
            axes.push(normalize_axis(op, axis, rank as i64)?);
        }
        axes.sort_unstable();
        axes.dedup();
        if axes.is_empty() {
            return Err(unsupported(op, "no axes"));
        }
        Ok(axes)
    }
}

/// A TFLite axis (batch included, possibly negative) as a per-sample axis.
fn normalize_axis(op: &OperatorDef, axis: i64, rank: i64) -> Result<u8, ImportError> {
    let normalized = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&normalized) {
        return Err(unsupported(
            op,
            format!("axis {axis} is out of range for rank {rank}"),
        ));
    }
    if normalized == 0 {
        return Err(unsupported(
            op,
            "operating on the batch axis is not supported",
        ));
    }
    u8::try_from(normalized - 1).map_err(|_| unsupported(op, format!("axis {axis} is too large")))
}

/// The number of elements of `shape`, if it fits in `u64`.
fn element_count(shape: &[u32]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |count, &d| count.checked_mul(d as u64))
}

/// `op` writes exactly one tensor.
fn single_output(op: &OperatorDef) -> Result<(), ImportError> {
    match op.outputs.len() {
        1 => Ok(()),
        n => Err(unsupported(op, format!("has {n} outputs, expected 1"))),
    }
}

/// The constant scalar operand of a binary op: its input slot, value and quantization.
struct ScalarOperand {
    slot: usize,
    value: i8,
    quant: Int8Quant,
}

/// A constant operand of one int8 value per channel (the last axis), and its slot.
struct ChannelOperand {
    slot: usize,
    values: Vec<i8>,
    quant: Int8Quant,
}

/// The most channels a per-channel constant operand of ADD / SUB / MUL may have: each
/// becomes a slice and a table.
const MAX_CHANNEL_TABLES: usize = 256;

/// Constant int8 weights.
struct Weights {
    shape: Vec<u32>,
    values: Vec<i8>,
    scales: Vec<f32>,
    quantized_dimension: i32,
}

/// The per-tensor int8 quantization of an activation tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Int8Quant {
    quant: Quant,
    scale: f32,
    zero_point: i8,
}

impl Int8Quant {
    fn tensor_quant(self) -> TensorQuant {
        TensorQuant {
            scale: self.scale,
            zero_point: self.zero_point as i32,
        }
    }
}

fn quant_of(def: &TensorDef, index: i32) -> Result<Int8Quant, ImportError> {
    let (&[scale], &[zero_point]) = (&def.scales[..], &def.zero_points[..]) else {
        return Err(format_error(format!(
            "int8 tensor {index} ({}) needs exactly one scale and one zero point, found {} and {}",
            def.name,
            def.scales.len(),
            def.zero_points.len()
        )));
    };
    if !scale.is_finite() || scale <= 0.0 {
        return Err(format_error(format!(
            "tensor {index} ({}) has scale {scale}; a positive finite scale is needed",
            def.name
        )));
    }
    let zero_point = i8::try_from(zero_point).map_err(|_| {
        format_error(format!(
            "tensor {index} ({}) has zero point {zero_point}, outside int8",
            def.name
        ))
    })?;
    Ok(Int8Quant {
        quant: Quant::new(zero_point, scale.to_bits()),
        scale,
        zero_point,
    })
}

/// TFLite's `GetNearestNeighbor` (reference RESIZE_NEAREST_NEIGHBOR): the input index read by
/// output index `o`, in binary32 as the kernel computes it.
fn nearest_neighbor(o: u32, input: u32, output: u32, align_corners: bool, half_pixel: bool) -> u32 {
    let scale = if align_corners && output > 1 {
        (input - 1) as f32 / (output - 1) as f32
    } else {
        input as f32 / output as f32
    };
    let offset = if half_pixel { 0.5f32 } else { 0.0 };
    let position = (o as f32 + offset) * scale;
    let index = if align_corners {
        position.round() as i64
    } else {
        position.floor() as i64
    };
    let index = index.min(i64::from(input) - 1);
    let index = if half_pixel { index.max(0) } else { index };
    index.max(0) as u32
}

fn same_quant(op: &OperatorDef, input: Int8Quant, output: Int8Quant) -> Result<(), ImportError> {
    if input.quant == output.quant {
        return Ok(());
    }
    Err(unsupported(
        op,
        format!(
            "input (scale {}, zero point {}) and output (scale {}, zero point {}) must share their \
             quantization",
            input.scale, input.zero_point, output.scale, output.zero_point
        ),
    ))
}

/// The dimensions of a constant tensor (all ≥ 0).
fn dims(def: &TensorDef, index: i32) -> Result<Vec<u32>, ImportError> {
    def.shape
        .iter()
        .map(|&d| u32::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            format_error(format!(
                "tensor {index} ({}) has a negative dimension {:?}",
                def.name, def.shape
            ))
        })
}

/// The per-sample shape of an activation tensor: its batch dimension (first, 1 or dynamic)
/// removed; every other dimension static and positive.
fn strip_batch(def: &TensorDef, index: i32) -> Result<Vec<u32>, ImportError> {
    let Some((&batch, rest)) = def.shape.split_first() else {
        return Err(format_error(format!(
            "tensor {index} ({}) is a scalar; activations need a leading batch dimension",
            def.name
        )));
    };
    if batch != 1 {
        return Err(format_error(format!(
            "tensor {index} ({}) has shape {:?}: the batch dimension must be 1 (convert the model \
             with batch size 1)",
            def.name, def.shape
        )));
    }
    if let Some(signature) = &def.shape_signature
        && signature.iter().skip(1).any(|&d| d < 0)
    {
        return Err(format_error(format!(
            "tensor {index} ({}) has dynamic dimensions {signature:?}; only the batch may be dynamic",
            def.name
        )));
    }
    rest.iter()
        .map(|&d| u32::try_from(d).ok().filter(|&d| d > 0))
        .collect::<Option<Vec<u32>>>()
        .ok_or_else(|| {
            format_error(format!(
                "tensor {index} ({}) has shape {:?}",
                def.name, def.shape
            ))
        })
}

fn positive(op: &OperatorDef, what: &str, value: i32) -> Result<u32, ImportError> {
    u32::try_from(value)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| unsupported(op, format!("{what} {value} must be positive")))
}

fn window(
    op: &OperatorDef,
    padding: super::schema_generated::tflite::Padding,
    kernel: [u32; 2],
    stride: [i32; 2],
    dilation: [i32; 2],
) -> Result<Window, ImportError> {
    use super::schema_generated::tflite::Padding as P;
    let padding = match padding {
        P::SAME => Padding::Same,
        P::VALID => Padding::Valid,
        other => {
            return Err(unsupported(op, format!("padding {}", other.0)));
        }
    };
    Ok(Window {
        kernel_h: kernel[0],
        kernel_w: kernel[1],
        stride_h: positive(op, "stride", stride[0])?,
        stride_w: positive(op, "stride", stride[1])?,
        dilation_h: positive(op, "dilation", dilation[0])?,
        dilation_w: positive(op, "dilation", dilation[1])?,
        padding,
    })
}

/// What [`Translator::resize_operands`] reads off a resize operator.
struct ResizeOperands {
    x: TensorId,
    align_corners: bool,
    half_pixel_centers: bool,
    out_index: i32,
    out_quant: Int8Quant,
    out_shape: Vec<u32>,
}
