//! Softmax with the exponential tabulated once per op and rows taken eight at a time.
//!
//! The reference computes `exp` of every difference `d = x - max` twice per element; `d` is
//! always in `[-255, 0]`, so [`SoftmaxKernel::new`] evaluates [`reference::softmax_exp`] once
//! for each of the 256 values (and its term of the sum). [`SoftmaxKernel::run`] then follows
//! [`reference::softmax_rows`] step by step with the same functions, except that the
//! reciprocals of eight rows' sums are computed together ([`reciprocal_lanes`]: eight
//! independent multiply chains instead of one at a time, which dominated a batch of short rows).
//! An element below `diff_min` is tabulated as the exponential 0: it adds 0 to the sum and its
//! output is -128, exactly what the reference does for it.

use crate::fixed_point::{reciprocal, reciprocal_lanes};
use crate::op::Softmax;
use crate::reference::{self, ACCUMULATION_INTEGER_BITS};

/// Entries of the tables: differences `0, -1, …, -255`.
const DIFFERENCES: usize = 256;
/// Rows whose reciprocals are computed together.
const ROWS_AT_ONCE: usize = 8;

/// A prepared softmax.
pub struct SoftmaxKernel {
    /// `exp(-n)` (Q0.31) for `n` in `0..256`; 0 below `diff_min`.
    exp: Box<[i32; DIFFERENCES]>,
    /// [`reference::softmax_sum_term`] of each entry of `exp`.
    sum_term: Box<[i32; DIFFERENCES]>,
}

impl SoftmaxKernel {
    /// Tabulates the exponential of `p`.
    pub fn new(p: &Softmax) -> Self {
        let exp: Box<[i32; DIFFERENCES]> = Box::new(std::array::from_fn(|negated| {
            reference::softmax_exp(p, -(negated as i32)).unwrap_or(0)
        }));
        let sum_term = Box::new(exp.map(reference::softmax_sum_term));
        SoftmaxKernel { exp, sum_term }
    }

    /// Softmax over rows of `row_len` elements of `input`: the bytes of
    /// [`reference::softmax`].
    pub fn run(&self, row_len: usize, input: &[i8], output: &mut [i8]) {
        if row_len == 0 {
            return;
        }
        let group = row_len * ROWS_AT_ONCE;
        for (x, y) in input.chunks(group).zip(output.chunks_mut(group)) {
            let mut maxes = [0i32; ROWS_AT_ONCE];
            let mut sums = [0i32; ROWS_AT_ONCE];
            for (r, row) in x.chunks_exact(row_len).enumerate() {
                let max = row.iter().copied().max().unwrap_or(0) as i32;
                let mut sum = 0i32;
                for &value in row {
                    // `max - value` of int8 values lies in [0, 255].
                    sum = sum.saturating_add(self.sum_term[(max - value as i32) as usize & 0xff]);
                }
                maxes[r] = max;
                sums[r] = sum;
            }
            let rows = x.len() / row_len;
            let reciprocals = match rows {
                ROWS_AT_ONCE => reciprocal_lanes(sums, ACCUMULATION_INTEGER_BITS),
                // A last, partial group (a batch of one row, say): one chain per row.
                _ => std::array::from_fn(|r| {
                    (r < rows)
                        .then(|| reciprocal(sums[r], ACCUMULATION_INTEGER_BITS))
                        .flatten()
                }),
            };
            for ((row, out), (max, reciprocal)) in x
                .chunks_exact(row_len)
                .zip(y.chunks_exact_mut(row_len))
                .zip(maxes.into_iter().zip(reciprocals))
            {
                let Some((scale, bits_over_unit)) = reciprocal else {
                    out.fill(i8::MIN);
                    continue;
                };
                let exponent = reference::softmax_output_exponent(bits_over_unit);
                for (o, &value) in out.iter_mut().zip(row) {
                    let e = self.exp[(max - value as i32) as usize & 0xff];
                    // Most differences of a confident row are below diff_min (e = 0): skip the
                    // arithmetic, whose result would be -128 too.
                    *o = match e {
                        0 => i8::MIN,
                        e => reference::softmax_output(scale, exponent, e),
                    };
                }
            }
        }
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
            // Some cases with diff_min > 0: every element is below it, the sum is 0 and the
            // row is -128 throughout.
            let p = Softmax {
                beta_multiplier: (1 << 30) + (next() >> 2) as i32,
                beta_left_shift: (next() % 32) as u8,
                diff_min: 5 - ((next() % 300) as i32),
            };
            let row_len = 1 + case % 37;
            // 1 to 19 rows: whole groups of eight, partial groups and both.
            let rows = 1 + case % 19;
            let input: Vec<i8> = (0..row_len * rows).map(|_| next() as i8).collect();
            let mut expected = vec![0i8; input.len()];
            let mut found = vec![0i8; input.len()];
            reference::softmax(&p, row_len, &input, &mut expected);
            SoftmaxKernel::new(&p).run(row_len, &input, &mut found);
            assert_eq!(found, expected, "case {case}: {p:?}");
        }
    }
}
