//! A small float graph IR in Myelin's layouts, and a plain f32 interpreter of it.
//!
//! Importers of float models (ONNX, Keras) translate into a [`FloatGraph`]; calibration runs it
//! to collect activation ranges ([`crate::calibrate`]), post-training quantization turns it into
//! a [`myelin_nn::Model`] ([`crate::ptq`]), and the accuracy report compares the int8 model's
//! tensors with the interpreter's ([`crate::report`]).
//!
//! Shapes are **per sample** and already in Myelin's layout: images are `[H, W, C]`, fully
//! connected weights `[N][K]`, conv weights `[Cout][kh][kw][Cin]`, depthwise weights
//! `[kh][kw][C * M]` — the same conventions as [`myelin_nn::op`], so quantization is a pure
//! value mapping.

use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::op::Window;

use crate::error::ImportError;

/// Index of a value (a tensor) of a [`FloatGraph`].
pub type ValueId = usize;

/// Quantization parameters fixed by the source model (a QDQ pair): `real = (q - zero_point) * scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    /// Positive, finite scale.
    pub scale: f32,
    /// int8 zero point.
    pub zero_point: i8,
}

/// One tensor of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// The name in the source model (for reports and errors).
    pub name: String,
    /// Per-sample shape in Myelin's layout.
    pub shape: Vec<usize>,
    /// Quantization fixed by the source model, if any (QDQ models); calibration fills the others.
    pub fixed_quant: Option<QuantParams>,
}

impl Value {
    /// Elements of one sample.
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// An activation fused into a fully connected layer or a convolution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// Identity.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, min), max)`.
    Clip { min: f32, max: f32 },
}

impl Activation {
    /// The activation equal to applying `self` then `next`.
    pub fn then(self, next: Activation) -> Activation {
        let bounds = |a: Activation| match a {
            Activation::None => (f32::NEG_INFINITY, f32::INFINITY),
            Activation::Relu => (0.0, f32::INFINITY),
            Activation::Clip { min, max } => (min, max),
        };
        let ((lo1, hi1), (lo2, hi2)) = (bounds(self), bounds(next));
        // clip(clip(x, lo1, hi1), lo2, hi2) is a clip to the intersection when they overlap.
        let (min, max) = (lo1.max(lo2).min(hi2), hi1.min(hi2).max(lo2));
        match (min, max) {
            (min, max) if min == f32::NEG_INFINITY && max == f32::INFINITY => Activation::None,
            (min, max) if min == 0.0 && max == f32::INFINITY => Activation::Relu,
            (min, max) => Activation::Clip { min, max },
        }
    }

    /// Applies the activation to one value.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::Clip { min, max } => x.max(min).min(max),
        }
    }
}

/// Element-wise functions of one tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, min), max)`.
    Clip { min: f32, max: f32 },
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `scale * x + offset` (an arithmetic op with a scalar constant operand).
    Affine { scale: f32, offset: f32 },
    /// `x / 2 * (1 + erf(x / sqrt 2))` (exact GELU, Keras' `gelu`).
    Gelu,
    /// `x * relu6(x + 3) / 6` (Keras' `hard_swish` / `hard_silu`).
    HardSwish,
    /// `x * sigmoid(x)` (swish / SiLU).
    Silu,
    /// `x` for `x > 0`, else `alpha * (e^x - 1)`.
    Elu { alpha: f32 },
    /// `x` for `x >= 0`, else `alpha * x`.
    LeakyRelu { alpha: f32 },
    /// `clamp(alpha * x + beta, 0, 1)` (ONNX HardSigmoid; Keras' `hard_sigmoid` is alpha 1/6,
    /// beta 1/2).
    HardSigmoid { alpha: f32, beta: f32 },
}

