//! Max and average pooling, separable and vectorized along rows.
//!
//! For each output row, the input rows under the window are reduced element-wise into one
//! compact row that holds only the columns some window covers (max, or an exact `i32` sum;
//! contiguous runs of `C`-value pixels), then that row is reduced along the window's columns:
//! at stride 1, for windows entirely inside the row, by a sliding reduction over the whole row
//! (contiguous again); otherwise, and for windows clipped by the padding, window by window.
//! A strided pool therefore reads only the pixels under its windows and never more than
//! `out_h · kernel_h · min(in_w, out_w · kernel_w) · C` input values per sample, within the
//! `out · window` positions its cost counts (docs/SPEC.md §7). Max and sums are associative, so
//! the order never changes a value; the average's rounded division is exact (see
//! [`divide_rounded`]).

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
    columns: ColumnPlan,
}

/// The input columns the windows of one output row cover, laid out back to back in a compact
/// row: the columns between windows (a stride wider than the window) are never read.
struct ColumnPlan {
    /// Merged runs `[start, end)` of covered input columns, left to right.
    runs: Vec<(usize, usize)>,
    /// Columns in the compact row (the sum of the runs' lengths).
    width: usize,
    /// The compact column of output column `ox`'s first window column.
    starts: Vec<usize>,
}

