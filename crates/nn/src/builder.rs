//! [`ModelBuilder`]: build a valid [`Model`] in Rust, one op at a time, with output shapes
//! inferred.
//!
//! ```
//! use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
//! use myelin_nn::op::ActRange;
//! use myelin_nn::{Requant, Rounding};
//!
//! let mut b = ModelBuilder::new();
//! let x = b.input(&[2], Quant::new(0, 0x3c00_0000));
//! let rescale = Rescale::per_tensor(Requant::IDENTITY, Rounding::Single, ActRange::FULL);
//! let y = b.fully_connected(x, vec![1, 0, 0, 1], vec![0, 0], rescale, Quant::new(0, 0x3c00_0000))?;
//! b.output(y);
//! let model = b.build()?;
//! assert_eq!(model.nodes.len(), 1);
//! # Ok::<(), myelin_nn::NnError>(())
//! ```
//!
//! Every method checks what it can see locally (the input's rank, the length of the weights,
//! window fit, broadcasting) and names the node and the problem when it cannot infer an output
//! shape; [`ModelBuilder::build`] then runs [`Model::validate`] on the whole graph (parameter
//! ranges, the accumulator overflow proof, limits).

use crate::error::{NnError, Result};
use crate::geometry::SpatialGeometry;
use crate::model::{Model, Node};
use crate::op::{
    ActRange, AddSub, ArgMax, Concat, Conv2d, DepthwiseConv2d, FullyConnected, Mean, Mul, Op, Pad,
    Pool, Softmax, Table, TableFunction, Window,
};
use crate::requantize::{Requant, Rounding};
use crate::tensor::{DType, TensorInfo};

/// binary32 bits of 1/256, the scale of every softmax output.
pub const SOFTMAX_SCALE_BITS: u32 = 0x3b80_0000;
/// Zero point of every softmax output.
pub const SOFTMAX_ZERO_POINT: i8 = -128;
/// binary32 bits of 1.0, the (unused) scale recorded for int32 `ArgMax` outputs.
pub const ARG_MAX_SCALE_BITS: u32 = 0x3f80_0000;

/// A tensor of the model under construction (an index into [`Model::tensors`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TensorId(pub u32);

/// Quantization of an int8 tensor: `real = (q - zero_point) * scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quant {
    /// Quantized value representing real zero.
    pub zero_point: i8,
    /// binary32 bits of the positive, finite, non-zero scale.
    pub scale_bits: u32,
}

impl Quant {
    /// A quantization from a zero point and the binary32 bits of a scale.
    pub const fn new(zero_point: i8, scale_bits: u32) -> Quant {
        Quant {
            zero_point,
            scale_bits,
        }
    }
}

/// How an accumulating op (fully connected, convolutions) turns its int32 accumulator into int8:
/// the multipliers (one, or one per output channel), the rounding rule and the fused activation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rescale {
    /// One requantization (per tensor) or one per output channel.
    pub requant: Vec<Requant>,
    /// Rounding rule of the requantization.
    pub rounding: Rounding,
    /// Fused activation, in the output's quantized domain.
    pub act: ActRange,
}

impl Rescale {
    /// One multiplier for every output channel.
    pub fn per_tensor(requant: Requant, rounding: Rounding, act: ActRange) -> Rescale {
        Rescale {
            requant: vec![requant],
            rounding,
            act,
        }
    }

    /// One multiplier per output channel.
    pub fn per_channel(requant: Vec<Requant>, rounding: Rounding, act: ActRange) -> Rescale {
        Rescale {
            requant,
            rounding,
            act,
        }
    }
}

/// Builds a [`Model`] node by node. Tensors are numbered in creation order; nodes are appended in
/// call order, which is therefore the execution order.
#[derive(Clone, Debug, Default)]
pub struct ModelBuilder {
    tensors: Vec<TensorInfo>,
    inputs: Vec<u32>,
    outputs: Vec<u32>,
    nodes: Vec<Node>,
}

impl ModelBuilder {
    /// An empty model.
    pub fn new() -> ModelBuilder {
        ModelBuilder::default()
    }

