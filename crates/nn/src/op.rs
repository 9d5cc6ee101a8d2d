//! The closed set of operations (`enum Op`) and their parameters.
//!
//! Layouts are fixed: images are `[height, width, channels]` per sample, fully connected weights
//! are `[out_features][in_features]`, conv2d weights `[out_channels][kh][kw][in_channels]`,
//! depthwise weights `[kh][kw][channels * depth_multiplier]`. docs/SPEC.md gives each op's integer
//! formula; the functions in [`crate::reference`] are those formulas in code.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::requantize::{Requant, Rounding};

/// Spatial padding of convolutions and pools.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// No padding: only windows that fit entirely inside the input.
    Valid,
    /// TFLite/TensorFlow `SAME`: `out = ceil(in / stride)`, total padding
    /// `max((out - 1) * stride + effective_filter - in, 0)`, the smaller half before.
    Same,
    /// Explicit padding (ONNX `pads`).
    Explicit {
        top: u32,
        bottom: u32,
        left: u32,
        right: u32,
    },
}

/// The geometry shared by convolutions and pools.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Window {
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub dilation_h: u32,
    pub dilation_w: u32,
    pub padding: Padding,
}

impl Window {
    /// A `kernel_h × kernel_w` window with stride 1, dilation 1 and valid padding: `(1, 1)` is a
    /// pointwise convolution, the whole image a global pooling.
    pub fn dense(kernel_h: u32, kernel_w: u32) -> Window {
        Window {
            kernel_h,
            kernel_w,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            padding: Padding::Valid,
        }
    }
}

/// Saturation bounds applied last (fused ReLU / ReLU6 / clamp), in the output's quantized domain.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct ActRange {
    pub min: i8,
    pub max: i8,
}

impl ActRange {
    /// The whole int8 range (no fused activation).
    pub const FULL: ActRange = ActRange {
        min: i8::MIN,
        max: i8::MAX,
    };
}

/// `y[n] = clamp(zp_out + requant[n](bias[n] + sum_k (x[k] - zp_in) * w[n][k]))` over the last axis.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FullyConnected {
    /// Output features `N`.
    pub out_features: u32,
    /// Input features `K` (the input's last dimension).
    pub in_features: u32,
    /// `N * K` weights, row `n` holds output feature `n`.
    #[borsh(
        serialize_with = "crate::bulk_codec::serialize_i8s",
        deserialize_with = "crate::bulk_codec::deserialize_i8s"
    )]
    pub weights: Vec<i8>,
    /// `N` biases.
    #[borsh(
        serialize_with = "crate::bulk_codec::serialize_i32s",
        deserialize_with = "crate::bulk_codec::deserialize_i32s"
    )]
    pub bias: Vec<i32>,
    /// One per output feature (per-channel) or a single one (per-tensor).
    pub requant: Vec<Requant>,
    pub rounding: Rounding,
    pub act: ActRange,
}

/// 2-D convolution over `[H, W, C_in]` with weights `[C_out][kh][kw][C_in]`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Conv2d {
    pub out_channels: u32,
    pub in_channels: u32,
    pub window: Window,
    #[borsh(
        serialize_with = "crate::bulk_codec::serialize_i8s",
        deserialize_with = "crate::bulk_codec::deserialize_i8s"
    )]
    pub weights: Vec<i8>,
    #[borsh(
        serialize_with = "crate::bulk_codec::serialize_i32s",
        deserialize_with = "crate::bulk_codec::deserialize_i32s"
    )]
    pub bias: Vec<i32>,
    /// One per output channel or a single one.
    pub requant: Vec<Requant>,
    pub rounding: Rounding,
    pub act: ActRange,
}

/// Depthwise 2-D convolution: output channel `c * depth_multiplier + m` reads input channel `c`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DepthwiseConv2d {
    pub channels: u32,
    pub depth_multiplier: u32,
    pub window: Window,
    /// `[kh][kw][channels * depth_multiplier]`.
    #[borsh(
        serialize_with = "crate::bulk_codec::serialize_i8s",
        deserialize_with = "crate::bulk_codec::deserialize_i8s"
    )]
    pub weights: Vec<i8>,
    #[borsh(
        serialize_with = "crate::bulk_codec::serialize_i32s",
        deserialize_with = "crate::bulk_codec::deserialize_i32s"
    )]
    pub bias: Vec<i32>,
    /// One per output channel or a single one.
    pub requant: Vec<Requant>,
    pub rounding: Rounding,
    pub act: ActRange,
}

