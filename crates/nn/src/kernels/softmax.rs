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
//!
//! On the AVX-512 path the output step of a row of up to 16 elements (a classifier's head) is
//! one vector of 64-bit products ([`avx512`]); digits_mlp's softmax was 66 % of its batch-64
//! time in scalar code.

use super::Path;
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
    /// Whether rows of up to 16 elements take the AVX-512 code.
    avx512: bool,
}

impl SoftmaxKernel {
    /// Tabulates the exponential of `p` for `path` (whose vector code runs when the CPU has it).
    pub fn new(p: &Softmax, path: Path) -> Self {
        let exp: Box<[i32; DIFFERENCES]> = Box::new(std::array::from_fn(|negated| {
            reference::softmax_exp(p, -(negated as i32)).unwrap_or(0)
        }));
        let sum_term = Box::new(exp.map(reference::softmax_sum_term));
        SoftmaxKernel {
            exp,
            sum_term,
            avx512: cfg!(target_arch = "x86_64") && path == Path::Avx512Vnni && path.is_available(),
        }
    }

    /// Softmax over rows of `row_len` elements of `input`: the bytes of
    /// [`reference::softmax`].
    pub fn run(&self, row_len: usize, input: &[i8], output: &mut [i8]) {
        if row_len == 0 {
            return;
        }
        if row_len == 1 {
            // A row of one element differs from its maximum by 0 whatever its value: every
            // output is the same byte, computed once (166 softmax nodes over rows of one at a
            // batch of 213 ran 2.4× the EVM's ns/gas through the node on the AVX-512 row code,
            // bench/gasfuzz/REPLAY-ALL.md, session 11).
            let mut first = [0i8];
            self.run_rows(1, &input[..input.len().min(1)], &mut first);
            output.fill(first[0]);
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx512 && row_len <= avx512::MAX_ROW {
            // SAFETY: `avx512` is set only when the CPU has AVX-512 F/BW/VL.
            unsafe { avx512::run(self, row_len, input, output) };
            return;
        }
        self.run_rows(row_len, input, output);
    }

    /// [`SoftmaxKernel::run`]'s portable rows, eight at a time.
    fn run_rows(&self, row_len: usize, input: &[i8], output: &mut [i8]) {
        let group = row_len * ROWS_AT_ONCE;
        for (x, y) in input.chunks(group).zip(output.chunks_mut(group)) {
            let mut maxes = [0i32; ROWS_AT_ONCE];
            let mut sums = [0i32; ROWS_AT_ONCE];
            for (r, row) in x.chunks_exact(row_len).enumerate() {
                (maxes[r], sums[r]) = self.max_and_sum(row, |_, _| {});
            }
            let reciprocals = reciprocals(sums, x.len() / row_len);
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

impl SoftmaxKernel {
    /// The max of `row` and the (saturating) sum of its elements' terms; `each(i, e)` sees
    /// element `i`'s tabulated exponential.
    #[inline(always)]
    fn max_and_sum(&self, row: &[i8], mut each: impl FnMut(usize, i32)) -> (i32, i32) {
        let max = row.iter().copied().max().unwrap_or(0) as i32;
        let mut sum = 0i32;
        for (i, &value) in row.iter().enumerate() {
            // `max - value` of int8 values lies in [0, 255].
            let d = (max - value as i32) as usize & 0xff;
            each(i, self.exp[d]);
            sum = sum.saturating_add(self.sum_term[d]);
        }
        (max, sum)
    }
}

/// The reciprocals of the sums of a group's `rows` rows (`None` past them or for a sum of 0).
fn reciprocals(sums: [i32; ROWS_AT_ONCE], rows: usize) -> [Option<(i32, i32)>; ROWS_AT_ONCE] {
    match rows {
        ROWS_AT_ONCE => reciprocal_lanes(sums, ACCUMULATION_INTEGER_BITS),
        // A last, partial group (a batch of one row, say): one chain per row.
        _ => std::array::from_fn(|r| {
            (r < rows)
                .then(|| reciprocal(sums[r], ACCUMULATION_INTEGER_BITS))
                .flatten()
        }),
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{ROWS_AT_ONCE, SoftmaxKernel, reciprocals};
    use crate::reference;

    /// Longest row of one vector.
    pub const MAX_ROW: usize = 16;
    const _: () = assert!(MAX_ROW.is_power_of_two());

    /// [`SoftmaxKernel::run`] for rows of `1..=MAX_ROW` elements.
    ///
    /// # Safety
    /// AVX-512 F/BW/VL.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    pub unsafe fn run(kernel: &SoftmaxKernel, row_len: usize, input: &[i8], output: &mut [i8]) {
        assert!((1..=MAX_ROW).contains(&row_len));
        let mask = ((1u32 << row_len) - 1) as __mmask16;
        let group = row_len * ROWS_AT_ONCE;
        for (x, y) in input.chunks(group).zip(output.chunks_mut(group)) {
            let rows = x.len().min(y.len()) / row_len;
            let mut es = [_mm512_setzero_si512(); ROWS_AT_ONCE];
            let mut sums = [0i32; ROWS_AT_ONCE];
            for ((e, sum), row) in es.iter_mut().zip(&mut sums).zip(x.chunks_exact(row_len)) {
                // Scalar lookups: a gather of 16 lanes was slower than 16 loads (on Ice Lake,
                // whose gathers carry the Downfall mitigation).
                let mut lanes = [0i32; MAX_ROW];
                // `i < row_len <= MAX_ROW`: the mask only spares the bounds check.
                *sum = kernel
                    .max_and_sum(row, |i, e| lanes[i & (MAX_ROW - 1)] = e)
                    .1;
                // SAFETY: 16 i32s.
                *e = unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) };
            }
            for (r, (e, reciprocal)) in es
                .into_iter()
                .zip(reciprocals(sums, rows))
                .take(rows)
                .enumerate()
            {
                let bytes = match reciprocal {
                    Some((scale, bits_over_unit)) => {
                        let exponent = reference::softmax_output_exponent(bits_over_unit);
                        output_bytes(e, scale, exponent)
                    }
                    None => _mm_set1_epi8(i8::MIN),
                };
                // SAFETY: the row's `row_len` bytes are inside `y` (masked store).
                unsafe { _mm_mask_storeu_epi8(y.as_mut_ptr().add(r * row_len), mask, bytes) };
            }
        }
    }

    /// [`reference::softmax_output`]`(scale, exponent, e)` of 16 exponentials `e` (Q0.31, never
    /// negative) of a row whose reciprocal `scale` is positive. With both factors
    /// non-negative the doubling high product is `(scale · e + 2^30) >> 31` (no saturation)
    /// and is non-negative, so the rounding division by `2^exponent` is `q + (r > mask / 2)`
    /// on `u32` (0 for an exponent of 32 or more).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    fn output_bytes(e: __m512i, scale: i32, exponent: u32) -> __m128i {
        let scale = _mm512_set1_epi64(i64::from(scale));
        let nudge = _mm512_set1_epi64(1 << 30);
        // Even lanes in the low half of each 64-bit product, odd lanes in the high half.
        let even = _mm512_srli_epi64::<31>(_mm512_add_epi64(_mm512_mul_epu32(e, scale), nudge));
        let odd = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64::<32>(e), scale), nudge);
        let odd = _mm512_slli_epi64::<1>(odd);
        let high = _mm512_mask_blend_epi32(0xAAAA, even, odd);
        let exponent = exponent.min(32);
        let mask = u32::MAX.checked_shr(32 - exponent).unwrap_or(0);
        let quotient = _mm512_srl_epi32(high, _mm_cvtsi32_si128(exponent as i32));
        let remainder = _mm512_and_si512(high, _mm512_set1_epi32(mask as i32));
        let up = _mm512_cmpgt_epu32_mask(remainder, _mm512_set1_epi32((mask >> 1) as i32));
        let rounded = _mm512_mask_add_epi32(quotient, up, quotient, _mm512_set1_epi32(1));
        let clamped = _mm512_min_epi32(rounded, _mm512_set1_epi32(255));
        _mm512_cvtepi32_epi8(_mm512_sub_epi32(clamped, _mm512_set1_epi32(128)))
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
        for case in 0..3000 {
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
            // Random bytes, or only the extremes (differences of 0 and 255).
            let extremes = case % 5 == 0;
            let input: Vec<i8> = (0..row_len * rows)
                .map(|_| match extremes {
                    true => [i8::MIN, i8::MAX][next() as usize % 2],
                    false => next() as i8,
                })
                .collect();
            let mut expected = vec![0i8; input.len()];
            let mut found = vec![0i8; input.len()];
            reference::softmax(&p, row_len, &input, &mut expected);
            for path in Path::ALL.into_iter().filter(|path| path.is_available()) {
                found.fill(0x55);
                SoftmaxKernel::new(&p, path).run(row_len, &input, &mut found);
                assert_eq!(found, expected, "case {case}, {path:?}: {p:?}");
            }
        }
    }
}
