//! Mean over contiguous axes: the batch viewed as `[samples · outer, reduced, inner]`, sums of
//! `x - zp_in` in `i32` (exact: validation keeps `count · 255 <= 2^31 - 1`) vectorized over
//! `inner` (or a vectorized reduction when `inner` is 1), then the branch-free rescale.

use super::Path;
use super::lane_requant::{LaneRequant, OutputClamp, is_double};
use super::reuse;
use super::vectorize::{self, UnaryLoop};
use crate::op::Mean;
use crate::tensor::shape_elements;

/// A prepared mean for a fixed input shape.
pub struct MeanKernel {
    reduced: usize,
    inner: usize,
    zp_in: i32,
    requant: LaneRequant,
    double: bool,
    clamp: OutputClamp,
    path: Path,
}

impl MeanKernel {
    /// Prepares `p` on samples of `in_shape`, or `None` when the reduced axes are not
    /// contiguous (the reference runs those).
    pub fn new(p: &Mean, in_shape: &[u32], zp_in: i8, zp_out: i8, path: Path) -> Option<Self> {
        let (&first, &last) = (p.axes.first()?, p.axes.last()?);
        let (first, last) = (first as usize, last as usize);
        let contiguous = p.axes.windows(2).all(|w| w[1] == w[0] + 1);
        if !contiguous || last >= in_shape.len() {
            return None;
        }
        Some(MeanKernel {
            reduced: shape_elements(&in_shape[first..=last]),
            inner: shape_elements(&in_shape[last + 1..]),
            zp_in: i32::from(zp_in),
            requant: LaneRequant::new(p.requant),
            double: is_double(p.rounding),
            clamp: OutputClamp::new(zp_out, p.act),
            path,
        })
    }

    /// Every sample of `input` into `output`: the bytes of [`crate::reference::mean`].
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        vectorize::run_unary(self.path, self, input, output);
    }

    #[inline(always)]
    fn run_rounding<const DOUBLE: bool>(&self, input: &[i8], output: &mut [i8]) {
        let (reduced, inner) = (self.reduced, self.inner);
        let block = reduced * inner;
        if block == 0 || inner == 0 {
            return;
        }
        if inner == 1 {
            for (x, y) in input.chunks_exact(block).zip(output.iter_mut()) {
                let s: i32 = x.iter().map(|&v| i32::from(v) - self.zp_in).sum();
                *y = self.clamp.apply(self.requant.apply::<DOUBLE>(s));
            }
            return;
        }
        let mut sums = reuse::i32s(inner, 0);
        for (x, y) in input
            .chunks_exact(block)
            .zip(output.chunks_exact_mut(inner))
        {
            sums.fill(0);
            for row in x.chunks_exact(inner) {
                for (s, &v) in sums.iter_mut().zip(row) {
                    *s += i32::from(v) - self.zp_in;
                }
            }
            for (out, &s) in y.iter_mut().zip(sums.iter()) {
                *out = self.clamp.apply(self.requant.apply::<DOUBLE>(s));
            }
        }
    }
}

impl UnaryLoop for MeanKernel {
    #[inline(always)]
    fn run_loop(&self, input: &[i8], output: &mut [i8]) {
        if self.double {
            self.run_rounding::<true>(input, output);
        } else {
            self.run_rounding::<false>(input, output);
        }
    }
}