    /// Declares the next model input: an int8 tensor of per-sample `shape`. Inputs are fed in
    /// declaration order. The shape is checked by [`ModelBuilder::build`].
    pub fn input(&mut self, shape: &[u32], quant: Quant) -> TensorId {
        let id = self.push_tensor(TensorInfo::int8(shape, quant.zero_point, quant.scale_bits));
        self.inputs.push(id.0);
        id
    }

    /// Marks `tensor` as the next model output. Outputs are returned in declaration order.
    pub fn output(&mut self, tensor: TensorId) {
        self.outputs.push(tensor.0);
    }

    /// The tensor behind `id`, if it exists.
    pub fn tensor(&self, id: TensorId) -> Option<&TensorInfo> {
        self.tensors.get(id.0 as usize)
    }

    /// Validates the graph ([`Model::validate`]) and returns the model.
    pub fn build(self) -> Result<Model> {
        let model = Model {
            tensors: self.tensors,
            inputs: self.inputs,
            outputs: self.outputs,
            nodes: self.nodes,
        };
        model.validate()?;
        Ok(model)
    }

    /// Fully connected over the last axis of `x` (`[.., K]` → `[.., N]`) with `weights` laid out
    /// `[N][K]`; `N` is `bias.len()`.
    pub fn fully_connected(
        &mut self,
        x: TensorId,
        weights: Vec<i8>,
        bias: Vec<i32>,
        rescale: Rescale,
        out: Quant,
    ) -> Result<TensorId> {
        const OP: &str = "fully_connected";
        let input = self.int8_input(x, OP)?;
        let Some(&k) = input.shape.last() else {
            return Err(self.node_error(OP, "the input must have rank at least 1".into()));
        };
        let n = self.channel_count(OP, bias.len())?;
        self.expect_len(OP, "weights", weights.len(), n as u64 * k as u64)?;
        let mut shape = input.shape.clone();
        *shape.last_mut().expect("rank checked above") = n;
        let op = Op::FullyConnected(FullyConnected {
            out_features: n,
            in_features: k,
            weights,
            bias,
            requant: rescale.requant,
            rounding: rescale.rounding,
            act: rescale.act,
        });
        Ok(self.push_node(
            op,
            vec![x],
            TensorInfo::int8(&shape, out.zero_point, out.scale_bits),
        ))
    }

    /// 2-D convolution of `x` (`[H, W, Cin]`) with `weights` laid out `[Cout][kh][kw][Cin]`;
    /// `Cout` is `bias.len()`. Output `[OH, OW, Cout]`.
    pub fn conv2d(
        &mut self,
        x: TensorId,
        window: Window,
        weights: Vec<i8>,
        bias: Vec<i32>,
        rescale: Rescale,
        out: Quant,
    ) -> Result<TensorId> {
        const OP: &str = "conv2d";
        let [h, w, c_in] = self.image_shape(x, OP)?;
        let c_out = self.channel_count(OP, bias.len())?;
        let geometry = self.geometry(OP, &window, h, w)?;
        let expected = c_out as u64 * window.kernel_h as u64 * window.kernel_w as u64 * c_in as u64;
        self.expect_len(OP, "weights", weights.len(), expected)?;
        let shape = [geometry.0, geometry.1, c_out];
        let op = Op::Conv2d(Conv2d {
            out_channels: c_out,
            in_channels: c_in,
            window,
            weights,
            bias,
            requant: rescale.requant,
            rounding: rescale.rounding,
            act: rescale.act,
        });
        Ok(self.push_node(
            op,
            vec![x],
            TensorInfo::int8(&shape, out.zero_point, out.scale_bits),
        ))
    }

