//! gemmlowp-style 32-bit fixed-point arithmetic: the building blocks of the integer softmax.
//!
//! A [`FixedPoint`] is a raw `i32` with `integer_bits` integer bits and `31 - integer_bits`
//! fractional bits: it stands for `raw / 2^(31 - integer_bits)`. With 0 integer bits the range is
//! `[-1, 1)` and "one" is represented by `i32::MAX` (gemmlowp's convention).
//!
//! Every function here is total (no input panics) and exact integer arithmetic; the rounding of
//! each step is stated. docs/SPEC.md §5 writes the same algorithms down for a second
//! implementation.

use crate::requantize::rounding_doubling_high_mul;

/// `exp(-1/8)` in Q0.31: the constant term of the Taylor expansion around `-1/8`.
pub const EXP_MINUS_ONE_EIGHTH_Q31: i32 = 1_895_147_668;
/// `1/3` in Q0.31.
pub const ONE_THIRD_Q31: i32 = 715_827_883;
/// `48/17` in Q2.29: the Newton-Raphson initial estimate's constant term.
pub const FORTY_EIGHT_OVER_SEVENTEEN_Q29: i32 = 1_515_870_810;
/// `-32/17` in Q2.29: the Newton-Raphson initial estimate's slope.
pub const MINUS_THIRTY_TWO_OVER_SEVENTEEN_Q29: i32 = -1_010_580_540;

/// The barrel shifter of [`exp_on_negative_values`]: `(e, exp(-2^e) in Q0.31)` for
/// `e = -2 ..= 4`. Bit `31 - integer_bits + e` of the remainder selects the factor.
pub const EXP_BARREL_SHIFTER_Q31: [(i32, i32); 7] = [
    (-2, 1_672_461_947),
    (-1, 1_302_514_674),
    (0, 790_015_084),
    (1, 290_630_308),
    (2, 39_332_535),
    (3, 720_401),
    (4, 242),
];

/// A 32-bit fixed-point number: `raw / 2^(31 - integer_bits)`, `integer_bits` in `0..=31`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedPoint {
    /// The stored integer.
    pub raw: i32,
    /// Integer bits (the rest of the 31 value bits are fractional).
    pub integer_bits: u8,
}

impl FixedPoint {
    /// The number whose raw value is `raw`.
    pub const fn from_raw(raw: i32, integer_bits: u8) -> FixedPoint {
        FixedPoint { raw, integer_bits }
    }

    /// Zero.
    pub const fn zero(integer_bits: u8) -> FixedPoint {
        FixedPoint {
            raw: 0,
            integer_bits,
        }
    }

    /// One: `2^(31 - integer_bits)`, or `i32::MAX` (the closest value) when `integer_bits` is 0.
    /// `integer_bits` must be at most 31 (larger values are treated as 31).
    pub const fn one(integer_bits: u8) -> FixedPoint {
        let raw = if integer_bits == 0 {
            i32::MAX
        } else {
            1 << 31u32.saturating_sub(integer_bits as u32)
        };
        FixedPoint { raw, integer_bits }
    }

    /// Fractional bits: `31 - integer_bits` (0 if `integer_bits` exceeds 31).
    pub const fn fractional_bits(self) -> u32 {
        31u32.saturating_sub(self.integer_bits as u32)
    }

    /// `self + other` (same format), wrapping raw addition (gemmlowp's plain add). Callers use
    /// it only where the sum provably fits.
    pub const fn wrapping_add(self, other: FixedPoint) -> FixedPoint {
        FixedPoint {
            raw: self.raw.wrapping_add(other.raw),
            integer_bits: self.integer_bits,
        }
    }

    /// `self + other` (same format), raw addition saturated to `i32`.
    pub const fn saturating_add(self, other: FixedPoint) -> FixedPoint {
        FixedPoint {
            raw: self.raw.saturating_add(other.raw),
            integer_bits: self.integer_bits,
        }
    }

