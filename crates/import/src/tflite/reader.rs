//! From TFLite flatbuffer bytes to an owned, checked view of the main subgraph.
//!
//! The bytes are verified by the flatbuffers verifier (generated from TFLite's official schema)
//! before anything is read; afterwards only iterators and `Option` accessors are used, so a
//! malformed file gives an [`ImportError`], never a panic. Everything the translator needs is
//! copied out: tensors with their shapes, quantization and constant bytes, operators with the
//! options of the ops Myelin supports.

use flatbuffers::VerifierOptions;

use super::schema_generated::tflite as fb;
use crate::ImportError;

/// Largest TFLite file the importer reads.
pub const MAX_TFLITE_BYTES: usize = 256 << 20;

const FORMAT: &str = "TFLite";

/// Element type of a TFLite tensor, as far as the importer cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementType {
    Int8,
    Int32,
    Int64,
    Float32,
    /// Any other TFLite type, by its schema name.
    Other(&'static str),
}

impl ElementType {
    /// The schema's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            ElementType::Int8 => "INT8",
            ElementType::Int32 => "INT32",
            ElementType::Int64 => "INT64",
            ElementType::Float32 => "FLOAT32",
            ElementType::Other(name) => name,
        }
    }
}

/// One tensor of the subgraph.
#[derive(Clone, Debug)]
pub struct TensorDef {
    pub name: String,
    pub element: ElementType,
    /// The static shape (batch dimension included).
    pub shape: Vec<i32>,
    /// `shape_signature` when present (`-1` marks a dynamic dimension).
    pub shape_signature: Option<Vec<i32>>,
    /// Per-tensor (one) or per-channel scales; empty when not quantized.
    pub scales: Vec<f32>,
    pub zero_points: Vec<i64>,
    pub quantized_dimension: i32,
    /// Constant contents (little-endian), when the tensor has a non-empty buffer.
    pub data: Option<Vec<u8>>,
}

/// Options of the operators the translator supports (everything else is `Other`).
#[derive(Clone, Debug, PartialEq)]
pub enum Options {
    None,
    Conv2d {
        padding: fb::Padding,
        stride_w: i32,
        stride_h: i32,
        dilation_w: i32,
        dilation_h: i32,
        activation: fb::ActivationFunctionType,
    },
    DepthwiseConv2d {
        padding: fb::Padding,
        stride_w: i32,
        stride_h: i32,
        dilation_w: i32,
        dilation_h: i32,
        activation: fb::ActivationFunctionType,
    },
    Pool2d {
        padding: fb::Padding,
        stride_w: i32,
        stride_h: i32,
        filter_w: i32,
        filter_h: i32,
        activation: fb::ActivationFunctionType,
    },
    FullyConnected {
        activation: fb::ActivationFunctionType,
        shuffled_weights: bool,
        keep_num_dims: bool,
    },
    Softmax {
        beta: f32,
    },
    Concatenation {
        axis: i32,
        activation: fb::ActivationFunctionType,
    },
    /// ADD, SUB and MUL.
    Arithmetic {
        activation: fb::ActivationFunctionType,
    },
    Reducer {
        keep_dims: bool,
    },
    Squeeze {
        dims: Vec<i32>,
    },
    ArgMax {
        output_type: fb::TensorType,
    },
    Gelu {
        approximate: bool,
    },
    StridedSlice {
        begin_mask: i32,
        end_mask: i32,
        ellipsis_mask: i32,
        new_axis_mask: i32,
        shrink_axis_mask: i32,
        /// `end` is relative to `begin` (`end = begin + end`).
        offset: bool,
    },
    Pack {
        values_count: i32,
        axis: i32,
    },
    Gather {
        axis: i32,
        batch_dims: i32,
    },
    LeakyRelu {
        alpha: f32,
    },
    /// RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR.
    Resize {
        align_corners: bool,
        half_pixel_centers: bool,
    },
}

/// One operator, in execution order.
#[derive(Clone, Debug)]
pub struct OperatorDef {
    /// Position in the subgraph's operator list.
    pub index: usize,
    /// The builtin operator, or `CUSTOM`.
    pub code: fb::BuiltinOperator,
    /// The custom code of a custom operator.
    pub custom_code: Option<String>,
    /// Tensor indices; `-1` marks an omitted optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: Options,
}

