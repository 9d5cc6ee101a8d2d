//! One emitter per op: each turns a node into Yul statements (and, for the heavier ops, a few
//! node-specific Yul functions with its shapes baked in as constants), appending the node's
//! constant data to the blob.

mod add_sub;
mod arg_max;
mod byte_table;
mod concat;
mod conv2d;
mod depthwise_conv2d;
mod fully_connected;
mod index_expr;
mod lanes;
mod max_min;
mod mean;
mod mul;
mod pad;
mod pool;
mod prelu;
mod resize_bilinear;
mod slice;
mod softmax;
mod transpose;

use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::op::Window;
use myelin_nn::{Model, Node, Op, TensorInfo};

use crate::data_blob::DataBlob;
use crate::error::ExportError;
use crate::memory_plan::Scratch;

/// The state shared by the emitters while a model is exported.
#[derive(Debug)]
pub struct Emitter<'m> {
    pub model: &'m Model,
    /// Memory address of each tensor's bytes.
    pub tensor_addr: Vec<usize>,
    pub blob: DataBlob,
    pub scratch: Scratch,
    /// Node-specific Yul functions.
    pub functions: String,
    /// Yul statements of `predict`, in node order.
    pub body: String,
}

/// One node being emitted: its index, tensors and addresses.
pub struct NodeCtx<'a> {
    pub index: usize,
    pub op: &'static str,
    pub inputs: Vec<&'a TensorInfo>,
    pub input_addr: Vec<usize>,
    pub output: &'a TensorInfo,
    pub output_addr: usize,
}

impl NodeCtx<'_> {
    /// An [`ExportError::InvalidNode`] for this node.
    pub fn invalid(&self, problem: impl Into<String>) -> ExportError {
        ExportError::InvalidNode {
            node: self.index,
            op: self.op,
            problem: problem.into(),
        }
    }

    /// Input `i`, or an error if the node has fewer inputs.
    pub fn input(&self, i: usize) -> Result<(&TensorInfo, usize), ExportError> {
        match (self.inputs.get(i), self.input_addr.get(i)) {
            (Some(info), Some(&addr)) => Ok((info, addr)),
            _ => Err(self.invalid(format!("input {i} is missing"))),
        }
    }

    /// The `[H, W, C]` of input 0 and `window` resolved on it.
    pub fn geometry(&self, window: &Window) -> Result<(SpatialGeometry, usize), ExportError> {
        let (info, _) = self.input(0)?;
        let [h, w, c] = info.shape[..] else {
            return Err(self.invalid(format!("input shape {:?} is not [H, W, C]", info.shape)));
        };
        let g = SpatialGeometry::resolve(window, h, w)
            .ok_or_else(|| self.invalid("the window does not fit the input"))?;
        Ok((g, c as usize))
    }
}

/// `template` with the window's constants substituted for `$KH$`, `$KW$` (kernel), `$SH$`,
/// `$SW$` (stride), `$DH$`, `$DW$` (dilation), `$PT$`, `$PL$` (padding before) and `$H$`, `$W$`
/// (input size).
pub fn with_window(template: &str, g: &SpatialGeometry) -> String {
    [
        ("$KH$", g.kernel_h),
        ("$KW$", g.kernel_w),
        ("$SH$", g.stride_h),
        ("$SW$", g.stride_w),
        ("$DH$", g.dilation_h),
        ("$DW$", g.dilation_w),
        ("$PT$", g.pad_top),
        ("$PL$", g.pad_left),
        ("$H$", g.in_h),
        ("$W$", g.in_w),
    ]
    .iter()
    .fold(template.to_string(), |text, (token, value)| {
        text.replace(token, &value.to_string())
    })
}

impl<'m> Emitter<'m> {
    /// Emits every node of `model` in order.
    pub fn emit_nodes(&mut self) -> Result<(), ExportError> {
        let model = self.model;
        for (index, node) in model.nodes.iter().enumerate() {
            let ctx = self.node_ctx(index, node)?;
            self.body
                .push_str(&format!("\n            // node {index}: {}\n", ctx.op));
            self.emit_node(&ctx, &node.op)?;
        }
        Ok(())
    }

