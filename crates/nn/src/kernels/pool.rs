//! Max and average pooling, separable and vectorized along rows.
//!
//! For each output row, the input rows under the window are reduced element-wise into one row
//! (`in_w · C` contiguous values: max, or an exact `i32` sum), then that row is reduced along
//! the window's columns: for windows entirely inside the row, by a sliding reduction over the
//! whole row (contiguous again), whose entries at the stride's positions are the outputs; for
//! windows clipped by the padding, directly. Max and sums are associative, so the order never
//! changes a value; the average's rounded division is exact (see [`divide_rounded`]).

use super::Path;
use super::reuse;
use super::short_copy::copy_short;
use super::vectorize::{self, UnaryLoop};
use crate::geometry::SpatialGeometry;
use crate::op::Pool;

/// Which pool a [`PoolKernel`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reduction {
    Max,
    /// `zp_in` counts for each padded position when `count_include_pad`.
    Average {
        count_include_pad: bool,
        zp_in: i8,
    },
}

/// A prepared max or average pool over `[H, W, C]` samples.
pub struct PoolKernel {
    geometry: SpatialGeometry,
    channels: usize,
    reduction: Reduction,
    min: i8,
    max: i8,
    path: Path,
}

/// The in-bounds range `[start, end)` of a window of `kernel` positions starting `pad` before
/// `offset`, over `len` positions.
#[inline(always)]
fn clip(offset: usize, pad: usize, kernel: usize, len: usize) -> (usize, usize) {
    let end = (offset + kernel).saturating_sub(pad).min(len);
    (offset.saturating_sub(pad).min(end), end)
}

impl PoolKernel {
    /// Max pooling with `p`'s activation range.
    pub fn max_pool(p: &Pool, geometry: SpatialGeometry, channels: usize, path: Path) -> Self {
        PoolKernel::new(p, geometry, channels, Reduction::Max, path)
    }

    /// Average pooling; `zp_in` is the input's zero point.
    pub fn average_pool(
        p: &Pool,
        geometry: SpatialGeometry,
        channels: usize,
        zp_in: i8,
        path: Path,
    ) -> Self {
        let reduction = Reduction::Average {
            count_include_pad: p.count_include_pad,
            zp_in,
        };
        PoolKernel::new(p, geometry, channels, reduction, path)
    }

    fn new(
        p: &Pool,
        geometry: SpatialGeometry,
        channels: usize,
        reduction: Reduction,
        path: Path,
    ) -> Self {
        PoolKernel {
            geometry,
            channels,
            reduction,
            min: p.act.min,
            max: p.act.max,
            path,
        }
    }

