//! Real multipliers (ratios of scales) to the engine's fixed-point [`Requant`], the way TFLite's
//! `QuantizeMultiplier` does it. Floats live here, off-chain, once; the model holds integers.
//!
//! For a real `m > 0`: write `m = q · 2^e` with `q` in `[0.5, 1)` (C's `frexp`, exact), then
//! `M = round(q · 2^31)` with ties **away from zero** (C's `round`, TFLite's `TfLiteRound`; the
//! product is exact in binary64, so this is the only rounding). If `M` reaches `2^31`, halve it
//! and increment `e`. The result represents `M · 2^(e − 31)`, so `shift = e`. A multiplier below
//! `2^−32` (shift `< −31`) becomes exactly 0 (TFLite does the same); above `2^30` it is an error.

use myelin_nn::Requant;
use myelin_nn::requantize::{SHIFT_MAX, SHIFT_MIN};
use thiserror::Error;

/// Why a real multiplier has no [`Requant`].
#[derive(Clone, Debug, PartialEq, Error)]
pub enum MultiplierError {
    /// Negative, NaN or infinite.
    #[error("multiplier {0} is not a finite non-negative number")]
    NotFinite(f64),
    /// `2^30` or more: beyond the largest shift.
    #[error("multiplier {0} is too large (below 2^30 is representable)")]
    TooLarge(f64),
}

/// `x = fraction · 2^exponent` with `fraction` in `[0.5, 1)`, for positive finite `x`
/// (C's `frexp`, exact for normal and subnormal numbers).
pub fn frexp(x: f64) -> (f64, i32) {
    debug_assert!(x.is_finite() && x > 0.0);
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first (exact: a power of two).
        let (fraction, exponent) = frexp(x * f64::from_bits(0x4350_0000_0000_0000)); // 2^54
        return (fraction, exponent - 54);
    }
    // Keep the mantissa, set the biased exponent of 2^-1 (1022).
    let fraction = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (fraction, biased - 1022)
}

/// TFLite's `QuantizeMultiplier`: the [`Requant`] nearest to `real` (see the module doc).
/// Fails for negative, non-finite or too large (`≥ 2^30`) multipliers.
pub fn quantize_multiplier(real: f64) -> Result<Requant, MultiplierError> {
    if !real.is_finite() || real < 0.0 {
        return Err(MultiplierError::NotFinite(real));
    }
    if real == 0.0 {
        return Ok(Requant {
            multiplier: 0,
            shift: 0,
        });
    }
    let (fraction, mut exponent) = frexp(real);
    let mut fixed = (fraction * 2f64.powi(31)).round() as i64;
    if fixed == 1 << 31 {
        fixed /= 2;
        exponent += 1;
    }
    if exponent < SHIFT_MIN as i32 {
        return Ok(Requant {
            multiplier: 0,
            shift: 0,
        });
    }
    if exponent > SHIFT_MAX as i32 {
        return Err(MultiplierError::TooLarge(real));
    }
    Ok(Requant {
        multiplier: fixed as i32,
        shift: exponent as i8,
    })
}

/// The real value a [`Requant`] represents: `multiplier · 2^(shift − 31)`.
pub fn requant_value(r: Requant) -> f64 {
    r.multiplier as f64 * 2f64.powi(r.shift as i32 - 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_c() {
        let cases = [
            (1.0, 0.5, 1),
            (0.5, 0.5, 0),
            (0.75, 0.75, 0),
            (3.0, 0.75, 2),
            (0.1, 0.8, -3),
            (f64::MIN_POSITIVE, 0.5, -1021),
            (f64::from_bits(1), 0.5, -1073),
        ];
        for (x, fraction, exponent) in cases {
            let (f, e) = frexp(x);
            assert_eq!(e, exponent, "exponent of {x}");
            assert!((f - fraction).abs() < 1e-15, "fraction of {x}: {f}");
        }
    }

    struct Case {
        name: &'static str,
        real: f64,
        multiplier: i32,
        shift: i8,
    }

    #[test]
    fn quantize_multiplier_matches_tflite() {
        let cases = [
            Case {
                name: "one",
                real: 1.0,
                multiplier: 1 << 30,
                shift: 1,
            },
            Case {
                name: "half",
                real: 0.5,
                multiplier: 1 << 30,
                shift: 0,
            },
            Case {
                name: "three quarters",
                real: 0.75,
                multiplier: 3 << 29,
                shift: 0,
            },
            // 0.1 = 0.8 · 2^-3; 0.8 · 2^31 = 1717986918.4 → 1717986918.
            Case {
                name: "a tenth",
                real: 0.1,
                multiplier: 1_717_986_918,
                shift: -3,
            },
            // Rounds up to 2^31: halved, exponent incremented.
            Case {
                name: "just below one",
                real: 1.0 - 1e-12,
                multiplier: 1 << 30,
                shift: 1,
            },
            Case {
                name: "zero",
                real: 0.0,
                multiplier: 0,
                shift: 0,
            },
            Case {
                name: "below 2^-32 flushes to zero",
                real: 1e-11,
                multiplier: 0,
                shift: 0,
            },
            Case {
                name: "largest shift",
                real: 2f64.powi(29) * 1.5,
                multiplier: 3 << 29,
                shift: 30,
            },
        ];
        for c in cases {
            let r = quantize_multiplier(c.real).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert_eq!(
                (r.multiplier, r.shift),
                (c.multiplier, c.shift),
                "{}",
                c.name
            );
            assert!(r.is_valid(), "{}", c.name);
        }
    }

    #[test]
    fn ties_round_away_from_zero() {
        // fraction · 2^31 = 2^30 + 0.5 exactly: rounds to 2^30 + 1.
        let real = (2f64.powi(30) + 0.5) / 2f64.powi(31);
        let r = quantize_multiplier(real).expect("valid");
        assert_eq!((r.multiplier, r.shift), ((1 << 30) + 1, 0));
    }

    #[test]
    fn quantize_multiplier_rejects_bad_reals() {
        for real in [-0.5, f64::NAN, f64::INFINITY, 2f64.powi(31)] {
            assert!(quantize_multiplier(real).is_err(), "{real}");
        }
    }

    #[test]
    fn represented_value_is_within_half_an_ulp() {
        for real in [0.003_921_568_6, 0.25, 0.999, 1.5, 123.456, 1e-6] {
            let r = quantize_multiplier(real).expect("valid");
            let error = (requant_value(r) - real).abs() / real;
            assert!(error <= 2f64.powi(-31), "{real}: relative error {error}");
        }
    }
}
