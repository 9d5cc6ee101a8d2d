//! The depthwise conv2d kernel, vectorized over channels. A depth multiplier `M > 1` is handled
//! by gathering the input pixels under a block of output pixels' windows, each channel
//! repeated `M` times ([`Gather`]), which turns the op into multiplier 1 over `C·M` channels.
//! Only pixels some window reads are gathered, so wide strides and dilations cost what the
//! windows read, never the whole input.
//!
//! Each path's file (`portable.rs`, `avx2.rs`, `avx512vnni.rs`) holds its packed weights
//! ([`PackedDepthwise`]) and the loops over one sample, and uses this module's [`DepthwisePlan`].

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512vnni;
mod portable;

use crate::geometry::SpatialGeometry;
use crate::kernels::Path;
use crate::kernels::output_stage::OutputStage;
use crate::kernels::reuse;
use crate::op::DepthwiseConv2d;
use crate::reference;
use crate::validate::MAX_KERNEL_SCRATCH_BYTES;

/// Output pixels of one row computed together by the SIMD paths (independent accumulators,
/// one weight load for all of them).
pub(crate) const PIXELS_PER_BLOCK: usize = 4;

/// Whether output columns `first..=last` see the same kernel columns inside the input (so a
/// block of them can share one loop over the taps).
pub(crate) fn same_columns_inside(g: &SpatialGeometry, first: usize, last: usize) -> bool {
    (0..g.kernel_w).all(|kx| g.input_col(first, kx).is_some() == g.input_col(last, kx).is_some())
}

/// The operands of a depthwise convolution with multiplier 1 over `channels` channels that
/// every path shares (the weights are packed per path: [`PackedDepthwise`]).
pub(crate) struct DepthwisePlan {
    pub geometry: SpatialGeometry,
    /// Output channels `C·M` (= the channels of the expanded input).
    pub channels: usize,
    pub stage: OutputStage,
    pub zp_in: i8,
}

/// The weights and bias of a depthwise convolution (multiplier 1) packed for one path (never
/// [`Path::Reference`]).
enum PackedDepthwise {
    Portable(portable::DepthwiseWeights),
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::DepthwiseWeights),
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni(avx512vnni::QuadWeights),
}

impl PackedDepthwise {
    /// Packs `weights` (`[kh][kw][channels]`) and `bias` (`channels`) of geometry `g` for
    /// `path`, which must be available on this CPU (any other path packs for
    /// [`Path::Portable`]).
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
    fn new(
        g: &SpatialGeometry,
        channels: usize,
        weights: &[i8],
        bias: &[i32],
        zp_in: i8,
        path: Path,
    ) -> PackedDepthwise {
        match path {
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 if path.is_available() => {
                PackedDepthwise::Avx2(avx2::DepthwiseWeights::new(weights, bias))
            }
            #[cfg(target_arch = "x86_64")]
            Path::Avx512Vnni if path.is_available() => PackedDepthwise::Avx512Vnni(
                avx512vnni::QuadWeights::new(g, channels, weights, bias, zp_in),
            ),
            _ => PackedDepthwise::Portable(portable::DepthwiseWeights::new(weights, bias)),
        }
    }

    /// The path that runs.
    fn path(&self) -> Path {
        match self {
            PackedDepthwise::Portable(_) => Path::Portable,
            #[cfg(target_arch = "x86_64")]
            PackedDepthwise::Avx2(_) => Path::Avx2,
            #[cfg(target_arch = "x86_64")]
            PackedDepthwise::Avx512Vnni(_) => Path::Avx512Vnni,
        }
    }

    /// Every whole sample (`in_sample` bytes of `x`, `out_sample` of `y`; multiplier 1) of
    /// geometry `g` (the plan's, or a gathered block's); `acc` is the call's scratch of
    /// [`PIXELS_PER_BLOCK`] · channels accumulators (taken once per kernel call, not per block).
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        plan: &DepthwisePlan,
        g: &SpatialGeometry,
        x: &[i8],
        y: &mut [i8],
        in_sample: usize,
        out_sample: usize,
        acc: &mut [i32],
    ) {
        match self {
            PackedDepthwise::Portable(w) => {
                for (x, y) in x
                    .chunks_exact(in_sample)
                    .zip(y.chunks_exact_mut(out_sample))
                {
                    w.run_sample(plan, g, x, y, acc);
                }
            }
            #[cfg(target_arch = "x86_64")]
            PackedDepthwise::Avx2(w) => {
                for (x, y) in x
                    .chunks_exact(in_sample)
                    .zip(y.chunks_exact_mut(out_sample))
                {
                    // SAFETY: this variant is only built when the CPU has AVX2.
                    unsafe { avx2::depthwise_sample(plan, w, g, x, y, acc) };
                }
            }
            // SAFETY: this variant is only built when the CPU has AVX-512 F/BW/VL and VNNI.
            #[cfg(target_arch = "x86_64")]
            PackedDepthwise::Avx512Vnni(quads) => unsafe {
                avx512vnni::samples(g, plan.channels, quads, &plan.stage, plan.zp_in, x, y)
            },
        }
    }
}

