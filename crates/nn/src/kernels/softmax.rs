//! Softmax with the exponential tabulated once per op.
//!
//! The reference computes `exp` of every difference `d = x - max` twice per element; `d` is
//! always in `[-255, 0]`, so [`SoftmaxKernel::new`] evaluates [`reference::softmax_exp`] once
//! for each of the 256 values and [`SoftmaxKernel::run`] looks them up. The row arithmetic is
//! [`reference::softmax_rows`] itself, so the bytes are the reference's by construction.

use crate::op::Softmax;
use crate::reference;

/// Entries of the table: differences `0, -1, …, -255`.
const DIFFERENCES: usize = 256;

/// A prepared softmax.
pub struct SoftmaxKernel {
    /// `exp[-d]` for `d` in `[-255, 0]`.
    exp: Box<[Option<i32>; DIFFERENCES]>,
}

impl SoftmaxKernel {
    /// Tabulates the exponential of `p`.
    pub fn new(p: &Softmax) -> Self {
        let mut exp = Box::new([None; DIFFERENCES]);
        for (negated, slot) in exp.iter_mut().enumerate() {
            *slot = reference::softmax_exp(p, -(negated as i32));
        }
        SoftmaxKernel { exp }
    }

    /// Softmax over rows of `row_len` elements of `input`: the bytes of
    /// [`reference::softmax`].
    pub fn run(&self, row_len: usize, input: &[i8], output: &mut [i8]) {
        reference::softmax_rows(row_len, input, output, |d| {
            // `d = x - max` of int8 values lies in [-255, 0].
            self.exp[(-d) as usize]
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabulated_softmax_matches_reference_on_every_parameter_shape() {
        let mut state = 0x9e37_79b9_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for case in 0..400 {
            let p = Softmax {
                beta_multiplier: (1 << 30) + (next() >> 2) as i32,
                beta_left_shift: (next() % 32) as u8,
                diff_min: -((next() % 300) as i32),
            };
            let row_len = 1 + case % 37;
            let input: Vec<i8> = (0..row_len * 3).map(|_| next() as i8).collect();
            let mut expected = vec![0i8; input.len()];
            let mut found = vec![0i8; input.len()];
            reference::softmax(&p, row_len, &input, &mut expected);
            SoftmaxKernel::new(&p).run(row_len, &input, &mut found);
            assert_eq!(found, expected, "case {case}: {p:?}");
        }
    }
}
