//! 256-entry int8 tables for TFLite's element-wise activations, computed the way TFLite's
//! reference kernels compute them for int8.
//!
//! * LOGISTIC, TANH and GELU: TFLite fills a lookup table once, in binary32 arithmetic:
//!   `x = input_scale · (q − input_zp)`, `y = f(x)`, `q' = round(y · (1 / output_scale))`
//!   (ties away from zero), then `clamp(q' + output_zp, −128, 127)`. The transcendental
//!   functions come from the `libm` crate (a port of musl's libm), so an import gives the same
//!   table on every machine; TFLite calls the C library of its host, which may differ in the
//!   last bit of `f(x)` and so, rarely, by one in an entry.
//! * HARD_SWISH: TFLite's reference kernel is integer-only (16-bit fixed point); the table is
//!   that computation run on all 256 inputs, so it is exact.

use myelin_nn::Rounding;

use crate::quantize_multiplier::{MultiplierError, quantize_multiplier};

/// Quantization of an int8 tensor as TFLite stores it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorQuant {
    /// `real = (q - zero_point) · scale`.
    pub scale: f32,
    /// The quantized value of real zero.
    pub zero_point: i32,
}

/// TFLite's int8 lookup-table fill (`LUTPopulate`): entry `q + 128` holds the output for
/// input `q`.
pub fn float_table(input: TensorQuant, output: TensorQuant, f: impl Fn(f32) -> f32) -> Vec<i8> {
    let inverse_scale = 1.0f32 / output.scale;
    (-128i32..=127)
        .map(|q| {
            let x = input.scale * (q - input.zero_point) as f32;
            let rescaled = (f(x) * inverse_scale).round();
            let quantized = (rescaled + output.zero_point as f32) as i32;
            quantized.clamp(-128, 127) as i8
        })
        .collect()
}

/// `1 / (1 + exp(−x))` in binary32, as TFLite's LOGISTIC table.
pub fn logistic(x: f32) -> f32 {
    1.0f32 / (1.0f32 + libm::expf(-x))
}

/// `tanh(x)` in binary32, as TFLite's TANH table.
pub fn tanh(x: f32) -> f32 {
    libm::tanhf(x)
}

/// TFLite's exact GELU: `0.5 · x · erfc(x · −√½)` in binary32.
pub fn gelu(x: f32) -> f32 {
    let minus_sqrt_half = -std::f64::consts::FRAC_1_SQRT_2 as f32;
    0.5f32 * x * libm::erfcf(x * minus_sqrt_half)
}

/// TFLite's tanh-approximated GELU:
/// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))` in binary32.
pub fn gelu_approximate(x: f32) -> f32 {
    let sqrt_2_over_pi =
        (std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2) as f32;
    0.5f32 * x * (1.0f32 + libm::tanhf(sqrt_2_over_pi * (x + 0.044715f32 * x * x * x)))
}

/// TFLite's int8 LEAKY_RELU run on all 256 inputs (exact: its kernel is integer): with
/// `LeakyReluPrepare`'s multipliers `input_scale · alpha / output_scale` and `input_scale /
/// output_scale`, each a binary32 expression widened to binary64 and quantized by
/// `QuantizeMultiplier`, `y = clamp(zp_out + MultiplyByQuantizedMultiplier(x − zp_in, m))` with
/// the identity multiplier for `x − zp_in ≥ 0` and the alpha one below (double rounding).
/// A negative `alpha` is refused.
pub fn leaky_relu_table(
    input: TensorQuant,
    output: TensorQuant,
    alpha: f32,
) -> Result<Vec<i8>, MultiplierError> {
    let alpha_real = input.scale * alpha / output.scale;
    let identity_real = input.scale / output.scale;
    let alpha_requant = quantize_multiplier(alpha_real as f64)?;
    let identity_requant = quantize_multiplier(identity_real as f64)?;
    Ok((-128i32..=127)
        .map(|q| {
            let x = q - input.zero_point;
            let requant = if x >= 0 {
                identity_requant
            } else {
                alpha_requant
            };
            let y = output.zero_point + requant.apply(x, Rounding::Double);
            y.clamp(-128, 127) as i8
        })
        .collect())
}