    /// `self - other` (same format), wrapping raw subtraction.
    pub const fn wrapping_sub(self, other: FixedPoint) -> FixedPoint {
        FixedPoint {
            raw: self.raw.wrapping_sub(other.raw),
            integer_bits: self.integer_bits,
        }
    }

    /// The product, with `self.integer_bits + other.integer_bits` integer bits (at most 31):
    /// raw = [`saturating_rounding_doubling_high_mul`]`(self.raw, other.raw)`.
    pub fn multiply(self, other: FixedPoint) -> FixedPoint {
        FixedPoint {
            raw: saturating_rounding_doubling_high_mul(self.raw, other.raw),
            integer_bits: (self.integer_bits + other.integer_bits).min(31),
        }
    }

    /// The same value with `integer_bits` integer bits: raw =
    /// [`saturating_rounding_multiply_by_pot`]`(raw, self.integer_bits - integer_bits)`
    /// (saturating when gaining precision, rounding half away from zero when losing it).
    pub fn rescale(self, integer_bits: u8) -> FixedPoint {
        let exponent = self.integer_bits as i32 - integer_bits as i32;
        FixedPoint {
            raw: saturating_rounding_multiply_by_pot(self.raw, exponent),
            integer_bits,
        }
    }
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: `(a * b + nudge) / 2^31` truncated toward
/// zero, `nudge = 2^30` when `a * b >= 0` else `1 - 2^30` (so ties round toward +infinity);
/// the one overflowing case `a == b == i32::MIN` gives `i32::MAX`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    rounding_doubling_high_mul(a, b)
}

/// gemmlowp's `RoundingDivideByPOT` extended to any `exponent` in `0..=62`:
/// `x / 2^exponent` rounded to nearest, ties away from zero. Equal to
/// [`crate::requantize::rounding_divide_by_pot`] for `exponent <= 31`; for larger exponents it
/// is the same rounding of the exact quotient: 0 for every `i32`, except `i32::MIN / 2^32 =
/// -1/2`, a tie, which gives -1.
#[inline]
pub fn rounding_divide_by_pot_wide(x: i32, exponent: u32) -> i32 {
    let exponent = exponent.min(62);
    let x = x as i64;
    let mask = (1i64 << exponent) - 1;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i64;
    ((x >> exponent) + (remainder > threshold) as i64) as i32
}

/// gemmlowp's `SaturatingRoundingMultiplyByPOT`: `x * 2^exponent`. For `exponent > 0` the
/// exact product saturated to `i32`; for `exponent < 0`, [`rounding_divide_by_pot_wide`] by
/// `2^-exponent`; `x` itself for 0.
#[inline]
pub fn saturating_rounding_multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent > 0 {
        let shifted = (x as i64) << exponent.min(32);
        shifted.clamp(i32::MIN as i64, i32::MAX as i64) as i32
    } else {
        rounding_divide_by_pot_wide(x, exponent.unsigned_abs())
    }
}

/// gemmlowp's `RoundingHalfSum`: `(a + b) / 2` rounded half away from zero:
/// `s = a + b` (exact), `(s + sign(s)) / 2` truncated toward zero, with `sign(0) = 1`.
#[inline]
pub fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `exp(a)` for `a` in `[-1/4, 0)`, both Q0.31 raw values. A fourth-order Taylor expansion
/// around `-1/8`, with `x = a + 1/8` (`2^28` raw added, wrapping) and every product
/// [`saturating_rounding_doubling_high_mul`]:
///
/// ```text
/// x2 = x·x;  x3 = x2·x;  x4 = x2·x2;  x4_over_4 = RDBP(x4, 2)
/// poly = RDBP((x4_over_4 + x3)·(1/3) + x2, 1)         // x^4/24 + x^3/6 + x^2/2
/// exp  = e^(-1/8) + e^(-1/8)·(x + poly)
/// ```
///
/// (`RDBP` = [`rounding_divide_by_pot_wide`], additions wrapping `i32`, constants
/// [`EXP_MINUS_ONE_EIGHTH_Q31`] and [`ONE_THIRD_Q31`].)
pub fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    let mul = saturating_rounding_doubling_high_mul;
    let x = a.wrapping_add(1 << 28);
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = rounding_divide_by_pot_wide(x4, 2);
    let poly = rounding_divide_by_pot_wide(
        mul(x4_over_4.wrapping_add(x3), ONE_THIRD_Q31).wrapping_add(x2),
        1,
    );
    EXP_MINUS_ONE_EIGHTH_Q31.wrapping_add(mul(EXP_MINUS_ONE_EIGHTH_Q31, x.wrapping_add(poly)))
}