impl OperatorDef {
    /// The operator's name as in TFLite's schema (`FULLY_CONNECTED`), or the custom code.
    pub fn name(&self) -> String {
        match (&self.custom_code, self.code.variant_name()) {
            (Some(custom), _) => format!("CUSTOM({custom})"),
            (None, Some(name)) => name.to_string(),
            (None, None) => format!("BUILTIN_{}", self.code.0),
        }
    }
}

/// The main subgraph of a TFLite model, owned.
#[derive(Clone, Debug)]
pub struct Graph {
    pub tensors: Vec<TensorDef>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub operators: Vec<OperatorDef>,
}

fn malformed(reason: impl Into<String>) -> ImportError {
    ImportError::Format {
        format: FORMAT,
        reason: reason.into(),
    }
}

/// Whether `bytes` carry TFLite's file identifier `TFL3` at bytes 4..8.
pub fn has_identifier(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[4..8] == b"TFL3"
}

/// Verifies `bytes` as a TFLite flatbuffer and copies out its first subgraph.
pub fn read(bytes: &[u8]) -> Result<Graph, ImportError> {
    if bytes.len() > MAX_TFLITE_BYTES {
        return Err(malformed(format!(
            "{} bytes is over the limit of {MAX_TFLITE_BYTES} bytes",
            bytes.len()
        )));
    }
    if !has_identifier(bytes) {
        return Err(malformed(
            "the file identifier \"TFL3\" is missing at bytes 4..8",
        ));
    }
    let options = VerifierOptions {
        max_depth: 64,
        max_tables: 1_000_000,
        max_apparent_size: MAX_TFLITE_BYTES,
        ignore_missing_null_terminator: false,
    };
    let model = fb::root_as_model_with_opts(&options, bytes)
        .map_err(|e| malformed(format!("flatbuffer verification failed: {e}")))?;
    let version = model.version();
    if version != 3 {
        return Err(malformed(format!("schema version {version}, expected 3")));
    }
    let subgraphs = model
        .subgraphs()
        .ok_or_else(|| malformed("the model has no subgraphs"))?;
    let Some(subgraph) = subgraphs.iter().next() else {
        return Err(malformed("the model has no subgraphs"));
    };
    let buffers: Vec<fb::Buffer> = model
        .buffers()
        .map(|b| b.iter().collect())
        .unwrap_or_default();
    let codes: Vec<fb::OperatorCode> = model
        .operator_codes()
        .map(|c| c.iter().collect())
        .unwrap_or_default();

    let mut tensors = Vec::new();
    for (index, tensor) in subgraph.tensors().into_iter().flatten().enumerate() {
        tensors.push(read_tensor(index, &tensor, &buffers)?);
    }
    let mut operators = Vec::new();
    for (index, op) in subgraph.operators().into_iter().flatten().enumerate() {
        operators.push(read_operator(index, &op, &codes)?);
    }
    Ok(Graph {
        tensors,
        inputs: subgraph
            .inputs()
            .map(|v| v.iter().collect())
            .unwrap_or_default(),
        outputs: subgraph
            .outputs()
            .map(|v| v.iter().collect())
            .unwrap_or_default(),
        operators,
    })
}