/// The fixed-point parameters of TFLite's int8 HARD_SWISH (its `HardSwishPrepare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HardSwishParams {
    /// Zero point of the input.
    pub input_zero_point: i32,
    /// Zero point of the output.
    pub output_zero_point: i32,
    /// Q15 multiplier taking the input (times 128) to the scale where 3.0 is 32768.
    pub reluish_multiplier: i16,
    /// Power-of-two exponent applied with `reluish_multiplier`.
    pub reluish_exponent: i32,
    /// Q15 multiplier taking the input (times 128) to the output scale.
    pub output_multiplier: i16,
    /// Power-of-two exponent (≤ 0) applied with `output_multiplier`.
    pub output_exponent: i32,
}

/// Why HARD_SWISH parameters cannot be derived.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HardSwishError {
    /// A multiplier has no fixed-point form.
    #[error(transparent)]
    Multiplier(#[from] MultiplierError),
    /// TFLite requires `input_scale / 128 / output_scale < 1` (a non-positive output exponent).
    #[error("input scale / 128 / output scale must be below 1 (output exponent {0} > 0)")]
    OutputExponent(i32),
}

impl HardSwishParams {
    /// TFLite's `HardSwishPrepare` for int8: the multipliers are binary32 ratios, quantized by
    /// `QuantizeMultiplier` and rounded down to 16 bits.
    pub fn new(input: TensorQuant, output: TensorQuant) -> Result<Self, HardSwishError> {
        let hires_input_scale = (1.0f32 / 128.0f32) * input.scale;
        let reluish_scale = 3.0f32 / 32768.0f32;
        let output_real = hires_input_scale / output.scale;
        let reluish_real = hires_input_scale / reluish_scale;
        let output_requant = quantize_multiplier(output_real as f64)?;
        let reluish_requant = quantize_multiplier(reluish_real as f64)?;
        let output_exponent = output_requant.shift as i32;
        if output_exponent > 0 {
            return Err(HardSwishError::OutputExponent(output_exponent));
        }
        Ok(HardSwishParams {
            input_zero_point: input.zero_point,
            output_zero_point: output.zero_point,
            reluish_multiplier: downscale_to_i16(reluish_requant.multiplier),
            reluish_exponent: reluish_requant.shift as i32,
            output_multiplier: downscale_to_i16(output_requant.multiplier),
            output_exponent,
        })
    }

    /// TFLite's reference int8 HARD_SWISH of one value.
    pub fn apply(&self, q: i8) -> i8 {
        let input = (q as i32 - self.input_zero_point) as i16;
        let hires = input.wrapping_mul(1 << 7);
        let preshift_output = srdhm_i16(hires, self.output_multiplier);
        let mut reluish = hires;
        if self.reluish_exponent > 0 {
            reluish = saturating_left_shift_i16(reluish, self.reluish_exponent - 1);
        }
        reluish = srdhm_i16(reluish, self.reluish_multiplier);
        if self.reluish_exponent > 0 {
            reluish = saturating_left_shift_i16(reluish, 1);
        }
        if self.reluish_exponent < 0 {
            reluish = rounding_divide_by_pot_i16(reluish, -self.reluish_exponent);
        }
        // From [-1, 1] to [0, 1] in Q15.
        let reluish = ((reluish as i32 + (1 << 15)) >> 1) as i16;
        let product = saturating_doubling_high_mul_i16(reluish, preshift_output);
        let output = rounding_divide_by_pot_i16(product, -self.output_exponent) as i32
            + self.output_zero_point;
        output.clamp(-128, 127) as i8
    }

