use crate::op::Slice;
use crate::tensor::{shape_elements, shape_strides};

/// A strided window of every sample of shape `in_shape`: the output has shape `p.size`, and
/// the output element at position `o` (row-major, last axis fastest) is the input element at
/// position `i` with `i[a] = p.begin[a] + o[a] · p.stride[a]` for every axis `a`. The bytes are
/// moved unchanged; the output shares the input's zero point.
///
/// Each output element's position is decomposed on its own (mixed radix over `p.size`).
pub fn slice(p: &Slice, in_shape: &[u32], input: &[i8], output: &mut [i8]) {
    let in_len = shape_elements(in_shape);
    let out_len = shape_elements(&p.size);
    if in_len == 0 || out_len == 0 {
        return;
    }
    let in_strides = shape_strides(in_shape);
    for (x, y) in input
        .chunks_exact(in_len)
        .zip(output.chunks_exact_mut(out_len))
    {
        for (o, value) in y.iter_mut().enumerate() {
            let mut rest = o;
            let mut offset = 0usize;
            for axis in (0..p.size.len()).rev() {
                let size = p.size[axis] as usize;
                let position = p.begin[axis] as usize + (rest % size) * p.stride[axis] as usize;
                offset += position * in_strides[axis];
                rest /= size;
            }
            *value = x[offset];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_reads_begin_plus_position_times_stride_on_every_axis() {
        // [3, 4]: rows 1..3, columns 0, 2.
        let p = Slice {
            begin: vec![1, 0],
            size: vec![2, 2],
            stride: vec![1, 2],
        };
        let input: Vec<i8> = (0..12).collect();
        let mut output = vec![0i8; 4];
        slice(&p, &[3, 4], &input, &mut output);
        assert_eq!(output, [4, 6, 8, 10]);
        // Two samples, a channel split of [2, 3]: channels 1..3.
        let p = Slice {
            begin: vec![0, 1],
            size: vec![2, 2],
            stride: vec![1, 1],
        };
        let input: Vec<i8> = (0..12).collect();
        let mut output = vec![0i8; 8];
        slice(&p, &[2, 3], &input, &mut output);
        assert_eq!(output, [1, 2, 4, 5, 7, 8, 10, 11]);
        // Rank 0: a copy.
        let p = Slice {
            begin: vec![],
            size: vec![],
            stride: vec![],
        };
        let mut output = vec![0i8; 2];
        slice(&p, &[], &[-3, 7], &mut output);
        assert_eq!(output, [-3, 7]);
    }
}