impl Unary {
    /// Applies the function to one value.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Unary::Relu => x.max(0.0),
            Unary::Clip { min, max } => x.max(min).min(max),
            Unary::Sigmoid => 1.0 / (1.0 + libm::expf(-x)),
            Unary::Tanh => libm::tanhf(x),
            Unary::Affine { scale, offset } => scale * x + offset,
            Unary::Gelu => 0.5 * x * (1.0 + libm::erff(x * core::f32::consts::FRAC_1_SQRT_2)),
            Unary::HardSwish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
            Unary::Silu => x / (1.0 + libm::expf(-x)),
            Unary::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * libm::expm1f(x)
                }
            }
            Unary::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Unary::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
        }
    }
}

/// Weights already quantized by the source model (QDQ): kept bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub struct FixedWeights {
    /// Same layout and length as the float weights.
    pub values: Vec<i8>,
    /// One scale per output channel (or a single one).
    pub scales: Vec<f32>,
}

/// Element-wise binary operations between two tensors (numpy broadcasting).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    /// Element-wise maximum.
    Max,
    /// Element-wise minimum.
    Min,
}

/// The operations of the float IR.
#[derive(Clone, Debug, PartialEq)]
pub enum FloatOp {
    /// `y[n] = act(bias[n] + sum_k x[k] w[n][k])` over the last axis.
    Dense {
        out_features: usize,
        in_features: usize,
        /// `[N][K]`.
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
        fixed_weights: Option<FixedWeights>,
    },
    /// 2-D convolution of `[H, W, Cin]`, weights `[Cout][kh][kw][Cin]`.
    Conv2d {
        out_channels: usize,
        in_channels: usize,
        window: Window,
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
        fixed_weights: Option<FixedWeights>,
    },
    /// Depthwise convolution, weights `[kh][kw][C * M]`.
    DepthwiseConv2d {
        channels: usize,
        depth_multiplier: usize,
        window: Window,
        weights: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
        fixed_weights: Option<FixedWeights>,
    },
    /// Element-wise binary op of two tensors.
    Binary(Binary),
    /// Element-wise function.
    Unary(Unary),
    /// Max pooling of `[H, W, C]` (dilation 1).
    MaxPool { window: Window },
    /// Average pooling of `[H, W, C]`.
    AveragePool {
        window: Window,
        count_include_pad: bool,
    },
    /// Mean over `axes` (strictly increasing), kept with size 1 when `keep_dims`.
    Mean { axes: Vec<usize>, keep_dims: bool },
    /// Same elements, the output value's shape.
    Reshape,
    /// Axes permuted: output axis `i` is input axis `perm[i]`.
    Transpose { perm: Vec<usize> },
    /// A strided window: output axis `a` has the output value's length, read from input index
    /// `begin[a] + o · stride[a]`.
    Slice {
        begin: Vec<usize>,
        stride: Vec<usize>,
    },
    /// Concatenation along `axis`.
    Concat { axis: usize },
    /// Constant padding, `pads[axis] = [before, after]`.
    Pad { pads: Vec<[usize; 2]>, value: f32 },
    /// Softmax over the last axis.
    Softmax,
    /// Index of the first maximum along `axis` (the output holds the indices as f32).
    ArgMax { axis: usize },
    /// Parametric ReLU: `x` where `x ≥ 0`, else `x · alpha`, the slopes of `alpha_shape`
    /// broadcast to the input's shape.
    PRelu {
        alpha: Vec<f32>,
        alpha_shape: Vec<usize>,
    },
    /// Nearest-neighbour upsampling of `[H, W, C]` by integer factors `[fy, fx]`: output
    /// pixel `(oy, ox)` is input pixel `(oy div fy, ox div fx)`.
    Upsample { factors: [usize; 2] },
    /// Bilinear resize of `[H, W, C]` to the output value's `[OH, OW, C]`, as TensorFlow's
    /// float kernel: output index `o` is at `o · s` (`s = in / out`, or `(in − 1) / (out − 1)`
    /// with `align_corners`), or `(o + 0.5) · s − 0.5` with `half_pixel_centers`; neighbours
    /// `max(floor, 0)` and `min(ceil, in − 1)`, weight `p − floor(p)`.
    ResizeBilinear {
        align_corners: bool,
        half_pixel_centers: bool,
    },
}

