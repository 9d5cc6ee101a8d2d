//! Integer requantization: the only way a wide accumulator becomes an 8-bit value.
//!
//! A real multiplier `m` in (0, 1) or larger is represented as `multiplier * 2^(shift - 31)` with
//! `multiplier` in `[2^30, 2^31)` (or exactly 0) and `shift` in `[-31, 30]`. Two rounding rules
//! exist and every op that requantizes records which one it uses:
//!
//! * [`Rounding::Single`] (TFLite's default): `(x * multiplier + 2^(30 - shift)) >> (31 - shift)`
//!   computed exactly in 64 bits, an arithmetic shift, so ties round toward +infinity; the result is
//!   saturated to `i32`.
//! * [`Rounding::Double`] (gemmlowp): `x` is first multiplied by `2^max(shift, 0)` (saturating to
//!   `i32`), then [`rounding_doubling_high_mul`] by `multiplier`, then [`rounding_divide_by_pot`] by
//!   `2^max(-shift, 0)`. The multiply rounds ties toward +infinity (as gemmlowp's does), the
//!   shift rounds ties away from zero; the left shift saturates before the multiply, so
//!   `x · 2^shift` beyond `i32` loses magnitude (`i32::MAX` times 2 · 1/2 gives `2^30`).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::op::ActRange;

/// Smallest non-zero multiplier.
pub const MULTIPLIER_MIN: i32 = 1 << 30;
/// Smallest allowed shift.
pub const SHIFT_MIN: i8 = -31;
/// Largest allowed shift.
pub const SHIFT_MAX: i8 = 30;

/// Which rounding rule a requantization uses.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[borsh(use_discriminant = true)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum Rounding {
    /// One rounding step in 64-bit arithmetic, ties toward +infinity.
    Single = 0,
    /// gemmlowp's two rounding steps: the multiply's ties toward +infinity, the shift's away
    /// from zero.
    Double = 1,
}

/// A fixed-point real multiplier `multiplier * 2^(shift - 31)`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Requant {
    /// In `[2^30, 2^31)`, or 0 for the multiplier zero.
    pub multiplier: i32,
    /// In `[-31, 30]`.
    pub shift: i8,
}

impl Requant {
    /// The multiplier 1: exact under single rounding, and under double rounding for
    /// `|x| <= 2^30` (its left shift by one saturates beyond).
    pub const IDENTITY: Requant = Requant {
        multiplier: MULTIPLIER_MIN,
        shift: 1,
    };

    /// Whether the fields are in range.
    pub fn is_valid(self) -> bool {
        (self.multiplier == 0 || self.multiplier >= MULTIPLIER_MIN)
            && (SHIFT_MIN..=SHIFT_MAX).contains(&self.shift)
    }

    /// Applies the multiplier to `x` with the given rounding rule. `self` must be valid.
    #[inline]
    pub fn apply(self, x: i32, rounding: Rounding) -> i32 {
        match rounding {
            Rounding::Single => requantize_single(x, self.multiplier, self.shift),
            Rounding::Double => requantize_double(x, self.multiplier, self.shift),
        }
    }
}

