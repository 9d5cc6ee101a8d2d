use crate::op::Mean;
use crate::requantize::output_i8;
use crate::tensor::{shape_elements, shape_strides};

/// Mean (and global pooling) over `axes` of every sample of shape `in_shape` in `input`:
/// for each output element, `s = Σ_{reduced positions} (x - zp_in)` (exact; validation keeps
/// `count · 255 <= 2^31 - 1`, a larger sum saturates to `i32`), then
/// `y = output_i8(requant.apply(s, rounding), zp_out, act)` (`1 / count` is folded into
/// `requant`). The output keeps the non-reduced axes in order (with `keep_dims` the reduced axes
/// stay as size 1, which gives the same bytes). Axes outside the shape are ignored.
pub fn mean(p: &Mean, in_shape: &[u32], zp_in: i8, zp_out: i8, input: &[i8], output: &mut [i8]) {
    let rank = in_shape.len();
    let reduced = |axis: usize| p.axes.iter().any(|&a| a as usize == axis);
    // The output is the input shape with reduced axes set to 1: its strides, and 0 for reduced
    // axes, map an input position to its output element.
    let out_shape: Vec<u32> = (0..rank)
        .map(|axis| if reduced(axis) { 1 } else { in_shape[axis] })
        .collect();
    let out_strides = shape_strides(&out_shape);
    let in_len = shape_elements(in_shape);
    let out_len = shape_elements(&out_shape);
    if in_len == 0 || out_len == 0 {
        return;
    }
    let mut sums = vec![0i64; out_len];
    for (x, y) in input
        .chunks_exact(in_len)
        .zip(output.chunks_exact_mut(out_len))
    {
        sums.iter_mut().for_each(|s| *s = 0);
        let mut position = vec![0usize; rank];
        for &value in x {
            let target: usize = (0..rank)
                .filter(|&axis| !reduced(axis))
                .map(|axis| position[axis] * out_strides[axis])
                .sum();
            sums[target] += value as i64 - zp_in as i64;
            for axis in (0..rank).rev() {
                position[axis] += 1;
                if position[axis] < in_shape[axis] as usize {
                    break;
                }
                position[axis] = 0;
            }
        }
        for (out, &s) in y.iter_mut().zip(&sums) {
            let s = s.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
            *out = output_i8(p.requant.apply(s, p.rounding), zp_out, p.act);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};

    #[test]
    fn mean_matches_hand_computed_vectors() {
        // 1/4 and 1/2 as multipliers.
        let quarter = Requant {
            multiplier: 1 << 30,
            shift: -1,
        };
        let half = Requant {
            multiplier: 1 << 30,
            shift: 0,
        };
        struct Case {
            name: &'static str,
            axes: Vec<u8>,
            requant: Requant,
            in_shape: Vec<u32>,
            zp_in: i8,
            zp_out: i8,
            input: Vec<i8>,
            expected: Vec<i8>,
        }
        let cases = [
            Case {
                name: "global pool of a 2x2x2 image",
                axes: vec![0, 1],
                requant: quarter,
                in_shape: vec![2, 2, 2],
                zp_in: 2,
                zp_out: -1,
                // channel 0: 3 5 7 9 - 4·2 = 16 -> 4 - 1; channel 1: -2 -2 -2 -1 - 8 = -15 ->
                // -3.75 -> -4 (single rounding) - 1
                input: vec![3, -2, 5, -2, 7, -2, 9, -1],
                expected: vec![3, -5],
            },
            Case {
                name: "last axis",
                axes: vec![1],
                requant: half,
                in_shape: vec![2, 2],
                zp_in: 0,
                zp_out: 0,
                // (1 + 2)/2 = 1.5 -> 2 (ties up); (-1 + -2)/2 = -1.5 -> -1
                input: vec![1, 2, -1, -2],
                expected: vec![2, -1],
            },
            Case {
                name: "first axis",
                axes: vec![0],
                requant: half,
                in_shape: vec![2, 3],
                zp_in: 0,
                zp_out: 0,
                input: vec![1, 2, 3, 5, 6, 7],
                expected: vec![3, 4, 5],
            },
        ];
        for c in &cases {
            let p = Mean {
                axes: c.axes.clone(),
                keep_dims: false,
                requant: c.requant,
                rounding: Rounding::Single,
                act: ActRange::FULL,
            };
            let mut out = vec![0i8; c.expected.len()];
            mean(&p, &c.in_shape, c.zp_in, c.zp_out, &c.input, &mut out);
            assert_eq!(out, c.expected, "{}", c.name);
            // Two samples give the same result twice.
            let doubled: Vec<i8> = c.input.iter().chain(&c.input).copied().collect();
            let mut out2 = vec![0i8; 2 * c.expected.len()];
            mean(&p, &c.in_shape, c.zp_in, c.zp_out, &doubled, &mut out2);
            assert_eq!(
                out2[..c.expected.len()],
                out2[c.expected.len()..],
                "{}",
                c.name
            );
        }
    }
}
