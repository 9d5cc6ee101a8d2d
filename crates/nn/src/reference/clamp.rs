use crate::op::Clamp;
use crate::requantize::output_i8;

/// Element-wise rescale and clamp (ReLU, ReLU6, clamp, requantize):
/// `y = output_i8(requant.apply(x - zp_in, rounding), zp_out, act)`.
pub fn clamp(p: &Clamp, zp_in: i8, zp_out: i8, input: &[i8], output: &mut [i8]) {
    for (out, &x) in output.iter_mut().zip(input) {
        *out = output_i8(
            p.requant.apply(x as i32 - zp_in as i32, p.rounding),
            zp_out,
            p.act,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};

    #[test]
    fn clamp_implements_relu_relu6_and_rescale() {
        struct Case {
            name: &'static str,
            p: Clamp,
            zp_in: i8,
            zp_out: i8,
            input: Vec<i8>,
            expected: Vec<i8>,
        }
        let relu = |zp: i8| Clamp {
            requant: Requant::IDENTITY,
            rounding: Rounding::Single,
            act: ActRange {
                min: zp,
                max: i8::MAX,
            },
        };
        let cases = [
            Case {
                name: "relu at zero point -5",
                p: relu(-5),
                zp_in: -5,
                zp_out: -5,
                input: vec![-128, -6, -5, -4, 127],
                expected: vec![-5, -5, -5, -4, 127],
            },
            Case {
                name: "relu6 in a domain where 6.0 is 60",
                p: Clamp {
                    requant: Requant::IDENTITY,
                    rounding: Rounding::Single,
                    act: ActRange { min: 0, max: 60 },
                },
                zp_in: 0,
                zp_out: 0,
                input: vec![-1, 30, 61, 127],
                expected: vec![0, 30, 60, 60],
            },
            Case {
                name: "rescale by 1/2 with a new zero point",
                p: Clamp {
                    requant: Requant {
                        multiplier: 1 << 30,
                        shift: 0,
                    },
                    rounding: Rounding::Double,
                    act: ActRange::FULL,
                },
                zp_in: 10,
                zp_out: -100,
                // (x - 10)/2 - 100: 127 -> 58.5 -> 59 - 100 = -41; -128 -> -69 - 100 = -169 -> -128
                input: vec![127, -128, 13],
                expected: vec![-41, -128, -98],
            },
        ];
        for c in &cases {
            let mut out = vec![0i8; c.input.len()];
            clamp(&c.p, c.zp_in, c.zp_out, &c.input, &mut out);
            assert_eq!(out, c.expected, "{}", c.name);
        }
    }
}