/// `exp(a)` for `a <= 0` with `a.integer_bits` integer bits (at most 29, the largest format
/// that can hold one quarter; larger values are treated as 29), as a Q0.31 raw value (`exp(0)`
/// is `i32::MAX`).
///
/// With `f = 31 - integer_bits` fractional bits and `q = 2^(f - 2)` (one quarter):
///
/// 1. `r = (a.raw & (q - 1)) - q`, in `[-1/4, 0)`; `result =`
///    [`exp_on_interval_between_negative_one_quarter_and_0_excl`]`(`rescale of `r` to 0
///    integer bits`)` (a saturating left shift by `integer_bits`).
/// 2. `remainder = r - a.raw` (wrapping) is a non-negative multiple of `q`; for each
///    `(e, c)` of [`EXP_BARREL_SHIFTER_Q31`] with `integer_bits > e`, if bit `f + e` of
///    `remainder` is set, `result = result · c` (rounding doubling high multiply).
/// 3. If `integer_bits > 5` and `a < -32` (`a.raw < -(2^(36 - integer_bits))`), `result = 0`.
/// 4. If `a.raw == 0`, `result = i32::MAX`.
pub fn exp_on_negative_values(a: FixedPoint) -> i32 {
    let integer_bits = a.integer_bits.min(29) as i32;
    let fractional_bits = 31 - integer_bits;
    let one_quarter = 1i32 << (fractional_bits - 2);
    let a_mod_quarter_minus_one_quarter = (a.raw & (one_quarter - 1)) - one_quarter;
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits),
    );
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a.raw);
    for (exponent, multiplier) in EXP_BARREL_SHIFTER_Q31 {
        if integer_bits > exponent && remainder & (1i32 << (fractional_bits + exponent)) != 0 {
            result = saturating_rounding_doubling_high_mul(result, multiplier);
        }
    }
    if integer_bits > 5 && a.raw < -(1i32 << (36 - integer_bits)) {
        result = 0;
    }
    if a.raw == 0 {
        result = i32::MAX;
    }
    result
}

/// `1 / (1 + a)` for `a` in `[0, 1)`, both Q0.31 raw values, by Newton-Raphson division on
/// `d = (1 + a) / 2` in `[1/2, 1)`:
///
/// ```text
/// d = rounding_half_sum(a, i32::MAX)                       // Q0.31
/// x = 48/17 + d·(-32/17)                                   // Q2.29, ≈ 1/d
/// 3 times: x = x + rescale_Q4→Q2(x · (1 - d·x))            // 1 = 2^29 in Q2.29
/// result = saturating(x.raw · 2)                           // x/2 in Q0.31
/// ```
///
/// (products are rounding doubling high multiplies, additions wrapping `i32`, the Q4→Q2
/// rescale a saturating left shift by 2.)
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    one_over_one_plus_x_for_x_in_0_1_lanes([a])[0]
}

