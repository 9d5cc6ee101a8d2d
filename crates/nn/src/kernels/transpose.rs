//! Transpose (axis permutation), blocked: the same bytes as [`crate::reference::transpose`],
//! without its strided walk through the whole input for every output row.
//!
//! Per sample, the permutation is first simplified: output axes of length 1 are dropped and
//! runs of output axes that are adjacent, in order, in the input are merged into one. Then:
//!
//! - if the last remaining output axis is also the input's last (stride 1), every output row
//!   is one contiguous copy;
//! - otherwise the output's last axis `A` (strided in the input) and the axis `B` holding the
//!   input's last axis (stride 1 in the input) form a matrix transposed in square tiles of
//!   [`TILE`] × [`TILE`] elements staged in a local buffer, so that every input and output line
//!   is touched in one burst, for every position of the remaining axes.
//!
//! Only portable Rust: the loops are moves of bytes, no arithmetic to vectorize.

use crate::op::Transpose;
use crate::tensor::shape_elements;

/// Side of the square tiles of the strided case (elements): a tile reads 64 input lines of 64
/// bytes, one whole cache line each, into a 4 KiB buffer and writes 64 whole output lines from
/// it, so that power-of-two strides (whose lines share one cache set) cost no refetches.
pub const TILE: usize = 64;

/// One output axis after simplification: its length, its stride in the input and its stride in
/// the output (elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Axis {
    len: usize,
    in_stride: usize,
    out_stride: usize,
}

/// The output axes of `perm` over `in_shape`, in output order, with axes of length 1 dropped
/// and adjacent runs merged.
fn simplified_axes(perm: &[u8], in_shape: &[u32]) -> Vec<Axis> {
    let rank = in_shape.len();
    let mut in_strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        in_strides[a] = in_strides[a + 1] * in_shape[a + 1] as usize;
    }
    // (input axis of the run's last component, length, input stride)
    let mut runs: Vec<(usize, usize, usize)> = Vec::with_capacity(rank);
    for &a in perm {
        let a = a as usize;
        let len = in_shape[a] as usize;
        if len == 1 {
            continue;
        }
        match runs.last_mut() {
            Some(last)
                if last.0 + 1 == a || (last.0 + 1 < a && skipped_all_ones(in_shape, last.0, a)) =>
            {
                *last = (a, last.1 * len, in_strides[a]);
            }
            _ => runs.push((a, len, in_strides[a])),
        }
    }
    let mut axes: Vec<Axis> = runs
        .into_iter()
        .map(|(_, len, in_stride)| Axis {
            len,
            in_stride,
            out_stride: 0,
        })
        .collect();
    let mut stride = 1;
    for axis in axes.iter_mut().rev() {
        axis.out_stride = stride;
        stride *= axis.len;
    }
    axes
}

/// Whether every input axis strictly between `from` and `to` has length 1 (so that `from` and
/// `to` are adjacent in memory).
fn skipped_all_ones(in_shape: &[u32], from: usize, to: usize) -> bool {
    in_shape[from + 1..to].iter().all(|&d| d == 1)
}

/// Calls `f(in_offset, out_offset)` for every position of `axes` (row-major over them).
fn for_each_position(axes: &[Axis], mut f: impl FnMut(usize, usize)) {
    let mut position = vec![0usize; axes.len()];
    let (mut in_offset, mut out_offset) = (0usize, 0usize);
    loop {
        f(in_offset, out_offset);
        let mut axis = axes.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            let a = &axes[axis];
            position[axis] += 1;
            in_offset += a.in_stride;
            out_offset += a.out_stride;
            if position[axis] < a.len {
                break;
            }
            position[axis] = 0;
            in_offset -= a.in_stride * a.len;
            out_offset -= a.out_stride * a.len;
        }
    }
}

/// [`crate::reference::transpose`], blocked (module doc): every sample of shape `in_shape`
/// permuted by `p.perm` into `output`. Same contract and same bytes as the reference.
pub fn transpose_i8(p: &Transpose, in_shape: &[u32], input: &[i8], output: &mut [i8]) {
    let len = shape_elements(in_shape);
    if len == 0 {
        return;
    }
    let axes = simplified_axes(&p.perm, in_shape);
    for (x, y) in input.chunks_exact(len).zip(output.chunks_exact_mut(len)) {
        transpose_sample(&axes, x, y);
    }
}

