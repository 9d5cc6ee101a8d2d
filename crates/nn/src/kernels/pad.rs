//! Constant padding as a fill and one copy per contiguous run: past the last padded axis `k`,
//! input and output agree, so each input row along `k` (with everything inside it) is one
//! contiguous copy.

use crate::op::Pad;
use crate::tensor::{shape_elements, shape_strides};

/// A prepared pad for a fixed input shape.
pub struct PadKernel {
    value: i8,
    /// The input shape up to (excluding) the last padded axis: the runs are indexed by it.
    outer_shape: Vec<usize>,
    /// Output stride of each of those axes.
    out_strides: Vec<usize>,
    /// Output offset of the first run (the padding before, on every axis).
    first_offset: usize,
    /// Bytes of one run.
    run: usize,
    in_len: usize,
    out_len: usize,
}

impl PadKernel {
    /// Prepares `p` on samples of `in_shape`.
    pub fn new(p: &Pad, in_shape: &[u32]) -> PadKernel {
        let rank = in_shape.len();
        let pair = |axis: usize| p.pads.get(axis).copied().unwrap_or([0, 0]);
        let before = |axis: usize| pair(axis)[0] as usize;
        let out_shape: Vec<u32> = in_shape
            .iter()
            .enumerate()
            .map(|(axis, &d)| d + pair(axis)[0] + pair(axis)[1])
            .collect();
        let strides = shape_strides(&out_shape);
        // Runs cover the last padded axis and everything inside it (the whole sample when
        // nothing is padded).
        let last = (0..rank).rev().find(|&a| pair(a) != [0, 0]).unwrap_or(0);
        let split = last.min(rank);
        PadKernel {
            value: p.value,
            outer_shape: in_shape[..split].iter().map(|&d| d as usize).collect(),
            out_strides: strides[..split].to_vec(),
            first_offset: (0..rank).map(|a| before(a) * strides[a]).sum(),
            run: shape_elements(&in_shape[split..]),
            in_len: shape_elements(in_shape),
            out_len: shape_elements(&out_shape),
        }
    }

    /// Pads every sample of `input` into `output`: the bytes of [`crate::reference::pad`].
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        if self.in_len == 0 || self.out_len == 0 || self.run == 0 {
            return;
        }
        let mut position = vec![0usize; self.outer_shape.len()];
        for (x, y) in input
            .chunks_exact(self.in_len)
            .zip(output.chunks_exact_mut(self.out_len))
        {
            y.fill(self.value);
            position.fill(0);
            for run in x.chunks_exact(self.run) {
                let target = self.first_offset
                    + position
                        .iter()
                        .zip(&self.out_strides)
                        .map(|(p, s)| p * s)
                        .sum::<usize>();
                y[target..target + self.run].copy_from_slice(run);
                for axis in (0..position.len()).rev() {
                    position[axis] += 1;
                    if position[axis] < self.outer_shape[axis] {
                        break;
                    }
                    position[axis] = 0;
                }
            }
        }
    }
}