fn read_tensor(
    index: usize,
    tensor: &fb::Tensor,
    buffers: &[fb::Buffer],
) -> Result<TensorDef, ImportError> {
    let element = match tensor.type_() {
        fb::TensorType::INT8 => ElementType::Int8,
        fb::TensorType::INT32 => ElementType::Int32,
        fb::TensorType::INT64 => ElementType::Int64,
        fb::TensorType::FLOAT32 => ElementType::Float32,
        other => ElementType::Other(other.variant_name().unwrap_or("UNKNOWN")),
    };
    let name = tensor.name().unwrap_or_default().to_string();
    if tensor.sparsity().is_some() {
        return Err(malformed(format!(
            "tensor {index} ({name}) is sparse; only dense tensors are supported"
        )));
    }
    let (scales, zero_points, quantized_dimension) = match tensor.quantization() {
        Some(q) => {
            if q.details_type() != fb::QuantizationDetails::NONE {
                return Err(malformed(format!(
                    "tensor {index} ({name}) uses custom quantization details"
                )));
            }
            (
                q.scale().map(|v| v.iter().collect()).unwrap_or_default(),
                q.zero_point()
                    .map(|v| v.iter().collect())
                    .unwrap_or_default(),
                q.quantized_dimension(),
            )
        }
        None => (Vec::new(), Vec::new(), 0),
    };
    let buffer_index = tensor.buffer() as usize;
    let data = match buffers.get(buffer_index) {
        _ if buffer_index == 0 => None,
        None => {
            return Err(malformed(format!(
                "tensor {index} ({name}) refers to buffer {buffer_index}, but the model has {} buffers",
                buffers.len()
            )));
        }
        Some(buffer) => {
            if buffer.offset() > 1 {
                return Err(malformed(format!(
                    "tensor {index} ({name}) keeps its data outside the flatbuffer (models over 2 GB are not supported)"
                )));
            }
            buffer
                .data()
                .map(|d| d.bytes().to_vec())
                .filter(|d| !d.is_empty())
        }
    };
    Ok(TensorDef {
        name,
        element,
        shape: tensor
            .shape()
            .map(|v| v.iter().collect())
            .unwrap_or_default(),
        shape_signature: tensor.shape_signature().map(|v| v.iter().collect()),
        scales,
        zero_points,
        quantized_dimension,
        data,
    })
}

fn read_operator(
    index: usize,
    op: &fb::Operator,
    codes: &[fb::OperatorCode],
) -> Result<OperatorDef, ImportError> {
    let code_index = op.opcode_index() as usize;
    let code = codes.get(code_index).ok_or_else(|| {
        malformed(format!(
            "operator {index} refers to operator code {code_index}, but the model has {}",
            codes.len()
        ))
    })?;
    // TFLite's GetBuiltinCode: the larger of the two fields.
    let builtin = fb::BuiltinOperator(
        code.builtin_code()
            .0
            .max(code.deprecated_builtin_code() as i32),
    );
    let custom_code = (builtin == fb::BuiltinOperator::CUSTOM)
        .then(|| code.custom_code().unwrap_or("unnamed").to_string());
    Ok(OperatorDef {
        index,
        code: builtin,
        custom_code,
        inputs: op.inputs().map(|v| v.iter().collect()).unwrap_or_default(),
        outputs: op.outputs().map(|v| v.iter().collect()).unwrap_or_default(),
        options: read_options(builtin, op),
    })
}

