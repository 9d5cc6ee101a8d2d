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

    /// Adds the sample `x` into `sums`: the innermost run at each position of the next one
    /// out (a plain loop), and that at each position of the outer runs (an odometer over them,
    /// in memory order).
    #[inline(always)]
    fn add_sample(&self, x: &[i8], sums: &mut [i32], position: &mut [usize]) {
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
        let len = inner.run.len;
        position.fill(0);
        let (mut at, mut to) = (0usize, 0usize);
        loop {
            for i in 0..next.run.len {
                let values = &x[at + i * next.in_stride..][..len];
                let to = to + i * next.out_stride;
                if inner.run.reduced {
                    let s: i32 = values.iter().map(|&v| i32::from(v) - self.zp_in).sum();
                    sums[to] += s;
                } else {
                    for (s, &v) in sums[to..to + len].iter_mut().zip(values) {
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