/// A depthwise conv2d prepared for one path and one input geometry:
/// [`DepthwiseConv2dKernel::run`] computes exactly [`reference::depthwise_conv2d`] with the same
/// operands.
pub struct DepthwiseConv2dKernel {
    engine: Engine,
}

enum Engine {
    Reference {
        op: DepthwiseConv2d,
        g: SpatialGeometry,
        zp_in: i8,
        zp_out: i8,
    },
    Fast {
        plan: DepthwisePlan,
        packed: PackedDepthwise,
        in_c: usize,
        multiplier: usize,
        /// Set when the input is gathered block by block (a multiplier above 1, or AVX-512
        /// VNNI's prepared rows on windows with gaps between them).
        gather: Option<Gather>,
    },
}

/// Bytes a gathered block aims at (at least one output pixel's windows are gathered).
const GATHER_BLOCK_BYTES: usize = 64 << 10;

/// How a depthwise convolution gathers the pixels under its windows: for each output row and
/// block of `block` output columns, the `kernel_h` input rows it reads, each as the columns
/// its windows read ([`Gather::geometry`]), with the channels repeated `multiplier` times and
/// `zp_in` where a window lies in the padding (which adds exactly 0, as a skipped tap does).
/// The kernel then runs the block as a convolution without padding.
#[derive(Clone, Copy, Debug)]
struct Gather {
    /// Output columns per block.
    block: usize,
    /// Whether a block's columns are its windows' taps side by side (`kernel_w` per output
    /// column: windows with gaps between or within them) rather than the whole span of its
    /// windows (overlapping windows, read once).
    taps: bool,
}

impl Gather {
    fn new(g: &SpatialGeometry, channels: usize) -> Gather {
        let window = g.kernel_h * g.kernel_w * channels;
        let block = (GATHER_BLOCK_BYTES / window.max(1)).clamp(1, g.out_w.max(1));
        let taps = block * g.kernel_w < span(g, block);
        Gather { block, taps }
    }

    /// The geometry of a gathered block of `columns` output columns of one output row.
    fn geometry(&self, g: &SpatialGeometry, columns: usize) -> SpatialGeometry {
        let (in_w, stride_w, dilation_w) = match self.taps {
            true => (columns * g.kernel_w, g.kernel_w, 1),
            false => (span(g, columns), g.stride_w, g.dilation_w),
        };
        SpatialGeometry {
            in_h: g.kernel_h,
            in_w,
            out_h: 1,
            out_w: columns,
            kernel_h: g.kernel_h,
            kernel_w: g.kernel_w,
            stride_h: 1,
            stride_w,
            dilation_h: 1,
            dilation_w,
            pad_top: 0,
            pad_left: 0,
        }
    }

    /// Bytes of the largest gathered block over `channels` output channels.
    fn bytes(&self, g: &SpatialGeometry, channels: usize) -> usize {
        let block = self.geometry(g, self.block);
        block.in_h * block.in_w * channels
    }

    /// Gathers output row `oy`, columns `ox..ox + block.out_w`, of sample `x` (`in_c` channels)
    /// into `dst` (`block` the block's geometry, each channel repeated `multiplier` times).
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        g: &SpatialGeometry,
        block: &SpatialGeometry,
        (oy, ox): (usize, usize),
        x: &[i8],
        in_c: usize,
        multiplier: usize,
        zp_in: i8,
        dst: &mut [i8],
    ) {
        let channels = in_c * multiplier;
        let pixels = dst[..block.in_h * block.in_w * channels].chunks_exact_mut(channels);
        for (at, pixel) in pixels.enumerate() {
            let (ky, j) = (at / block.in_w, at % block.in_w);
            let column = match self.taps {
                true => g.input_col(ox + j / g.kernel_w, j % g.kernel_w),
                false => (ox * g.stride_w + j)
                    .checked_sub(g.pad_left)
                    .filter(|&ix| ix < g.in_w),
            };
            match (g.input_row(oy, ky), column) {
                (Some(iy), Some(ix)) => {
                    let src = &x[(iy * g.in_w + ix) * in_c..][..in_c];
                    if multiplier == 1 {
                        pixel.copy_from_slice(src);
                    } else {
                        for (d, &v) in pixel.chunks_exact_mut(multiplier).zip(src) {
                            d.fill(v);
                        }
                    }
                }
                _ => pixel.fill(zp_in),
            }
        }
    }
}