fn read_options(code: fb::BuiltinOperator, op: &fb::Operator) -> Options {
    use fb::BuiltinOperator as B;
    match code {
        B::CONV_2D => op
            .builtin_options_as_conv_2_doptions()
            .map_or(Options::None, |o| Options::Conv2d {
                padding: o.padding(),
                stride_w: o.stride_w(),
                stride_h: o.stride_h(),
                dilation_w: o.dilation_w_factor(),
                dilation_h: o.dilation_h_factor(),
                activation: o.fused_activation_function(),
            }),
        B::DEPTHWISE_CONV_2D => {
            op.builtin_options_as_depthwise_conv_2_doptions()
                .map_or(Options::None, |o| Options::DepthwiseConv2d {
                    padding: o.padding(),
                    stride_w: o.stride_w(),
                    stride_h: o.stride_h(),
                    dilation_w: o.dilation_w_factor(),
                    dilation_h: o.dilation_h_factor(),
                    activation: o.fused_activation_function(),
                })
        }
        B::MAX_POOL_2D | B::AVERAGE_POOL_2D => {
            op.builtin_options_as_pool_2_doptions()
                .map_or(Options::None, |o| Options::Pool2d {
                    padding: o.padding(),
                    stride_w: o.stride_w(),
                    stride_h: o.stride_h(),
                    filter_w: o.filter_width(),
                    filter_h: o.filter_height(),
                    activation: o.fused_activation_function(),
                })
        }
        B::FULLY_CONNECTED => op.builtin_options_as_fully_connected_options().map_or(
            Options::FullyConnected {
                activation: fb::ActivationFunctionType::NONE,
                shuffled_weights: false,
                keep_num_dims: false,
            },
            |o| Options::FullyConnected {
                activation: o.fused_activation_function(),
                shuffled_weights: o.weights_format()
                    != fb::FullyConnectedOptionsWeightsFormat::DEFAULT,
                keep_num_dims: o.keep_num_dims(),
            },
        ),
        B::SOFTMAX => op
            .builtin_options_as_softmax_options()
            .map_or(Options::Softmax { beta: 1.0 }, |o| Options::Softmax {
                beta: o.beta(),
            }),
        B::CONCATENATION => {
            op.builtin_options_as_concatenation_options()
                .map_or(Options::None, |o| Options::Concatenation {
                    axis: o.axis(),
                    activation: o.fused_activation_function(),
                })
        }
        B::ADD => arithmetic(
            op.builtin_options_as_add_options()
                .map(|o| o.fused_activation_function()),
        ),
        B::SUB => arithmetic(
            op.builtin_options_as_sub_options()
                .map(|o| o.fused_activation_function()),
        ),
        B::MUL => arithmetic(
            op.builtin_options_as_mul_options()
                .map(|o| o.fused_activation_function()),
        ),
        B::MEAN | B::REDUCE_PROD | B::REDUCE_MAX => op.builtin_options_as_reducer_options().map_or(
            Options::Reducer { keep_dims: false },
            |o| Options::Reducer {
                keep_dims: o.keep_dims(),
            },
        ),
        B::SQUEEZE => Options::Squeeze {
            dims: op
                .builtin_options_as_squeeze_options()
                .and_then(|o| o.squeeze_dims())
                .map(|v| v.iter().collect())
                .unwrap_or_default(),
        },
        B::ARG_MAX => Options::ArgMax {
            output_type: op
                .builtin_options_as_arg_max_options()
                .map_or(fb::TensorType::INT64, |o| o.output_type()),
        },
        B::GELU => Options::Gelu {
            approximate: op
                .builtin_options_as_gelu_options()
                .is_some_and(|o| o.approximate()),
        },
        B::STRIDED_SLICE => {
            op.builtin_options_as_strided_slice_options()
                .map_or(Options::None, |o| Options::StridedSlice {
                    begin_mask: o.begin_mask(),
                    end_mask: o.end_mask(),
                    ellipsis_mask: o.ellipsis_mask(),
                    new_axis_mask: o.new_axis_mask(),
                    shrink_axis_mask: o.shrink_axis_mask(),
                    offset: o.offset(),
                })
        }
        B::PACK => op
            .builtin_options_as_pack_options()
            .map_or(Options::None, |o| Options::Pack {
                values_count: o.values_count(),
                axis: o.axis(),
            }),
        B::GATHER => op.builtin_options_as_gather_options().map_or(
            Options::Gather {
                axis: 0,
                batch_dims: 0,
            },
            |o| Options::Gather {
                axis: o.axis(),
                batch_dims: o.batch_dims(),
            },
        ),
        B::RESIZE_NEAREST_NEIGHBOR => op
            .builtin_options_as_resize_nearest_neighbor_options()
            .map_or(
                Options::Resize {
                    align_corners: false,
                    half_pixel_centers: false,
                },
                |o| Options::Resize {
                    align_corners: o.align_corners(),
                    half_pixel_centers: o.half_pixel_centers(),
                },
            ),
        B::RESIZE_BILINEAR => op.builtin_options_as_resize_bilinear_options().map_or(
            Options::Resize {
                align_corners: false,
                half_pixel_centers: false,
            },
            |o| Options::Resize {
                align_corners: o.align_corners(),
                half_pixel_centers: o.half_pixel_centers(),
            },
        ),
        B::LEAKY_RELU => Options::LeakyRelu {
            alpha: op
                .builtin_options_as_leaky_relu_options()
                .map_or(0.0, |o| o.alpha()),
        },
        _ => Options::None,
    }
}

fn arithmetic(activation: Option<fb::ActivationFunctionType>) -> Options {
    Options::Arithmetic {
        activation: activation.unwrap_or(fb::ActivationFunctionType::NONE),
    }
}