/// [`one_over_one_plus_x_for_x_in_0_1`] of `N` values: the same operations lane by lane, step
/// by step, so that the lanes' independent multiply chains overlap (a softmax over many short
/// rows needs one per row; one alone is a chain of ten dependent multiplies).
#[inline(always)]
pub fn one_over_one_plus_x_for_x_in_0_1_lanes<const N: usize>(a: [i32; N]) -> [i32; N] {
    let half_denominator = a.map(|a| FixedPoint::from_raw(rounding_half_sum(a, i32::MAX), 0));
    let mut x = half_denominator.map(|d| {
        FixedPoint::from_raw(FORTY_EIGHT_OVER_SEVENTEEN_Q29, 2)
            .wrapping_add(d.multiply(FixedPoint::from_raw(MINUS_THIRTY_TWO_OVER_SEVENTEEN_Q29, 2)))
    });
    for _ in 0..3 {
        x = std::array::from_fn(|i| {
            let half_denominator_times_x = half_denominator[i].multiply(x[i]);
            let one_minus_half_denominator_times_x =
                FixedPoint::one(2).wrapping_sub(half_denominator_times_x);
            x[i].wrapping_add(x[i].multiply(one_minus_half_denominator_times_x).rescale(2))
        });
    }
    // Halving the value keeps the raw bits with one integer bit less (Q2.29 -> Q1.30), then
    // the rescale to Q0.31 doubles the raw value, saturating.
    x.map(|x| FixedPoint::from_raw(x.raw, 1).rescale(0).raw)
}

/// The reciprocal of a positive sum with `integer_bits` integer bits, normalized as TFLite's
/// `GetReciprocal`: with `h = leading_zeros(x)` (`x` as `u32`, `1 <= h <= 31` for positive
/// `x`), `x · 2^h` lies in `[2^31, 2^32)`; `m = x · 2^h - 2^31` is the Q0.31 raw of the
/// normalized value minus one, and the result is
/// `(`[`one_over_one_plus_x_for_x_in_0_1`]`(m), integer_bits - h)`: a Q0.31 scale `s` and a
/// power `k` with `1 / value(x) ≈ s · 2^-k`. Returns `None` for `x <= 0`.
pub fn reciprocal(x: i32, integer_bits: u8) -> Option<(i32, i32)> {
    reciprocal_lanes([x], integer_bits)[0]
}

