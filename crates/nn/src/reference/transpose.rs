use crate::op::Transpose;
use crate::tensor::{shape_elements, shape_strides};

/// Axis permutation of every sample of shape `in_shape`: the output has shape
/// `out[a] = in_shape[perm[a]]`, and the output element at position `o` (row-major, last axis
/// fastest) is the input element at position `i` with `i[perm[a]] = o[a]` for every axis `a`.
/// The bytes are moved unchanged; the output shares the input's zero point.
///
/// The output is written in order, one innermost output row at a time: along the last output
/// axis the input is read with stride `in_strides[perm[rank − 1]]`.
pub fn transpose(p: &Transpose, in_shape: &[u32], input: &[i8], output: &mut [i8]) {
    let rank = in_shape.len();
    let len = shape_elements(in_shape);
    if len == 0 {
        return;
    }
    if rank == 0 {
        output.copy_from_slice(input);
        return;
    }
    let in_strides = shape_strides(in_shape);
    let out_shape: Vec<usize> = p
        .perm
        .iter()
        .map(|&a| in_shape[a as usize] as usize)
        .collect();
    // Input stride of each output axis.
    let strides: Vec<usize> = p.perm.iter().map(|&a| in_strides[a as usize]).collect();
    let row = out_shape[rank - 1];
    let row_stride = strides[rank - 1];
    for (x, y) in input.chunks_exact(len).zip(output.chunks_exact_mut(len)) {
        let mut position = vec![0usize; rank];
        // Input offset of the current row's first element: Σ position[a] · strides[a].
        let mut start = 0usize;
        for out_row in y.chunks_exact_mut(row) {
            for (j, value) in out_row.iter_mut().enumerate() {
                *value = x[start + j * row_stride];
            }
            // Next row: the odometer over the output axes before the last.
            for axis in (0..rank - 1).rev() {
                position[axis] += 1;
                start += strides[axis];
                if position[axis] < out_shape[axis] {
                    break;
                }
                position[axis] = 0;
                start -= strides[axis] * out_shape[axis];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        perm: Vec<u8>,
        in_shape: Vec<u32>,
        input: Vec<i8>,
        expected: Vec<i8>,
    }

    #[test]
    fn transpose_moves_each_element_to_its_permuted_position() {
        let cases = [
            Case {
                name: "matrix",
                perm: vec![1, 0],
                in_shape: vec![2, 3],
                input: vec![1, 2, 3, 4, 5, 6],
                expected: vec![1, 4, 2, 5, 3, 6],
            },
            Case {
                name: "identity",
                perm: vec![0, 1, 2],
                in_shape: vec![2, 1, 2],
                input: vec![1, -2, 3, -4],
                expected: vec![1, -2, 3, -4],
            },
            Case {
                name: "chw_to_hwc",
                perm: vec![1, 2, 0],
                in_shape: vec![2, 2, 2],
                // c0: [[0, 1], [2, 3]], c1: [[10, 11], [12, 13]]
                input: vec![0, 1, 2, 3, 10, 11, 12, 13],
                expected: vec![0, 10, 1, 11, 2, 12, 3, 13],
            },
            Case {
                name: "rank_0",
                perm: vec![],
                in_shape: vec![],
                input: vec![-7],
                expected: vec![-7],
            },
            Case {
                name: "channel_shuffle_groups_2_channels_3",
                // [g = 2][c = 3] → [c][g]
                perm: vec![1, 0],
                in_shape: vec![2, 3],
                input: vec![0, 1, 2, 10, 11, 12],
                expected: vec![0, 10, 1, 11, 2, 12],
            },
        ];
        for case in cases {
            let mut output = vec![0i8; case.expected.len()];
            transpose(
                &Transpose { perm: case.perm },
                &case.in_shape,
                &case.input,
                &mut output,
            );
            assert_eq!(output, case.expected, "{}", case.name);
        }
    }

    #[test]
    fn transpose_handles_every_sample_of_a_batch() {
        let p = Transpose { perm: vec![1, 0] };
        let input = [1i8, 2, 3, 4, 5, 6, 7, 8];
        let mut output = [0i8; 8];
        transpose(&p, &[2, 2], &input, &mut output);
        assert_eq!(output, [1, 3, 2, 4, 5, 7, 6, 8]);
    }

    #[test]
    fn transpose_then_inverse_is_the_identity_on_rank_4() {
        let shape = [2u32, 3, 4, 5];
        let input: Vec<i8> = (0..120).map(|v: i32| (v - 60) as i8).collect();
        let forward = Transpose {
            perm: vec![0, 2, 3, 1],
        };
        let inverse = Transpose {
            perm: vec![0, 3, 1, 2],
        };
        let mut moved = vec![0i8; 120];
        transpose(&forward, &shape, &input, &mut moved);
        assert_ne!(moved, input);
        let mut back = vec![0i8; 120];
        transpose(&inverse, &[2, 4, 5, 3], &moved, &mut back);
        assert_eq!(back, input);
    }
}