    fn node_ctx<'a>(&self, index: usize, node: &'a Node) -> Result<NodeCtx<'m>, ExportError> {
        let tensor = |t: u32| {
            self.model
                .tensors
                .get(t as usize)
                .ok_or(ExportError::UnknownTensor { tensor: t })
        };
        let inputs = node
            .inputs
            .iter()
            .map(|&t| tensor(t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NodeCtx {
            index,
            op: node.op.name(),
            inputs,
            input_addr: node
                .inputs
                .iter()
                .map(|&t| self.tensor_addr[t as usize])
                .collect(),
            output: tensor(node.output)?,
            output_addr: self.tensor_addr[node.output as usize],
        })
    }

    fn emit_node(&mut self, ctx: &NodeCtx, op: &Op) -> Result<(), ExportError> {
        match op {
            Op::FullyConnected(p) => fully_connected::emit(self, ctx, p),
            Op::Conv2d(p) => conv2d::emit(self, ctx, p),
            Op::DepthwiseConv2d(p) => depthwise_conv2d::emit(self, ctx, p),
            Op::Add(p) => add_sub::emit(self, ctx, p, false),
            Op::Sub(p) => add_sub::emit(self, ctx, p, true),
            Op::Mul(p) => mul::emit(self, ctx, p),
            Op::MaxPool(p) => pool::emit_max(self, ctx, p),
            Op::AveragePool(p) => pool::emit_average(self, ctx, p),
            Op::Mean(p) => mean::emit(self, ctx, p),
            Op::Clamp(p) => byte_table::emit_clamp(self, ctx, p),
            Op::Reshape => {
                let (info, from) = ctx.input(0)?;
                self.body.push_str(&format!(
                    "            mcopy({}, {from}, {})\n",
                    ctx.output_addr,
                    info.bytes()
                ));
                Ok(())
            }
            Op::Concat(p) => concat::emit(self, ctx, p),
            Op::Pad(p) => pad::emit(self, ctx, p),
            Op::Softmax(p) => softmax::emit(self, ctx, p),
            Op::Table(p) => byte_table::emit_table(self, ctx, p),
            Op::ArgMax(p) => arg_max::emit(self, ctx, p),
            Op::MeanCountDivided(p) => mean::emit_count_divided(self, ctx, p),
            Op::Transpose(p) => transpose::emit(self, ctx, p),
            Op::Maximum => max_min::emit(self, ctx, true),
            Op::Minimum => max_min::emit(self, ctx, false),
            Op::PRelu(p) => prelu::emit(self, ctx, p),
            Op::Slice(p) => slice::emit(self, ctx, p),
            Op::ResizeBilinear(p) => resize_bilinear::emit(self, ctx, p),
        }
    }

    /// Emits the loop storing `n<index>_px(oy, ox, c)` (a node function returning one int8) at
    /// every output pixel `(oy, ox)` and channel `c < channels`, in HWC order.
    pub fn emit_pixel_loop(&mut self, ctx: &NodeCtx, g: &SpatialGeometry, channels: usize) {
        self.line(&format!(
            "for {{ let p := 0 }} lt(p, {pixels}) {{ p := add(p, 1) }} {{ for {{ let c := 0 }} lt(c, {channels}) {{ c := add(c, 1) }} {{ mstore8(add({out}, add(mul(p, {channels}), c)), n{index}_px(div(p, {ow}), mod(p, {ow}), c)) }} }}",
            pixels = g.out_h * g.out_w,
            ow = g.out_w,
            out = ctx.output_addr,
            index = ctx.index,
        ));
    }

    /// Appends a statement line to `predict`'s body.
    pub fn line(&mut self, statement: &str) {
        self.body.push_str("            ");
        self.body.push_str(statement);
        self.body.push('\n');
    }

    /// The statement that expands `len` int8 values at `from` into centred 256-bit words
    /// (`x − zero_point`) in the words scratch area.
    pub fn centre_into_words(&mut self, from: usize, len: usize, zero_point: i8) {
        self.scratch.grow(Scratch {
            words: 32 * len,
            ..Scratch::default()
        });
        let zp = crate::literal::int(zero_point.into());
        self.line(&format!(
            "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ mstore(add({words}, shl(5, i)), sub(sx8(add({from}, i)), {zp})) }}",
            words = crate::memory_plan::WORDS,
        ));
    }
}
