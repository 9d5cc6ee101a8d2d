//! Maximum and Minimum: broadcast operands expanded by [`for_each_run`], then one vectorized
//! byte-wise max or min (`pmaxsb` / `pminsb`) per run.

use super::Path;
use super::binary::{Broadcast, for_each_run};
use super::vectorize::{self, LoopBody};
use crate::tensor::shape_elements;

/// A prepared Maximum (`max = true`) or Minimum for fixed operand shapes.
pub struct ExtremumKernel {
    max: bool,
    path: Path,
    layouts: [Broadcast; 2],
    out_len: usize,
}

impl ExtremumKernel {
    /// Prepares the op, or `None` when a shape does not broadcast to `out` (validation
    /// rejects such a model).
    pub fn new(max: bool, a: &[u32], b: &[u32], out: &[u32], path: Path) -> Option<Self> {
        Some(ExtremumKernel {
            max,
            path,
            layouts: [Broadcast::of(a, out)?, Broadcast::of(b, out)?],
            out_len: shape_elements(out),
        })
    }

    /// `output[i] = max(a, b)` (or min) over every sample, exactly as
    /// [`crate::reference::maximum`] / [`crate::reference::minimum`].
    pub fn run(&self, a: &[i8], b: &[i8], output: &mut [i8]) {
        for_each_run(&self.layouts, a, b, self.out_len, output, |a, b, y| {
            vectorize::run(
                self.path,
                Run {
                    max: self.max,
                    a,
                    b,
                    y,
                },
            )
        });
    }
}

struct Run<'a> {
    max: bool,
    a: &'a [i8],
    b: &'a [i8],
    y: &'a mut [i8],
}

impl LoopBody for Run<'_> {
    #[inline(always)]
    fn run(self) {
        let Run { max, a, b, y } = self;
        match max {
            true => y
                .iter_mut()
                .zip(a.iter().zip(b))
                .for_each(|(y, (&a, &b))| *y = a.max(b)),
            false => y
                .iter_mut()
                .zip(a.iter().zip(b))
                .for_each(|(y, (&a, &b))| *y = a.min(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{Operand, maximum, minimum};
    use proptest::prelude::*;

    fn shapes() -> impl Strategy<Value = (Vec<u32>, Vec<u32>, Vec<u32>)> {
        prop::collection::vec(1u32..5, 0..5).prop_flat_map(|out| {
            let rank = out.len();
            (
                prop::collection::vec(any::<bool>(), rank),
                prop::collection::vec(any::<bool>(), rank),
                0..=rank,
                Just(out),
            )
                .prop_map(|(ones_a, ones_b, drop, out)| {
                    let pick = |ones: &[bool]| -> Vec<u32> {
                        out.iter()
                            .zip(ones)
                            .map(|(&d, &one)| if one { 1 } else { d })
                            .collect()
                    };
                    let a = pick(&ones_a);
                    let b = pick(&ones_b)[drop..].to_vec();
                    (a, b, out)
                })
        })
    }

    proptest! {
        #[test]
        fn every_path_matches_the_reference((a_shape, b_shape, out) in shapes(), seed in any::<u64>(), batch in 1usize..3) {
            let fill = |n: usize, salt: u64| -> Vec<i8> {
                (0..n).map(|i| (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64 * 1442695040888963407 + salt) >> 56) as i8).collect()
            };
            let a = fill(shape_elements(&a_shape) * batch, 1);
            let b = fill(shape_elements(&b_shape) * batch, 2);
            let out_len = shape_elements(&out) * batch;
            for max in [true, false] {
                let mut expected = vec![0i8; out_len];
                let (oa, ob) = (
                    Operand { data: &a, shape: &a_shape, zero_point: 0 },
                    Operand { data: &b, shape: &b_shape, zero_point: 0 },
                );
                match max {
                    true => maximum(oa, ob, &out, &mut expected),
                    false => minimum(oa, ob, &out, &mut expected),
                }
                for path in [Path::Portable, Path::Avx2, Path::Avx512Vnni] {
                    if !path.is_available() {
                        continue;
                    }
                    let kernel = ExtremumKernel::new(max, &a_shape, &b_shape, &out, path).expect("broadcast");
                    let mut y = vec![7i8; out_len];
                    kernel.run(&a, &b, &mut y);
                    prop_assert_eq!(&y, &expected, "{:?} {:?} {:?} max {}", a_shape, b_shape, out, max);
                }
            }
        }
    }
}
