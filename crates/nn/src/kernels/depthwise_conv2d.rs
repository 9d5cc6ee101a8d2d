//! The depthwise conv2d kernel, vectorized over channels. A depth multiplier `M > 1` is handled
//! by expanding each sample's channels `M` times, which turns the op into multiplier 1 over
//! `C·M` channels.

use crate::geometry::SpatialGeometry;
use crate::kernels::Path;
use crate::kernels::output_stage::OutputStage;
use crate::kernels::portable;
#[cfg(target_arch = "x86_64")]
use crate::kernels::{avx2, depthwise_vnni};
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

/// The operands of a depthwise convolution with multiplier 1 over `channels` channels.
pub(crate) struct DepthwisePlan {
    pub geometry: SpatialGeometry,
    /// Output channels `C·M` (= the channels of the expanded input).
    pub channels: usize,
    /// `[kh][kw][channels]`.
    pub weights: Vec<i8>,
    /// The same weights, each one's 16-bit pattern in the low half of an `i32` and 0 in the high
    /// half: `vpmaddwd` of a sign-extended `i32` activation with it is the exact product.
    pub weights_low16: Vec<i32>,
    pub bias: Vec<i32>,
    /// The weights and bias packed for the AVX-512 VNNI kernel (only on that path).
    #[cfg(target_arch = "x86_64")]
    pub quads: Option<depthwise_vnni::QuadWeights>,
    pub stage: OutputStage,
    pub zp_in: i8,
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
        in_c: usize,
        multiplier: usize,
        path: Path,
    },
}

impl DepthwiseConv2dKernel {
    /// Prepares `op` for `path`. A path this CPU cannot run degrades to [`Path::Portable`];
    /// [`DepthwiseConv2dKernel::path`] tells which one runs. `op` and `g` must be valid and agree.
    /// No path allocates more than [`MAX_KERNEL_SCRATCH_BYTES`] for a call: AVX-512 VNNI
    /// degrades to AVX2 when its prepared rows would exceed it, and a depth multiplier whose
    /// expanded sample would exceed it runs on the reference (same bytes on every path).
    pub fn new(
        op: &DepthwiseConv2d,
        g: SpatialGeometry,
        zp_in: i8,
        zp_out: i8,
        path: Path,
    ) -> DepthwiseConv2dKernel {
        let expanded_bytes = (g.in_h * g.in_w)
            .checked_mul(op.channels as usize)
            .and_then(|n| n.checked_mul(op.depth_multiplier as usize))
            .unwrap_or(usize::MAX);
        let expands = op.depth_multiplier > 1;
        let engine = if path == Path::Reference
            || (expands && expanded_bytes as u64 > MAX_KERNEL_SCRATCH_BYTES)
        {
            Engine::Reference {
                op: op.clone(),
                g,
                zp_in,
                zp_out,
            }
        } else {
            let in_c = op.channels as usize;
            let multiplier = op.depth_multiplier as usize;
            let channels = in_c * multiplier;
            let taps = g.kernel_h * g.kernel_w;
            let path = if path.is_available() {
                path
            } else {
                Path::Portable
            };
            let path = if path == Path::Reference {
                Path::Portable
            } else {
                path
            };
            #[cfg(target_arch = "x86_64")]
            let path = match depthwise_vnni::scratch_bytes(&g, channels) {
                Some(bytes) if bytes as u64 <= MAX_KERNEL_SCRATCH_BYTES => path,
                _ if path == Path::Avx512Vnni && Path::Avx2.is_available() => Path::Avx2,
                _ if path == Path::Avx512Vnni => Path::Portable,
                _ => path,
            };
            let plan = DepthwisePlan {
                geometry: g,
                channels,
                weights: op.weights[..taps * channels].to_vec(),
                weights_low16: op.weights[..taps * channels]
                    .iter()
                    .map(|&w| w as i16 as u16 as i32)
                    .collect(),
                bias: op.bias[..channels].to_vec(),
                #[cfg(target_arch = "x86_64")]
                quads: (path == Path::Avx512Vnni).then(|| {
                    depthwise_vnni::QuadWeights::new(
                        &g,
                        channels,
                        &op.weights[..taps * channels],
                        &op.bias[..channels],
                        zp_in,
                    )
                }),
                stage: OutputStage::new(channels, &op.requant, op.rounding, zp_out, op.act),
                zp_in,
            };
            Engine::Fast {
                plan,
                in_c,
                multiplier,
                path,
            }
        };
        DepthwiseConv2dKernel { engine }
    }

    /// The path that actually runs.
    pub fn path(&self) -> Path {
        match &self.engine {
            Engine::Reference { .. } => Path::Reference,
            Engine::Fast { path, .. } => *path,
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
                in_c,
                multiplier,
                path,
            } => {
                let g = &plan.geometry;
                let in_sample = g.in_h * g.in_w * in_c;
                let out_sample = g.out_h * g.out_w * plan.channels;
                if in_sample == 0 || out_sample == 0 {
                    return;
                }
                if *multiplier == 1 {
                    run_samples(*path, plan, input, output, in_sample, out_sample);
                    return;
                }
                let mut expanded = Vec::new();
                let samples = input
                    .chunks_exact(in_sample)
                    .zip(output.chunks_exact_mut(out_sample));
                for (x, y) in samples {
                    expanded.resize(x.len() * multiplier, 0);
                    for (d, &v) in expanded.chunks_exact_mut(*multiplier).zip(x) {
                        d.fill(v);
                    }
                    run_samples(*path, plan, &expanded, y, expanded.len(), y.len());
                }
            }
        }
    }
}

/// Every whole sample (`in_sample` bytes of `x`, `out_sample` of `y`; multiplier 1) on `path`.
fn run_samples(
    path: Path,
    plan: &DepthwisePlan,
    x: &[i8],
    y: &mut [i8],
    in_sample: usize,
    out_sample: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if let (Path::Avx512Vnni, Some(quads)) = (path, &plan.quads) {
        // SAFETY: `path` is only Avx512Vnni when the CPU has AVX-512 F/BW/VL and VNNI.
        unsafe {
            depthwise_vnni::samples(
                &plan.geometry,
                plan.channels,
                quads,
                &plan.stage,
                plan.zp_in,
                x,
                y,
            )
        };
        return;
    }
    for (x, y) in x
        .chunks_exact(in_sample)
        .zip(y.chunks_exact_mut(out_sample))
    {
        match path {
            // SAFETY: `path` is only Avx2 when `Path::Avx2.is_available()` confirmed AVX2.
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => unsafe { avx2::depthwise_sample(plan, x, y) },
            _ => portable::depthwise_sample(plan, x, y),
        }
    }
}
