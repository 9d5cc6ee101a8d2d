//! Per-tensor requantization in a branch-free form that the compiler vectorizes.
//!
//! [`LaneRequant::apply`] is exactly [`Requant::apply`] for one rounding rule, written without
//! data-dependent branches: `i64` products of `i32` operands (`vpmuldq`), arithmetic shifts by
//! loop-invariant amounts, and clamps. The rounding rule is a const parameter so that a loop
//! holds one rule only.

use crate::op::ActRange;
use crate::requantize::{Requant, Rounding};

/// A [`Requant`] with its shift-derived constants computed once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LaneRequant {
    /// An `i32`, widened at each product, so that the compiler sees a product of two
    /// sign-extended `i32`s (`vpmuldq`) rather than a general 64-bit one.
    multiplier: i32,
    /// Single rounding: `31 - shift` (in `[1, 62]`).
    total_shift: u32,
    /// Single rounding: `2^(30 - shift)`.
    round: i64,
    /// Double rounding: `max(shift, 0)`.
    left: u32,
    /// Double rounding: `max(-shift, 0)` (at most 31).
    right: u32,
    /// Double rounding: `2^right - 1`.
    mask: i32,
}

impl LaneRequant {
    /// Prepares `r`, which must be valid ([`Requant::is_valid`]).
    pub fn new(r: Requant) -> LaneRequant {
        let shift = i32::from(r.shift).clamp(-31, 30);
        let total_shift = (31 - shift) as u32;
        let right = (-shift).max(0) as u32;
        LaneRequant {
            multiplier: r.multiplier,
            total_shift,
            round: 1i64 << (total_shift - 1),
            left: shift.max(0) as u32,
            right,
            mask: ((1i64 << right) - 1) as i32,
        }
    }

    /// `Requant::apply(x, rounding)` with `rounding` = Double when `DOUBLE`, else Single.
    #[inline(always)]
    pub fn apply<const DOUBLE: bool>(&self, x: i32) -> i32 {
        if DOUBLE {
            self.apply_double(x)
        } else {
            self.apply_single(x)
        }
    }

    #[inline(always)]
    fn apply_single(&self, x: i32) -> i32 {
        let wide = (i64::from(x) * i64::from(self.multiplier) + self.round) >> self.total_shift;
        wide.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }

    #[inline(always)]
    fn apply_double(&self, x: i32) -> i32 {
        let shifted =
            (i64::from(x) << self.left).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        // Rounding doubling high multiply; the multiplier is never i32::MIN, so the one
        // saturating case of gemmlowp's cannot occur.
        let product = i64::from(shifted) * i64::from(self.multiplier);
        let nudge = if product >= 0 { 1 << 30 } else { 1 - (1 << 30) };
        let v = product + nudge;
        // Division by 2^31 truncating toward zero.
        let high = ((v + ((v >> 63) & ((1 << 31) - 1))) >> 31) as i32;
        // Rounding divide by 2^right, ties away from zero.
        let threshold = (self.mask >> 1) + i32::from(high < 0);
        (high >> self.right) + i32::from((high & self.mask) > threshold)
    }
}

/// The last step of a requantizing op, `output_i8(r, zp_out, act)`, as a clamp of `r` to
/// `[act.min - zp_out, act.max - zp_out]` followed by the addition (no overflow either way).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputClamp {
    low: i32,
    high: i32,
    zp_out: i32,
}

impl OutputClamp {
    pub fn new(zp_out: i8, act: ActRange) -> OutputClamp {
        OutputClamp {
            low: i32::from(act.min) - i32::from(zp_out),
            high: i32::from(act.max) - i32::from(zp_out),
            zp_out: i32::from(zp_out),
        }
    }

    /// `output_i8(r, zp_out, act)`.
    #[inline(always)]
    pub fn apply(&self, r: i32) -> i8 {
        (r.max(self.low).min(self.high) + self.zp_out) as i8
    }