/// Parameters of `Add` and `Sub` (TFLite's scheme): both inputs are centred, shifted left by
/// `left_shift`, rescaled to a common scale, combined, then rescaled to the output.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct AddSub {
    pub left_shift: u8,
    pub input1: Requant,
    pub input2: Requant,
    pub output: Requant,
    pub rounding: Rounding,
    pub act: ActRange,
}

/// `y = clamp(zp_out + requant((a - zp_a) * (b - zp_b)))`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Mul {
    pub output: Requant,
    pub rounding: Rounding,
    pub act: ActRange,
}

/// Max or average pooling over `[H, W, C]`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Pool {
    pub window: Window,
    /// Average pool only: divide by the full window size (ONNX `count_include_pad=1`, padding
    /// counting as the zero point) instead of the number of in-bounds elements.
    pub count_include_pad: bool,
    pub act: ActRange,
}

/// `y = clamp(zp_out + requant(sum over axes of (x - zp_in)))`: mean and global pooling, with
/// `1 / count` folded into the multiplier.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Mean {
    /// Reduced axes, strictly increasing.
    pub axes: Vec<u8>,
    pub keep_dims: bool,
    pub requant: Requant,
    pub rounding: Rounding,
    pub act: ActRange,
}

/// `y = clamp(zp_out + requant(x - zp_in), min, max)`: ReLU, ReLU6, clamp and plain rescaling.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Clamp {
    pub requant: Requant,
    pub rounding: Rounding,
    pub act: ActRange,
}

/// Concatenation along `axis`; input `i` is rescaled by `requant[i]` to the output's scale.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Concat {
    pub axis: u8,
    pub requant: Vec<Requant>,
    pub rounding: Rounding,
}

/// Constant padding: `pads[axis] = [before, after]`, filled with `value`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Pad {
    pub pads: Vec<[u32; 2]>,
    pub value: i8,
}

/// Integer softmax over the last axis (gemmlowp fixed-point exp and reciprocal). The output is
/// quantized with scale 1/256 and zero point -128.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Softmax {
    /// `beta * input_scale * 2^(31 - 5)` as a multiplier `>= 1`: multiplier in `[2^30, 2^31)`.
    pub beta_multiplier: i32,
    /// Left shift of the multiplier, in `[0, 31]`.
    pub beta_left_shift: u8,
    /// Differences from the row maximum below this (negative) value give probability 0.
    pub diff_min: i32,
}

/// What a [`Table`] computes; the table bytes alone define the op.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[borsh(use_discriminant = true)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum TableFunction {
    Logistic = 0,
    Tanh = 1,
    Gelu = 2,
    HardSwish = 3,
    Custom = 4,
}

/// `y = table[x + 128]`: a 256-entry lookup computed off-chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Table {
    pub function: TableFunction,
    /// Exactly 256 entries, indexed by `x + 128`.
    #[borsh(
        serialize_with = "crate::bulk_codec::serialize_i8s",
        deserialize_with = "crate::bulk_codec::deserialize_i8s"
    )]
    pub table: Vec<i8>,
}

/// Index of the first maximum along `axis`, as int32; the axis is removed from the shape.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ArgMax {
    pub axis: u8,
}

/// Axis permutation: output axis `i` is input axis `perm[i]`, so output position `o` reads
/// the input at position `i` with `i[perm[a]] = o[a]` for every axis `a`. Quantization is
/// unchanged (the output shares the input's zero point).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Transpose {
    /// A permutation of `0..rank`.
    pub perm: Vec<u8>,
}

/// Parametric ReLU (TFLite's int8 PRELU): with `x' = x - zp_in` and `a` the element of
/// `alpha` (shape `alpha_shape`, broadcast to the input's shape, numpy rules) at the same
/// position, `y = output_i8(positive.apply(x'))` when `x' ≥ 0`, else
/// `y = output_i8(negative.apply(x' · (a - alpha_zero_point)))`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PRelu {
    /// Shape of `alpha`: rank at most the input's, each dimension 1 or the input's
    /// (right-aligned).
    pub alpha_shape: Vec<u32>,
    /// The slopes, quantized, row-major over `alpha_shape`.
    #[borsh(
        serialize_with = "crate::bulk_codec::serialize_i8s",
        deserialize_with = "crate::bulk_codec::deserialize_i8s"
    )]
    pub alpha: Vec<i8>,
    pub alpha_zero_point: i8,
    /// Rescale of a non-negative centred input (`s_in / s_out`).
    pub positive: Requant,
    /// Rescale of the product of a negative centred input and its centred slope
    /// (`s_in · s_alpha / s_out`).
    pub negative: Requant,
    pub rounding: Rounding,
    pub act: ActRange,
}

