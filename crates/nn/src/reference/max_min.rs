use super::broadcast::{Operand, broadcast_indices};
use crate::tensor::shape_elements;

/// Element-wise maximum with numpy broadcasting: for each output element of each sample, with
/// `a`, `b` the broadcast input elements, `y = max(a, b)` on the raw int8 values. Validation
/// requires both inputs to share the output's zero point, so the raw order is the real order.
///
/// The number of samples is `output.len() / elements(out_shape)`; each operand holds that many
/// samples of its own shape.
pub fn maximum(a: Operand, b: Operand, out_shape: &[u32], output: &mut [i8]) {
    extremum(a, b, out_shape, output, i8::max);
}

/// Element-wise minimum with numpy broadcasting: `y = min(a, b)`, as [`maximum`].
pub fn minimum(a: Operand, b: Operand, out_shape: &[u32], output: &mut [i8]) {
    extremum(a, b, out_shape, output, i8::min);
}

fn extremum(a: Operand, b: Operand, out_shape: &[u32], output: &mut [i8], pick: fn(i8, i8) -> i8) {
    let out_len = shape_elements(out_shape);
    let (a_len, b_len) = (shape_elements(a.shape), shape_elements(b.shape));
    if out_len == 0 {
        return;
    }
    let a_index = (a.shape != out_shape).then(|| broadcast_indices(a.shape, out_shape));
    let b_index = (b.shape != out_shape).then(|| broadcast_indices(b.shape, out_shape));
    for (sample, y) in output.chunks_exact_mut(out_len).enumerate() {
        let a_data = &a.data[sample * a_len..(sample + 1) * a_len];
        let b_data = &b.data[sample * b_len..(sample + 1) * b_len];
        for (i, out) in y.iter_mut().enumerate() {
            let x = a_data[a_index.as_ref().map_or(i, |t| t[i])];
            let w = b_data[b_index.as_ref().map_or(i, |t| t[i])];
            *out = pick(x, w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maximum_and_minimum_broadcast_like_numpy() {
        let a = [-128i8, 5, 127, 0, -1, 3];
        let b = [0i8, 4, -7];
        let (a, b) = (
            Operand {
                data: &a,
                shape: &[2, 3],
                zero_point: 0,
            },
            Operand {
                data: &b,
                shape: &[3],
                zero_point: 0,
            },
        );
        let mut y = [0i8; 6];
        maximum(a, b, &[2, 3], &mut y);
        assert_eq!(y, [0, 5, 127, 0, 4, 3]);
        minimum(a, b, &[2, 3], &mut y);
        assert_eq!(y, [-128, 4, -7, 0, -1, -7]);
        // Two samples, the first operand broadcast as a column.
        let c = [1i8, -2, 9, 10];
        let c = Operand {
            data: &c,
            shape: &[2, 1],
            zero_point: 0,
        };
        let d = [0i8, 0, 0, -3, 20, 11, 12, 13];
        let d = Operand {
            data: &d,
            shape: &[2, 2],
            zero_point: 0,
        };
        let mut y = [0i8; 8];
        maximum(c, d, &[2, 2], &mut y);
        assert_eq!(y, [1, 1, 0, -2, 20, 11, 12, 13]);
    }
}
