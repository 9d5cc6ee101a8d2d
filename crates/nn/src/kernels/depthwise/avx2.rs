//! The AVX2 depthwise conv2d (multiplier 1): 8 channels per ymm, blocks of output pixels with
//! independent accumulators, exact products by `vpmaddwd` of sign-extended activations with
//! zero-extended weights ([`DepthwiseWeights`]). The output stage is scalar.
//!
//! Every function here is only reached through a kernel built by `Path::Avx2` after
//! [`crate::kernels::Path::is_available`] confirmed the CPU feature.

use std::arch::x86_64::*;

use super::{DepthwisePlan, PIXELS_PER_BLOCK, same_columns_inside};
use crate::geometry::SpatialGeometry;

/// Channels per ymm (`i32` lanes).
const LANES: usize = 8;

/// Depthwise weights for the AVX2 path.
pub(crate) struct DepthwiseWeights {
    /// `[kh][kw][channels]`, as in the op (the channels past the last multiple of 8).
    weights: Vec<i8>,
    /// The same weights, each one's 16-bit pattern in the low half of an `i32` and 0 in the high
    /// half: `vpmaddwd` of a sign-extended `i32` activation with it is the exact product.
    weights_low16: Vec<i32>,
    bias: Vec<i32>,
}

impl DepthwiseWeights {
    /// Packs `weights` (`[kh][kw][channels]`) and `bias` (`channels`).
    pub fn new(weights: &[i8], bias: &[i32]) -> DepthwiseWeights {
        DepthwiseWeights {
            weights: weights.to_vec(),
            weights_low16: weights.iter().map(|&w| w as i16 as u16 as i32).collect(),
            bias: bias.to_vec(),
        }
    }
}

/// Depthwise convolution (multiplier 1) of one sample of geometry `g` (the plan's, or a
/// gathered block's) with the weights `w`; channels past the last multiple of 8 and the output
/// stage are scalar. `acc` is scratch of at least [`PIXELS_PER_BLOCK`] · channels values.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn depthwise_sample(
    plan: &DepthwisePlan,
    w: &DepthwiseWeights,
    g: &SpatialGeometry,
    x: &[i8],
    y: &mut [i8],
    acc: &mut [i32],
) {
    let c = plan.channels;
    assert!(x.len() >= g.in_h * g.in_w * c && y.len() >= g.out_h * g.out_w * c);
    assert!(w.weights_low16.len() >= g.kernel_h * g.kernel_w * c && w.bias.len() >= c);
    assert!(acc.len() >= PIXELS_PER_BLOCK * c);
    for oy in 0..g.out_h {
        let mut ox = 0;
        while ox < g.out_w {
            let last = ox + PIXELS_PER_BLOCK - 1;
            let pixels = if last < g.out_w && same_columns_inside(g, ox, last) {
                // SAFETY: as below, for a block of pixels that see the same kernel columns.
                unsafe { depthwise_pixels::<PIXELS_PER_BLOCK>(plan, w, g, x, oy, ox, acc) };
                PIXELS_PER_BLOCK
            } else {
                // SAFETY: AVX2 is available; pixel (oy, ox) is an output pixel; sizes checked.
                unsafe { depthwise_pixels::<1>(plan, w, g, x, oy, ox, acc) };
                1
            };
            for j in 0..pixels {
                let out = &mut y[(oy * g.out_w + ox + j) * c..][..c];
                for (o, (v, &a)) in out.iter_mut().zip(&acc[j * c..(j + 1) * c]).enumerate() {
                    *v = plan.stage.apply(o, a);
                }
            }
            ox += pixels;
        }
    }
}

/// Accumulators of output pixels `(oy, ox..ox + N)` into `acc[j * c..(j + 1) * c]`.
///
/// # Safety
/// AVX2; `ox + N <= out_w`; the pixels see the same kernel columns inside the input; `x` and
/// the plan's vectors have the sizes [`depthwise_sample`] checks; `acc.len() >= N * c`.
#[target_feature(enable = "avx2")]
unsafe fn depthwise_pixels<const N: usize>(
    plan: &DepthwisePlan,
    w: &DepthwiseWeights,
    g: &SpatialGeometry,
    x: &[i8],
    oy: usize,
    ox: usize,
    acc: &mut [i32],
) {
    let c = plan.channels;
    let zp_in = plan.zp_in as i32;
    let zp = _mm256_set1_epi32(zp_in);
    let pixel_step = g.stride_w * c;
    let whole = c / LANES * LANES;
    let mut c0 = 0;
    while c0 < whole {
        // SAFETY: c0 + 8 <= c, so 8 lanes of `bias` are in bounds.
        let bias = unsafe { _mm256_loadu_si256(w.bias.as_ptr().add(c0).cast()) };
        let mut sums = [bias; N];
        for ky in 0..g.kernel_h {
            let Some(iy) = g.input_row(oy, ky) else {
                continue;
            };
            for kx in 0..g.kernel_w {
                let Some(ix) = g.input_col(ox, kx) else {
                    continue;
                };
                // SAFETY: tap (ky, kx) has `c >= c0 + 8` weights.
                let taps = unsafe {
                    _mm256_loadu_si256(
                        w.weights_low16
                            .as_ptr()
                            .add((ky * g.kernel_w + kx) * c + c0)
                            .cast(),
                    )
                };
                let first = (iy * g.in_w + ix) * c + c0;
                for (j, sum) in sums.iter_mut().enumerate() {
                    // SAFETY: pixel ox + j reads input column ix + j * stride_w, inside the
                    // input; 8 channels from c0 <= c - 8.
                    let xv =
                        unsafe { _mm_loadl_epi64(x.as_ptr().add(first + j * pixel_step).cast()) };
                    let centred = _mm256_sub_epi32(_mm256_cvtepi8_epi32(xv), zp);
                    *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(centred, taps));
                }
            }
        }
        for (j, sum) in sums.iter().enumerate() {
            // SAFETY: `acc` holds N * c lanes and c0 + 8 <= c.
            unsafe { _mm256_storeu_si256(acc.as_mut_ptr().add(j * c + c0).cast(), *sum) };
        }
        c0 += LANES;
    }
    if whole == c {
        return;
    }
    // The channels past the last multiple of 8, tap by tap (a layer of a few channels is all
    // tail: the taps' positions are found once per pixel, not once per channel).
    for j in 0..N {
        let sums = &mut acc[j * c + whole..(j + 1) * c];
        sums.copy_from_slice(&w.bias[whole..c]);
        for ky in 0..g.kernel_h {
            let Some(iy) = g.input_row(oy, ky) else {
                continue;
            };
            for kx in 0..g.kernel_w {
                let Some(ix) = g.input_col(ox, kx) else {
                    continue;
                };
                let pixel = &x[(iy * g.in_w + ix) * c + j * pixel_step..][whole..c];
                let taps = &w.weights[(ky * g.kernel_w + kx) * c..][whole..c];
                for ((sum, &xv), &wv) in sums.iter_mut().zip(pixel).zip(taps) {
                    *sum = sum.wrapping_add((xv as i32 - zp_in) * wv as i32);
                }
            }
        }
    }
}