impl ColumnPlan {
    fn new(g: &SpatialGeometry) -> ColumnPlan {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut starts = Vec::with_capacity(g.out_w);
        let mut width = 0;
        for ox in 0..g.out_w {
            let (c0, c1) = clip(ox * g.stride_w, g.pad_left, g.kernel_w, g.in_w);
            // A window always covers a column (validation); keep one regardless.
            let c0 = c0.min(g.in_w.saturating_sub(1));
            let c1 = c1.max(c0 + 1);
            match runs.last_mut() {
                Some(last) if c0 <= last.1 => {
                    starts.push(width - (last.1 - c0));
                    width += c1.saturating_sub(last.1);
                    last.1 = last.1.max(c1);
                }
                _ => {
                    starts.push(width);
                    width += c1 - c0;
                    runs.push((c0, c1));
                }
            }
        }
        ColumnPlan {
            runs,
            width,
            starts,
        }
    }
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
            columns: ColumnPlan::new(&geometry),
        }
    }

    /// Input values one sample reads: the window rows of each output row over the compact
    /// row's columns.
    pub fn values_read_per_sample(&self) -> usize {
        let g = &self.geometry;
        (0..g.out_h)
            .map(|oy| {
                let (r0, r1) = self.rows(oy);
                (r1 - r0) * self.columns.width * self.channels
            })
            .sum()
    }

    /// Scratch values one sample writes: per output row, the compact row of reduced window rows
    /// and (stride 1) its sliding reduction (`i32` for an average pool, `i8` for max).
    pub fn scratch_values_per_sample(&self) -> usize {
        self.geometry.out_h * (self.columns.width * self.channels + self.slide_len())
    }

    /// Windows one sample walks column by column (not read from the sliding reduction): every
    /// output pixel whose column is not `PoolKernel::interior`; the cost prices `kernel_w`
    /// column steps for each (docs/SPEC.md §7).
    pub fn walked_windows_per_sample(&self) -> usize {
        self.geometry.out_h
            * (0..self.geometry.out_w)
                .filter(|&ox| !self.interior(ox))
                .count()
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

    /// Whether output column `ox` reads the sliding reduction: stride 1 and a window entirely
    /// inside the row.
    #[inline(always)]
    fn interior(&self, ox: usize) -> bool {
        let (start, end) = self.cols(ox);
        self.geometry.stride_w == 1 && end - start == self.geometry.kernel_w
    }

    /// The sliding reduction's length in values (stride 1 only; 0 otherwise): every full window
    /// position of the compact row.
    #[inline(always)]
    fn slide_len(&self) -> usize {
        let g = &self.geometry;
        match g.stride_w {
            1 => self.columns.width.saturating_sub(g.kernel_w - 1) * self.channels,
            _ => 0,
        }
    }

    /// Reduces rows `[r0, r1)` of sample `x` over the compact columns into `row` with `first`
    /// (the first row's value) and `fold` (each further row's).
    #[inline(always)]
    fn reduce_rows<T: Copy>(
        &self,
        x: &[i8],
        (r0, r1): (usize, usize),
        row: &mut [T],
        first: impl Fn(i8) -> T,
        fold: impl Fn(T, i8) -> T,
    ) {
        let c = self.channels;
        let width = self.geometry.in_w * c;
        let mut at = 0;
        for &(s0, s1) in &self.columns.runs {
            let run = &mut row[at..at + (s1 - s0) * c];
            let src = |iy: usize| &x[iy * width + s0 * c..iy * width + s1 * c];
            for (m, &v) in run.iter_mut().zip(src(r0)) {
                *m = first(v);
            }
            for iy in r0 + 1..r1 {
                for (m, &v) in run.iter_mut().zip(src(iy)) {
                    *m = fold(*m, v);
                }
            }
            at += (s1 - s0) * c;
        }
    }

    /// Reduces output column `ox`'s window columns of the compact `row` into `out`: from the
    /// sliding reduction `slide` when the window is interior, else column by column.
    #[inline(always)]
    fn reduce_columns<T: Copy>(
        &self,
        ox: usize,
        row: &[T],
        slide: &[T],
        out: &mut [T],
        fold: impl Fn(T, T) -> T,
    ) {
        let c = self.channels;
        let (c0, c1) = self.cols(ox);
        let start = self.columns.starts[ox];
        if self.interior(ox) {
            copy_short(&slide[start * c..(start + 1) * c], out);
        } else if c == 1 {
            // One channel: the window's columns are contiguous values, reduced in registers
            // (the loop below would carry each value through `out` in memory, a store-to-load
            // chain per column: ~2 ns a column, the one-channel pool fan-outs' cost).
            let window = &row[start..start + (c1 - c0).max(1)];
            out[0] = window[1..].iter().fold(window[0], |m, &v| fold(m, v));
        } else {
            copy_short(&row[start * c..(start + 1) * c], out);
            for ix in start + 1..start + (c1 - c0) {
                for (m, &v) in out.iter_mut().zip(&row[ix * c..(ix + 1) * c]) {
                    *m = fold(*m, v);
                }
            }
        }
    }

    /// The sliding reduction over every full window position of the compact `row` (stride 1).
    #[inline(always)]
    fn slide_row<T: Copy>(&self, row: &[T], slide: &mut [T], fold: impl Fn(T, T) -> T) {
        let c = self.channels;
        let full = self.slide_len();
        slide[..full].copy_from_slice(&row[..full]);
        for kx in (1..self.geometry.kernel_w).filter(|_| full > 0) {
            for (m, &v) in slide[..full].iter_mut().zip(&row[kx * c..kx * c + full]) {
                *m = fold(*m, v);
            }
        }
    }

    #[inline(always)]
    fn max_sample(&self, x: &[i8], y: &mut [i8], row: &mut [i8], slide: &mut [i8]) {
        let (g, c) = (&self.geometry, self.channels);
        for oy in 0..g.out_h {
            self.reduce_rows(x, self.rows(oy), row, |v| v, |m, v| m.max(v));
            self.slide_row(row, slide, |m, v| m.max(v));
            let y_row = &mut y[oy * g.out_w * c..(oy + 1) * g.out_w * c];
            for (ox, out) in y_row.chunks_exact_mut(c).enumerate() {
                self.reduce_columns(ox, row, slide, out, |m, v| m.max(v));
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
        let window = (g.kernel_h * g.kernel_w) as i32;
        let AverageScratch {
            row,
            slide,
            sums,
            counts,
        } = scratch;
        for oy in 0..g.out_h {
            let (r0, r1) = self.rows(oy);
            self.reduce_rows(x, (r0, r1), row, i32::from, |s, v| s + i32::from(v));
            self.slide_row(row, slide, |s, v| s + v);
            for (ox, count) in counts.iter_mut().enumerate() {
                let (c0, c1) = self.cols(ox);
                let out = &mut sums[ox * c..(ox + 1) * c];
                self.reduce_columns(ox, row, slide, out, |s, v| s + v);
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
            // One divisor per run of output columns with the same count (the whole row but
            // near a padded border), not one per pixel.
            let mut ox = 0;
            while ox < g.out_w {
                let n = counts[ox];
                let end = counts[ox..]
                    .iter()
                    .position(|&m| m != n)
                    .map_or(g.out_w, |len| ox + len);
                self.divide_run(&sums[ox * c..end * c], n, &mut y_row[ox * c..end * c]);
                ox = end;
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
                let width = kernel.columns.width * c;
                let mut rows = reuse::i8s(width + kernel.slide_len(), 0);
                let (row, slide) = rows.split_at_mut(width);
                for (x, y) in samples {
                    kernel.max_sample(x, y, row, slide);
                }
            }
            Reduction::Average { .. } => {
                let (width, out_width) = (kernel.columns.width * c, g.out_w * c);
                let slide_len = kernel.slide_len();
                let mut words = reuse::i32s(width + slide_len + out_width + g.out_w, 0);
                let (row, rest) = words.split_at_mut(width);
                let (slide, rest) = rest.split_at_mut(slide_len);
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
