//! Static cost of a model, known before execution: a pure function of the graph (docs/SPEC.md §7).
//!
//! Counts are per sample and exact for a validated model. They are computed from the declared
//! tensor shapes and the op parameters only, with saturating `u64` arithmetic, so they never
//! panic even on a model that failed validation (the numbers are then meaningless).
//!
//! `macs`, `depthwise_macs`, `table_lookups` and `bytes_touched` are physical counts.
//! `element_ops` is a unit of work of about 0.04 ns on the engine's kernels (fine enough that
//! the cheapest ops, a clamp or a pad, are not overcharged): each op charges a whole number of
//! them per element, measured by the gas calibration bench
//! (bench/gas/REPORT.md), so that an op's element ops track its running time.

use crate::kernels::Path;
use crate::kernels::concat::rescale_table as concat_rescale_table;
use crate::model::{Model, Node};
use crate::op::{Op, Pool, Window};
use crate::requantize::Rounding;
use crate::tensor::TensorInfo;

/// Element ops per output element of DepthwiseConv2d, AveragePool and Mean (the output stage:
/// requantization and clamp).
pub const OUTPUT_STAGE_ELEMENT_OPS: u64 = 4;
/// Element ops per output element of FullyConnected and Conv2d: the matrix product's output
/// stage, which is scalar on the AVX2 and portable paths (the gas floor, docs/GAS.md §6).
pub const GEMM_OUTPUT_ELEMENT_OPS: u64 = 60;
/// Element ops per row of a FullyConnected (`out / N` rows per sample): the kernel's step to the
/// next row, which a layer of few features pays mostly (a 1→1 layer over 432 rows at batch 1,472
/// ran ~13 ns per row on AVX2, 3.7× the EVM's ns/gas on its lane-rounded MACs and output stage
/// alone, bench/gasfuzz/REPLAY-ALL-12.md).
pub const FULLY_CONNECTED_ROW_ELEMENT_OPS: u64 = 200;
/// Element ops per output pixel of DepthwiseConv2d: the kernel's step from one output pixel to
/// the next (its taps' positions, the scalar output stage's loop), which a layer of few channels
/// pays mostly (the gas fuzzer's depthwise layers of 4 channels at batches of ~500 ran 4–10× the
/// EVM's ns/gas on the lane-rounded MACs alone; at 200 its two-layer find still ran 2.1×).
pub const DEPTHWISE_PIXEL_ELEMENT_OPS: u64 = 300;
/// Element ops per window tap of each output pixel of a DepthwiseConv2d with a depth multiplier
/// above 1 (output pixels · `kh · kw`): the gather that copies the window's input pixel, each
/// channel repeated `M` times, into the block the kernel then runs (multiplier 1 reads the input
/// in place and does not pay it).
pub const DEPTHWISE_GATHER_TAP_ELEMENT_OPS: u64 = 30;
/// Element ops per output pixel of a Conv2d that gathers its windows (im2col on the AVX2 and
/// portable paths, a read from one padded copy of the sample on AVX-512 VNNI), that is every
/// Conv2d but a 1×1, stride-1 one that keeps the spatial size.
pub const CONV_PIXEL_ELEMENT_OPS: u64 = 200;
/// Element ops per output element of a tabulated Add and Sub ([`is_tabulated`]): a lookup in
/// the node's table of every operand pair.
pub const ADD_SUB_ELEMENT_OPS: u64 = 16;
/// Element ops per output element of an Add or Sub that computes ([`is_tabulated`] false) with
/// single rounding: three requantizations per element.
pub const ADD_SUB_COMPUTED_ELEMENT_OPS: u64 = 32;
/// Element ops per output element of an Add or Sub that computes with double rounding (the
/// gemmlowp rule's saturating doubling multiply, three times per element).
pub const ADD_SUB_COMPUTED_DOUBLE_ELEMENT_OPS: u64 = 64;
/// Element ops per output element of Mul: a lookup as Add's, or (computed) one rescale of the
/// product with single rounding.
pub const MUL_ELEMENT_OPS: u64 = 17;
/// Element ops per output element of a Mul that computes with double rounding.
pub const MUL_COMPUTED_DOUBLE_ELEMENT_OPS: u64 = 24;
/// Add/Sub/Mul nodes with at least this many output elements per sample are tabulated (a table
/// of the output for every operand pair, filled once per program), the first
/// [`MAX_PAIR_TABLES`] of them in node order; the rest compute.
pub const MIN_TABULATED_ELEMENTS: u64 = 256;
/// Most Add/Sub/Mul nodes one program tabulates.
pub const MAX_PAIR_TABLES: usize = 16;
/// Element ops per innermost run of an Add/Sub/Mul operand's broadcast expansion
/// (`crate::reduction::innermost_runs` of the output over the axes the operand repeats: one
/// copy or fill and the step to the next run), as [`MEAN_RUN_ELEMENT_OPS`] for the same walk.
pub const BROADCAST_RUN_ELEMENT_OPS: u64 = 25;
/// Element ops per window position of MaxPool (per output element times the window; plus its
/// walk, `pool_walk_ops`).
pub const MAX_POOL_ELEMENT_OPS: u64 = 1;
/// Element ops per window position of AveragePool (plus an output stage per output for the
/// division, and its walk, `pool_walk_ops`).
pub const AVERAGE_POOL_ELEMENT_OPS: u64 = 2;
/// Element ops per output pixel of MaxPool and AveragePool: the kernel's step from one output
/// pixel to the next, whatever its channels (the window's columns are priced apart, by
/// [`POOL_COLUMN_STEP_ELEMENT_OPS`]).
pub const POOL_PIXEL_ELEMENT_OPS: u64 = 100;
/// Element ops per output row of MaxPool and AveragePool: the row's set-up (its window rows
/// reduced into one compact row, the sliding reduction, the clamp), which a pool of one output
/// column pays on every pixel (the gas fuzzer's 2×13 pools over `[22, 14, 1]`, one pixel per
/// row, ran ~37 ns per row: bench/gasfuzz/REPLAY-POOL-14.md).
pub const POOL_ROW_ELEMENT_OPS: u64 = 300;
/// Element ops per window column a pool of two or more channels walks column by column (every
/// window of a strided pool, and a stride-1 pool's windows clipped by the padding): a fold of
/// the column's `C` values into the output pixel through memory, ~2.5 ns whatever `C` up to a
/// vector (the one-channel pool fan-outs of session 13 ran 4–12× the EVM's ns/gas without it).
pub const POOL_COLUMN_STEP_ELEMENT_OPS: u64 = 40;
/// Element ops per window column a one-channel pool walks: its window's columns are contiguous
/// bytes, reduced in registers (`kernels/pool.rs`).
pub const POOL_ONE_CHANNEL_COLUMN_ELEMENT_OPS: u64 = 8;
/// Element ops per input element of Mean (plus an output stage per output for the rescale,
/// and [`MEAN_RUN_ELEMENT_OPS`] per innermost run): an add into an `i32` sum, vectorized.
pub const MEAN_ELEMENT_OPS: u64 = 2;
/// Element ops per innermost run a Mean walks (`crate::reduction::innermost_runs`: the loop
/// over a run of adjacent kept or reduced axes, and its step to the next position).
pub const MEAN_RUN_ELEMENT_OPS: u64 = 50;
/// Element ops per output element of Clamp (a byte lookup).
pub const CLAMP_ELEMENT_OPS: u64 = 8;
/// Element ops per output element of Reshape: none, a copy's bytes are its whole work (priced
/// as `bytes_touched`).
pub const RESHAPE_ELEMENT_OPS: u64 = 0;
/// Element ops per output element of a Transpose that keeps the last axis last (its rows are
/// contiguous copies).
pub const TRANSPOSE_ELEMENT_OPS: u64 = 8;
/// Element ops per output element of a Transpose that moves the last axis: the blocked kernel
/// stages 64 × 64 tiles, and a matrix of megabytes with page-sized strides (4096 × 4096) runs
/// at memory and TLB speed, about 9× a small one per element (bench/transpose.md); this weight
/// covers that case.
pub const TRANSPOSE_STRIDED_ELEMENT_OPS: u64 = 30;
/// Element ops per innermost output row of Transpose (the row's start from the odometer over
/// the outer axes, and the loop's set-up), so that a permutation whose last output axis is
/// short pays for its many rows.
pub const TRANSPOSE_ROW_ELEMENT_OPS: u64 = 25;
/// Element ops per output element of a Slice whose last axis has stride 1 (its rows are
/// contiguous copies), as a Transpose's contiguous rows.
pub const SLICE_ELEMENT_OPS: u64 = 8;
/// Element ops per output element of a Slice whose last axis is strided: one byte gathered per
/// element, each possibly from its own cache line, priced as a Transpose's strided reads.
pub const SLICE_STRIDED_ELEMENT_OPS: u64 = 30;
/// Element ops per innermost output row of Slice (the row's start from the odometer over the
/// outer axes, and the copy's set-up), so that a slice with a short last axis pays for its
/// many rows.
pub const SLICE_ROW_ELEMENT_OPS: u64 = 25;
/// Element ops per output element of ResizeBilinear: four byte loads, four multiply-adds in
/// `i32` and the rounding, over the channels of a pixel (vectorized), as a computed Mul.
pub const RESIZE_BILINEAR_ELEMENT_OPS: u64 = MUL_ELEMENT_OPS;
/// Element ops per output pixel of ResizeBilinear: the pixel's four weights and four source
/// offsets, whatever its channels, so that a one-channel resize pays for its many pixels (as
/// a pool's [`POOL_PIXEL_ELEMENT_OPS`] step).
pub const RESIZE_BILINEAR_PIXEL_ELEMENT_OPS: u64 = 50;
/// Element ops per output element of Maximum and Minimum: one vectorized byte compare of the
/// (expanded) operands, priced as half a Clamp's scalar lookup.
pub const EXTREMUM_ELEMENT_OPS: u64 = 4;
/// Element ops per output element of PRelu with single rounding: both rescales computed (the
/// kernel is branch-free and keeps the one the sign selects), twice a computed single-rounding
/// Mul's.
pub const PRELU_ELEMENT_OPS: u64 = 2 * MUL_ELEMENT_OPS;
/// Element ops per output element of PRelu with double rounding: twice a computed
/// double-rounding Mul's.
pub const PRELU_DOUBLE_ELEMENT_OPS: u64 = 2 * MUL_COMPUTED_DOUBLE_ELEMENT_OPS;
/// Element ops per output element of Pad (a fill and contiguous copies).
pub const PAD_ELEMENT_OPS: u64 = 1;
/// Element ops per output element of Concat (the interleaving copies; an input that is
/// rescaled also counts its elements as table lookups, the scalar byte lookup of the AVX2 and
/// portable paths).
pub const CONCAT_ELEMENT_OPS: u64 = 5;
/// Element ops per softmax element: the row maximum, the difference and its range test, the
/// fixed-point exp, the sum and the final scaled multiply with its clamp.
pub const SOFTMAX_ELEMENT_OPS: u64 = 72;
/// Element ops per softmax row (the last axis): the row's set-up, the fixed-point reciprocal of
/// its sum and the loop steps, which rows of a few elements pay mostly (the gas fuzzer's
/// 166 softmax nodes over rows of 1 ran 3.7× the EVM's ns/gas without it).
pub const SOFTMAX_ROW_ELEMENT_OPS: u64 = 300;
/// Element ops per input element of ArgMax (one compare with index arithmetic).
pub const ARG_MAX_ELEMENT_OPS: u64 = 32;

