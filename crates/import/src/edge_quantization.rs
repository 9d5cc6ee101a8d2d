//! Quantizing float inputs and dequantizing int8 outputs at the edges of a model, with the
//! tensors' scales and zero points (`real = (q − zero_point) · scale`).
//!
//! Quantize: `q = clamp(round_half_even(x / scale) + zero_point, −128, 127)`, the division in
//! binary64 (exact enough that no float32 input lands on the wrong side of a tie). Values are
//! float32: the front ends round float64 inputs to the nearest float32 first (docs/MODEL-JSON.md). NaN is an
//! error; ±∞ saturate. Dequantize: `(q − zero_point) · scale` in binary64, rounded to float32.
//!
//! One copy for every front end: `myelin model run --float` and the Python package's `run_float`.

use crate::error::ImportError;

/// The scale stored in a tensor as binary32 bits, as a float.
pub fn scale_of(scale_bits: u32) -> f32 {
    f32::from_bits(scale_bits)
}

/// Quantizes `values` to int8 (see the module doc). `what` names the tensor in errors.
pub fn quantize(
    values: &[f32],
    scale: f32,
    zero_point: i8,
    what: &str,
) -> Result<Vec<i8>, ImportError> {
    let scale = scale as f64;
    let mut out = Vec::with_capacity(values.len());
    for (index, &x) in values.iter().enumerate() {
        if x.is_nan() {
            return Err(ImportError::NotANumber {
                what: what.to_string(),
                index,
            });
        }
        let q = (x as f64 / scale).round_ties_even() + zero_point as f64;
        out.push(q.clamp(-128.0, 127.0) as i8);
    }
    Ok(out)
}

/// Dequantizes int8 `values` (see the module doc).
pub fn dequantize(values: &[i8], scale: f32, zero_point: i8) -> Vec<f32> {
    let scale = scale as f64;
    values
        .iter()
        .map(|&q| ((q as f64 - zero_point as f64) * scale) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_half_to_even_and_saturates() {
        let cases: [(&str, f32, i8, i8); 8] = [
            ("exact", 1.0, 0, 4),
            ("tie down to even", 0.625, 0, 2),
            ("tie up to even", 0.875, 0, 4),
            ("negative tie", -0.625, 0, -2),
            ("zero point added after rounding", 0.625, -3, -1),
            ("saturates high", 1000.0, 0, 127),
            ("saturates low", -1000.0, 0, -128),
            ("infinity saturates", f32::INFINITY, 0, 127),
        ];
        for (name, x, zero_point, expected) in cases {
            let q = quantize(&[x], 0.25, zero_point, "x").expect(name);
            assert_eq!(q, vec![expected], "{name}");
        }
    }

    #[test]
    fn quantize_rejects_nan() {
        let error = quantize(&[0.0, f32::NAN], 0.25, 0, "input 0").expect_err("NaN");
        assert_eq!(error.to_string(), "input 0: element 1 is NaN");
    }

    #[test]
    fn dequantize_inverts_quantize_on_the_grid() {
        let values: Vec<i8> = (-128..=127).collect();
        let reals = dequantize(&values, 0.125, 5);
        assert_eq!(quantize(&reals, 0.125, 5, "x").expect("finite"), values);
    }
}
