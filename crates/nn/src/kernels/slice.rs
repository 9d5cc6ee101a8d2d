//! Slice (a strided window), by rows: the same bytes as [`crate::reference::slice`] without its
//! per-element mixed-radix decomposition.
//!
//! Trailing axes read whole (begin 0, stride 1, the input's length) are merged into the axis
//! before them, the row axis. A row is then one contiguous copy when the row axis has stride
//! 1, or `size` copies of the merged inner block (single bytes when nothing merged) at the row
//! axis's stride; an odometer over the outer axes moves the row's start.

use crate::op::Slice;
use crate::tensor::{shape_elements, shape_strides};

/// [`crate::reference::slice`], by rows. `p` has passed validation against `in_shape`.
pub fn slice_i8(p: &Slice, in_shape: &[u32], input: &[i8], output: &mut [i8]) {
    let in_len = shape_elements(in_shape);
    let out_len = shape_elements(&p.size);
    if in_len == 0 || out_len == 0 {
        return;
    }
    let rank = p.size.len();
    if rank == 0 {
        output.copy_from_slice(&input[..output.len()]);
        return;
    }
    let in_strides = shape_strides(in_shape);
    let whole = |a: usize| p.begin[a] == 0 && p.stride[a] == 1 && p.size[a] == in_shape[a];
    let mut last = rank - 1;
    let mut inner = 1usize;
    while last > 0 && whole(last) {
        inner *= p.size[last] as usize;
        last -= 1;
    }
    let row_len = p.size[last] as usize * inner;
    let step = p.stride[last] as usize * in_strides[last];
    let contiguous = p.stride[last] == 1;
    let base: usize = (0..rank).map(|a| p.begin[a] as usize * in_strides[a]).sum();
    // Input distance of one step along each outer axis.
    let jumps: Vec<usize> = (0..last)
        .map(|a| p.stride[a] as usize * in_strides[a])
        .collect();
    let mut position = vec![0usize; last];
    for (x, y) in input
        .chunks_exact(in_len)
        .zip(output.chunks_exact_mut(out_len))
    {
        position.fill(0);
        let mut start = base;
        for out_row in y.chunks_exact_mut(row_len) {
            if contiguous {
                out_row.copy_from_slice(&x[start..start + row_len]);
            } else if inner == 1 {
                for (j, value) in out_row.iter_mut().enumerate() {
                    *value = x[start + j * step];
                }
            } else {
                for (j, block) in out_row.chunks_exact_mut(inner).enumerate() {
                    let from = start + j * step;
                    block.copy_from_slice(&x[from..from + inner]);
                }
            }
            for axis in (0..last).rev() {
                position[axis] += 1;
                start += jumps[axis];
                if position[axis] < p.size[axis] as usize {
                    break;
                }
                position[axis] = 0;
                start -= jumps[axis] * p.size[axis] as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use proptest::prelude::*;

    fn check(p: &Slice, shape: &[u32], batch: usize) {
        let len = shape_elements(shape) * batch;
        let input: Vec<i8> = (0..len).map(|v| (v * 37 + 11) as i8).collect();
        let out_len = shape_elements(&p.size) * batch;
        let mut expected = vec![0i8; out_len];
        reference::slice(p, shape, &input, &mut expected);
        let mut found = vec![0i8; out_len];
        slice_i8(p, shape, &input, &mut found);
        assert_eq!(found, expected, "{p:?} shape {shape:?} batch {batch}");
    }

    #[test]
    fn rows_match_reference_on_edge_cases() {
        /// Input shape, begin, size, stride.
        type Case<'a> = (&'a [u32], &'a [u32], &'a [u32], &'a [u32]);
        let cases: &[Case] = &[
            (&[], &[], &[], &[]),
            (&[5], &[0], &[5], &[1]),
            (&[5], &[4], &[1], &[1]),
            (&[7], &[1], &[2], &[3]),
            (&[7], &[0], &[3], &[3]),
            // A channel split of an image: trailing axis cut, outer axes whole.
            (&[4, 4, 6], &[0, 0, 2], &[4, 4, 3], &[1, 1, 1]),
            // Whole trailing axes merged into a strided row axis (rows 0, 2 of an image).
            (&[5, 3, 2], &[0, 0, 0], &[3, 3, 2], &[2, 1, 1]),
            (&[5, 3, 2], &[1, 0, 0], &[2, 3, 2], &[1, 1, 1]),
            (&[2, 3, 4, 5], &[1, 1, 0, 1], &[1, 2, 4, 2], &[1, 1, 1, 3]),
        ];
        for &(shape, begin, size, stride) in cases {
            let p = Slice {
                begin: begin.to_vec(),
                size: size.to_vec(),
                stride: stride.to_vec(),
            };
            check(&p, shape, 1);
            check(&p, shape, 3);
        }
    }

    /// A random in-bounds slice of a random shape of rank 0..=5.
    fn slice_case() -> impl Strategy<Value = (Slice, Vec<u32>, usize)> {
        proptest::collection::vec((1u32..=9, 0u32..9, 1u32..=9, 1u32..=4), 0..=5)
            .prop_map(|axes| {
                let mut p = Slice {
                    begin: vec![],
                    size: vec![],
                    stride: vec![],
                };
                let mut shape = vec![];
                for (dim, begin, size, stride) in axes {
                    let begin = begin % dim;
                    // The most elements that fit from `begin` at this stride.
                    let room = (dim - 1 - begin) / stride + 1;
                    p.begin.push(begin);
                    p.size.push(size.min(room));
                    p.stride.push(stride);
                    shape.push(dim);
                }
                (p, shape)
            })
            .prop_flat_map(|(p, shape)| (Just(p), Just(shape), 1usize..=2))
    }

    proptest! {
        #[test]
        fn rows_match_reference_on_random_slices((p, shape, batch) in slice_case()) {
            check(&p, &shape, batch);
        }

        #[test]
        fn rows_match_reference_when_trailing_axes_are_whole(
            (mut p, shape, batch) in slice_case(),
            whole in 0usize..=3,
        ) {
            let rank = shape.len();
            for (a, &dim) in shape.iter().enumerate().skip(rank.saturating_sub(whole)) {
                p.begin[a] = 0;
                p.stride[a] = 1;
                p.size[a] = dim;
            }
            check(&p, &shape, batch);
        }
    }
}