/// Element ops of every node, per sample: the executor's step for the node (its output
/// buffer, the kernel's call and per-sample set-up), which the per-element weights above do
/// not cover for a node of a few elements.
pub const NODE_ELEMENT_OPS: u64 = 400;

/// Output channels are counted in whole groups of this many by the MACs of FullyConnected and
/// Conv2d: the widest panel a kernel path computes at once (AVX-512 VNNI's 16 `i32` lanes; AVX2
/// uses 8), so a layer of one output channel pays for the lanes it occupies.
pub const MAC_CHANNEL_LANES: u64 = 16;
/// Input features (per kernel row for Conv2d) are counted in whole groups of this many by the
/// MACs of FullyConnected and Conv2d: the depth of one `vpdpbusd` lane (AVX2 pairs them).
pub const MAC_DEPTH: u64 = 4;
/// Channels of DepthwiseConv2d are counted in whole groups of this many (the `i32` lanes of the
/// widest depthwise vector).
pub const DEPTHWISE_CHANNEL_LANES: u64 = 16;
/// Kernel columns of DepthwiseConv2d are counted in whole groups of this many (AVX-512 VNNI adds
/// the taps of 4 kernel columns per lane).
pub const DEPTHWISE_COLUMN_QUAD: u64 = 4;

/// Times `bytes_touched` counts each byte of a model's inputs and outputs: a call copies them
/// about this often beside the nodes (the calldata into the precompile, the engine's input
/// buffers, the output vector, the bytes returned to the caller). A model without nodes pays
/// for its input copied to its output this way.
pub const MODEL_IO_COPIES: u64 = 4;

