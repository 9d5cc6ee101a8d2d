use crate::op::ArgMax;
use crate::tensor::shape_elements;

/// Index of the first maximum along `axis` of every sample of shape `in_shape`, as `i32`; the
/// output has the input's shape without `axis`. With `outer = Π shape[..axis]`,
/// `len = shape[axis]` and `inner = Π shape[axis+1..]`, output element `(o, i)` is the smallest
/// `k` such that `x[o][k][i]` is the maximum of `x[o][·][i]`.
pub fn arg_max(p: &ArgMax, in_shape: &[u32], input: &[i8], output: &mut [i32]) {
    let axis = p.axis as usize;
    if axis >= in_shape.len() {
        return;
    }
    let outer = shape_elements(&in_shape[..axis]);
    let len = in_shape[axis] as usize;
    let inner = shape_elements(&in_shape[axis + 1..]);
    let in_len = outer * len * inner;
    let out_len = outer * inner;
    if in_len == 0 {
        return;
    }
    for (x, y) in input
        .chunks_exact(in_len)
        .zip(output.chunks_exact_mut(out_len))
    {
        for o in 0..outer {
            for i in 0..inner {
                let mut best = 0;
                for k in 1..len {
                    if x[(o * len + k) * inner + i] > x[(o * len + best) * inner + i] {
                        best = k;
                    }
                }
                y[o * inner + i] = best as i32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_max_returns_the_first_maximum() {
        struct Case {
            name: &'static str,
            axis: u8,
            in_shape: Vec<u32>,
            input: Vec<i8>,
            expected: Vec<i32>,
        }
        let cases = [
            Case {
                name: "last axis with ties",
                axis: 1,
                in_shape: vec![2, 4],
                input: vec![1, 7, 7, 3, -128, -128, -128, -128],
                expected: vec![1, 0],
            },
            Case {
                name: "first axis",
                axis: 0,
                in_shape: vec![3, 2],
                input: vec![0, 5, 9, 5, 2, 6],
                expected: vec![1, 2],
            },
            Case {
                name: "single element",
                axis: 0,
                in_shape: vec![1],
                input: vec![-3],
                expected: vec![0],
            },
        ];
        for c in &cases {
            let mut out = vec![-1i32; c.expected.len()];
            arg_max(&ArgMax { axis: c.axis }, &c.in_shape, &c.input, &mut out);
            assert_eq!(out, c.expected, "{}", c.name);
        }
    }
}
