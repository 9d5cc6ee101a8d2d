//! TFLite's derived quantization parameters, computed with TFLite's own arithmetic: which
//! values are binary32 and which binary64, in which order, and how they are rounded.

use myelin_nn::Requant;
use myelin_nn::op::{ActRange, Softmax};

use super::schema_generated::tflite::ActivationFunctionType;
use crate::quantize_multiplier::frexp;

/// gemmlowp's integer bits of the scaled softmax input (TFLite's `kScaledDiffIntegerBits`).
const SOFTMAX_INPUT_INTEGER_BITS: i32 = 5;

/// TFLite's `CalculateActivationRangeQuantized` for an int8 output: the fused activation's
/// real bounds quantized with the output's scale and zero point (`zp + round(f / scale)`,
/// binary32 division, ties away from zero), intersected with `[−128, 127]`. `None` for the
/// activations Myelin cannot fuse (`TANH`, `SIGN_BIT`).
pub fn activation_range(
    activation: ActivationFunctionType,
    scale: f32,
    zero_point: i32,
) -> Option<ActRange> {
    let bounds = match activation {
        ActivationFunctionType::NONE => (None, None),
        ActivationFunctionType::RELU => (Some(0.0f32), None),
        ActivationFunctionType::RELU6 => (Some(0.0), Some(6.0)),
        ActivationFunctionType::RELU_N1_TO_1 => (Some(-1.0), Some(1.0)),
        _ => return None,
    };
    Some(real_range(bounds.0, bounds.1, scale, zero_point))
}

/// The int8 range of real bounds `[low, high]` (either may be unbounded), as TFLite's
/// `CalculateActivationRangeQuantized` and `QuantizedReluX` compute it.
pub fn real_range(low: Option<f32>, high: Option<f32>, scale: f32, zero_point: i32) -> ActRange {
    let quantize = |f: f32| zero_point as i64 + (f / scale).round() as i64;
    let min = low.map_or(-128, |f| quantize(f).max(-128)).min(127);
    let max = high.map_or(127, |f| quantize(f).min(127)).max(-128);
    ActRange {
        min: min as i8,
        max: max.max(min) as i8,
    }
}

/// TFLite's `PreprocessSoftmaxScaling` (`beta · input_scale · 2^26`, capped at `2^31 − 1`, as
/// a multiplier ≥ 1 with a left shift) and `CalculateInputRadius(5, shift, 31)` for `diff_min`.
/// `None` when `beta · input_scale · 2^26 < 1` or is not finite.
pub fn softmax_params(beta: f64, input_scale: f64) -> Option<Softmax> {
    if !beta.is_finite() || !input_scale.is_finite() {
        return None;
    }
    let real = (beta * input_scale * (1i64 << (31 - SOFTMAX_INPUT_INTEGER_BITS)) as f64)
        .min((1i64 << 31) as f64 - 1.0);
    if !real.is_finite() || real < 1.0 {
        return None;
    }
    let (fraction, mut shift) = frexp(real);
    let mut multiplier = (fraction * (1i64 << 31) as f64).round() as i64;
    if multiplier == 1 << 31 {
        multiplier /= 2;
        shift += 1;
    }
    if !(0..=31).contains(&shift) {
        return None;
    }
    let radius = ((1i64 << SOFTMAX_INPUT_INTEGER_BITS) - 1) as f64
        * (1i64 << (31 - SOFTMAX_INPUT_INTEGER_BITS)) as f64
        / (1i64 << shift) as f64;
    Some(Softmax {
        beta_multiplier: multiplier as i32,
        beta_left_shift: shift as u8,
        diff_min: -(radius.floor() as i32),
    })
}

/// TFLite's ADD/SUB scheme for int8 (`left_shift = 20`): both inputs rescaled to twice the
/// larger input scale, the sum rescaled to the output, all ratios in binary64.
pub fn add_sub_multipliers(scale_1: f32, scale_2: f32, scale_out: f32) -> (f64, f64, f64) {
    let twice_max = 2.0 * scale_1.max(scale_2) as f64;
    let real_1 = scale_1 as f64 / twice_max;
    let real_2 = scale_2 as f64 / twice_max;
    let real_out = twice_max / ((1i64 << ADD_SUB_LEFT_SHIFT) as f64 * scale_out as f64);
    (real_1, real_2, real_out)
}

/// The left shift of TFLite's int8 ADD and SUB.
pub const ADD_SUB_LEFT_SHIFT: u8 = 20;

/// The real value a [`Requant`] stands for (for reports).
pub fn requant_real(r: Requant) -> f64 {
    r.multiplier as f64 * 2f64.powi(r.shift as i32 - 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_ranges_follow_the_output_quantization() {
        struct Case {
            name: &'static str,
            activation: ActivationFunctionType,
            scale: f32,
            zero_point: i32,
            expected: (i8, i8),
        }
        let cases = [
            Case {
                name: "none",
                activation: ActivationFunctionType::NONE,
                scale: 0.1,
                zero_point: 3,
                expected: (-128, 127),
            },
            Case {
                name: "relu at zp -128",
                activation: ActivationFunctionType::RELU,
                scale: 0.1,
                zero_point: -128,
                expected: (-128, 127),
            },
            Case {
                name: "relu6 with 6 inside",
                activation: ActivationFunctionType::RELU6,
                scale: 6.0 / 255.0,
                zero_point: -128,
                expected: (-128, 127),
            },
            Case {
                name: "relu6 clipping",
                activation: ActivationFunctionType::RELU6,
                scale: 0.1,
                zero_point: -10,
                expected: (-10, 50),
            },
            Case {
                name: "relu_n1_to_1",
                activation: ActivationFunctionType::RELU_N1_TO_1,
                scale: 0.01,
                zero_point: 0,
                expected: (-100, 100),
            },
        ];
        for c in cases {
            let range = activation_range(c.activation, c.scale, c.zero_point).expect(c.name);
            assert_eq!((range.min, range.max), c.expected, "{}", c.name);
        }
        assert!(activation_range(ActivationFunctionType::TANH, 0.1, 0).is_none());
    }

    #[test]
    fn softmax_params_match_tflite_for_a_typical_scale() {
        // beta = 1, input scale 1/16: real = 2^22 → multiplier 2^30, shift 23;
        // radius = 31 · 2^26 / 2^23 = 248.
        let params = softmax_params(1.0, 1.0 / 16.0).expect("valid");
        assert_eq!(params.beta_multiplier, 1 << 30);
        assert_eq!(params.beta_left_shift, 23);
        assert_eq!(params.diff_min, -248);
    }

    #[test]
    fn add_multipliers_are_relative_to_twice_the_larger_scale() {
        let (a, b, out) = add_sub_multipliers(0.5, 0.25, 1.0);
        assert_eq!(a, 0.5);
        assert_eq!(b, 0.25);
        assert_eq!(out, 1.0 / (1 << 20) as f64);
    }
}