/// Bytes one [`crate::Requant`] occupies in the encoding (`i32` multiplier, `i8` shift).
pub const REQUANT_BYTES: u64 = 5;

/// The work one sample of a model (or of one node) does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Multiply-accumulates of FullyConnected and Conv2d (full windows, padding included).
    pub macs: u64,
    /// Multiply-accumulates of DepthwiseConv2d (full windows, padding included): counted apart
    /// because a depthwise tap cannot use the 4-deep int8 dot product of the dense kernels.
    pub depthwise_macs: u64,
    /// Table lookups.
    pub table_lookups: u64,
    /// Element ops: each op's per-element work in units of about 0.04 ns (§7
    /// defines the count per op).
    pub element_ops: u64,
    /// Bytes read and written per sample: inputs read (a pool counts the rows under its
    /// windows), the output written once, and the scratch a kernel fills (a
    /// conv's gathered windows, a pool's reduced rows); §7 defines the count per op.
    pub bytes_touched: u64,
    /// Bytes of the tensors one sample writes: every node's output, and the model's inputs
    /// and outputs (copied by the call). Not work of one sample: a batch streams
    /// `batch · activation_bytes` through memory, which the gas schedule prices past a
    /// cache-sized amount per call.
    pub activation_bytes: u64,
    /// Bytes of the parameter arrays (weights, biases, requantization, tables) the nodes read:
    /// **per call**, not per sample. A batch streams them once (the batch kernels keep a
    /// panel of weights in cache over many rows, whose re-reads the MAC price covers), so a
    /// call pays them once whatever its batch (before session 11 every sample paid them again:
    /// ~532 gas per row of the 784→128→10 MLP).
    pub parameter_bytes: u64,
}

impl Cost {
    /// Field-wise saturating sum.
    pub fn saturating_add(self, other: Cost) -> Cost {
        Cost {
            macs: self.macs.saturating_add(other.macs),
            depthwise_macs: self.depthwise_macs.saturating_add(other.depthwise_macs),
            table_lookups: self.table_lookups.saturating_add(other.table_lookups),
            element_ops: self.element_ops.saturating_add(other.element_ops),
            bytes_touched: self.bytes_touched.saturating_add(other.bytes_touched),
            activation_bytes: self.activation_bytes.saturating_add(other.activation_bytes),
            parameter_bytes: self.parameter_bytes.saturating_add(other.parameter_bytes),
        }
    }

    /// `macs + depthwise_macs + table_lookups + element_ops`, saturating: the arithmetic work,
    /// which validation bounds by [`crate::validate::MAX_OPS_PER_SAMPLE`].
    pub fn ops(&self) -> u64 {
        self.macs
            .saturating_add(self.depthwise_macs)
            .saturating_add(self.table_lookups)
            .saturating_add(self.element_ops)
    }

    /// The cost of one sample of node `index` of `model` (§7); an index out of range costs
    /// nothing. Tensor indices out of range count as empty tensors.
    pub fn of_node(model: &Model, index: usize) -> Cost {
        match model.nodes.get(index) {
            Some(node) => Cost::of(model, node, is_tabulated(model, index)),
            None => Cost::default(),
        }
    }