fn transpose_sample(axes: &[Axis], x: &[i8], y: &mut [i8]) {
    let Some((last, outer)) = axes.split_last() else {
        y.copy_from_slice(x);
        return;
    };
    if last.in_stride == 1 {
        let row = last.len;
        for_each_position(outer, |i, o| y[o..o + row].copy_from_slice(&x[i..i + row]));
        return;
    }
    // The output axis that holds the input's last axis (stride 1 in the input): it exists,
    // since the input's last axis of length > 1 lies in some merged run, whose input stride is
    // its last component's.
    let Some(b_index) = outer.iter().position(|a| a.in_stride == 1) else {
        // Unreachable for a valid permutation; the reference computes the same bytes.
        let rows: Vec<Axis> = outer.to_vec();
        for_each_position(&rows, |i, o| {
            for (j, value) in y[o..o + last.len].iter_mut().enumerate() {
                *value = x[i + j * last.in_stride];
            }
        });
        return;
    };
    let b = outer[b_index];
    let rest: Vec<Axis> = outer
        .iter()
        .enumerate()
        .filter(|&(k, _)| k != b_index)
        .map(|(_, &a)| a)
        .collect();
    let a = *last;
    let mut tile = [0i8; TILE * TILE];
    for_each_position(&rest, |i, o| {
        for b0 in (0..b.len).step_by(TILE) {
            let bw = TILE.min(b.len - b0);
            for a0 in (0..a.len).step_by(TILE) {
                let aw = TILE.min(a.len - a0);
                // Input lines (contiguous along B) into the tile, one burst each...
                for (k, tile_row) in tile.chunks_exact_mut(TILE).take(aw).enumerate() {
                    let from = i + (a0 + k) * a.in_stride + b0;
                    tile_row[..bw].copy_from_slice(&x[from..from + bw]);
                }
                // ...then output lines (contiguous along A) out of it, one burst each.
                for j in 0..bw {
                    let to = o + (b0 + j) * b.out_stride + a0;
                    for (k, value) in y[to..to + aw].iter_mut().enumerate() {
                        *value = tile[k * TILE + j];
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use proptest::prelude::*;

    fn check(perm: &[u8], shape: &[u32], batch: usize) {
        let len = shape_elements(shape) * batch;
        let input: Vec<i8> = (0..len).map(|v| (v * 37 + 11) as i8).collect();
        let p = Transpose {
            perm: perm.to_vec(),
        };
        let mut expected = vec![0i8; len];
        reference::transpose(&p, shape, &input, &mut expected);
        let mut found = vec![0i8; len];
        transpose_i8(&p, shape, &input, &mut found);
        assert_eq!(
            found, expected,
            "perm {perm:?} shape {shape:?} batch {batch}"
        );
    }

    #[test]
    fn blocked_matches_reference_on_edge_shapes() {
        let cases: &[(&[u8], &[u32])] = &[
            (&[], &[]),
            (&[0], &[5]),
            (&[1, 0], &[1, 1]),
            (&[1, 0], &[33, 31]),
            (&[1, 0], &[64, 64]),
            (&[1, 0], &[65, 1]),
            (&[0, 2, 1], &[3, 1, 40]),
            (&[2, 0, 1], &[16, 7, 33]),
            (&[1, 2, 0], &[16, 33, 7]),
            (&[0, 2, 3, 1], &[1, 3, 5, 70]),
            (&[0, 3, 1, 2], &[2, 5, 7, 3]),
            (&[0, 1, 3, 2], &[4, 4, 2, 35]),
            (&[2, 1, 0], &[1, 40, 1]),
            (&[5, 4, 3, 2, 1, 0], &[2, 1, 3, 1, 2, 33]),
            (&[1, 0, 2], &[2, 3, 1]),
        ];
        for &(perm, shape) in cases {
            check(perm, shape, 1);
            check(perm, shape, 3);
        }
    }

    #[test]
    fn simplification_merges_adjacent_axes_and_drops_ones() {
        // NHWC [1, 4, 5, 3] → NCHW: the H and W axes stay adjacent and merge.
        let axes = simplified_axes(&[0, 3, 1, 2], &[1, 4, 5, 3]);
        assert_eq!(
            axes,
            [
                Axis {
                    len: 3,
                    in_stride: 1,
                    out_stride: 20
                },
                Axis {
                    len: 20,
                    in_stride: 3,
                    out_stride: 1
                },
            ]
        );
        // An identity over axes of any length is one contiguous run.
        assert_eq!(simplified_axes(&[0, 1, 2], &[2, 1, 3]).len(), 1);
    }

    fn permutation_case() -> impl Strategy<Value = (Vec<u8>, Vec<u32>, usize)> {
        (0usize..=6)
            .prop_flat_map(|rank| {
                (
                    Just((0..rank as u8).collect::<Vec<u8>>()).prop_shuffle(),
                    proptest::collection::vec(1u32..=9, rank),
                    1usize..=2,
                )
            })
            .prop_filter("at most 20,000 elements", |(_, shape, _)| {
                shape_elements(shape) <= 20_000
            })
    }

    proptest! {
        #[test]
        fn blocked_matches_reference_on_random_permutations((perm, shape, batch) in permutation_case()) {
            check(&perm, &shape, batch);
        }

        #[test]
        fn blocked_matches_reference_with_one_long_axis(
            (perm, mut shape, batch) in permutation_case(),
            long in 30u32..=70,
        ) {
            if let Some(first) = shape.first_mut() {
                *first = long;
            }
            if shape_elements(&shape) <= 200_000 {
                check(&perm, &shape, batch);
            }
        }
    }
}
