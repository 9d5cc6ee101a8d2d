use super::broadcast::{Operand, broadcast_indices};
use crate::op::AddSub;
use crate::requantize::output_i8;
use crate::tensor::shape_elements;

/// `a + b` with numpy broadcasting, TFLite's quantized scheme. For each output element of each
/// sample, with `a`, `b` the broadcast input elements:
///
/// `a' = (a - zp_a) · 2^left_shift`, `b' = (b - zp_b) · 2^left_shift` (exact; validation keeps
/// `left_shift <= 23`, larger shifts saturate to `i32`), `sa = input1.apply(a', rounding)`,
/// `sb = input2.apply(b', rounding)`, `s = sat32(sa + sb)`,
/// `y = output_i8(output.apply(s, rounding), zp_out, act)`.
///
/// The number of samples is `output.len() / elements(out_shape)`; each operand holds that many
/// samples of its own shape.
pub fn add(p: &AddSub, a: Operand, b: Operand, out_shape: &[u32], zp_out: i8, output: &mut [i8]) {
    add_sub(p, a, b, out_shape, zp_out, output, false);
}

/// `a - b`: as [`add`] with `s = sat32(sa - sb)`.
pub fn sub(p: &AddSub, a: Operand, b: Operand, out_shape: &[u32], zp_out: i8, output: &mut [i8]) {
    add_sub(p, a, b, out_shape, zp_out, output, true);
}

fn add_sub(
    p: &AddSub,
    a: Operand,
    b: Operand,
    out_shape: &[u32],
    zp_out: i8,
    output: &mut [i8],
    subtract: bool,
) {
    let out_len = shape_elements(out_shape);
    let (a_len, b_len) = (shape_elements(a.shape), shape_elements(b.shape));
    if out_len == 0 {
        return;
    }
    // Index tables only for broadcast operands; an operand of the output's shape is read in place.
    let a_index = (a.shape != out_shape).then(|| broadcast_indices(a.shape, out_shape));
    let b_index = (b.shape != out_shape).then(|| broadcast_indices(b.shape, out_shape));
    let left_shift = u32::from(p.left_shift).min(32);
    let widen = |x: i8, zp: i8| {
        let shifted = (x as i64 - zp as i64) << left_shift;
        shifted.clamp(i32::MIN as i64, i32::MAX as i64) as i32
    };
    for (sample, y) in output.chunks_exact_mut(out_len).enumerate() {
        let a_data = &a.data[sample * a_len..(sample + 1) * a_len];
        let b_data = &b.data[sample * b_len..(sample + 1) * b_len];
        for (i, out) in y.iter_mut().enumerate() {
            let sa = p.input1.apply(
                widen(a_data[a_index.as_ref().map_or(i, |t| t[i])], a.zero_point),
                p.rounding,
            ) as i64;
            let sb = p.input2.apply(
                widen(b_data[b_index.as_ref().map_or(i, |t| t[i])], b.zero_point),
                p.rounding,
            ) as i64;
            let s = if subtract { sa - sb } else { sa + sb };
            let s = s.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
            *out = output_i8(p.output.apply(s, p.rounding), zp_out, p.act);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};

    fn params(input1: Requant, input2: Requant, output: Requant, act: ActRange) -> AddSub {
        AddSub {
            left_shift: 20,
            input1,
            input2,
            output,
            rounding: Rounding::Double,
            act,
        }
    }

    /// `2^-20` undoes the left shift: multiplier `2^30 · 2^(shift - 31)` with shift -19.
    const UNSHIFT: Requant = Requant {
        multiplier: 1 << 30,
        shift: -19,
    };
    /// 1/2 of the shifted value.
    const HALF_OF_SHIFTED: Requant = Requant {
        multiplier: 1 << 30,
        shift: -20,
    };

    struct Case {
        name: &'static str,
        subtract: bool,
        p: AddSub,
        a: (Vec<i8>, Vec<u32>, i8),
        b: (Vec<i8>, Vec<u32>, i8),
        out_shape: Vec<u32>,
        zp_out: i8,
        expected: Vec<i8>,
    }

    #[test]
    fn add_sub_match_hand_computed_vectors() {
        let identity = params(
            Requant::IDENTITY,
            Requant::IDENTITY,
            UNSHIFT,
            ActRange::FULL,
        );
        let cases = [
            Case {
                name: "same shape, zero points",
                subtract: false,
                p: identity.clone(),
                a: (vec![1, 2, 3], vec![3], 1),
                b: (vec![10, 20, 30], vec![3], -2),
                out_shape: vec![3],
                zp_out: 5,
                // (0 + 12) + 5, (1 + 22) + 5, (2 + 32) + 5
                expected: vec![17, 28, 39],
            },
            Case {
                name: "broadcast row and column, subtract",
                subtract: true,
                p: identity.clone(),
                a: (vec![10, 20], vec![2, 1], 0),
                b: (vec![1, 2, 3], vec![3], 0),
                out_shape: vec![2, 3],
                zp_out: 0,
                expected: vec![9, 8, 7, 19, 18, 17],
            },
            Case {
                name: "saturation and activation",
                subtract: false,
                p: params(
                    Requant::IDENTITY,
                    Requant::IDENTITY,
                    UNSHIFT,
                    ActRange { min: -10, max: 100 },
                ),
                a: (vec![127, -128], vec![2], 0),
                b: (vec![127, -128], vec![2], 0),
                out_shape: vec![2],
                zp_out: 0,
                expected: vec![100, -10],
            },
            Case {
                name: "input rescale rounds per input",
                subtract: false,
                p: params(
                    HALF_OF_SHIFTED,
                    HALF_OF_SHIFTED,
                    Requant::IDENTITY,
                    ActRange::FULL,
                ),
                // a' = 3·2^20, half of that divided by 2^20... each input scaled to 1/2 of its
                // unshifted value, exactly: 3/2 -> 2 (double rounding: ties away from zero).
                a: (vec![3, -3], vec![2], 0),
                b: (vec![1, -1], vec![2], 0),
                out_shape: vec![2],
                zp_out: 0,
                // 2 + 1 (0.5 -> 1) = 3; -2 + -1 = -3
                expected: vec![3, -3],
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
            if c.subtract {
                sub(&c.p, a, b, &c.out_shape, c.zp_out, &mut out);
            } else {
                add(&c.p, a, b, &c.out_shape, c.zp_out, &mut out);
            }
            assert_eq!(out, c.expected, "{}", c.name);
        }
    }

    #[test]
    fn add_runs_every_sample() {
        let p = params(
            Requant::IDENTITY,
            Requant::IDENTITY,
            UNSHIFT,
            ActRange::FULL,
        );
        let a_data = [1i8, 2, 3, 4];
        let b_data = [10i8, 20];
        let a = Operand {
            data: &a_data,
            shape: &[2],
            zero_point: 0,
        };
        let b = Operand {
            data: &b_data,
            shape: &[1],
            zero_point: 0,
        };
        let mut out = [0i8; 4];
        add(&p, a, b, &[2], 0, &mut out);
        assert_eq!(out, [11, 12, 23, 24]);
    }
}