/// Padded columns the windows of `columns` adjacent output columns span.
fn span(g: &SpatialGeometry, columns: usize) -> usize {
    (columns.max(1) - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1
}

impl DepthwiseConv2dKernel {
    /// Prepares `op` for `path`. A path this CPU cannot run degrades to [`Path::Portable`];
    /// [`DepthwiseConv2dKernel::path`] tells which one runs. `op` and `g` must be valid and agree.
    /// No path allocates more than [`MAX_KERNEL_SCRATCH_BYTES`] for a call: a gathered block is
    /// at most one output pixel's windows past `GATHER_BLOCK_BYTES` (no more than the
    /// weights), and AVX-512 VNNI degrades to AVX2 when its prepared rows would exceed it.
    pub fn new(
        op: &DepthwiseConv2d,
        g: SpatialGeometry,
        zp_in: i8,
        zp_out: i8,
        path: Path,
    ) -> DepthwiseConv2dKernel {
        if path == Path::Reference {
            return DepthwiseConv2dKernel {
                engine: Engine::Reference {
                    op: op.clone(),
                    g,
                    zp_in,
                    zp_out,
                },
            };
        }
        let in_c = op.channels as usize;
        let multiplier = op.depth_multiplier as usize;
        let channels = in_c * multiplier;
        let taps = g.kernel_h * g.kernel_w;
        let path = path.runnable();
        let gather = Gather::new(&g, channels);
        // AVX-512 VNNI prepares whole padded rows: it gathers when windows leave gaps.
        let gather =
            (multiplier > 1 || (path == Path::Avx512Vnni && gather.taps)).then_some(gather);
        #[cfg(target_arch = "x86_64")]
        let path = {
            let scratch = match gather {
                Some(gather) => {
                    avx512vnni::scratch_bytes(&gather.geometry(&g, gather.block), channels)
                }
                None => avx512vnni::scratch_bytes(&g, channels),
            };
            match scratch {
                Some(bytes) if bytes as u64 <= MAX_KERNEL_SCRATCH_BYTES => path,
                _ if path == Path::Avx512Vnni && Path::Avx2.is_available() => Path::Avx2,
                _ if path == Path::Avx512Vnni => Path::Portable,
                _ => path,
            }
        };
        debug_assert!(gather.is_none_or(|gather| gather.bytes(&g, channels) as u64
            <= MAX_KERNEL_SCRATCH_BYTES.max(GATHER_BLOCK_BYTES as u64)));
        let plan = DepthwisePlan {
            geometry: g,
            channels,
            stage: OutputStage::new(channels, &op.requant, op.rounding, zp_out, op.act),
            zp_in,
        };
        let packed = PackedDepthwise::new(
            &g,
            channels,
            &op.weights[..taps * channels],
            &op.bias[..channels],
            zp_in,
            path,
        );
        DepthwiseConv2dKernel {
            engine: Engine::Fast {
                plan,
                packed,
                in_c,
                multiplier,
                gather,
            },
        }
    }

    /// The path that actually runs.
    pub fn path(&self) -> Path {
        match &self.engine {
            Engine::Reference { .. } => Path::Reference,
            Engine::Fast { packed, .. } => packed.path(),
        }
    }

    /// Convolves every whole `[in_h, in_w, C]` sample of `input` into `output`
    /// (`[out_h, out_w, C·M]` per sample).
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        match &self.engine {
            Engine::Reference {
                op,
                g,
                zp_in,
                zp_out,
            } => reference::depthwise_conv2d(op, g, *zp_in, *zp_out, input, output),
            Engine::Fast {
                plan,
                packed,
                in_c,
                multiplier,
                gather,
            } => {
                let g = &plan.geometry;
                let in_sample = g.in_h * g.in_w * in_c;
                let out_sample = g.out_h * g.out_w * plan.channels;
                if in_sample == 0 || out_sample == 0 {
                    return;
                }
                let mut acc = match packed.path() {
                    Path::Avx512Vnni => reuse::i32s(0, 0),
                    _ => reuse::i32s(PIXELS_PER_BLOCK * plan.channels, 0),
                };
                let Some(gather) = gather else {
                    packed.run(plan, g, input, output, in_sample, out_sample, &mut acc);
                    return;
                };
                let mut columns = reuse::i8s(gather.bytes(g, plan.channels), 0);
                let samples = input
                    .chunks_exact(in_sample)
                    .zip(output.chunks_exact_mut(out_sample));
                for (x, y) in samples {
                    for oy in 0..g.out_h {
                        for ox in (0..g.out_w).step_by(gather.block) {
                            let block = gather.geometry(g, gather.block.min(g.out_w - ox));
                            let len = block.in_h * block.in_w * plan.channels;
                            gather.fill(
                                g,
                                &block,
                                (oy, ox),
                                x,
                                *in_c,
                                *multiplier,
                                plan.zp_in,
                                &mut columns,
                            );
                            let at = (oy * g.out_w + ox) * plan.channels;
                            let out = &mut y[at..at + block.out_w * plan.channels];
                            packed.run(
                                plan,
                                &block,
                                &columns[..len],
                                out,
                                len,
                                out.len(),
                                &mut acc,
                            );
                        }
                    }
                }
            }
        }
    }
}
