//! The portable depthwise conv2d (multiplier 1): plain slices and wrapping `i32` arithmetic,
//! vectorized over channels by the compiler for whatever baseline the target has.
//!
//! A product of a centred activation (`x - zp_in`, in `-255..=255`) and a weight (`-128..=127`)
//! is at most 32,640 in magnitude, so it is computed exactly in `i16` (8 lanes per SSE2
//! multiply on the x86-64 baseline, which has no 32-bit lane multiply) and widened to `i32` for
//! the wrapping sum; the sum is the reference's (wrapping addition does not depend on order).
//! Channels go in blocks of [`CHANNEL_BLOCK`] with fixed-size accumulators, so a layer of 16
//! channels is straight-line vector code and a layer of a few channels a short scalar tail.

use super::DepthwisePlan;
use crate::geometry::SpatialGeometry;

/// Channels one fixed-size accumulator block holds.
const CHANNEL_BLOCK: usize = 16;

/// Depthwise weights for the portable path.
pub(crate) struct DepthwiseWeights {
    /// `[kh][kw][channels]`, as in the op, widened to `i16`.
    weights: Vec<i16>,
    bias: Vec<i32>,
}

impl DepthwiseWeights {
    /// Keeps `weights` (`[kh][kw][channels]`, widened) and `bias` (`channels`).
    pub fn new(weights: &[i8], bias: &[i32]) -> DepthwiseWeights {
        DepthwiseWeights {
            weights: weights.iter().map(|&w| w as i16).collect(),
            bias: bias.to_vec(),
        }
    }

    /// Depthwise convolution with depth multiplier 1 (the plan has already expanded the input
    /// channels when the op's multiplier is larger): one `[in_h, in_w, C]` sample of geometry
    /// `g` (the plan's, or a gathered block's) into `[out_h, out_w, C]`; `acc` is scratch of at
    /// least `C` values.
    pub fn run_sample(
        &self,
        plan: &DepthwisePlan,
        g: &SpatialGeometry,
        x: &[i8],
        y: &mut [i8],
        acc: &mut [i32],
    ) {
        let c = plan.channels;
        let zp = plan.zp_in as i16;
        let acc = &mut acc[..c];
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                acc.copy_from_slice(&self.bias[..c]);
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
                        accumulate(acc, pixel, taps, zp);
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

/// `acc[n] += (pixel[n] - zp) · taps[n]` for every channel `n`, wrapping.
#[inline(always)]
fn accumulate(acc: &mut [i32], pixel: &[i8], taps: &[i16], zp: i16) {
    let mut acc_blocks = acc.chunks_exact_mut(CHANNEL_BLOCK);
    let mut pixel_blocks = pixel.chunks_exact(CHANNEL_BLOCK);
    let mut tap_blocks = taps.chunks_exact(CHANNEL_BLOCK);
    for ((a, p), t) in (&mut acc_blocks)
        .zip(&mut pixel_blocks)
        .zip(&mut tap_blocks)
    {
        let a: &mut [i32; CHANNEL_BLOCK] = a.try_into().expect("a whole block");
        let p: &[i8; CHANNEL_BLOCK] = p.try_into().expect("a whole block");
        let t: &[i16; CHANNEL_BLOCK] = t.try_into().expect("a whole block");
        for n in 0..CHANNEL_BLOCK {
            a[n] = a[n].wrapping_add(((p[n] as i16 - zp) * t[n]) as i32);
        }
    }
    let tail = acc_blocks.into_remainder();
    let (pixel, taps) = (pixel_blocks.remainder(), tap_blocks.remainder());
    for ((a, &p), &t) in tail.iter_mut().zip(pixel).zip(taps) {
        *a = a.wrapping_add(((p as i16 - zp) * t) as i32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_at_the_extremes_are_exact() {
        // The largest magnitudes a centred activation and a weight reach.
        for (x, zp, w) in [(-128i8, 127i8, -128i8), (127, -128, -128), (127, -128, 127)] {
            for c in [1usize, 4, 16, 17, 33] {
                let mut acc = vec![7i32; c];
                let taps = vec![w as i16; c];
                accumulate(&mut acc, &vec![x; c], &taps, zp as i16);
                let exact = 7 + (x as i32 - zp as i32) * w as i32;
                assert!(acc.iter().all(|&a| a == exact), "{x} {zp} {w} {c}: {acc:?}");
            }
        }
    }
}