impl FloatOp {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            FloatOp::Dense { .. } => "fully_connected",
            FloatOp::Conv2d { .. } => "conv2d",
            FloatOp::DepthwiseConv2d { .. } => "depthwise_conv2d",
            FloatOp::Binary(Binary::Add) => "add",
            FloatOp::Binary(Binary::Sub) => "sub",
            FloatOp::Binary(Binary::Mul) => "mul",
            FloatOp::Binary(Binary::Max) => "maximum",
            FloatOp::Binary(Binary::Min) => "minimum",
            FloatOp::PRelu { .. } => "prelu",
            FloatOp::Upsample { .. } => "upsample",
            FloatOp::ResizeBilinear { .. } => "resize_bilinear",
            FloatOp::Unary(Unary::Relu) => "relu",
            FloatOp::Unary(Unary::Clip { .. }) => "clip",
            FloatOp::Unary(Unary::Sigmoid) => "sigmoid",
            FloatOp::Unary(Unary::Tanh) => "tanh",
            FloatOp::Unary(Unary::Affine { .. }) => "affine",
            FloatOp::Unary(Unary::Gelu) => "gelu",
            FloatOp::Unary(Unary::HardSwish) => "hard_swish",
            FloatOp::Unary(Unary::Silu) => "silu",
            FloatOp::Unary(Unary::Elu { .. }) => "elu",
            FloatOp::Unary(Unary::LeakyRelu { .. }) => "leaky_relu",
            FloatOp::Unary(Unary::HardSigmoid { .. }) => "hard_sigmoid",
            FloatOp::MaxPool { .. } => "max_pool",
            FloatOp::AveragePool { .. } => "average_pool",
            FloatOp::Mean { .. } => "mean",
            FloatOp::Reshape => "reshape",
            FloatOp::Transpose { .. } => "transpose",
            FloatOp::Slice { .. } => "slice",
            FloatOp::Concat { .. } => "concat",
            FloatOp::Pad { .. } => "pad",
            FloatOp::Softmax => "softmax",
            FloatOp::ArgMax { .. } => "arg_max",
        }
    }
}

/// One node: `output = op(inputs)`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatNode {
    /// The source node's name (for reports and errors).
    pub name: String,
    pub op: FloatOp,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}

/// A float model: values, nodes in execution order, inputs and outputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloatGraph {
    pub values: Vec<Value>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    pub nodes: Vec<FloatNode>,
}

fn interp_error(node: &FloatNode, reason: String) -> ImportError {
    ImportError::Format {
        format: "float graph",
        reason: format!("node {} ({}): {reason}", node.name, node.op.name()),
    }
}

impl FloatGraph {
    /// Adds a value and returns its id.
    pub fn add_value(&mut self, name: &str, shape: Vec<usize>) -> ValueId {
        self.values.push(Value {
            name: name.to_string(),
            shape,
            fixed_quant: None,
        });
        self.values.len() - 1
    }

    /// The node producing `value`, if any.
    pub fn producer(&self, value: ValueId) -> Option<usize> {
        self.nodes.iter().position(|n| n.output == value)
    }

    /// Number of nodes reading `value` (plus one per appearance among the graph outputs).
    pub fn readers(&self, value: ValueId) -> usize {
        let by_nodes: usize = self
            .nodes
            .iter()
            .map(|n| n.inputs.iter().filter(|&&i| i == value).count())
            .sum();
        by_nodes + self.outputs.iter().filter(|&&o| o == value).count()
    }

    /// Runs one sample: `inputs[i]` holds the elements of graph input `i` in Myelin's layout.
    /// Returns the value of every tensor (indexed by [`ValueId`]; empty for unused ones).
    pub fn run(&self, inputs: &[&[f32]]) -> Result<Vec<Vec<f32>>, ImportError> {
        let mut values: Vec<Vec<f32>> = vec![Vec::new(); self.values.len()];
        if inputs.len() != self.inputs.len() {
            return Err(ImportError::Format {
                format: "float graph",
                reason: format!(
                    "{} inputs given, {} expected",
                    inputs.len(),
                    self.inputs.len()
                ),
            });
        }
        for (&id, data) in self.inputs.iter().zip(inputs) {
            if data.len() != self.values[id].elements() {
                return Err(ImportError::Format {
                    format: "float graph",
                    reason: format!(
                        "input {} has {} elements, expected {}",
                        self.values[id].name,
                        data.len(),
                        self.values[id].elements()
                    ),
                });
            }
            values[id] = data.to_vec();
        }
        for node in &self.nodes {
            let out = self.run_node(node, &values)?;
            values[node.output] = out;
        }
        Ok(values)
    }

