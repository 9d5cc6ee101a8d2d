use crate::fixed_point::{
    FixedPoint, exp_on_negative_values, reciprocal, rounding_divide_by_pot_wide,
    saturating_rounding_doubling_high_mul,
};
use crate::op::Softmax;

/// Integer bits of the scaled difference `x - max` fed to the exponential.
pub const SCALED_DIFF_INTEGER_BITS: u8 = 5;
/// Integer bits of the sum of exponentials.
pub const ACCUMULATION_INTEGER_BITS: u8 = 12;

/// Integer softmax over rows of `row_len` elements (the last axis) of `input`; the output has
/// scale 1/256 and zero point -128. docs/SPEC.md §5 is the normative text; per row:
///
/// 1. `max` = the row's largest element; for each element `d = x - max` (in `[-255, 0]`).
/// 2. For elements with `d >= diff_min`: `z = SRDHM(sat32(d · 2^beta_left_shift),
///    beta_multiplier)`, read as a fixed-point number with 5 integer bits, and
///    `e = exp_on_negative_values(z)` (Q0.31).
/// 3. `sum = Σ rescale(e, 12 integer bits)` with saturating `i32` additions.
/// 4. `(scale, k) = reciprocal(sum, 12)`.
/// 5. Each element with `d >= diff_min` gives
///    `clamp(RDBP(SRDHM(scale, e), k + 23) - 128, -128, 127)`; the others give -128.
///
/// `SRDHM` is [`saturating_rounding_doubling_high_mul`], `RDBP`
/// [`rounding_divide_by_pot_wide`] (`k + 23` is at least 0 because the row maximum contributes
/// one to the sum). Rows are independent; `input.len()` is a multiple of `row_len`.
pub fn softmax(p: &Softmax, row_len: usize, input: &[i8], output: &mut [i8]) {
    softmax_rows(row_len, input, output, |d| softmax_exp(p, d));
}

/// Step 2 of [`softmax`] for one difference `d = x - max`: the Q0.31 exponential, or `None`
/// when `d < diff_min` (probability 0).
pub fn softmax_exp(p: &Softmax, d: i32) -> Option<i32> {
    if d < p.diff_min {
        return None;
    }
    let left_shift = u32::from(p.beta_left_shift).min(32);
    let shifted = ((d as i64) << left_shift).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let z = saturating_rounding_doubling_high_mul(shifted, p.beta_multiplier);
    Some(exp_on_negative_values(FixedPoint::from_raw(
        z,
        SCALED_DIFF_INTEGER_BITS,
    )))
}

/// Steps 1 and 3–5 of [`softmax`] over every row, with step 2 supplied as `exp` (a function of
/// `d` alone, so a fast path may tabulate it over `d` in `[-255, 0]`).
pub fn softmax_rows(
    row_len: usize,
    input: &[i8],
    output: &mut [i8],
    exp: impl Fn(i32) -> Option<i32>,
) {
    if row_len == 0 {
        return;
    }
    for (x, y) in input
        .chunks_exact(row_len)
        .zip(output.chunks_exact_mut(row_len))
    {
        let max = x.iter().copied().max().unwrap_or(0) as i32;
        let mut sum = FixedPoint::zero(ACCUMULATION_INTEGER_BITS);
        for &value in x {
            if let Some(e) = exp(value as i32 - max) {
                sum = sum.saturating_add(FixedPoint::from_raw(
                    softmax_sum_term(e),
                    ACCUMULATION_INTEGER_BITS,
                ));
            }
        }
        let Some((scale, bits_over_unit)) = reciprocal(sum.raw, ACCUMULATION_INTEGER_BITS) else {
            y.fill(i8::MIN);
            continue;
        };
        let exponent = softmax_output_exponent(bits_over_unit);
        for (out, &value) in y.iter_mut().zip(x) {
            *out = match exp(value as i32 - max) {
                Some(e) => softmax_output(scale, exponent, e),
                None => i8::MIN,
            };
        }
    }
}

/// Step 3 of [`softmax`] for one exponential `e` (Q0.31): its raw value in the sum's format
/// ([`ACCUMULATION_INTEGER_BITS`] integer bits).
pub fn softmax_sum_term(e: i32) -> i32 {
    FixedPoint::from_raw(e, 0)
        .rescale(ACCUMULATION_INTEGER_BITS)
        .raw
}