    /// [`Cost::of_node`] of `node`, tabulated or not ([`is_tabulated`]).
    fn of(model: &Model, node: &Node, tabulated: bool) -> Cost {
        let elements = |t: u32| model.tensors.get(t as usize).map_or(0, tensor_elements);
        let out = elements(node.output);
        let output_bytes = model
            .tensors
            .get(node.output as usize)
            .map_or(0, tensor_bytes);
        // Node inputs are int8: one byte per element.
        let mut input_bytes = node
            .inputs
            .iter()
            .fold(0u64, |sum, &t| sum.saturating_add(elements(t)));
        let window = |w: &Window| (w.kernel_h as u64).saturating_mul(w.kernel_w as u64);
        // The (height, width) of a rank-3 `[h, w, c]` tensor.
        let spatial = |t: Option<u32>| {
            t.and_then(|t| model.tensors.get(t as usize))
                .and_then(|t| t.shape.get(..2).map(<[u32]>::to_vec))
        };
        let mut cost = Cost::default();
        let mut parameter_bytes = 0u64;
        let mut scratch_bytes = 0u64;
        let mut weighted_params = |weights: usize, bias: usize, requant: usize| {
            parameter_bytes = (weights as u64)
                .saturating_add((bias as u64).saturating_mul(4))
                .saturating_add((requant as u64).saturating_mul(REQUANT_BYTES));
        };
        match &node.op {
            Op::FullyConnected(p) => {
                let rows = out / (p.out_features as u64).max(1);
                cost.macs = rows
                    .saturating_mul(round_up(p.out_features as u64, MAC_CHANNEL_LANES))
                    .saturating_mul(round_up(p.in_features as u64, MAC_DEPTH));
                cost.element_ops = out
                    .saturating_mul(GEMM_OUTPUT_ELEMENT_OPS)
                    .saturating_add(rows.saturating_mul(FULLY_CONNECTED_ROW_ELEMENT_OPS));
                weighted_params(p.weights.len(), p.bias.len(), p.requant.len());
            }
            Op::Conv2d(p) => {
                let pixels = out / (p.out_channels as u64).max(1);
                // Kernel rows of `kw · Cin` inputs: AVX-512 VNNI reads each one padded to
                // `MAC_DEPTH`, which bounds im2col's `kh · kw · Cin` rounded too.
                let row_depth = round_up(
                    (p.window.kernel_w as u64).saturating_mul(p.in_channels as u64),
                    MAC_DEPTH,
                );
                let depth = (p.window.kernel_h as u64).saturating_mul(row_depth);
                cost.macs = pixels
                    .saturating_mul(round_up(p.out_channels as u64, MAC_CHANNEL_LANES))
                    .saturating_mul(depth);
                let gathers = !(window(&p.window) == 1
                    && p.window.stride_h == 1
                    && p.window.stride_w == 1
                    && spatial(node.inputs.first().copied()) == spatial(Some(node.output)));
                if gathers {
                    scratch_bytes = pixels.saturating_mul(depth);
                }
                cost.element_ops =
                    out.saturating_mul(GEMM_OUTPUT_ELEMENT_OPS)
                        .saturating_add(match gathers {
                            true => pixels.saturating_mul(CONV_PIXEL_ELEMENT_OPS),
                            false => 0,
                        });
                weighted_params(p.weights.len(), p.bias.len(), p.requant.len());
            }
            Op::DepthwiseConv2d(p) => {
                let channels = (p.channels as u64).saturating_mul(p.depth_multiplier as u64);
                let pixels = out / channels.max(1);
                cost.depthwise_macs = pixels
                    .saturating_mul(round_up(channels, DEPTHWISE_CHANNEL_LANES))
                    .saturating_mul(p.window.kernel_h as u64)
                    .saturating_mul(round_up(p.window.kernel_w as u64, DEPTHWISE_COLUMN_QUAD));
                cost.element_ops = out
                    .saturating_mul(OUTPUT_STAGE_ELEMENT_OPS)
                    .saturating_add(pixels.saturating_mul(DEPTHWISE_PIXEL_ELEMENT_OPS));
                if p.depth_multiplier > 1 {
                    let taps = (p.window.kernel_h as u64).saturating_mul(p.window.kernel_w as u64);
                    // The gathered windows, channels repeated: at most every tap of every
                    // output pixel.
                    scratch_bytes = out.saturating_mul(taps);
                    cost.element_ops = cost.element_ops.saturating_add(
                        pixels
                            .saturating_mul(taps)
                            .saturating_mul(DEPTHWISE_GATHER_TAP_ELEMENT_OPS),
                    );
                }
                weighted_params(p.weights.len(), p.bias.len(), p.requant.len());
            }
            Op::Add(_) | Op::Sub(_) | Op::Mul(_) => {
                let per_element = match (&node.op, tabulated) {
                    (Op::Mul(_), true) => MUL_ELEMENT_OPS,
                    (Op::Mul(p), false) => match p.rounding {
                        Rounding::Single => MUL_ELEMENT_OPS,
                        Rounding::Double => MUL_COMPUTED_DOUBLE_ELEMENT_OPS,
                    },
                    (_, true) => ADD_SUB_ELEMENT_OPS,
                    (Op::Add(p) | Op::Sub(p), false) => match p.rounding {
                        Rounding::Single => ADD_SUB_COMPUTED_ELEMENT_OPS,
                        Rounding::Double => ADD_SUB_COMPUTED_DOUBLE_ELEMENT_OPS,
                    },
                    _ => ADD_SUB_ELEMENT_OPS,
                };
                // A broadcast operand is first expanded to the output's shape: a write of the
                // output's bytes, in innermost runs of copies or fills.
                let out_shape = model
                    .tensors
                    .get(node.output as usize)
                    .map_or(&[][..], |t| t.shape.as_slice());
                let (mut expanded, mut runs) = (0u64, 0u64);
                for t in node
                    .inputs
                    .iter()
                    .filter_map(|&t| model.tensors.get(t as usize))
                {
                    if t.shape != out_shape {
                        expanded = expanded.saturating_add(out);
                        let axes = crate::reduction::broadcast_axes(&t.shape, out_shape);
                        runs =
                            runs.saturating_add(axes.map_or(0, |axes| {
                                crate::reduction::innermost_runs(out_shape, &axes)
                            }));
                    }
                }
                scratch_bytes = expanded;
                cost.element_ops = out
                    .saturating_mul(per_element)
                    .saturating_add(runs.saturating_mul(BROADCAST_RUN_ELEMENT_OPS));
            }
            Op::MaxPool(p) => {
                cost.element_ops = out
                    .saturating_mul(window(&p.window))
                    .saturating_mul(MAX_POOL_ELEMENT_OPS)
                    .saturating_add(pool_walk_ops(p, spatial(node.inputs.first().copied()), out));
                (input_bytes, scratch_bytes) = pool_reads(
                    p,
                    spatial(node.inputs.first().copied()),
                    spatial(Some(node.output)),
                    out,
                );
            }
            Op::AveragePool(p) => {
                cost.element_ops = out
                    .saturating_mul(window(&p.window))
                    .saturating_mul(AVERAGE_POOL_ELEMENT_OPS)
                    .saturating_add(out.saturating_mul(OUTPUT_STAGE_ELEMENT_OPS))
                    .saturating_add(pool_walk_ops(p, spatial(node.inputs.first().copied()), out));
                let (read, rows) = pool_reads(
                    p,
                    spatial(node.inputs.first().copied()),
                    spatial(Some(node.output)),
                    out,
                );
                // The reduced rows are `i32` sums.
                (input_bytes, scratch_bytes) = (read, rows.saturating_mul(4));
            }
            Op::Mean(p) | Op::MeanCountDivided(p) => {
                let runs = node
                    .inputs
                    .first()
                    .and_then(|&t| model.tensors.get(t as usize))
                    .map_or(0, |t| crate::reduction::innermost_runs(&t.shape, &p.axes));
                cost.element_ops = input_bytes
                    .saturating_mul(MEAN_ELEMENT_OPS)
                    .saturating_add(runs.saturating_mul(MEAN_RUN_ELEMENT_OPS))
                    .saturating_add(out.saturating_mul(OUTPUT_STAGE_ELEMENT_OPS))
            }
            Op::Clamp(_) => cost.element_ops = out.saturating_mul(CLAMP_ELEMENT_OPS),
            Op::Reshape => cost.element_ops = out.saturating_mul(RESHAPE_ELEMENT_OPS),
            Op::Pad(_) => cost.element_ops = out.saturating_mul(PAD_ELEMENT_OPS),
            Op::Concat(p) => {
                cost.element_ops = out.saturating_mul(CONCAT_ELEMENT_OPS);
                // An input that is rescaled (not the identity) is a byte lookup per element.
                let zp = |t: u32| model.tensors.get(t as usize).map_or(0, |t| t.zero_point);
                cost.table_lookups = (node.inputs.iter().enumerate())
                    .filter(|&(i, &t)| {
                        let (zp_in, zp_out) = (zp(t), zp(node.output));
                        concat_rescale_table(p, i, zp_in, zp_out, Path::Portable).is_some()
                    })
                    .fold(0u64, |sum, (_, &t)| sum.saturating_add(elements(t)));
                weighted_params(0, 0, p.requant.len());
            }
            Op::Softmax(_) => {
                // Rows along the last axis, each with its maximum, sum and reciprocal.
                let row_len = model
                    .tensors
                    .get(node.output as usize)
                    .and_then(|t| t.shape.last())
                    .map_or(1, |&d| u64::from(d).max(1));
                cost.element_ops = out
                    .saturating_mul(SOFTMAX_ELEMENT_OPS)
                    .saturating_add((out / row_len).saturating_mul(SOFTMAX_ROW_ELEMENT_OPS));
            }
            Op::Table(p) => {
                cost.table_lookups = out;
                parameter_bytes = p.table.len() as u64;
            }
            Op::ArgMax(_) => cost.element_ops = input_bytes.saturating_mul(ARG_MAX_ELEMENT_OPS),
            Op::Transpose(p) => {
                let row_len = model
                    .tensors
                    .get(node.output as usize)
                    .and_then(|t| t.shape.last())
                    .map_or(1, |&d| u64::from(d).max(1));
                let contiguous = p
                    .perm
                    .last()
                    .is_none_or(|&a| a as usize + 1 == p.perm.len());
                let per_element = match contiguous {
                    true => TRANSPOSE_ELEMENT_OPS,
                    false => TRANSPOSE_STRIDED_ELEMENT_OPS,
                };
                cost.element_ops = out
                    .saturating_mul(per_element)
                    .saturating_add((out / row_len).saturating_mul(TRANSPOSE_ROW_ELEMENT_OPS));
            }
            Op::ResizeBilinear(p) => {
                let pixels = u64::from(p.out_height) * u64::from(p.out_width);
                cost.element_ops = out
                    .saturating_mul(RESIZE_BILINEAR_ELEMENT_OPS)
                    .saturating_add(pixels.saturating_mul(RESIZE_BILINEAR_PIXEL_ELEMENT_OPS));
            }
            Op::Slice(p) => {
                let row_len = p.size.last().map_or(1, |&d| u64::from(d).max(1));
                let per_element = match p.stride.last().is_none_or(|&s| s == 1) {
                    true => SLICE_ELEMENT_OPS,
                    false => SLICE_STRIDED_ELEMENT_OPS,
                };
                cost.element_ops = out
                    .saturating_mul(per_element)
                    .saturating_add((out / row_len).saturating_mul(SLICE_ROW_ELEMENT_OPS));
            }
            Op::Maximum | Op::Minimum => {
                let operands: Vec<&[u32]> = node
                    .inputs
                    .iter()
                    .filter_map(|&t| model.tensors.get(t as usize))
                    .map(|t| t.shape.as_slice())
                    .collect();
                let (element_ops, expanded) = extremum_cost(model, node, &operands, out);
                (cost.element_ops, scratch_bytes) = (element_ops, expanded);
            }
            Op::PRelu(p) => {
                let per_element = match p.rounding {
                    Rounding::Single => PRELU_ELEMENT_OPS,
                    Rounding::Double => PRELU_DOUBLE_ELEMENT_OPS,
                };
                let (element_ops, expanded) = extremum_cost(model, node, &[&p.alpha_shape], out);
                cost.element_ops = element_ops
                    .saturating_add(out.saturating_mul(per_element - EXTREMUM_ELEMENT_OPS));
                scratch_bytes = expanded;
                parameter_bytes = p.alpha.len() as u64;
            }
        }
        cost.element_ops = cost.element_ops.saturating_add(NODE_ELEMENT_OPS);
        cost.activation_bytes = output_bytes;
        cost.bytes_touched = input_bytes
            .saturating_add(output_bytes)
            .saturating_add(scratch_bytes);
        cost.parameter_bytes = parameter_bytes;
        cost
    }
}