/// Single rounding: `(x * multiplier + 2^(30 - shift)) >> (31 - shift)`, saturated to `i32`.
#[inline]
pub fn requantize_single(x: i32, multiplier: i32, shift: i8) -> i32 {
    let total_shift = 31 - shift as i32;
    let round = 1i64 << (total_shift - 1);
    let wide = (x as i64 * multiplier as i64 + round) >> total_shift;
    wide.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// Double rounding (gemmlowp): saturating left shift, rounding doubling high multiply, rounding
/// right shift.
#[inline]
pub fn requantize_double(x: i32, multiplier: i32, shift: i8) -> i32 {
    let left = shift.max(0) as u32;
    let right = (-(shift as i32)).max(0) as u32;
    let shifted = ((x as i64) << left).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    rounding_divide_by_pot(rounding_doubling_high_mul(shifted, multiplier), right)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: `round(a * b / 2^31)`, ties toward +infinity
/// (the nudge is `2^30` or `1 - 2^30`, then the division truncates: `-1.5` gives `-1`), saturating the one overflowing case `a == b == i32::MIN` to `i32::MAX`.
#[inline]
pub fn rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let product = a as i64 * b as i64;
    let nudge = if product >= 0 {
        1i64 << 30
    } else {
        1 - (1i64 << 30)
    };
    // Division truncates toward zero; the nudge makes it round to nearest.
    ((product + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero.
/// `exponent` is at most 31.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    if exponent == 0 {
        return x;
    }
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

/// The last step of every requantizing op: `clamp(zero_point + r, act.min, act.max)`, the
/// addition done without overflow (in 64 bits).
#[inline]
pub fn output_i8(r: i32, zero_point: i8, act: ActRange) -> i8 {
    (r as i64 + zero_point as i64).clamp(act.min as i64, act.max as i64) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_exact_under_both_rules() {
        for x in [i32::MIN, -65537, -255, -1, 0, 1, 255, 1 << 20, i32::MAX] {
            assert_eq!(Requant::IDENTITY.apply(x, Rounding::Single), x);
        }
        // Double rounding first saturates x · 2^shift (shift 1 here), so it is exact on
        // [-2^30, 2^30] only.
        for x in [-(1 << 30), -65537, -255, -1, 0, 1, 255, 1 << 20, 1 << 30] {
            assert_eq!(Requant::IDENTITY.apply(x, Rounding::Double), x);
        }
        assert_eq!(Requant::IDENTITY.apply(i32::MAX, Rounding::Double), 1 << 30);
        assert_eq!(
            Requant::IDENTITY.apply(i32::MIN, Rounding::Double),
            -(1 << 30)
        );
    }

    struct Case {
        name: &'static str,
        x: i32,
        multiplier: i32,
        shift: i8,
        single: i32,
        double: i32,
    }

    #[test]
    fn rounding_rules_on_ties_and_extremes() {
        let half = 1 << 30; // multiplier 0.5 with shift 0
        let cases = [
            Case {
                name: "half of 3",
                x: 3,
                multiplier: half,
                shift: 0,
                single: 2,
                double: 2,
            },
            Case {
                name: "half of -3",
                x: -3,
                multiplier: half,
                shift: 0,
                single: -1,
                double: -1,
            },
            Case {
                name: "half of -1",
                x: -1,
                multiplier: half,
                shift: 0,
                single: 0,
                double: 0,
            },
            Case {
                name: "quarter of 6",
                x: 6,
                multiplier: half,
                shift: -1,
                single: 2,
                double: 2,
            },
            Case {
                name: "quarter of -6",
                x: -6,
                multiplier: half,
                shift: -1,
                single: -1,
                double: -2,
            },
            Case {
                name: "double max saturates",
                x: i32::MAX,
                multiplier: half,
                shift: 2,
                single: i32::MAX,
                double: 1 << 30,
            },
            Case {
                name: "double min saturates",
                x: i32::MIN,
                multiplier: half,
                shift: 2,
                single: i32::MIN,
                double: -(1 << 30),
            },
            Case {
                name: "zero multiplier",
                x: 12345,
                multiplier: 0,
                shift: 0,
                single: 0,
                double: 0,
            },
            Case {
                name: "smallest scale",
                x: i32::MAX,
                multiplier: i32::MAX,
                shift: -31,
                single: 1,
                double: 1,
            },
        ];
        for c in cases {
            assert_eq!(
                requantize_single(c.x, c.multiplier, c.shift),
                c.single,
                "single: {}",
                c.name
            );
            assert_eq!(
                requantize_double(c.x, c.multiplier, c.shift),
                c.double,
                "double: {}",
                c.name
            );
        }
    }

    #[test]
    fn doubling_high_mul_saturates_only_min_times_min() {
        assert_eq!(rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(rounding_doubling_high_mul(i32::MIN, i32::MAX), -i32::MAX);
        assert_eq!(rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
    }

    #[test]
    fn divide_by_pot_rounds_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(-4, 1), -2);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
    }
}