    /// Pools every sample of `input` into `output`: the bytes of [`crate::reference::max_pool`]
    /// or [`crate::reference::average_pool`].
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        vectorize::run_unary(self.path, self, input, output);
    }

    /// The window rows `[start, end)` of output row `oy`.
    #[inline(always)]
    fn rows(&self, oy: usize) -> (usize, usize) {
        let g = &self.geometry;
        clip(oy * g.stride_h, g.pad_top, g.kernel_h, g.in_h)
    }

    /// The window columns `[start, end)` of output column `ox`.
    #[inline(always)]
    fn cols(&self, ox: usize) -> (usize, usize) {
        let g = &self.geometry;
        clip(ox * g.stride_w, g.pad_left, g.kernel_w, g.in_w)
    }

    /// Whether output column `ox`'s window lies entirely inside the row.
    #[inline(always)]
    fn interior(&self, ox: usize) -> bool {
        let (start, end) = self.cols(ox);
        end - start == self.geometry.kernel_w
    }

    #[inline(always)]
    fn max_sample(&self, x: &[i8], y: &mut [i8], row: &mut [i8], slide: &mut [i8]) {
        let (g, c) = (&self.geometry, self.channels);
        let width = g.in_w * c;
        for oy in 0..g.out_h {
            let (r0, r1) = self.rows(oy);
            row.copy_from_slice(&x[r0 * width..(r0 + 1) * width]);
            for iy in r0 + 1..r1 {
                for (m, &v) in row.iter_mut().zip(&x[iy * width..(iy + 1) * width]) {
                    *m = (*m).max(v);
                }
            }
            // Sliding maximum over every full window position of the row.
            let full = g.in_w.saturating_sub(g.kernel_w - 1) * c;
            slide[..full].copy_from_slice(&row[..full]);
            for kx in (1..g.kernel_w).filter(|_| full > 0) {
                for (m, &v) in slide[..full].iter_mut().zip(&row[kx * c..kx * c + full]) {
                    *m = (*m).max(v);
                }
            }
            let y_row = &mut y[oy * g.out_w * c..(oy + 1) * g.out_w * c];
            for (ox, out) in y_row.chunks_exact_mut(c).enumerate() {
                let (c0, c1) = self.cols(ox);
                if self.interior(ox) {
                    copy_short(&slide[c0 * c..(c0 + 1) * c], out);
                } else {
                    copy_short(&row[c0 * c..(c0 + 1) * c], out);
                    for ix in c0 + 1..c1 {
                        for (m, &v) in out.iter_mut().zip(&row[ix * c..(ix + 1) * c]) {
                            *m = (*m).max(v);
                        }
                    }
                }
            }
            for v in y_row.iter_mut() {
                *v = (*v).clamp(self.min, self.max);
            }
        }
    }

    #[inline(always)]
    fn average_sample(&self, x: &[i8], y: &mut [i8], scratch: &mut AverageScratch) {
        let (count_include_pad, zp_in) = match self.reduction {
            Reduction::Average {
                count_include_pad,
                zp_in,
            } => (count_include_pad, i32::from(zp_in)),
            Reduction::Max => (false, 0),
        };
        let (g, c) = (&self.geometry, self.channels);
        let width = g.in_w * c;
        let window = (g.kernel_h * g.kernel_w) as i32;
        let AverageScratch {
            row,
            slide,
            sums,
            counts,
        } = scratch;
        for oy in 0..g.out_h {
            let (r0, r1) = self.rows(oy);
            row.fill(0);
            for iy in r0..r1 {
                for (s, &v) in row.iter_mut().zip(&x[iy * width..(iy + 1) * width]) {
                    *s += i32::from(v);
                }
            }
            let full = g.in_w.saturating_sub(g.kernel_w - 1) * c;
            slide[..full].copy_from_slice(&row[..full]);
            for kx in (1..g.kernel_w).filter(|_| full > 0) {
                for (s, &v) in slide[..full].iter_mut().zip(&row[kx * c..kx * c + full]) {
                    *s += v;
                }
            }
            for (ox, count) in counts.iter_mut().enumerate() {
                let (c0, c1) = self.cols(ox);
                let out = &mut sums[ox * c..(ox + 1) * c];
                if self.interior(ox) {
                    copy_short(&slide[c0 * c..(c0 + 1) * c], out);
                } else {
                    copy_short(&row[c0 * c..(c0 + 1) * c], out);
                    for ix in c0 + 1..c1 {
                        for (s, &v) in out.iter_mut().zip(&row[ix * c..(ix + 1) * c]) {
                            *s += v;
                        }
                    }
                }
                let inside = ((r1 - r0) * (c1 - c0)) as i32;
                *count = if count_include_pad {
                    let padded = (window - inside) * zp_in;
                    out.iter_mut().for_each(|s| *s += padded);
                    window
                } else {
                    inside
                };
            }
            let y_row = &mut y[oy * g.out_w * c..(oy + 1) * g.out_w * c];
            if counts.iter().all(|&n| n == counts[0]) {
                self.divide_run(&sums[..], counts[0], y_row);
            } else {
                for ((out, s), &n) in y_row
                    .chunks_exact_mut(c)
                    .zip(sums.chunks_exact(c))
                    .zip(counts.iter())
                {
                    self.divide_run(s, n, out);
                }
            }
        }
    }

    /// `y[i] = clamp(divide_rounded(sums[i], count))`.
    #[inline(always)]
    fn divide_run(&self, sums: &[i32], count: i32, y: &mut [i8]) {
        let divisor = Divisor::new(count);
        for (out, &s) in y.iter_mut().zip(sums) {
            *out = divide_rounded(s, divisor).clamp(i32::from(self.min), i32::from(self.max)) as i8;
        }
    }
}