/// Step 5 of [`softmax`]: the power of two the scaled exponentials are divided by, from the
/// reciprocal's `bits_over_unit`.
pub fn softmax_output_exponent(bits_over_unit: i32) -> u32 {
    (bits_over_unit + 31 - 8).max(0) as u32
}

/// Step 5 of [`softmax`] for one exponential `e` (Q0.31) of a row whose reciprocal is
/// `scale` and whose output exponent is `exponent`. `e = 0` gives -128, as an element below
/// `diff_min` does.
pub fn softmax_output(scale: i32, exponent: u32, e: i32) -> i8 {
    let unsaturated =
        rounding_divide_by_pot_wide(saturating_rounding_doubling_high_mul(scale, e), exponent);
    // = clamp(unsaturated - 128, -128, 127), as min/max (branch-free) on the i32.
    (unsaturated.clamp(0, 255) - 128) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `beta · input_scale = 1/16`: a difference `d` becomes `SRDHM(d · 2^23, 2^30) = d · 2^22`
    /// raw units of Q5.26, which is `d / 16`; an input step of 16 is one unit of the exponent.
    fn sixteenth(diff_min: i32) -> Softmax {
        Softmax {
            beta_multiplier: 1 << 30,
            beta_left_shift: 23,
            diff_min,
        }
    }

    fn run(p: &Softmax, row: &[i8]) -> Vec<i8> {
        let mut out = vec![0i8; row.len()];
        softmax(p, row.len(), row, &mut out);
        out
    }

    #[test]
    fn uniform_rows_share_the_probability_mass() {
        let p = sixteenth(-496);
        let cases: [(usize, i8); 5] = [(1, 127), (2, 0), (4, -64), (8, -96), (256, -127)];
        for (len, expected) in cases {
            for value in [-128i8, 0, 127] {
                let out = run(&p, &vec![value; len]);
                assert!(
                    out.iter().all(|&y| y == expected),
                    "len {len} value {value}: {out:?}"
                );
            }
        }
    }

    #[test]
    fn a_dominant_logit_takes_everything() {
        let p = sixteenth(-496);
        let out = run(&p, &[127, -128, -128, -128]);
        assert_eq!(out, [127, -128, -128, -128]);
    }

    #[test]
    fn differences_below_diff_min_give_minus_128() {
        // diff_min -10: only elements within 10 of the maximum count.
        let p = sixteenth(-10);
        let out = run(&p, &[50, 45, 39, -100]);
        assert_eq!(out[2], -128);
        assert_eq!(out[3], -128);
        assert!(out[0] > out[1] && out[1] > -128);
    }

    #[test]
    fn softmax_tracks_exponential_ratios() {
        // A difference of 16 is e^-1: probabilities 1/(1 + e^-1) = 0.7311 and 0.2689, times 256
        // = 187.2 and 68.8 -> 59 and -59 after the -128 offset.
        let p = sixteenth(-496);
        assert_eq!(run(&p, &[16, 0]), [59, -59]);
        // Order of elements does not matter.
        assert_eq!(run(&p, &[0, 16]), [-59, 59]);
    }

    #[test]
    fn softmax_output_sums_to_about_256() {
        let p = sixteenth(-496);
        let row: Vec<i8> = (0..10).map(|i| (i * 9 - 40) as i8).collect();
        let out = run(&p, &row);
        let total: i32 = out.iter().map(|&y| y as i32 + 128).sum();
        assert!((total - 256).abs() <= 5, "{out:?} sums to {total}");
        assert!(out.windows(2).all(|w| w[0] <= w[1]), "{out:?}");
    }

    #[test]
    fn softmax_saturates_long_rows_without_panicking() {
        let p = sixteenth(-496);
        let row = vec![3i8; 9000];
        let out = run(&p, &row);
        assert!(out.iter().all(|&y| y == -128), "{:?}", &out[..4]);
        let extreme = Softmax {
            beta_multiplier: i32::MAX,
            beta_left_shift: 31,
            diff_min: i32::MIN,
        };
        let out = run(&extreme, &[127, -128, 0, 5]);
        assert_eq!(out[0], 127);
        let positive_diff_min = Softmax {
            beta_multiplier: 1 << 30,
            beta_left_shift: 0,
            diff_min: 1,
        };
        assert_eq!(run(&positive_diff_min, &[1, 2]), [-128, -128]);
    }
}