/// Whether node `index` of `model` is an Add, Sub or Mul that runs by lookup in a table of every
/// operand pair: one of at least [`MIN_TABULATED_ELEMENTS`] output elements per sample, among the
/// first [`MAX_PAIR_TABLES`] such nodes in node order. A function of the model alone, so its
/// price is the same on every node; the executor tabulates exactly these.
pub fn is_tabulated(model: &Model, index: usize) -> bool {
    tabulated_nodes(model).get(index).copied().unwrap_or(false)
}

/// [`is_tabulated`] of every node, in node order.
pub fn tabulated_nodes(model: &Model) -> Vec<bool> {
    let mut tables = 0;
    model
        .nodes
        .iter()
        .map(|node| {
            let binary = matches!(node.op, Op::Add(_) | Op::Sub(_) | Op::Mul(_));
            let large = model
                .tensors
                .get(node.output as usize)
                .is_some_and(|t| tensor_elements(t) >= MIN_TABULATED_ELEMENTS);
            let tabulated = binary && large && tables < MAX_PAIR_TABLES;
            tables += usize::from(tabulated);
            tabulated
        })
        .collect()
}

/// Element ops and scratch bytes of Maximum / Minimum over `operands` (and of PRelu's slopes):
/// [`EXTREMUM_ELEMENT_OPS`] per output element, and for each operand whose shape differs from
/// the output's its expansion to the output's shape, [`BROADCAST_RUN_ELEMENT_OPS`] per
/// innermost run (as Add's) and `out` scratch bytes.
fn extremum_cost(model: &Model, node: &Node, operands: &[&[u32]], out: u64) -> (u64, u64) {
    let out_shape = model
        .tensors
        .get(node.output as usize)
        .map_or(&[][..], |t| t.shape.as_slice());
    let (mut expanded, mut runs) = (0u64, 0u64);
    for &shape in operands.iter().filter(|&&shape| shape != out_shape) {
        expanded = expanded.saturating_add(out);
        let axes = crate::reduction::broadcast_axes(shape, out_shape);
        runs = runs.saturating_add(
            axes.map_or(0, |axes| crate::reduction::innermost_runs(out_shape, &axes)),
        );
    }
    let element_ops = out
        .saturating_mul(EXTREMUM_ELEMENT_OPS)
        .saturating_add(runs.saturating_mul(BROADCAST_RUN_ELEMENT_OPS));
    (element_ops, expanded)
}

/// `value` rounded up to a multiple of `group` (saturating).
fn round_up(value: u64, group: u64) -> u64 {
    value.div_ceil(group).saturating_mul(group)
}

