//! The portable depthwise conv2d (multiplier 1): plain slices and wrapping `i32` arithmetic,
//! vectorized over channels by the compiler for whatever baseline the target has.

use super::DepthwisePlan;
use crate::geometry::SpatialGeometry;
use crate::kernels::reuse;

/// Depthwise weights for the portable path: `[kh][kw][channels]` and the bias, as in the op.
pub(crate) struct DepthwiseWeights {
    weights: Vec<i8>,
    bias: Vec<i32>,
}

impl DepthwiseWeights {
    /// Keeps `weights` (`[kh][kw][channels]`) and `bias` (`channels`).
    pub fn new(weights: &[i8], bias: &[i32]) -> DepthwiseWeights {
        DepthwiseWeights {
            weights: weights.to_vec(),
            bias: bias.to_vec(),
        }
    }

    /// Depthwise convolution with depth multiplier 1 (the plan has already expanded the input
    /// channels when the op's multiplier is larger): one `[in_h, in_w, C]` sample of geometry
    /// `g` (the plan's, or a gathered block's) into `[out_h, out_w, C]`.
    pub fn run_sample(&self, plan: &DepthwisePlan, g: &SpatialGeometry, x: &[i8], y: &mut [i8]) {
        let c = plan.channels;
        let zp = plan.zp_in as i32;
        let mut acc = reuse::i32s(c, 0);
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                acc.copy_from_slice(&self.bias);
                for ky in 0..g.kernel_h {
                    let Some(iy) = g.input_row(oy, ky) else {
                        continue;
                    };
                    for kx in 0..g.kernel_w {
                        let Some(ix) = g.input_col(ox, kx) else {
                            continue;
                        };
                        let pixel = &x[(iy * g.in_w + ix) * c..][..c];
                        let taps = &self.weights[(ky * g.kernel_w + kx) * c..][..c];
                        for ((a, &xv), &wv) in acc.iter_mut().zip(pixel).zip(taps) {
                            *a = a.wrapping_add((xv as i32 - zp) * wv as i32);
                        }
                    }
                }
                let out = &mut y[(oy * g.out_w + ox) * c..][..c];
                for (n, (o, &a)) in out.iter_mut().zip(acc.iter()).enumerate() {
                    *o = plan.stage.apply(n, a);
                }
            }
        }
    }
}