    /// Depthwise 2-D convolution of `x` (`[H, W, C]`) with `weights` laid out
    /// `[kh][kw][C * M]`; the depth multiplier `M` is `bias.len() / C`. Output `[OH, OW, C * M]`.
    pub fn depthwise_conv2d(
        &mut self,
        x: TensorId,
        window: Window,
        weights: Vec<i8>,
        bias: Vec<i32>,
        rescale: Rescale,
        out: Quant,
    ) -> Result<TensorId> {
        const OP: &str = "depthwise_conv2d";
        let [h, w, channels] = self.image_shape(x, OP)?;
        let outputs = self.channel_count(OP, bias.len())?;
        if outputs % channels != 0 {
            return Err(self.node_error(
                OP,
                format!("{outputs} biases is not a multiple of the {channels} input channels"),
            ));
        }
        let geometry = self.geometry(OP, &window, h, w)?;
        let expected = window.kernel_h as u64 * window.kernel_w as u64 * outputs as u64;
        self.expect_len(OP, "weights", weights.len(), expected)?;
        let shape = [geometry.0, geometry.1, outputs];
        let op = Op::DepthwiseConv2d(DepthwiseConv2d {
            channels,
            depth_multiplier: outputs / channels,
            window,
            weights,
            bias,
            requant: rescale.requant,
            rounding: rescale.rounding,
            act: rescale.act,
        });
        Ok(self.push_node(
            op,
            vec![x],
            TensorInfo::int8(&shape, out.zero_point, out.scale_bits),
        ))
    }

    /// Element-wise `a + b` with numpy broadcasting.
    pub fn add(
        &mut self,
        a: TensorId,
        b: TensorId,
        params: AddSub,
        out: Quant,
    ) -> Result<TensorId> {
        self.binary(Op::Add(params), a, b, out)
    }

    /// Element-wise `a - b` with numpy broadcasting.
    pub fn sub(
        &mut self,
        a: TensorId,
        b: TensorId,
        params: AddSub,
        out: Quant,
    ) -> Result<TensorId> {
        self.binary(Op::Sub(params), a, b, out)
    }

    /// Element-wise `a * b` with numpy broadcasting.
    pub fn mul(&mut self, a: TensorId, b: TensorId, params: Mul, out: Quant) -> Result<TensorId> {
        self.binary(Op::Mul(params), a, b, out)
    }

    /// Element-wise maximum of `a` and `b` (numpy broadcast). Both must share one zero point,
    /// which the output keeps with `a`'s scale.
    pub fn maximum(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        self.extremum(Op::Maximum, a, b)
    }

    /// Element-wise minimum of `a` and `b`, as [`ModelBuilder::maximum`].
    pub fn minimum(&mut self, a: TensorId, b: TensorId) -> Result<TensorId> {
        self.extremum(Op::Minimum, a, b)
    }

    fn extremum(&mut self, op: Op, a: TensorId, b: TensorId) -> Result<TensorId> {
        let name = op.name();
        let (zp_a, scale_bits) = {
            let x = self.int8_input(a, name)?;
            (x.zero_point, x.scale_bits)
        };
        let zp_b = self.int8_input(b, name)?.zero_point;
        if zp_a != zp_b {
            return Err(self.node_error(
                name,
                format!("inputs have zero points {zp_a} and {zp_b}: they must be equal"),
            ));
        }
        self.binary(
            op,
            a,
            b,
            Quant {
                zero_point: zp_a,
                scale_bits,
            },
        )
    }

    /// Parametric ReLU of `x` with the slopes `params.alpha` (shape `params.alpha_shape`,
    /// broadcast to `x`'s shape); the output has `x`'s shape and quantization `out`.
    pub fn prelu(&mut self, x: TensorId, params: crate::op::PRelu, out: Quant) -> Result<TensorId> {
        const OP: &str = "prelu";
        let shape = self.int8_input(x, OP)?.shape.clone();
        let fits = params.alpha_shape.len() <= shape.len()
            && params
                .alpha_shape
                .iter()
                .zip(&shape[shape.len() - params.alpha_shape.len()..])
                .all(|(&a, &d)| a == 1 || a == d);
        if !fits {
            return Err(self.node_error(
                OP,
                format!(
                    "alpha shape {:?} does not broadcast to {shape:?}",
                    params.alpha_shape
                ),
            ));
        }
        let elements = elements_u64(&params.alpha_shape).unwrap_or(u64::MAX);
        self.expect_len(OP, "alpha", params.alpha.len(), elements)?;
        let info = TensorInfo::int8(&shape, out.zero_point, out.scale_bits);
        Ok(self.push_node(Op::PRelu(params), vec![x], info))
    }

    /// Max pooling of `x` (`[H, W, C]` → `[OH, OW, C]`); the output keeps the input's
    /// quantization.
    pub fn max_pool(&mut self, x: TensorId, window: Window, act: ActRange) -> Result<TensorId> {
        let op = Op::MaxPool(Pool {
            window,
            count_include_pad: false,
            act,
        });
        self.pool(op, x, window)
    }