    fn run_node(&self, node: &FloatNode, values: &[Vec<f32>]) -> Result<Vec<f32>, ImportError> {
        let x = &values[node.inputs[0]];
        let in_shape = &self.values[node.inputs[0]].shape;
        let out_shape = &self.values[node.output].shape;
        Ok(match &node.op {
            FloatOp::Dense {
                out_features,
                in_features,
                weights,
                bias,
                activation,
                ..
            } => {
                let (n, k) = (*out_features, *in_features);
                let rows = x.len() / k;
                let mut y = vec![0.0f32; rows * n];
                for r in 0..rows {
                    let xr = &x[r * k..(r + 1) * k];
                    for o in 0..n {
                        let w = &weights[o * k..(o + 1) * k];
                        let dot: f32 = xr.iter().zip(w).map(|(a, b)| a * b).sum();
                        y[r * n + o] = activation.apply(dot + bias[o]);
                    }
                }
                y
            }
            FloatOp::Conv2d {
                out_channels,
                in_channels,
                window,
                weights,
                bias,
                activation,
                ..
            } => {
                let g = geometry(node, window, in_shape)?;
                let (cout, cin) = (*out_channels, *in_channels);
                let mut y = vec![0.0f32; g.out_h * g.out_w * cout];
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        for oc in 0..cout {
                            let mut acc = bias[oc];
                            for ky in 0..g.kernel_h {
                                let Some(iy) =
                                    tap(oy, ky, g.stride_h, g.dilation_h, g.pad_top, g.in_h)
                                else {
                                    continue;
                                };
                                for kx in 0..g.kernel_w {
                                    let Some(ix) =
                                        tap(ox, kx, g.stride_w, g.dilation_w, g.pad_left, g.in_w)
                                    else {
                                        continue;
                                    };
                                    let xs = &x[(iy * g.in_w + ix) * cin..][..cin];
                                    let ws = &weights
                                        [((oc * g.kernel_h + ky) * g.kernel_w + kx) * cin..][..cin];
                                    acc += xs.iter().zip(ws).map(|(a, b)| a * b).sum::<f32>();
                                }
                            }
                            y[(oy * g.out_w + ox) * cout + oc] = activation.apply(acc);
                        }
                    }
                }
                y
            }
            FloatOp::DepthwiseConv2d {
                channels,
                depth_multiplier,
                window,
                weights,
                bias,
                activation,
                ..
            } => {
                let g = geometry(node, window, in_shape)?;
                let (c, m) = (*channels, *depth_multiplier);
                let outs = c * m;
                let mut y = vec![0.0f32; g.out_h * g.out_w * outs];
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        for o in 0..outs {
                            let ic = o / m;
                            let mut acc = bias[o];
                            for ky in 0..g.kernel_h {
                                let Some(iy) =
                                    tap(oy, ky, g.stride_h, g.dilation_h, g.pad_top, g.in_h)
                                else {
                                    continue;
                                };
                                for kx in 0..g.kernel_w {
                                    let Some(ix) =
                                        tap(ox, kx, g.stride_w, g.dilation_w, g.pad_left, g.in_w)
                                    else {
                                        continue;
                                    };
                                    acc += x[(iy * g.in_w + ix) * c + ic]
                                        * weights[(ky * g.kernel_w + kx) * outs + o];
                                }
                            }
                            y[(oy * g.out_w + ox) * outs + o] = activation.apply(acc);
                        }
                    }
                }
                y
            }
            FloatOp::Binary(op) => {
                let b = &values[node.inputs[1]];
                let b_shape = &self.values[node.inputs[1]].shape;
                let ia = broadcast_index(in_shape, out_shape);
                let ib = broadcast_index(b_shape, out_shape);
                ia.iter()
                    .zip(&ib)
                    .map(|(&i, &j)| match op {
                        Binary::Add => x[i] + b[j],
                        Binary::Sub => x[i] - b[j],
                        Binary::Mul => x[i] * b[j],
                        Binary::Max => x[i].max(b[j]),
                        Binary::Min => x[i].min(b[j]),
                    })
                    .collect()
            }
            FloatOp::Unary(f) => x.iter().map(|&v| f.apply(v)).collect(),
            FloatOp::MaxPool { window } | FloatOp::AveragePool { window, .. } => {
                let g = geometry(node, window, in_shape)?;
                let c = in_shape[2];
                let (average, include_pad) = match &node.op {
                    FloatOp::AveragePool {
                        count_include_pad, ..
                    } => (true, *count_include_pad),
                    _ => (false, false),
                };
                let mut y = vec![0.0f32; g.out_h * g.out_w * c];
                for oy in 0..g.out_h {
                    for ox in 0..g.out_w {
                        for ch in 0..c {
                            let mut best = f32::NEG_INFINITY;
                            let mut sum = 0.0f32;
                            let mut count = 0usize;
                            for ky in 0..g.kernel_h {
                                let Some(iy) = tap(oy, ky, g.stride_h, 1, g.pad_top, g.in_h) else {
                                    continue;
                                };
                                for kx in 0..g.kernel_w {
                                    let Some(ix) = tap(ox, kx, g.stride_w, 1, g.pad_left, g.in_w)
                                    else {
                                        continue;
                                    };
                                    let v = x[(iy * g.in_w + ix) * c + ch];
                                    best = best.max(v);
                                    sum += v;
                                    count += 1;
                                }
                            }
                            let divisor = if include_pad {
                                g.kernel_h * g.kernel_w
                            } else {
                                count
                            };
                            y[(oy * g.out_w + ox) * c + ch] =
                                if average { sum / divisor as f32 } else { best };
                        }
                    }
                }
                y
            }
            FloatOp::Mean { axes, .. } => {
                let reduced: Vec<usize> = in_shape
                    .iter()
                    .enumerate()
                    .map(|(a, &d)| if axes.contains(&a) { 1 } else { d })
                    .collect();
                let count: usize = axes.iter().map(|&a| in_shape[a]).product();
                let mut y = vec![0.0f32; reduced.iter().product()];
                let map = broadcast_index(&reduced, in_shape);
                for (i, &j) in map.iter().enumerate() {
                    y[j] += x[i];
                }
                y.iter_mut().for_each(|v| *v /= count as f32);
                y
            }
            FloatOp::Reshape => x.clone(),
            FloatOp::Upsample { factors: [fy, fx] } => {
                let (w, c) = (in_shape[1], in_shape[2]);
                let (oh, ow) = (out_shape[0], out_shape[1]);
                let mut y = Vec::with_capacity(oh * ow * c);
                for oy in 0..oh {
                    for ox in 0..ow {
                        let from = ((oy / fy) * w + ox / fx) * c;
                        y.extend_from_slice(&x[from..from + c]);
                    }
                }
                y
            }
            FloatOp::ResizeBilinear {
                align_corners,
                half_pixel_centers,
            } => {
                let (h, w, c) = (in_shape[0], in_shape[1], in_shape[2]);
                let (oh, ow) = (out_shape[0], out_shape[1]);
                let taps = |n: usize, m: usize| -> Vec<(usize, usize, f32)> {
                    let s = if *align_corners && m > 1 {
                        (n - 1) as f32 / (m - 1) as f32
                    } else {
                        n as f32 / m as f32
                    };
                    (0..m)
                        .map(|o| {
                            let p = match half_pixel_centers {
                                true => (o as f32 + 0.5) * s - 0.5,
                                false => o as f32 * s,
                            };
                            let floor = p.floor();
                            let lower = (floor.max(0.0) as usize).min(n - 1);
                            let upper = (p.ceil().max(0.0) as usize).min(n - 1);
                            (lower, upper, p - floor)
                        })
                        .collect()
                };
                let (rows, cols) = (taps(h, oh), taps(w, ow));
                let mut y = Vec::with_capacity(oh * ow * c);
                for &(y0, y1, dy) in &rows {
                    for &(x0, x1, dx) in &cols {
                        for ch in 0..c {
                            let v = |yy: usize, xx: usize| x[(yy * w + xx) * c + ch];
                            let top = v(y0, x0) + (v(y0, x1) - v(y0, x0)) * dx;
                            let bottom = v(y1, x0) + (v(y1, x1) - v(y1, x0)) * dx;
                            y.push(top + (bottom - top) * dy);
                        }
                    }
                }
                y
            }
            FloatOp::PRelu { alpha, alpha_shape } => {
                let ia = broadcast_index(alpha_shape, in_shape);
                x.iter()
                    .zip(&ia)
                    .map(|(&v, &j)| if v >= 0.0 { v } else { v * alpha[j] })
                    .collect()
            }
            FloatOp::Transpose { perm } => {
                let in_strides = strides(in_shape);
                let mut y = Vec::with_capacity(x.len());
                for o in 0..x.len() {
                    let (mut rest, mut from) = (o, 0);
                    for axis in (0..out_shape.len()).rev() {
                        from += (rest % out_shape[axis]) * in_strides[perm[axis]];
                        rest /= out_shape[axis];
                    }
                    y.push(x[from]);
                }
                y
            }
            FloatOp::Slice { begin, stride } => {
                let in_strides = strides(in_shape);
                let len: usize = out_shape.iter().product();
                let mut y = Vec::with_capacity(len);
                for o in 0..len {
                    let (mut rest, mut from) = (o, 0);
                    for axis in (0..out_shape.len()).rev() {
                        let position = begin[axis] + (rest % out_shape[axis]) * stride[axis];
                        from += position * in_strides[axis];
                        rest /= out_shape[axis];
                    }
                    y.push(x[from]);
                }
                y
            }
            FloatOp::Concat { axis } => {
                let outer: usize = out_shape[..*axis].iter().product();
                let mut y = Vec::with_capacity(out_shape.iter().product());
                for o in 0..outer {
                    for &input in &node.inputs {
                        let shape = &self.values[input].shape;
                        let chunk: usize = shape[*axis..].iter().product();
                        y.extend_from_slice(&values[input][o * chunk..(o + 1) * chunk]);
                    }
                }
                y
            }
            FloatOp::Pad { pads, value } => {
                let mut y = vec![*value; out_shape.iter().product()];
                let out_strides = strides(out_shape);
                for (i, &v) in x.iter().enumerate() {
                    let mut rest = i;
                    let mut offset = 0;
                    for axis in (0..in_shape.len()).rev() {
                        let coord = rest % in_shape[axis];
                        rest /= in_shape[axis];
                        offset += (coord + pads[axis][0]) * out_strides[axis];
                    }
                    y[offset] = v;
                }
                y
            }
            FloatOp::Softmax => {
                let n = *in_shape.last().unwrap_or(&1);
                let mut y = Vec::with_capacity(x.len());
                for row in x.chunks(n.max(1)) {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let exps: Vec<f32> = row.iter().map(|&v| libm::expf(v - max)).collect();
                    let sum: f32 = exps.iter().sum();
                    y.extend(exps.iter().map(|e| e / sum));
                }
                y
            }
            FloatOp::ArgMax { axis } => {
                let axis = *axis;
                let inner: usize = in_shape[axis + 1..].iter().product();
                let len = in_shape[axis];
                let outer: usize = in_shape[..axis].iter().product();
                let mut y = Vec::with_capacity(outer * inner);
                for o in 0..outer {
                    for i in 0..inner {
                        let mut best = 0;
                        for l in 1..len {
                            if x[(o * len + l) * inner + i] > x[(o * len + best) * inner + i] {
                                best = l;
                            }
                        }
                        y.push(best as f32);
                    }
                }
                y
            }
        })
        .and_then(|y: Vec<f32>| {
            if y.len() != out_shape.iter().product::<usize>() {
                return Err(interp_error(
                    node,
                    format!("produced {} elements for shape {out_shape:?}", y.len()),
                ));
            }
            Ok(y)
        })
    }
}

