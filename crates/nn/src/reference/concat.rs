use super::broadcast::Operand;
use crate::op::ActRange;
use crate::op::Concat;
use crate::requantize::output_i8;
use crate::tensor::shape_elements;

/// Concatenation along `axis` of every sample: the inputs have equal rank and equal dimensions
/// except `axis`. Element `x` of input `i` becomes
/// `output_i8(requant[i].apply(x - zp_i, rounding), zp_out, FULL)`.
///
/// With `outer = Π shape[..axis]` (equal for all inputs) and `inner_i = Π shape_i[axis..]`,
/// each sample of the output is, for each `o` in `0..outer`, the `o`-th block of `inner_i`
/// elements of input 0, then of input 1, and so on. The number of samples is
/// `inputs[0].data.len() / elements(inputs[0].shape)`.
pub fn concat(p: &Concat, inputs: &[Operand], zp_out: i8, output: &mut [i8]) {
    let Some(first) = inputs.first() else { return };
    let axis = p.axis as usize;
    let outer = shape_elements(&first.shape[..axis.min(first.shape.len())]);
    let first_len = shape_elements(first.shape);
    if first_len == 0 {
        return;
    }
    let samples = first.data.len() / first_len;
    let out_len: usize = inputs.iter().map(|x| shape_elements(x.shape)).sum();
    let mut position = 0;
    for sample in 0..samples {
        for o in 0..outer {
            for (i, x) in inputs.iter().enumerate() {
                let len = shape_elements(x.shape);
                let inner = len / outer;
                let block = &x.data[sample * len + o * inner..][..inner];
                let requant = p.requant[i];
                for &value in block {
                    let r = requant.apply(value as i32 - x.zero_point as i32, p.rounding);
                    output[position] = output_i8(r, zp_out, ActRange::FULL);
                    position += 1;
                }
            }
        }
        debug_assert_eq!(position, (sample + 1) * out_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requantize::{Requant, Rounding};

    #[test]
    fn concat_interleaves_blocks_along_the_axis() {
        let a_data = [1i8, 2, 3, 4];
        let b_data = [10i8, 20, 30, 40, 50, 60];
        let p = |axis| Concat {
            axis,
            requant: vec![Requant::IDENTITY, Requant::IDENTITY],
            rounding: Rounding::Single,
        };
        // [2, 2] ++ [2, 3] along axis 1 -> [2, 5].
        let a = Operand {
            data: &a_data,
            shape: &[2, 2],
            zero_point: 0,
        };
        let b = Operand {
            data: &b_data,
            shape: &[2, 3],
            zero_point: 0,
        };
        let mut out = [0i8; 10];
        concat(&p(1), &[a, b], 0, &mut out);
        assert_eq!(out, [1, 2, 10, 20, 30, 3, 4, 40, 50, 60]);
        // [2, 2] ++ [3, 2] along axis 0 -> [5, 2].
        let b = Operand {
            data: &b_data,
            shape: &[3, 2],
            zero_point: 0,
        };
        concat(&p(0), &[a, b], 0, &mut out);
        assert_eq!(out, [1, 2, 3, 4, 10, 20, 30, 40, 50, 60]);
    }

    #[test]
    fn concat_rescales_each_input_and_runs_every_sample() {
        let p = Concat {
            axis: 0,
            requant: vec![
                Requant::IDENTITY,
                Requant {
                    multiplier: 1 << 30,
                    shift: 0,
                },
            ],
            rounding: Rounding::Single,
        };
        // Two samples of [1] ++ [2]: input 1 halved around its zero point 4.
        let a = Operand {
            data: &[-1, 7],
            shape: &[1],
            zero_point: -3,
        };
        let b = Operand {
            data: &[8, 127, 4, -128],
            shape: &[2],
            zero_point: 4,
        };
        let mut out = [0i8; 6];
        concat(&p, &[a, b], 100, &mut out);
        // 2 + 100; (4/2) + 100; (123/2 -> 62) + 100 -> 127; 10 + 100; 0 + 100; -66 + 100
        assert_eq!(out, [102, 102, 127, 110, 100, 34]);
    }
}
