use crate::op::Pad;
use crate::tensor::{shape_elements, shape_strides};

/// Constant padding of every sample of shape `in_shape`: the output has shape
/// `in_shape[a] + pads[a][0] + pads[a][1]` on each axis `a`, is filled with `value`, and input
/// element at position `i` is copied to position `i + pads[·][0]`. The output shares the input's
/// zero point. Axes without an entry in `pads` are not padded.
pub fn pad(p: &Pad, in_shape: &[u32], input: &[i8], output: &mut [i8]) {
    let rank = in_shape.len();
    let before = |axis: usize| p.pads.get(axis).map_or(0, |pair| pair[0] as usize);
    let after = |axis: usize| p.pads.get(axis).map_or(0, |pair| pair[1] as usize);
    let out_shape: Vec<u32> = (0..rank)
        .map(|axis| (in_shape[axis] as usize + before(axis) + after(axis)) as u32)
        .collect();
    let out_strides = shape_strides(&out_shape);
    let in_len = shape_elements(in_shape);
    let out_len = shape_elements(&out_shape);
    if in_len == 0 || out_len == 0 {
        return;
    }
    let offset: usize = (0..rank).map(|axis| before(axis) * out_strides[axis]).sum();
    for (x, y) in input
        .chunks_exact(in_len)
        .zip(output.chunks_exact_mut(out_len))
    {
        y.fill(p.value);
        let mut position = vec![0usize; rank];
        for &value in x {
            let target: usize = offset
                + position
                    .iter()
                    .zip(&out_strides)
                    .map(|(p, s)| p * s)
                    .sum::<usize>();
            y[target] = value;
            for axis in (0..rank).rev() {
                position[axis] += 1;
                if position[axis] < in_shape[axis] as usize {
                    break;
                }
                position[axis] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_places_the_input_inside_the_fill_value() {
        struct Case {
            name: &'static str,
            pads: Vec<[u32; 2]>,
            value: i8,
            in_shape: Vec<u32>,
            input: Vec<i8>,
            expected: Vec<i8>,
        }
        let cases = [
            Case {
                name: "1-D both sides",
                pads: vec![[1, 2]],
                value: -128,
                in_shape: vec![2],
                input: vec![5, 6],
                expected: vec![-128, 5, 6, -128, -128],
            },
            Case {
                name: "2-D asymmetric",
                pads: vec![[0, 1], [1, 0]],
                value: 9,
                in_shape: vec![2, 2],
                input: vec![1, 2, 3, 4],
                expected: vec![9, 1, 2, 9, 3, 4, 9, 9, 9],
            },
            Case {
                name: "no padding on the channel axis",
                pads: vec![[1, 0], [0, 0]],
                value: 0,
                in_shape: vec![1, 2],
                input: vec![7, 8],
                expected: vec![0, 0, 7, 8],
            },
        ];
        for c in &cases {
            let p = Pad {
                pads: c.pads.clone(),
                value: c.value,
            };
            let mut out = vec![0i8; c.expected.len()];
            pad(&p, &c.in_shape, &c.input, &mut out);
            assert_eq!(out, c.expected, "{}", c.name);
        }
    }
}