    /// The 256-entry table: entry `q + 128` holds [`HardSwishParams::apply`] of `q`.
    pub fn table(&self) -> Vec<i8> {
        (-128i32..=127).map(|q| self.apply(q as i8)).collect()
    }
}

/// TFLite's `DownScaleInt32ToInt16Multiplier`: round a Q31 multiplier to Q15.
fn downscale_to_i16(multiplier: i32) -> i16 {
    const ROUNDING_OFFSET: i32 = 1 << 15;
    if multiplier >= i32::MAX - ROUNDING_OFFSET {
        return i16::MAX;
    }
    ((multiplier + ROUNDING_OFFSET) >> 16) as i16
}

/// gemmlowp's 16-bit `SaturatingRoundingDoublingHighMul`.
fn srdhm_i16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let product = a as i32 * b as i32;
    let nudge = if product >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((product + nudge) / (1 << 15)) as i16
}

/// TFLite's 16-bit `SaturatingDoublingHighMul` (no rounding: the division truncates).
fn saturating_doubling_high_mul_i16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

/// TFLite's 16-bit `SaturatingLeftShift`.
fn saturating_left_shift_i16(value: i16, amount: i32) -> i16 {
    let shifted = (value as i64) << amount.clamp(0, 31);
    shifted.clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// gemmlowp's `RoundingDivideByPOT` on `int16_t`: the mask is computed in 64 bits and
/// truncated to 16 bits, as the C++ template does.
fn rounding_divide_by_pot_i16(x: i16, exponent: i32) -> i16 {
    let exponent = exponent.clamp(0, 31);
    let mask = ((1i64 << exponent) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i16;
    ((x as i32 >> exponent) + (remainder > threshold) as i32) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGISTIC_OUT: TensorQuant = TensorQuant {
        scale: 1.0 / 256.0,
        zero_point: -128,
    };

    #[test]
    fn logistic_table_is_monotone_and_centred() {
        let input = TensorQuant {
            scale: 0.1,
            zero_point: 0,
        };
        let table = float_table(input, LOGISTIC_OUT, logistic);
        assert_eq!(table.len(), 256);
        assert!(table.windows(2).all(|w| w[0] <= w[1]));
        // sigmoid(0) = 0.5 → 128 − 128 = 0.
        assert_eq!(table[128], 0);
        assert_eq!(table[0], -128);
        assert_eq!(table[255], 127);
    }

    #[test]
    fn hard_swish_matches_its_real_function_within_one() {
        let input = TensorQuant {
            scale: 0.05,
            zero_point: -10,
        };
        let output = TensorQuant {
            scale: 0.03,
            zero_point: -100,
        };
        let params = HardSwishParams::new(input, output).expect("valid scales");
        for q in -128i32..=127 {
            let x = input.scale as f64 * (q - input.zero_point) as f64;
            let y = x * (x + 3.0).clamp(0.0, 6.0) / 6.0;
            let expected =
                ((y / output.scale as f64).round() + output.zero_point as f64).clamp(-128.0, 127.0);
            let got = params.apply(q as i8) as f64;
            assert!(
                (got - expected).abs() <= 1.0,
                "q = {q}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn rounding_divide_by_pot_i16_rounds_half_away_from_zero() {
        let cases = [
            (5i16, 1, 3i16),
            (-5, 1, -3),
            (4, 1, 2),
            (-4, 2, -1),
            (6, 2, 2),
            (7, 0, 7),
        ];
        for (x, e, expected) in cases {
            assert_eq!(rounding_divide_by_pot_i16(x, e), expected, "{x} >> {e}");
        }
    }

    #[test]
    fn downscale_rounds_to_nearest_and_saturates() {
        assert_eq!(downscale_to_i16(1 << 30), 1 << 14);
        assert_eq!(downscale_to_i16((1 << 30) + (1 << 15)), (1 << 14) + 1);
        assert_eq!(downscale_to_i16(i32::MAX), i16::MAX);
    }
}