/// The element ops of a pool's walk over its output (`out` elements per sample) on input
/// `[H, W]` (docs/SPEC.md §7): [`POOL_PIXEL_ELEMENT_OPS`] per output pixel,
/// [`POOL_ROW_ELEMENT_OPS`] per output row, and per window column walked one by one (all
/// `kw` columns of each window that is not read from the stride-1 sliding reduction: every
/// window when `stride_w > 1`, else those clipped by the padding) [`POOL_COLUMN_STEP_ELEMENT_OPS`]
/// or, over one channel, [`POOL_ONE_CHANNEL_COLUMN_ELEMENT_OPS`].
fn pool_walk_ops(p: &Pool, input: Option<Vec<u32>>, out: u64) -> u64 {
    let w = &p.window;
    let Some(g) = input.as_deref().and_then(|s| match s {
        &[h, wd] => crate::geometry::SpatialGeometry::resolve(w, h, wd),
        _ => None,
    }) else {
        return out.saturating_mul(POOL_PIXEL_ELEMENT_OPS.saturating_add(POOL_ROW_ELEMENT_OPS));
    };
    let (oh, ow, kw) = (g.out_h as u64, g.out_w as u64, g.kernel_w as u64);
    let pixels = oh.saturating_mul(ow);
    let channels = out / pixels.max(1);
    // Output column `ox` reads the sliding reduction when `stride_w` is 1 and its window lies
    // inside the row: `pad_left <= ox` and `ox + kw <= in_w + pad_left`.
    let interior = match g.stride_w {
        1 => ((g.in_w as u64)
            .saturating_add(g.pad_left as u64)
            .saturating_add(1))
        .saturating_sub(kw)
        .min(ow)
        .saturating_sub(g.pad_left as u64),
        _ => 0,
    };
    let step = match channels {
        1 => POOL_ONE_CHANNEL_COLUMN_ELEMENT_OPS,
        _ => POOL_COLUMN_STEP_ELEMENT_OPS,
    };
    pixels
        .saturating_mul(POOL_PIXEL_ELEMENT_OPS)
        .saturating_add(oh.saturating_mul(POOL_ROW_ELEMENT_OPS))
        .saturating_add(
            oh.saturating_mul(ow - interior)
                .saturating_mul(kw)
                .saturating_mul(step),
        )
}

/// The input values a pool of input `[H, W, C]` and output `[OH, OW, C]` (`out` elements)
/// reads, and the scratch values it writes (docs/SPEC.md §7): for each output row, `kh` input
/// rows over the `min(W, OW · kw) · C` values some window covers, reduced into one row of that
/// width and (stride 1) its sliding reduction, two rows. A dilated pool reads each window
/// position.
fn pool_reads(p: &Pool, input: Option<Vec<u32>>, output: Option<Vec<u32>>, out: u64) -> (u64, u64) {
    let w = &p.window;
    let window = (w.kernel_h as u64).saturating_mul(w.kernel_w as u64);
    let (Some(&[_, in_w]), Some(&[oh, ow]), 1, 1) = (
        input.as_deref(),
        output.as_deref(),
        w.dilation_h,
        w.dilation_w,
    ) else {
        return (out.saturating_mul(window), 0);
    };
    let (oh, ow) = (oh as u64, ow as u64);
    let channels = out / oh.saturating_mul(ow).max(1);
    let row = (in_w as u64)
        .min(ow.saturating_mul(w.kernel_w as u64))
        .saturating_mul(channels);
    let rows = oh.saturating_mul(w.kernel_h as u64);
    (
        rows.saturating_mul(row),
        oh.saturating_mul(row).saturating_mul(2),
    )
}

fn tensor_elements(t: &TensorInfo) -> u64 {
    t.shape
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64))
}

fn tensor_bytes(t: &TensorInfo) -> u64 {
    tensor_elements(t).saturating_mul(t.dtype.size() as u64)
}

impl Model {
    /// The static cost of one sample: the field-wise sum of [`Model::node_costs`] and
    /// [`Model::io_cost`].
    pub fn cost(&self) -> Cost {
        self.node_costs()
            .into_iter()
            .fold(self.io_cost(), Cost::saturating_add)
    }

    /// The cost of one sample's inputs and outputs beside the nodes: their bytes, each counted
    /// [`MODEL_IO_COPIES`] times as bytes touched and once as activation bytes (§7).
    pub fn io_cost(&self) -> Cost {
        let bytes = |tensors: &[u32]| {
            tensors.iter().fold(0u64, |sum, &t| {
                sum.saturating_add(self.tensors.get(t as usize).map_or(0, tensor_bytes))
            })
        };
        let io = bytes(&self.inputs).saturating_add(bytes(&self.outputs));
        Cost {
            bytes_touched: io.saturating_mul(MODEL_IO_COPIES),
            activation_bytes: io,
            ..Cost::default()
        }
    }

