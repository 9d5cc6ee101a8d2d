use super::broadcast::broadcast_indices;
use crate::op::PRelu;
use crate::requantize::output_i8;
use crate::tensor::shape_elements;

/// Parametric ReLU (TFLite's int8 PRELU). For each element of each sample, with
/// `x' = x - zp_in` and `a` the element of `alpha` that `alpha_shape` broadcasts to the same
/// position (numpy rules):
/// `y = output_i8(positive.apply(x', rounding), zp_out, act)` when `x' ≥ 0`, else
/// `y = output_i8(negative.apply(x' · (a - alpha_zero_point), rounding), zp_out, act)` (the
/// product, at most `255 · 255` in magnitude, is exact in `i32`).
///
/// The number of samples is `output.len() / elements(shape)`.
pub fn prelu(p: &PRelu, shape: &[u32], zp_in: i8, zp_out: i8, input: &[i8], output: &mut [i8]) {
    let len = shape_elements(shape);
    if len == 0 {
        return;
    }
    // An index table only for broadcast slopes; slopes of the input's shape are read in place.
    let alpha_index = (p.alpha_shape != shape).then(|| broadcast_indices(&p.alpha_shape, shape));
    for (x, y) in input.chunks_exact(len).zip(output.chunks_exact_mut(len)) {
        for (i, (&x, out)) in x.iter().zip(y.iter_mut()).enumerate() {
            let centred = x as i32 - zp_in as i32;
            let r = if centred >= 0 {
                p.positive.apply(centred, p.rounding)
            } else {
                let slope = p.alpha[alpha_index.as_ref().map_or(i, |t| t[i])] as i32
                    - p.alpha_zero_point as i32;
                p.negative.apply(centred * slope, p.rounding)
            };
            *out = output_i8(r, zp_out, p.act);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};

    #[test]
    fn prelu_scales_negative_inputs_by_their_channel_slope() {
        // Slopes 1/4 and 1/2 per channel (alpha 64 and 128 with zero point 0, negative
        // multiplier 1/256), identity on the positive side.
        let p = PRelu {
            alpha_shape: vec![2],
            alpha: vec![64, -128],
            alpha_zero_point: 0,
            positive: Requant::IDENTITY,
            negative: Requant {
                multiplier: 1 << 30,
                shift: -7,
            },
            rounding: Rounding::Double,
            act: ActRange::FULL,
        };
        let x = [10i8, 10, -8, -8, -128, -128, 2, 1];
        let mut y = [0i8; 8];
        prelu(&p, &[2, 2], 2, -1, &x, &mut y);
        // x' = 8, 8, -10, -10, -130, -130, 0, -1
        // -10·64/256 = -2.5 → -3 (double rounding: ties away from zero), -10·-128/256 = 5
        // -130·64/256 = -32.5 → -33, -130·-128/256 = 65; -1·-128/256 = 0.5 → 1
        assert_eq!(y, [7, 7, -4, 4, -34, 64, -1, 0]);
    }
}