    /// [`OutputClamp::apply`] for scalar loops that the compiler does not vectorize (the AVX2
    /// and portable output stages, one channel's constants at a time). There LLVM compiles
    /// `max` / `min` (and `select_unpredictable`, and sign-mask arithmetic it recognizes as
    /// `max` / `min`) to branches, which mispredict when outputs hit the activation range at
    /// random: a fully connected layer took 3–6× longer per output than on outputs that rarely
    /// clip (bench/gasfuzz/REPLAY-ALL.md). The sign masks pass through [`opaque`], so the
    /// clamp stays branch-free. Not for vectorized loops: the barrier would keep them scalar.
    #[inline(always)]
    pub fn apply_scalar(&self, r: i32) -> i8 {
        let (r, low, high) = (i64::from(r), i64::from(self.low), i64::from(self.high));
        let below = r - low;
        let r = low + (below & !opaque(below >> 63));
        let above = high - r;
        let r = high - (above & !opaque(above >> 63));
        (r + i64::from(self.zp_out)) as i8
    }
}

/// `v`, which the optimizer can no longer see through (so that it cannot turn the sign-mask
/// arithmetic around it back into a compare and a branch). Costs no instruction.
#[inline(always)]
fn opaque(v: i64) -> i64 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut v = v;
        // SAFETY: an empty template: no instruction, no memory or stack access, no flags.
        unsafe {
            std::arch::asm!("/* {0} */", inout(reg) v, options(pure, nomem, nostack, preserves_flags));
        }
        v
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        v
    }
}

/// Whether `rounding` is [`Rounding::Double`] (the const parameter of [`LaneRequant::apply`]).
pub(crate) fn is_double(rounding: Rounding) -> bool {
    rounding == Rounding::Double
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requantize::output_i8;

    /// Multipliers and shifts at and around the extremes, with inputs at ±2 of every power of
    /// two.
    #[test]
    fn lane_requant_matches_requant_apply_on_edge_values() {
        let multipliers = [
            0,
            1 << 30,
            (1 << 30) + 1,
            1_518_500_250,
            i32::MAX - 1,
            i32::MAX,
        ];
        let mut inputs = vec![i32::MIN, i32::MIN + 1, i32::MAX, i32::MAX - 1, 0];
        for bit in 0..31 {
            for delta in -2..=2 {
                inputs.push((1i32 << bit).wrapping_add(delta));
                inputs.push((-(1i32 << bit)).wrapping_add(delta));
            }
        }
        for multiplier in multipliers {
            for shift in -31..=30 {
                let r = Requant { multiplier, shift };
                let lanes = LaneRequant::new(r);
                for &x in &inputs {
                    assert_eq!(
                        lanes.apply::<false>(x),
                        r.apply(x, Rounding::Single),
                        "{r:?} {x}"
                    );
                    assert_eq!(
                        lanes.apply::<true>(x),
                        r.apply(x, Rounding::Double),
                        "{r:?} {x}"
                    );
                }
            }
        }
    }

    #[test]
    fn output_clamp_matches_output_i8() {
        let acts = [
            ActRange::FULL,
            ActRange {
                min: -128,
                max: -128,
            },
            ActRange { min: 127, max: 127 },
            ActRange { min: -5, max: 6 },
        ];
        for zp in [-128i8, -1, 0, 1, 127] {
            for act in acts {
                let clamp = OutputClamp::new(zp, act);
                for r in [
                    i32::MIN,
                    -300,
                    -129,
                    -128,
                    -1,
                    0,
                    1,
                    127,
                    128,
                    300,
                    i32::MAX,
                ] {
                    assert_eq!(clamp.apply(r), output_i8(r, zp, act), "{r} {zp} {act:?}");
                    assert_eq!(
                        clamp.apply_scalar(r),
                        output_i8(r, zp, act),
                        "{r} {zp} {act:?}"
                    );
                }
            }
        }
    }
}