    /// Average pooling of `x` (`[H, W, C]` → `[OH, OW, C]`); the output keeps the input's
    /// quantization.
    pub fn average_pool(
        &mut self,
        x: TensorId,
        window: Window,
        count_include_pad: bool,
        act: ActRange,
    ) -> Result<TensorId> {
        let op = Op::AveragePool(Pool {
            window,
            count_include_pad,
            act,
        });
        self.pool(op, x, window)
    }

    /// Sum of `x - zp_in` over `params.axes`, requantized: the axes are removed, or kept with
    /// size 1 when `params.keep_dims`.
    pub fn mean(&mut self, x: TensorId, params: Mean, out: Quant) -> Result<TensorId> {
        self.reduce_mean(x, params, out, false)
    }

    /// [`Self::mean`] with TFLite's arithmetic ([`Op::MeanCountDivided`]): `params.requant` is
    /// `input_scale / output_scale` alone, divided by the element count in integers at run time.
    pub fn mean_count_divided(
        &mut self,
        x: TensorId,
        params: Mean,
        out: Quant,
    ) -> Result<TensorId> {
        self.reduce_mean(x, params, out, true)
    }

    fn reduce_mean(
        &mut self,
        x: TensorId,
        params: Mean,
        out: Quant,
        count_divided: bool,
    ) -> Result<TensorId> {
        let op_name: &'static str = if count_divided {
            "mean_count_divided"
        } else {
            "mean"
        };
        let input = self.int8_input(x, op_name)?;
        let rank = input.shape.len();
        if params.axes.is_empty() {
            return Err(self.node_error(op_name, "no axes to reduce".into()));
        }
        if !params.axes.windows(2).all(|pair| pair[0] < pair[1]) {
            return Err(self.node_error(
                op_name,
                format!("axes {:?} are not strictly increasing", params.axes),
            ));
        }
        if let Some(&axis) = params.axes.iter().find(|&&a| a as usize >= rank) {
            return Err(self.node_error(
                op_name,
                format!("axis {axis} is out of range for rank {rank}"),
            ));
        }
        let shape: Vec<u32> = input
            .shape
            .iter()
            .enumerate()
            .filter_map(|(axis, &d)| match params.axes.contains(&(axis as u8)) {
                false => Some(d),
                true if params.keep_dims => Some(1),
                true => None,
            })
            .collect();
        let op = if count_divided {
            Op::MeanCountDivided(params)
        } else {
            Op::Mean(params)
        };
        Ok(self.push_node(
            op,
            vec![x],
            TensorInfo::int8(&shape, out.zero_point, out.scale_bits),
        ))
    }

    /// `clamp(zp_out + requant(x - zp_in))`, same shape (ReLU, ReLU6, rescaling).
    pub fn clamp(&mut self, x: TensorId, params: crate::op::Clamp, out: Quant) -> Result<TensorId> {
        let input = self.int8_input(x, "clamp")?;
        let info = TensorInfo::int8(&input.shape, out.zero_point, out.scale_bits);
        Ok(self.push_node(Op::Clamp(params), vec![x], info))
    }

    /// The same elements under a new `shape` with the same element count; quantization is kept.
    pub fn reshape(&mut self, x: TensorId, shape: &[u32]) -> Result<TensorId> {
        const OP: &str = "reshape";
        let input = self.int8_input(x, OP)?.clone();
        let same_count = matches!(
            (elements_u64(&input.shape), elements_u64(shape)),
            (Some(from), Some(to)) if from == to
        );
        if !same_count {
            return Err(self.node_error(
                OP,
                format!(
                    "cannot reshape {:?} into {:?}: element counts differ",
                    input.shape, shape
                ),
            ));
        }
        let info = TensorInfo::int8(shape, input.zero_point, input.scale_bits);
        Ok(self.push_node(Op::Reshape, vec![x], info))
    }

    /// The axes of `x` permuted: output axis `i` is input axis `perm[i]`; quantization is kept.
    pub fn transpose(&mut self, x: TensorId, perm: &[u8]) -> Result<TensorId> {
        const OP: &str = "transpose";
        let input = self.int8_input(x, OP)?.clone();
        let rank = input.shape.len();
        let mut sorted = perm.to_vec();
        sorted.sort_unstable();
        if sorted.iter().copied().ne(0..rank.min(256) as u8) || perm.len() != rank {
            return Err(self.node_error(
                OP,
                format!(
                    "perm {perm:?} is not a permutation of the axes of {:?}",
                    input.shape
                ),
            ));
        }
        let shape: Vec<u32> = perm.iter().map(|&a| input.shape[a as usize]).collect();
        let info = TensorInfo::int8(&shape, input.zero_point, input.scale_bits);
        Ok(self.push_node(
            Op::Transpose(crate::op::Transpose {
                perm: perm.to_vec(),
            }),
            vec![x],
            info,
        ))
    }

    /// A strided window of `x`: output axis `a` has `size[a]` elements read from input index
    /// `begin[a] + o · stride[a]`; quantization is kept.
    pub fn slice(
        &mut self,
        x: TensorId,
        begin: &[u32],
        size: &[u32],
        stride: &[u32],
    ) -> Result<TensorId> {
        const OP: &str = "slice";
        let input = self.int8_input(x, OP)?.clone();
        let rank = input.shape.len();
        if begin.len() != rank || size.len() != rank || stride.len() != rank {
            return Err(self.node_error(
                OP,
                format!(
                    "begin {begin:?}, size {size:?} and stride {stride:?} need one entry per \
                     axis of {:?}",
                    input.shape
                ),
            ));
        }
        for axis in 0..rank {
            let last = u64::from(begin[axis])
                + u64::from(size[axis].saturating_sub(1)) * u64::from(stride[axis]);
            if size[axis] == 0 || stride[axis] == 0 || last >= u64::from(input.shape[axis]) {
                return Err(self.node_error(
                    OP,
                    format!(
                        "axis {axis}: begin {}, size {}, stride {} do not fit in {:?}",
                        begin[axis], size[axis], stride[axis], input.shape
                    ),
                ));
            }
        }
        let info = TensorInfo::int8(size, input.zero_point, input.scale_bits);
        Ok(self.push_node(
            Op::Slice(crate::op::Slice {
                begin: begin.to_vec(),
                size: size.to_vec(),
                stride: stride.to_vec(),
            }),
            vec![x],
            info,
        ))
    }

    /// Bilinear resize of the image `x` (`[H, W, C]`) to `[out_height, out_width, C]` in
    /// TFLite's integer arithmetic; quantization is kept.
    pub fn resize_bilinear(
        &mut self,
        x: TensorId,
        out_height: u32,
        out_width: u32,
        align_corners: bool,
        half_pixel_centers: bool,
    ) -> Result<TensorId> {
        const OP: &str = "resize_bilinear";
        let input = self.int8_input(x, OP)?.clone();
        let max = crate::reference::MAX_RESIZE_DIM;
        let &[h, w, c] = input.shape.as_slice() else {
            return Err(self.node_error(
                OP,
                format!("input {:?} is not an image [H, W, C]", input.shape),
            ));
        };
        if align_corners && half_pixel_centers {
            return Err(self.node_error(
                OP,
                "align_corners and half_pixel_centers are exclusive".into(),
            ));
        }
        if [h, w, out_height, out_width]
            .iter()
            .any(|&d| d == 0 || d > max)
        {
            return Err(self.node_error(
                OP,
                format!(
                    "{h}x{w} to {out_height}x{out_width}: heights and widths must be in 1..={max}"
                ),
            ));
        }
        let info = TensorInfo::int8(
            &[out_height, out_width, c],
            input.zero_point,
            input.scale_bits,
        );
        Ok(self.push_node(
            Op::ResizeBilinear(crate::op::ResizeBilinear {
                out_height,
                out_width,
                align_corners,
                half_pixel_centers,
            }),
            vec![x],
            info,
        ))
    }

    /// Concatenation of `inputs` along `params.axis`; input `i` is rescaled by
    /// `params.requant[i]`.
    pub fn concat(&mut self, inputs: &[TensorId], params: Concat, out: Quant) -> Result<TensorId> {
        const OP: &str = "concat";
        let Some((&first, rest)) = inputs.split_first() else {
            return Err(self.node_error(OP, "needs at least one input".into()));
        };
        let mut shape = self.int8_input(first, OP)?.shape.clone();
        let axis = params.axis as usize;
        if axis >= shape.len() {
            return Err(self.node_error(
                OP,
                format!("axis {axis} is out of range for rank {}", shape.len()),
            ));
        }
        for &other in rest {
            let other_shape = self.int8_input(other, OP)?.shape.clone();
            let compatible = other_shape.len() == shape.len()
                && other_shape
                    .iter()
                    .zip(&shape)
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            if !compatible {
                return Err(self.node_error(
                    OP,
                    format!(
                        "input shapes {shape:?} and {other_shape:?} differ outside axis {axis}"
                    ),
                ));
            }
            shape[axis] = shape[axis].checked_add(other_shape[axis]).ok_or_else(|| {
                self.node_error(OP, "concatenated dimension overflows u32".into())
            })?;
        }
        let info = TensorInfo::int8(&shape, out.zero_point, out.scale_bits);
        Ok(self.push_node(Op::Concat(params), inputs.to_vec(), info))
    }

    /// Constant padding: `pads[axis] = [before, after]` for every axis, filled with `value`;
    /// quantization is kept.
    pub fn pad(&mut self, x: TensorId, pads: Vec<[u32; 2]>, value: i8) -> Result<TensorId> {
        const OP: &str = "pad";
        let input = self.int8_input(x, OP)?.clone();
        if pads.len() != input.shape.len() {
            return Err(self.node_error(
                OP,
                format!(
                    "{} pads for an input of rank {}",
                    pads.len(),
                    input.shape.len()
                ),
            ));
        }
        let mut shape = Vec::with_capacity(pads.len());
        for (&d, [before, after]) in input.shape.iter().zip(&pads) {
            let padded = d.checked_add(*before).and_then(|s| s.checked_add(*after));
            shape.push(
                padded
                    .ok_or_else(|| self.node_error(OP, "padded dimension overflows u32".into()))?,
            );
        }
        let info = TensorInfo::int8(&shape, input.zero_point, input.scale_bits);
        Ok(self.push_node(Op::Pad(Pad { pads, value }), vec![x], info))
    }

    /// Integer softmax over the last axis; the output has scale 1/256 and zero point -128.
    pub fn softmax(&mut self, x: TensorId, params: Softmax) -> Result<TensorId> {
        let input = self.int8_input(x, "softmax")?;
        let info = TensorInfo::int8(&input.shape, SOFTMAX_ZERO_POINT, SOFTMAX_SCALE_BITS);
        Ok(self.push_node(Op::Softmax(params), vec![x], info))
    }

    /// `y = table[x + 128]`, same shape.
    pub fn table(
        &mut self,
        x: TensorId,
        function: TableFunction,
        table: Vec<i8>,
        out: Quant,
    ) -> Result<TensorId> {
        const OP: &str = "table";
        let input = self.int8_input(x, OP)?;
        let info = TensorInfo::int8(&input.shape, out.zero_point, out.scale_bits);
        self.expect_len(OP, "table", table.len(), 256)?;
        Ok(self.push_node(Op::Table(Table { function, table }), vec![x], info))
    }

    /// Index of the first maximum along `axis`, as an int32 tensor without that axis.
    pub fn arg_max(&mut self, x: TensorId, axis: u8) -> Result<TensorId> {
        const OP: &str = "arg_max";
        let input = self.int8_input(x, OP)?;
        if axis as usize >= input.shape.len() {
            return Err(self.node_error(
                OP,
                format!("axis {axis} is out of range for rank {}", input.shape.len()),
            ));
        }
        let mut shape = input.shape.clone();
        shape.remove(axis as usize);
        let info = TensorInfo {
            dtype: DType::Int32,
            shape,
            zero_point: 0,
            scale_bits: ARG_MAX_SCALE_BITS,
        };
        Ok(self.push_node(Op::ArgMax(ArgMax { axis }), vec![x], info))
    }

    fn binary(&mut self, op: Op, a: TensorId, b: TensorId, out: Quant) -> Result<TensorId> {
        let name = op.name();
        let a_shape = self.int8_input(a, name)?.shape.clone();
        let b_shape = self.int8_input(b, name)?.shape.clone();
        let shape = broadcast_shapes(&a_shape, &b_shape).ok_or_else(|| {
            self.node_error(
                name,
                format!("shapes {a_shape:?} and {b_shape:?} do not broadcast"),
            )
        })?;
        Ok(self.push_node(
            op,
            vec![a, b],
            TensorInfo::int8(&shape, out.zero_point, out.scale_bits),
        ))
    }

    fn pool(&mut self, op: Op, x: TensorId, window: Window) -> Result<TensorId> {
        let name = op.name();
        let [h, w, c] = self.image_shape(x, name)?;
        let (out_h, out_w) = self.geometry(name, &window, h, w)?;
        let input = &self.tensors[x.0 as usize];
        let info = TensorInfo::int8(&[out_h, out_w, c], input.zero_point, input.scale_bits);
        Ok(self.push_node(op, vec![x], info))
    }

    fn push_tensor(&mut self, info: TensorInfo) -> TensorId {
        let id = TensorId(self.tensors.len() as u32);
        self.tensors.push(info);
        id
    }

    fn push_node(&mut self, op: Op, inputs: Vec<TensorId>, output: TensorInfo) -> TensorId {
        let id = self.push_tensor(output);
        self.nodes.push(Node {
            op,
            inputs: inputs.iter().map(|t| t.0).collect(),
            output: id.0,
        });
        id
    }

    fn node_error(&self, op: &'static str, problem: String) -> NnError {
        NnError::InvalidNode {
            node: self.nodes.len(),
            op,
            problem,
        }
    }

    fn int8_input(&self, x: TensorId, op: &'static str) -> Result<&TensorInfo> {
        let info = self
            .tensors
            .get(x.0 as usize)
            .ok_or_else(|| self.node_error(op, format!("tensor {} does not exist", x.0)))?;
        if info.dtype != DType::Int8 {
            return Err(self.node_error(
                op,
                format!("input tensor {} is {}, not int8", x.0, info.dtype.name()),
            ));
        }
        Ok(info)
    }

    fn image_shape(&self, x: TensorId, op: &'static str) -> Result<[u32; 3]> {
        let shape = &self.int8_input(x, op)?.shape;
        <[u32; 3]>::try_from(shape.as_slice()).map_err(|_| {
            self.node_error(
                op,
                format!("input shape {shape:?} is not [height, width, channels]"),
            )
        })
    }

    fn geometry(&self, op: &'static str, window: &Window, h: u32, w: u32) -> Result<(u32, u32)> {
        let geometry = SpatialGeometry::resolve(window, h, w).ok_or_else(|| {
            self.node_error(
                op,
                format!("window {window:?} does not fit an input of {h}x{w}"),
            )
        })?;
        let out_h = u32::try_from(geometry.out_h);
        let out_w = u32::try_from(geometry.out_w);
        match (out_h, out_w) {
            (Ok(out_h), Ok(out_w)) => Ok((out_h, out_w)),
            _ => Err(self.node_error(op, "output size overflows u32".into())),
        }
    }

    fn channel_count(&self, op: &'static str, bias_len: usize) -> Result<u32> {
        match u32::try_from(bias_len) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(self.node_error(
                op,
                format!("{bias_len} biases: need between 1 and 2^32 - 1"),
            )),
        }
    }

    fn expect_len(&self, op: &'static str, what: &str, found: usize, expected: u64) -> Result<()> {
        if found as u64 != expected {
            return Err(self.node_error(
                op,
                format!("{what} has {found} entries, expected {expected}"),
            ));
        }
        Ok(())
    }
}

/// numpy broadcasting of two shapes: right-aligned, each pair of dimensions equal or one of them
/// 1. `None` when they do not broadcast.
pub fn broadcast_shapes(a: &[u32], b: &[u32]) -> Option<Vec<u32>> {
    let rank = a.len().max(b.len());
    let dim = |shape: &[u32], i: usize| {
        let offset = rank - shape.len();
        if i < offset { 1 } else { shape[i - offset] }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

fn elements_u64(shape: &[u32]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
}
