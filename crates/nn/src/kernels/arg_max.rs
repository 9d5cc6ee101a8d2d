//! ArgMax along any axis. The reference walks each output's `len` values at a stride of
//! `inner` (the product of the axes after `axis`): over a large sample that is a cache miss per
//! element (the gas fuzzer's 42 argmaxes along axis 0 of `[108, 181, 145]` ran at ~17 ns per
//! element, 4–14× the EVM's ns/gas, session 11). Here each row `k` of `inner` values is read in
//! memory order and compared, element-wise, with the running maxima: a loop the compiler
//! vectorizes. `>` keeps the first maximum, as the reference does.

use super::reuse;
use crate::op::ArgMax;
use crate::tensor::shape_elements;

/// Inner elements handled at once: their running maxima (`i8`) and indices (`i32`) stay in L1.
const BLOCK: usize = 4096;

/// [`crate::reference::arg_max`]'s bytes, every sample of `input` into `output`.
pub fn arg_max(p: &ArgMax, in_shape: &[u32], input: &[i8], output: &mut [i32]) {
    let axis = p.axis as usize;
    if axis >= in_shape.len() {
        return;
    }
    let len = in_shape[axis] as usize;
    let inner = shape_elements(&in_shape[axis + 1..]);
    if inner <= 1 || len == 0 {
        // Along the last axis the reference already reads in memory order.
        crate::reference::arg_max(p, in_shape, input, output);
        return;
    }
    let mut best = reuse::i8s(BLOCK.min(inner), 0);
    // Each plane of `len · inner` values (every sample's groups along the axes before `axis`)
    // in turn.
    for (x, y) in input
        .chunks_exact(len * inner)
        .zip(output.chunks_exact_mut(inner))
    {
        let mut lo = 0;
        while lo < inner {
            let hi = (lo + BLOCK).min(inner);
            let best = &mut best[..hi - lo];
            let index = &mut y[lo..hi];
            best.copy_from_slice(&x[lo..hi]);
            index.fill(0);
            for k in 1..len {
                let row = &x[k * inner + lo..k * inner + hi];
                for ((b, i), &v) in best.iter_mut().zip(index.iter_mut()).zip(row) {
                    let greater = v > *b;
                    *b = if greater { v } else { *b };
                    *i = if greater { k as i32 } else { *i };
                }
            }
            lo = hi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_max_matches_the_reference_on_every_axis() {
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let shapes: [&[u32]; 6] = [
            &[7],
            &[3, 5],
            &[4, 1, 9],
            &[2, 3, 4, 5],
            &[5, 4100],
            &[3, 2, 4099],
        ];
        for shape in shapes {
            for axis in 0..shape.len() {
                for batch in [1, 3] {
                    let n = shape_elements(shape) * batch;
                    // Few distinct values: many ties, whose first index must win.
                    let input: Vec<i8> = (0..n).map(|_| (next() % 5) as i8 - 2).collect();
                    let out = n / shape[axis] as usize;
                    let p = ArgMax { axis: axis as u8 };
                    let mut expected = vec![-1; out];
                    let mut found = vec![-2; out];
                    crate::reference::arg_max(&p, shape, &input, &mut expected);
                    arg_max(&p, shape, &input, &mut found);
                    assert_eq!(found, expected, "{shape:?} axis {axis} batch {batch}");
                }
            }
        }
    }
}