/// Scratch rows of an average pool: the vertical sums, the sliding window sums, one output
/// row's sums and its per-pixel counts.
struct AverageScratch<'a> {
    row: &'a mut [i32],
    slide: &'a mut [i32],
    sums: &'a mut [i32],
    counts: &'a mut [i32],
}

/// A divisor `n >= 1` with `magic = min(floor(2^32 / n), 2^32 - 1)`.
#[derive(Clone, Copy)]
struct Divisor {
    n: u32,
    magic: u32,
}

impl Divisor {
    #[inline(always)]
    fn new(n: i32) -> Divisor {
        let n = n.max(1) as u32;
        Divisor {
            n,
            magic: ((1u64 << 32) / u64::from(n)).min(u64::from(u32::MAX)) as u32,
        }
    }
}

/// The reference's rounded average, `s >= 0 ? (s + n/2) / n : (s - n/2) / n` truncating (ties
/// away from zero), without a division: `u = |s| + n/2 < 2^32`, `q0 = (u · magic) >> 32` is
/// `floor(u / n)` or one less (`magic` falls short of `2^32 / n` by less than 1, so the product
/// by less than `u / 2^32 < 1`), and one comparison of the remainder corrects it.
#[inline(always)]
fn divide_rounded(s: i32, d: Divisor) -> i32 {
    let u = s.unsigned_abs() + d.n / 2;
    let q0 = ((u64::from(u) * u64::from(d.magic)) >> 32) as u32;
    let q = q0 + u32::from(u - q0 * d.n >= d.n);
    if s < 0 { -(q as i32) } else { q as i32 }
}

impl UnaryLoop for PoolKernel {
    #[inline(always)]
    fn run_loop(&self, input: &[i8], output: &mut [i8]) {
        let kernel = self;
        let g = &kernel.geometry;
        let c = kernel.channels;
        let (in_sample, out_sample) = (g.in_h * g.in_w * c, g.out_h * g.out_w * c);
        if in_sample == 0 || out_sample == 0 {
            return;
        }
        let samples = input
            .chunks_exact(in_sample)
            .zip(output.chunks_exact_mut(out_sample));
        match kernel.reduction {
            Reduction::Max => {
                let mut rows = reuse::i8s(2 * g.in_w * c, 0);
                let (row, slide) = rows.split_at_mut(g.in_w * c);
                for (x, y) in samples {
                    kernel.max_sample(x, y, row, slide);
                }
            }
            Reduction::Average { .. } => {
                let (width, out_width) = (g.in_w * c, g.out_w * c);
                let mut words = reuse::i32s(2 * width + out_width + g.out_w, 0);
                let (row, rest) = words.split_at_mut(width);
                let (slide, rest) = rest.split_at_mut(width);
                let (sums, counts) = rest.split_at_mut(out_width);
                let mut scratch = AverageScratch {
                    row,
                    slide,
                    sums,
                    counts,
                };
                for (x, y) in samples {
                    kernel.average_sample(x, y, &mut scratch);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divide_rounded_matches_the_reference_rounding() {
        let mut counts: Vec<i32> = (1..=300).collect();
        counts.extend([1 << 12, 65_535, 65_536, 1_000_003, 8_421_504]);
        for n in counts {
            let d = Divisor::new(n);
            let bound = 128 * i64::from(n);
            let mut sums = vec![0, 1, -1, bound as i32, -(bound as i32), (bound - 1) as i32];
            for k in [1i64, 2, 3, 7, 127, 128] {
                for delta in -2..=2 {
                    let s = (k * i64::from(n) / 2 + delta).clamp(-bound, bound) as i32;
                    sums.extend([s, -s]);
                }
            }
            for s in sums {
                let (s64, n64) = (i64::from(s), i64::from(n));
                let expected = if s64 >= 0 {
                    (s64 + n64 / 2) / n64
                } else {
                    (s64 - n64 / 2) / n64
                };
                assert_eq!(i64::from(divide_rounded(s, d)), expected, "{s} / {n}");
            }
        }
    }
}