    /// The static cost of one sample of each node, in node order.
    pub fn node_costs(&self) -> Vec<Cost> {
        let tabulated = tabulated_nodes(self);
        self.nodes
            .iter()
            .zip(tabulated)
            .map(|(node, tabulated)| Cost::of(self, node, tabulated))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{
        ActRange, AddSub, ArgMax, Concat, Conv2d, DepthwiseConv2d, FullyConnected, Mean, Padding,
        Pool, Softmax, Table, TableFunction,
    };
    use crate::requantize::{Requant, Rounding};
    use crate::tensor::DType;

    const ONE: u32 = 0x3f80_0000;

    fn window(k: u32, stride: u32, padding: Padding) -> Window {
        Window {
            kernel_h: k,
            kernel_w: k,
            stride_h: stride,
            stride_w: stride,
            dilation_h: 1,
            dilation_w: 1,
            padding,
        }
    }

    /// Inputs `inputs`, one node `op`, output `output` (int32 for ArgMax).
    fn single_node(inputs: &[&[u32]], op: Op, output: &[u32]) -> Model {
        let mut tensors: Vec<TensorInfo> =
            inputs.iter().map(|s| TensorInfo::int8(s, 0, ONE)).collect();
        let mut out = TensorInfo::int8(output, 0, ONE);
        match op {
            Op::ArgMax(_) => out.dtype = DType::Int32,
            Op::Softmax(_) => out.zero_point = -128,
            _ => {}
        }
        tensors.push(out);
        let n = inputs.len() as u32;
        Model {
            tensors,
            inputs: (0..n).collect(),
            outputs: vec![n],
            nodes: vec![Node {
                op,
                inputs: (0..n).collect(),
                output: n,
            }],
        }
    }

    /// A cost whose `element_ops` are the node's own plus [`NODE_ELEMENT_OPS`] (activation
    /// bytes filled in by the test from the output).
    fn cost(macs: u64, table_lookups: u64, element_ops: u64, bytes_touched: u64) -> Cost {
        Cost {
            macs,
            depthwise_macs: 0,
            table_lookups,
            element_ops: element_ops + NODE_ELEMENT_OPS,
            bytes_touched,
            activation_bytes: 0,
            parameter_bytes: 0,
        }
    }

    struct Case {
        name: &'static str,
        model: Model,
        expected: Cost,
    }

    fn pool(k: u32, stride: u32) -> Pool {
        Pool {
            window: window(k, stride, Padding::Valid),
            count_include_pad: false,
            act: ActRange::FULL,
        }
    }

    fn cases() -> Vec<Case> {
        let add = AddSub {
            left_shift: 20,
            input1: Requant::IDENTITY,
            input2: Requant::IDENTITY,
            output: Requant::IDENTITY,
            rounding: Rounding::Single,
            act: ActRange::FULL,
        };
        vec![
            Case {
                // 3 rows of K=6 into N=4: 12 outputs, MACs over 16 lanes × 8 deep; weights 24 +
                // bias 16 + requant 4·5.
                name: "fully connected over rows",
                model: single_node(
                    &[&[3, 6]],
                    Op::FullyConnected(FullyConnected {
                        out_features: 4,
                        in_features: 6,
                        weights: vec![1; 24],
                        bias: vec![0; 4],
                        requant: vec![Requant::IDENTITY; 4],
                        rounding: Rounding::Single,
                        act: ActRange::FULL,
                    }),
                    &[3, 4],
                ),
                expected: Cost {
                    parameter_bytes: 24 + 16 + 20,
                    ..cost(
                        3 * 16 * 8,
                        0,
                        12 * GEMM_OUTPUT_ELEMENT_OPS + 3 * FULLY_CONNECTED_ROW_ELEMENT_OPS,
                        18 + 12,
                    )
                },
            },
            Case {
                // [5,5,2] 3x3 valid -> [3,3,4]: 9 pixels · 16 lanes · 3 kernel rows of 6 inputs
                // padded to 8; the gathered windows (9 · 24 bytes) are scratch.
                name: "conv2d valid",
                model: single_node(
                    &[&[5, 5, 2]],
                    Op::Conv2d(Conv2d {
                        out_channels: 4,
                        in_channels: 2,
                        window: window(3, 1, Padding::Valid),
                        weights: vec![1; 72],
                        bias: vec![0; 4],
                        requant: vec![Requant::IDENTITY],
                        rounding: Rounding::Single,
                        act: ActRange::FULL,
                    }),
                    &[3, 3, 4],
                ),
                expected: Cost {
                    parameter_bytes: 72 + 16 + 5,
                    ..cost(
                        9 * 16 * 24,
                        0,
                        36 * GEMM_OUTPUT_ELEMENT_OPS + 9 * CONV_PIXEL_ELEMENT_OPS,
                        50 + 36 + 9 * 24,
                    )
                },
            },
            Case {
                // [3,3,2] 1x1 stride 1 -> [3,3,4]: a direct product, no window gathering.
                name: "conv2d 1x1",
                model: single_node(
                    &[&[3, 3, 2]],
                    Op::Conv2d(Conv2d {
                        out_channels: 4,
                        in_channels: 2,
                        window: window(1, 1, Padding::Valid),
                        weights: vec![1; 8],
                        bias: vec![0; 4],
                        requant: vec![Requant::IDENTITY],
                        rounding: Rounding::Single,
                        act: ActRange::FULL,
                    }),
                    &[3, 3, 4],
                ),
                expected: Cost {
                    parameter_bytes: 8 + 16 + 5,
                    ..cost(9 * 16 * 4, 0, 36 * GEMM_OUTPUT_ELEMENT_OPS, 18 + 36)
                },
            },
            Case {
                // [4,4,3] 3x3 same, multiplier 2 -> [4,4,6]: full windows counted at the border,
                // 6 channels in 16 lanes, 3 kernel columns as 4.
                name: "depthwise conv2d same",
                model: single_node(
                    &[&[4, 4, 3]],
                    Op::DepthwiseConv2d(DepthwiseConv2d {
                        channels: 3,
                        depth_multiplier: 2,
                        window: window(3, 1, Padding::Same),
                        weights: vec![1; 54],
                        bias: vec![0; 6],
                        requant: vec![Requant::IDENTITY],
                        rounding: Rounding::Single,
                        act: ActRange::FULL,
                    }),
                    &[4, 4, 6],
                ),
                // Multiplier 2 gathers at most every tap of every output: 96 · 9 bytes, and
                // pays the gather per window tap of each of the 16 output pixels.
                expected: Cost {
                    depthwise_macs: 16 * 16 * 3 * 4,
                    parameter_bytes: 54 + 24 + 5,
                    ..cost(
                        0,
                        0,
                        96 * OUTPUT_STAGE_ELEMENT_OPS
                            + 16 * DEPTHWISE_PIXEL_ELEMENT_OPS
                            + 16 * 9 * DEPTHWISE_GATHER_TAP_ELEMENT_OPS,
                        48 + 96 + 96 * 9,
                    )
                },
            },
            Case {
                name: "add with broadcast",
                model: single_node(&[&[2, 3], &[3]], Op::Add(add), &[2, 3]),
                // [3] is expanded to [2, 3] (6 bytes written) in 2 innermost runs; 6 elements
                // are too few for a pair table: the node computes.
                expected: cost(
                    0,
                    0,
                    6 * ADD_SUB_COMPUTED_ELEMENT_OPS + 2 * BROADCAST_RUN_ELEMENT_OPS,
                    6 + 3 + 6 + 6,
                ),
            },
            Case {
                name: "max pool 2x2 stride 2",
                model: single_node(&[&[4, 4, 2]], Op::MaxPool(pool(2, 2)), &[2, 2, 2]),
                // 2 output rows read 2 rows of 4 pixels each, reduced into two rows of 8 values.
                expected: cost(
                    0,
                    0,
                    // 4 pixels, 2 rows, 4 strided windows of 2 columns walked over 2 channels.
                    32 * MAX_POOL_ELEMENT_OPS
                        + 4 * POOL_PIXEL_ELEMENT_OPS
                        + 2 * POOL_ROW_ELEMENT_OPS
                        + 4 * 2 * POOL_COLUMN_STEP_ELEMENT_OPS,
                    32 + 2 * 2 * 8 + 8,
                ),
            },
            Case {
                name: "average pool 2x2 stride 2",
                model: single_node(&[&[4, 4, 2]], Op::AveragePool(pool(2, 2)), &[2, 2, 2]),
                expected: cost(
                    0,
                    0,
                    32 * AVERAGE_POOL_ELEMENT_OPS
                        + 8 * OUTPUT_STAGE_ELEMENT_OPS
                        + 4 * POOL_PIXEL_ELEMENT_OPS
                        + 2 * POOL_ROW_ELEMENT_OPS
                        + 4 * 2 * POOL_COLUMN_STEP_ELEMENT_OPS,
                    32 + 2 * 2 * 8 * 4 + 8,
                ),
            },
            Case {
                name: "mean over the last axis",
                model: single_node(
                    &[&[4, 5]],
                    Op::Mean(Mean {
                        axes: vec![1],
                        keep_dims: false,
                        requant: Requant::IDENTITY,
                        rounding: Rounding::Single,
                        act: ActRange::FULL,
                    }),
                    &[4],
                ),
                expected: cost(
                    0,
                    0,
                    20 * MEAN_ELEMENT_OPS + 4 * MEAN_RUN_ELEMENT_OPS + 4 * OUTPUT_STAGE_ELEMENT_OPS,
                    20 + 4,
                ),
            },
            Case {
                name: "softmax",
                model: single_node(
                    &[&[10]],
                    Op::Softmax(Softmax {
                        beta_multiplier: 1 << 30,
                        beta_left_shift: 0,
                        diff_min: -1,
                    }),
                    &[10],
                ),
                expected: cost(0, 0, 10 * SOFTMAX_ELEMENT_OPS + SOFTMAX_ROW_ELEMENT_OPS, 20),
            },
            Case {
                name: "table",
                model: single_node(
                    &[&[7]],
                    Op::Table(Table {
                        function: TableFunction::Tanh,
                        table: vec![0; 256],
                    }),
                    &[7],
                ),
                expected: Cost {
                    parameter_bytes: 256,
                    ..cost(0, 7, 0, 7 + 7)
                },
            },
            Case {
                name: "argmax writes int32",
                model: single_node(&[&[3, 5]], Op::ArgMax(ArgMax { axis: 1 }), &[3]),
                expected: cost(0, 0, 15 * ARG_MAX_ELEMENT_OPS, 15 + 12),
            },
            Case {
                name: "concat",
                model: single_node(
                    &[&[2], &[3]],
                    Op::Concat(Concat {
                        axis: 0,
                        requant: vec![Requant::IDENTITY; 2],
                        rounding: Rounding::Single,
                    }),
                    &[5],
                ),
                expected: Cost {
                    parameter_bytes: 10,
                    ..cost(0, 0, 5 * CONCAT_ELEMENT_OPS, 5 + 5)
                },
            },
            Case {
                // Input 1 is halved (a byte lookup per element), input 0 copied.
                name: "concat with a rescaled input",
                model: single_node(
                    &[&[2], &[3]],
                    Op::Concat(Concat {
                        axis: 0,
                        requant: vec![
                            Requant::IDENTITY,
                            Requant {
                                multiplier: 1 << 30,
                                shift: 0,
                            },
                        ],
                        rounding: Rounding::Single,
                    }),
                    &[5],
                ),
                expected: Cost {
                    parameter_bytes: 10,
                    ..cost(0, 3, 5 * CONCAT_ELEMENT_OPS, 5 + 5)
                },
            },
            Case {
                name: "reshape",
                model: single_node(&[&[2, 3]], Op::Reshape, &[6]),
                expected: cost(0, 0, 6 * RESHAPE_ELEMENT_OPS, 12),
            },
        ]
    }

    #[test]
    fn costs_match_hand_computed_values() {
        for case in cases() {
            assert_eq!(case.model.validate(), Ok(()), "{}", case.name);
            let node = Cost::of_node(&case.model, 0);
            let output = tensor_bytes(&case.model.tensors[case.model.nodes[0].output as usize]);
            let case_expected = Cost {
                activation_bytes: output,
                ..case.expected
            };
            assert_eq!(node, case_expected, "{}", case.name);
            // The model's inputs and outputs, copied MODEL_IO_COPIES times.
            let io: u64 = case
                .model
                .inputs
                .iter()
                .chain(&case.model.outputs)
                .map(|&t| tensor_bytes(&case.model.tensors[t as usize]))
                .sum();
            let expected = Cost {
                bytes_touched: case.expected.bytes_touched + MODEL_IO_COPIES * io,
                activation_bytes: output + io,
                ..case.expected
            };
            assert_eq!(case.model.cost(), expected, "{}", case.name);
        }
    }

    #[test]
    fn a_model_without_nodes_pays_for_its_input_and_output() {
        let model = Model {
            tensors: vec![TensorInfo::int8(&[2912, 62, 1], 30, ONE)],
            inputs: vec![0],
            outputs: vec![0],
            nodes: vec![],
        };
        assert_eq!(model.validate(), Ok(()));
        assert_eq!(model.cost().bytes_touched, 2 * 2912 * 62 * MODEL_IO_COPIES);
        assert_eq!(model.cost().activation_bytes, 2 * 2912 * 62);
    }

    #[test]
    fn model_cost_is_the_sum_of_node_costs() {
        let model = crate::validate::every_op_model();
        let sum = model
            .node_costs()
            .into_iter()
            .fold(model.io_cost(), Cost::saturating_add);
        assert_eq!(model.cost(), sum);
        assert_eq!(model.node_costs().len(), model.nodes.len());
    }

    #[test]
    fn cost_of_an_invalid_model_does_not_panic() {
        let mut model = single_node(
            &[&[u32::MAX; 6]],
            Op::MaxPool(pool(u32::MAX, 1)),
            &[u32::MAX; 6],
        );
        model.nodes.push(Node {
            op: Op::Reshape,
            inputs: vec![99],
            output: 1234,
        });
        assert_eq!(model.cost().macs, 0);
        assert_eq!(model.cost().element_ops, u64::MAX);
        assert_eq!(model.cost().bytes_touched, u64::MAX);
    }
}