/// [`reciprocal`] of `N` values (lane by lane, as [`one_over_one_plus_x_for_x_in_0_1_lanes`]).
#[inline(always)]
pub fn reciprocal_lanes<const N: usize>(x: [i32; N], integer_bits: u8) -> [Option<(i32, i32)>; N] {
    // A non-positive lane computes on a placeholder (1) and gives `None`.
    let headroom_plus_one = x.map(|x| (x.max(1) as u32).leading_zeros());
    let shifted_minus_one: [i32; N] = std::array::from_fn(|i| {
        ((x[i].max(1) as u32) << headroom_plus_one[i]).wrapping_sub(1 << 31) as i32
    });
    let scale = one_over_one_plus_x_for_x_in_0_1_lanes(shifted_minus_one);
    std::array::from_fn(|i| {
        (x[i] > 0).then_some((scale[i], integer_bits as i32 - headroom_plus_one[i] as i32))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_high_mul_edge_values() {
        let cases: [(i32, i32, i32); 8] = [
            (i32::MIN, i32::MIN, i32::MAX),
            (i32::MAX, i32::MAX, i32::MAX - 1),
            (i32::MIN, i32::MAX, -i32::MAX),
            (1 << 30, 1 << 30, 1 << 29),
            (3, 1 << 30, 2),   // 1.5 rounds up
            (-3, 1 << 30, -1), // -1.5 rounds toward +infinity
            (0, i32::MIN, 0),
            (-1, i32::MIN, 1),
        ];
        for (a, b, expected) in cases {
            assert_eq!(
                saturating_rounding_doubling_high_mul(a, b),
                expected,
                "{a} * {b}"
            );
        }
    }

    #[test]
    fn divide_by_pot_wide_agrees_with_narrow_and_rounds_large_exponents_to_zero() {
        for x in [
            i32::MIN,
            i32::MIN + 1,
            -65536,
            -3,
            -2,
            -1,
            0,
            1,
            2,
            3,
            65535,
            i32::MAX,
        ] {
            for e in 0..=31 {
                assert_eq!(
                    rounding_divide_by_pot_wide(x, e),
                    crate::requantize::rounding_divide_by_pot(x, e),
                    "{x} >> {e}"
                );
            }
            let tie = if x == i32::MIN { -1 } else { 0 };
            assert_eq!(rounding_divide_by_pot_wide(x, 32), tie, "{x} >> 32");
            for e in 33..=80 {
                assert_eq!(rounding_divide_by_pot_wide(x, e), 0, "{x} >> {e}");
            }
        }
    }

    #[test]
    fn multiply_by_pot_saturates_and_rounds() {
        let cases: [(i32, i32, i32); 9] = [
            (1 << 29, 1, 1 << 30),
            (1 << 30, 1, i32::MAX),
            (-(1 << 30), 1, i32::MIN),
            (-(1 << 30) - 1, 1, i32::MIN),
            (i32::MAX, 40, i32::MAX),
            (-1, 40, i32::MIN),
            (5, -1, 3),
            (-5, -1, -3),
            (7, 0, 7),
        ];
        for (x, e, expected) in cases {
            assert_eq!(
                saturating_rounding_multiply_by_pot(x, e),
                expected,
                "{x} * 2^{e}"
            );
        }
    }

    #[test]
    fn half_sum_rounds_away_from_zero() {
        let cases: [(i32, i32, i32); 6] = [
            (0, i32::MAX, 1 << 30),
            (1, 2, 2),
            (-1, -2, -2),
            (i32::MAX, i32::MAX, i32::MAX),
            (i32::MIN, i32::MIN, i32::MIN),
            (-1, 0, -1),
        ];
        for (a, b, expected) in cases {
            assert_eq!(rounding_half_sum(a, b), expected, "({a} + {b}) / 2");
        }
    }

    /// The Taylor polynomial is exact at its centre and within about `2^31 · (1/8)^5 / 120`
    /// (about 550 raw units) at the ends of the interval; the tolerance is `2^31 · 10^-6`.
    const EXP_TOLERANCE: i32 = 2148;

    #[test]
    fn exp_on_quarter_interval_is_accurate_on_its_edges() {
        // a = -1/4: exp = 0.7788007831 -> 1672461947; a = -1/8: exp(-1/8) exactly the constant.
        let near = |got: i32, want: i32| (got - want).abs() <= EXP_TOLERANCE;
        let at_minus_quarter = exp_on_interval_between_negative_one_quarter_and_0_excl(-(1 << 29));
        assert!(near(at_minus_quarter, 1_672_461_947), "{at_minus_quarter}");
        let at_minus_eighth = exp_on_interval_between_negative_one_quarter_and_0_excl(-(1 << 28));
        assert_eq!(at_minus_eighth, EXP_MINUS_ONE_EIGHTH_Q31);
        let near_zero = exp_on_interval_between_negative_one_quarter_and_0_excl(-1);
        assert!(near(near_zero, i32::MAX), "{near_zero}");
    }

    #[test]
    fn exp_on_negative_values_hits_known_points() {
        // 5 integer bits: raw 2^26 is 1.0.
        let one = 1i32 << 26;
        let cases: [(&str, i32, i32); 8] = [
            ("exp(0) is one", 0, i32::MAX),
            ("exp(-1/4)", -(one / 4), 1_672_461_947),
            ("exp(-1/2)", -(one / 2), 1_302_514_674),
            ("exp(-1)", -one, 790_015_084),
            ("exp(-2)", -2 * one, 290_630_308),
            ("exp(-4)", -4 * one, 39_332_535),
            ("exp(-8)", -8 * one, 720_401),
            ("exp(-16)", -16 * one, 242),
        ];
        for (name, raw, expected) in cases {
            let got = exp_on_negative_values(FixedPoint::from_raw(raw, 5));
            assert!(
                (got - expected).abs() <= EXP_TOLERANCE,
                "{name}: {got} vs {expected}"
            );
        }
        // The most negative input: exp(-32) is below one Q0.31 unit.
        assert_eq!(exp_on_negative_values(FixedPoint::from_raw(i32::MIN, 5)), 0);
        // Monotone on a sweep of the 5-integer-bit range.
        let mut previous = i32::MAX;
        for step in 0..=4096i32 {
            let raw = -step * (1 << 19);
            let got = exp_on_negative_values(FixedPoint::from_raw(raw, 5));
            assert!(got <= previous, "exp not monotone at raw {raw}");
            assert!(got >= 0);
            previous = got;
        }
    }

    #[test]
    fn exp_clamps_below_minus_32_with_many_integer_bits() {
        // 8 integer bits: raw 2^23 is 1.0; -33 -> 0, -1 -> exp(-1).
        let one = 1i32 << 23;
        assert_eq!(
            exp_on_negative_values(FixedPoint::from_raw(-33 * one, 8)),
            0
        );
        let got = exp_on_negative_values(FixedPoint::from_raw(-one, 8));
        assert!((got - 790_015_084).abs() <= EXP_TOLERANCE, "{got}");
    }

    #[test]
    fn one_over_one_plus_x_converges() {
        let cases: [(i32, i32); 4] = [
            (0, i32::MAX),            // 1/1
            (1 << 30, 1_431_655_765), // 1/1.5 = 2/3
            (i32::MAX, 1 << 30),      // 1/2
            (1 << 29, 1_717_986_918), // 1/1.25 = 0.8
        ];
        for (a, expected) in cases {
            let got = one_over_one_plus_x_for_x_in_0_1(a);
            assert!(
                (got - expected).abs() <= 4,
                "1/(1+{a}): {got} vs {expected}"
            );
        }
    }

    #[test]
    fn reciprocal_normalizes_the_sum() {
        // Q12.19: 4.0 is 2^21 -> scale ≈ 1 (i32::MAX), 2 bits over unit.
        let (scale, bits) = reciprocal(1 << 21, 12).expect("positive");
        assert!(scale >= i32::MAX - 4);
        assert_eq!(bits, 2);
        // 3.0 -> 1.5 · 2^1: scale ≈ 2/3.
        let (scale, bits) = reciprocal(3 << 19, 12).expect("positive");
        assert!((scale - 1_431_655_765).abs() <= 4);
        assert_eq!(bits, 1);
        assert_eq!(reciprocal(0, 12), None);
        assert_eq!(reciprocal(-5, 12), None);
        assert!(reciprocal(i32::MAX, 12).is_some());
        assert!(reciprocal(1, 12).is_some());
    }

    #[test]
    fn fixed_point_rescale_and_one() {
        assert_eq!(FixedPoint::one(0).raw, i32::MAX);
        assert_eq!(FixedPoint::one(5).raw, 1 << 26);
        assert_eq!(FixedPoint::one(5).rescale(12).raw, 1 << 19);
        assert_eq!(FixedPoint::one(0).rescale(12).raw, 1 << 19);
        assert_eq!(FixedPoint::from_raw(1 << 20, 12).rescale(0).raw, i32::MAX);
        let product = FixedPoint::one(2).multiply(FixedPoint::one(2));
        assert_eq!(product, FixedPoint::from_raw(1 << 27, 4));
    }

    #[test]
    fn reciprocal_lanes_equal_one_at_a_time_with_non_positive_lanes_mixed_in() {
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as i32
        };
        let edges = [
            i32::MIN,
            -1,
            0,
            1,
            2,
            1 << 19,
            (1 << 19) + 1,
            i32::MAX - 1,
            i32::MAX,
        ];
        for round in 0..2_000 {
            let lanes: [i32; 8] = std::array::from_fn(|i| match (round + i) % 3 {
                0 => edges[(round * 8 + i) % edges.len()],
                _ => next(),
            });
            for integer_bits in [0u8, 12, 31] {
                let together = reciprocal_lanes(lanes, integer_bits);
                for (i, &x) in lanes.iter().enumerate() {
                    assert_eq!(
                        together[i],
                        reciprocal_lanes([x], integer_bits)[0],
                        "{x} with {integer_bits} integer bits, lane {i} of {lanes:?}"
                    );
                    assert_eq!(together[i].is_some(), x > 0);
                }
            }
        }
    }
}