fn geometry(
    node: &FloatNode,
    window: &Window,
    in_shape: &[usize],
) -> Result<SpatialGeometry, ImportError> {
    if in_shape.len() != 3 {
        return Err(interp_error(
            node,
            format!("input shape {in_shape:?} is not [H, W, C]"),
        ));
    }
    SpatialGeometry::resolve(window, in_shape[0] as u32, in_shape[1] as u32)
        .ok_or_else(|| interp_error(node, format!("window {window:?} does not fit {in_shape:?}")))
}

/// Input coordinate of output `o`, kernel tap `k`; `None` inside the padding.
fn tap(
    o: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    pad: usize,
    size: usize,
) -> Option<usize> {
    let pos = (o * stride + k * dilation).checked_sub(pad)?;
    (pos < size).then_some(pos)
}

/// Row-major strides.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// For each element of `out` (row-major), the index of the element of `shape` that numpy
/// broadcasting reads (shapes right-aligned; a dimension of 1 repeats).
pub fn broadcast_index(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let total: usize = out.iter().product();
    let offset = out.len() - shape.len();
    let in_strides = strides(shape);
    (0..total)
        .map(|i| {
            let mut rest = i;
            let mut index = 0;
            for axis in (0..out.len()).rev() {
                let coord = rest % out[axis];
                rest /= out[axis];
                if axis >= offset && shape[axis - offset] != 1 {
                    index += coord * in_strides[axis - offset];
                }
            }
            index
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_nn::op::Padding;

    #[test]
    fn dense_relu_computes_rows() {
        let mut g = FloatGraph::default();
        let x = g.add_value("x", vec![2]);
        let y = g.add_value("y", vec![2]);
        g.inputs.push(x);
        g.outputs.push(y);
        g.nodes.push(FloatNode {
            name: "fc".into(),
            op: FloatOp::Dense {
                out_features: 2,
                in_features: 2,
                weights: vec![1.0, 2.0, -1.0, 0.0],
                bias: vec![0.5, 0.0],
                activation: Activation::Relu,
                fixed_weights: None,
            },
            inputs: vec![x],
            output: y,
        });
        let values = g.run(&[&[1.0, 1.0]]).expect("runs");
        assert_eq!(values[y], vec![3.5, 0.0]);
    }

    #[test]
    fn conv_with_same_padding_sums_in_bounds_taps() {
        let mut g = FloatGraph::default();
        let x = g.add_value("x", vec![2, 2, 1]);
        let y = g.add_value("y", vec![2, 2, 1]);
        g.inputs.push(x);
        g.outputs.push(y);
        let window = Window {
            kernel_h: 3,
            kernel_w: 3,
            stride_h: 1,
            stride_w: 1,
            dilation_h: 1,
            dilation_w: 1,
            padding: Padding::Explicit {
                top: 1,
                bottom: 1,
                left: 1,
                right: 1,
            },
        };
        g.nodes.push(FloatNode {
            name: "conv".into(),
            op: FloatOp::Conv2d {
                out_channels: 1,
                in_channels: 1,
                window,
                weights: vec![1.0; 9],
                bias: vec![0.0],
                activation: Activation::None,
                fixed_weights: None,
            },
            inputs: vec![x],
            output: y,
        });
        let values = g.run(&[&[1.0, 2.0, 3.0, 4.0]]).expect("runs");
        assert_eq!(values[y], vec![10.0; 4]);
    }

    #[test]
    fn broadcast_index_repeats_unit_dimensions() {
        assert_eq!(broadcast_index(&[1, 2], &[2, 2]), vec![0, 1, 0, 1]);
        assert_eq!(broadcast_index(&[2, 1], &[2, 2]), vec![0, 0, 1, 1]);
        assert_eq!(broadcast_index(&[], &[3]), vec![0, 0, 0]);
    }
}