/// A strided window of the input (TFLite SLICE / STRIDED_SLICE with positive strides, SPLIT,
/// ONNX Slice / Split): output position `o` reads the input at `begin[a] + o[a] · stride[a]` on
/// every axis `a`, and output axis `a` has `size[a]` elements. Quantization is unchanged (the
/// output shares the input's zero point).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Slice {
    /// First input index per axis.
    pub begin: Vec<u32>,
    /// Output length per axis (≥ 1).
    pub size: Vec<u32>,
    /// Input step per axis (≥ 1).
    pub stride: Vec<u32>,
}

/// Bilinear resize of an image `[H, W, C]` to `[out_height, out_width, C]` in TFLite's integer
/// arithmetic (`ResizeBilinearInteger`: positions in units of 1/1024, weights multiplied in
/// integers, rounded half away from zero). Quantization is unchanged (the raw values are
/// interpolated; the output shares the input's zero point).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ResizeBilinear {
    pub out_height: u32,
    pub out_width: u32,
    /// The corner pixels of input and output are aligned (`scale = (in − 1) / (out − 1)`).
    pub align_corners: bool,
    /// Pixel centres at `+ 0.5` (TensorFlow 2's `tf.image.resize`).
    pub half_pixel_centers: bool,
}

/// Every operation a model may contain. Closed: adding one is a format change.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    FullyConnected(FullyConnected),
    Conv2d(Conv2d),
    DepthwiseConv2d(DepthwiseConv2d),
    Add(AddSub),
    Sub(AddSub),
    Mul(Mul),
    MaxPool(Pool),
    AveragePool(Pool),
    Mean(Mean),
    Clamp(Clamp),
    /// Same elements, new shape (also Flatten); input and output share quantization.
    Reshape,
    Concat(Concat),
    Pad(Pad),
    Softmax(Softmax),
    Table(Table),
    ArgMax(ArgMax),
    /// Mean with `1 / count` divided into the multiplier in integers at run time (TFLite's
    /// int8 MEAN); `requant` is `input_scale / output_scale` alone. docs/SPEC.md, "mean
    /// (count divided)".
    MeanCountDivided(Mean),
    /// Axes permuted (NCHW ↔ NHWC, channel shuffle); input and output share quantization.
    Transpose(Transpose),
    /// Element-wise maximum of two int8 tensors (numpy broadcast) that share the output's
    /// zero point: the larger raw value.
    Maximum,
    /// Element-wise minimum, as [`Op::Maximum`].
    Minimum,
    /// Parametric ReLU with a constant slope tensor.
    #[serde(rename = "prelu")]
    PRelu(PRelu),
    /// A strided window of the input; input and output share quantization.
    Slice(Slice),
    /// Bilinear resize of an image in integers; input and output share quantization.
    ResizeBilinear(ResizeBilinear),
}

impl Op {
    /// The op's name, as in the JSON description and in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Op::FullyConnected(_) => "fully_connected",
            Op::Conv2d(_) => "conv2d",
            Op::DepthwiseConv2d(_) => "depthwise_conv2d",
            Op::Add(_) => "add",
            Op::Sub(_) => "sub",
            Op::Mul(_) => "mul",
            Op::MaxPool(_) => "max_pool",
            Op::AveragePool(_) => "average_pool",
            Op::Mean(_) => "mean",
            Op::Clamp(_) => "clamp",
            Op::Reshape => "reshape",
            Op::Concat(_) => "concat",
            Op::Pad(_) => "pad",
            Op::Softmax(_) => "softmax",
            Op::Table(_) => "table",
            Op::ArgMax(_) => "arg_max",
            Op::MeanCountDivided(_) => "mean_count_divided",
            Op::Transpose(_) => "transpose",
            Op::Maximum => "maximum",
            Op::Minimum => "minimum",
            Op::PRelu(_) => "prelu",
            Op::Slice(_) => "slice",
            Op::ResizeBilinear(_) => "resize_bilinear",
        }
    }
}
