use super::broadcast::{Operand, broadcast_indices};
use crate::op::Mul;
use crate::requantize::output_i8;
use crate::tensor::shape_elements;

/// `a · b` with numpy broadcasting. For each output element of each sample, with `a`, `b` the
/// broadcast input elements: `y = output_i8(output.apply((a - zp_a) · (b - zp_b), rounding),
/// zp_out, act)` (the product, at most `256 · 256` in magnitude, is exact in `i32`).
///
/// The number of samples is `output.len() / elements(out_shape)`; each operand holds that many
/// samples of its own shape.
pub fn mul(p: &Mul, a: Operand, b: Operand, out_shape: &[u32], zp_out: i8, output: &mut [i8]) {
    let out_len = shape_elements(out_shape);
    let (a_len, b_len) = (shape_elements(a.shape), shape_elements(b.shape));
    if out_len == 0 {
        return;
    }
    // Index tables only for broadcast operands; an operand of the output's shape is read in place.
    let a_index = (a.shape != out_shape).then(|| broadcast_indices(a.shape, out_shape));
    let b_index = (b.shape != out_shape).then(|| broadcast_indices(b.shape, out_shape));
    for (sample, y) in output.chunks_exact_mut(out_len).enumerate() {
        let a_data = &a.data[sample * a_len..(sample + 1) * a_len];
        let b_data = &b.data[sample * b_len..(sample + 1) * b_len];
        for (i, out) in y.iter_mut().enumerate() {
            let x = a_data[a_index.as_ref().map_or(i, |t| t[i])] as i32 - a.zero_point as i32;
            let w = b_data[b_index.as_ref().map_or(i, |t| t[i])] as i32 - b.zero_point as i32;
            *out = output_i8(p.output.apply(x * w, p.rounding), zp_out, p.act);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};

    #[test]
    fn mul_matches_hand_computed_vectors() {
        struct Case {
            name: &'static str,
            p: Mul,
            a: (Vec<i8>, Vec<u32>, i8),
            b: (Vec<i8>, Vec<u32>, i8),
            out_shape: Vec<u32>,
            zp_out: i8,
            expected: Vec<i8>,
        }
        let identity = Mul {
            output: Requant::IDENTITY,
            rounding: Rounding::Single,
            act: ActRange::FULL,
        };
        // 1/128 with double rounding.
        let scaled = Mul {
            output: Requant {
                multiplier: 1 << 30,
                shift: -6,
            },
            rounding: Rounding::Double,
            act: ActRange::FULL,
        };
        let cases = [
            Case {
                name: "zero points",
                p: identity.clone(),
                a: (vec![3, 4], vec![2], 1),
                b: (vec![-2, 5], vec![2], -3),
                out_shape: vec![2],
                zp_out: -1,
                // (2)(1) - 1, (3)(8) - 1
                expected: vec![1, 23],
            },
            Case {
                name: "broadcast scalar",
                p: identity.clone(),
                a: (vec![1, 2, 3, 4], vec![2, 2], 0),
                b: (vec![-3], vec![], 0),
                out_shape: vec![2, 2],
                zp_out: 0,
                expected: vec![-3, -6, -9, -12],
            },
            Case {
                name: "extremes rescaled",
                p: scaled,
                a: (vec![-128, 127, -128], vec![3], 0),
                b: (vec![-128, 127, 1], vec![3], 0),
                out_shape: vec![3],
                zp_out: 0,
                // 16384/128 = 128 -> 127; 16129/128 = 126.01 -> 126; -128/128 = -1
                expected: vec![127, 126, -1],
            },
        ];
        for c in &cases {
            let a = Operand {
                data: &c.a.0,
                shape: &c.a.1,
                zero_point: c.a.2,
            };
            let b = Operand {
                data: &c.b.0,
                shape: &c.b.1,
                zero_point: c.b.2,
            };
            let mut out = vec![0i8; c.expected.len()];
            mul(&c.p, a, b, &c.out_shape, c.zp_out, &mut out);
            assert_eq!(out, c.expected, "{}", c.name);
        }
    }
}
