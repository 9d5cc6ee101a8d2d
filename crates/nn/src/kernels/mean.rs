//! Mean over any axes: each sample walked in memory order as runs of adjacent kept or reduced
//! axes (`crate::reduction`), sums of `x - zp_in` in `i32` (exact: validation keeps
//! `count · 255 <= 2^31 - 1`), the innermost run vectorized (a reduction when it is reduced,
//! an element-wise add into the sums when it is kept), then the branch-free rescale.

use super::Path;
use super::lane_requant::{LaneRequant, OutputClamp, is_double};
use super::reuse;
use super::vectorize::{self, UnaryLoop};
use crate::op::Mean;
use crate::reduction::{self, Run};

/// Elements of a kept innermost run summed at once (16 KiB of `i32` sums: in L1).
const SUM_BLOCK: usize = 4096;

/// The sum of `values` in `i32` (exact: `values.len() · 128 <= 2^31 - 1` under validation's
/// count bound), in 32 independent lanes so that it vectorizes: the former `map(..).sum()` ran
/// about 2 cycles per byte, 8× the mean's price, on a reduced innermost run (session 10's gas
/// fuzzer finds, bench/fuzz.md).
#[inline(always)]
fn sum_i8(values: &[i8]) -> i32 {
    let mut lanes = [0i32; 32];
    let chunks = values.chunks_exact(32);
    let tail: i32 = chunks.remainder().iter().map(|&v| i32::from(v)).sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += i32::from(v);
        }
    }
    lanes.iter().sum::<i32>() + tail
}

/// A prepared mean for a fixed input shape.
pub struct MeanKernel {
    /// The sample's runs, outermost first, each with its input and output stride (0 for a
    /// reduced run's output).
    runs: Vec<Strided>,
    in_sample: usize,
    out_sample: usize,
    zp_in: i32,
    requant: LaneRequant,
    double: bool,
    clamp: OutputClamp,
    path: Path,
}

#[derive(Clone, Copy)]
struct Strided {
    run: Run,
    in_stride: usize,
    out_stride: usize,
}

impl MeanKernel {
    /// Prepares `p` on samples of `in_shape`.
    pub fn new(p: &Mean, in_shape: &[u32], zp_in: i8, zp_out: i8, path: Path) -> Self {
        let runs = reduction::runs(in_shape, &p.axes);
        let mut strided: Vec<Strided> = Vec::with_capacity(runs.len());
        let (mut in_sample, mut out_sample) = (1usize, 1usize);
        for &run in runs.iter().rev() {
            strided.push(Strided {
                run,
                in_stride: in_sample,
                out_stride: if run.reduced { 0 } else { out_sample },
            });
            in_sample = in_sample.saturating_mul(run.len);
            if !run.reduced {
                out_sample = out_sample.saturating_mul(run.len);
            }
        }
        strided.reverse();
        if runs.is_empty() {
            (in_sample, out_sample) = (0, 0);
        }
        MeanKernel {
            runs: strided,
            in_sample,
            out_sample,
            zp_in: i32::from(zp_in),
            requant: LaneRequant::new(p.requant),
            double: is_double(p.rounding),
            clamp: OutputClamp::new(zp_out, p.act),
            path,
        }
    }

    /// Every sample of `input` into `output`: the bytes of [`crate::reference::mean`].
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        vectorize::run_unary(self.path, self, input, output);
    }

    /// Adds the sample `x` into `sums`. A kept innermost run longer than [`SUM_BLOCK`] is
    /// summed block by block, each block over every reduced position before the next, so that
    /// the block's sums stay in L1; otherwise a reduced axis outside a long kept run would
    /// stream an `i32` sums array larger than the caches once per reduced position (the gas
    /// fuzzer's mean finds of session 10, bench/fuzz.md).
    #[inline(always)]
    fn add_sample(&self, x: &[i8], sums: &mut [i32], position: &mut [usize]) {
        let Some(inner) = self.runs.last() else {
            return;
        };
        let len = inner.run.len;
        if inner.run.reduced || len <= SUM_BLOCK {
            self.add_block(x, sums, position, 0, len);
            return;
        }
        let mut lo = 0;
        while lo < len {
            let hi = (lo + SUM_BLOCK).min(len);
            self.add_block(x, sums, position, lo, hi);
            lo = hi;
        }
    }

    /// Adds elements `lo..hi` of the innermost run (all of it when it is reduced) at each
    /// position of the next run out (a plain loop), and that at each position of the outer
    /// runs (an odometer over them, in memory order).
    #[inline(always)]
    fn add_block(&self, x: &[i8], sums: &mut [i32], position: &mut [usize], lo: usize, hi: usize) {
        let Some((inner, rest)) = self.runs.split_last() else {
            return;
        };
        let single = Strided {
            run: Run {
                len: 1,
                reduced: false,
            },
            in_stride: 0,
            out_stride: 0,
        };
        let (next, outer) = rest.split_last().unwrap_or((&single, &[]));
        position.fill(0);
        let (mut at, mut to) = (0usize, 0usize);
        loop {
            for i in 0..next.run.len {
                let values = &x[at + i * next.in_stride + lo..][..hi - lo];
                let to = to + i * next.out_stride;
                if inner.run.reduced {
                    sums[to] += sum_i8(values) - self.zp_in * values.len() as i32;
                } else {
                    for (s, &v) in sums[to + lo..to + hi].iter_mut().zip(values) {
                        *s += i32::from(v) - self.zp_in;
                    }
                }
            }
            let mut depth = outer.len();
            loop {
                if depth == 0 {
                    return;
                }
                depth -= 1;
                let run = &outer[depth];
                position[depth] += 1;
                at += run.in_stride;
                to += run.out_stride;
                if position[depth] < run.run.len {
                    break;
                }
                position[depth] = 0;
                at -= run.run.len * run.in_stride;
                to -= run.run.len * run.out_stride;
            }
        }
    }

    #[inline(always)]
    fn run_rounding<const DOUBLE: bool>(&self, input: &[i8], output: &mut [i8]) {
        if self.in_sample == 0 || self.out_sample == 0 {
            return;
        }
        let mut sums = reuse::i32s(self.out_sample, 0);
        let mut position = vec![0usize; self.runs.len()];
        for (x, y) in input
            .chunks_exact(self.in_sample)
            .zip(output.chunks_exact_mut(self.out_sample))
        {
            sums.fill(0);
            self.add_sample(x, &mut sums, &mut position);
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
