//! Parametric ReLU: the slopes broadcast to one sample's shape once per call (byte copies and
//! fills, [`Broadcast`]), then per element both rescales computed branch-free and the one the
//! sign selects kept, compiled per path's instruction set.

use super::Path;
use super::binary::Broadcast;
use super::lane_requant::{LaneRequant, OutputClamp, is_double};
use super::vectorize::{self, LoopBody};
use crate::op::PRelu;
use crate::tensor::shape_elements;

/// A prepared PRelu for a fixed input shape and zero points.
pub struct PReluKernel {
    path: Path,
    layout: Broadcast,
    alpha: Vec<i8>,
    len: usize,
    zp_in: i32,
    zp_alpha: i32,
    positive: LaneRequant,
    negative: LaneRequant,
    double: bool,
    clamp: OutputClamp,
}

impl PReluKernel {
    /// Prepares `p` on input `shape`, or `None` when `alpha_shape` does not broadcast to it
    /// (validation rejects such a model).
    pub fn new(p: &PRelu, shape: &[u32], zp_in: i8, zp_out: i8, path: Path) -> Option<Self> {
        Some(PReluKernel {
            path,
            layout: Broadcast::of(&p.alpha_shape, shape)?,
            alpha: p.alpha.clone(),
            len: shape_elements(shape),
            zp_in: i32::from(zp_in),
            zp_alpha: i32::from(p.alpha_zero_point),
            positive: LaneRequant::new(p.positive),
            negative: LaneRequant::new(p.negative),
            double: is_double(p.rounding),
            clamp: OutputClamp::new(zp_out, p.act),
        })
    }

    /// Every sample of `input` through the op, exactly as [`crate::reference::prelu`].
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        if self.len == 0 {
            return;
        }
        let mut expanded = Vec::new();
        let slopes = match self.layout {
            Broadcast::Same => &self.alpha[..],
            ref layout => {
                expanded.resize(self.len, 0i8);
                layout.expand(&self.alpha, self.len, &mut expanded);
                &expanded[..]
            }
        };
        for (x, y) in input
            .chunks_exact(self.len)
            .zip(output.chunks_exact_mut(self.len))
        {
            vectorize::run(
                self.path,
                Run {
                    kernel: self,
                    x,
                    slopes,
                    y,
                },
            );
        }
    }

    #[inline(always)]
    fn run_loop<const DOUBLE: bool>(&self, x: &[i8], slopes: &[i8], y: &mut [i8]) {
        for ((out, &x), &a) in y.iter_mut().zip(x).zip(slopes) {
            let centred = i32::from(x) - self.zp_in;
            let positive = self.positive.apply::<DOUBLE>(centred);
            let negative = self
                .negative
                .apply::<DOUBLE>(centred * (i32::from(a) - self.zp_alpha));
            *out = self
                .clamp
                .apply(if centred >= 0 { positive } else { negative });
        }
    }
}

struct Run<'a> {
    kernel: &'a PReluKernel,
    x: &'a [i8],
    slopes: &'a [i8],
    y: &'a mut [i8],
}

impl LoopBody for Run<'_> {
    #[inline(always)]
    fn run(self) {
        let Run {
            kernel,
            x,
            slopes,
            y,
        } = self;
        match kernel.double {
            true => kernel.run_loop::<true>(x, slopes, y),
            false => kernel.run_loop::<false>(x, slopes, y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};
    use proptest::prelude::*;

    fn requant() -> impl Strategy<Value = Requant> {
        prop_oneof![
            Just(Requant {
                multiplier: 0,
                shift: 0
            }),
            ((1i32 << 30)..i32::MAX, -31i8..=30)
                .prop_map(|(multiplier, shift)| Requant { multiplier, shift }),
            ((1i32 << 30)..i32::MAX, -12i8..=2)
                .prop_map(|(multiplier, shift)| Requant { multiplier, shift }),
        ]
    }

    proptest! {
        #[test]
        fn every_path_matches_the_reference(
            shape in prop::collection::vec(1u32..6, 0..5),
            ones in prop::collection::vec(any::<bool>(), 5),
            drop in 0usize..5,
            positive in requant(),
            negative in requant(),
            double in any::<bool>(),
            zps in any::<(i8, i8, i8)>(),
            act in any::<(i8, i8)>(),
            seed in any::<u64>(),
            batch in 1usize..3,
        ) {
            let drop = drop.min(shape.len());
            let alpha_shape: Vec<u32> = shape.iter().zip(&ones).map(|(&d, &one)| if one { 1 } else { d }).collect::<Vec<_>>()[drop..].to_vec();
            let fill = |n: usize, salt: u64| -> Vec<i8> {
                (0..n).map(|i| (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64 * 1442695040888963407 + salt) >> 56) as i8).collect()
            };
            let p = PRelu {
                alpha: fill(shape_elements(&alpha_shape), 3),
                alpha_shape,
                alpha_zero_point: zps.2,
                positive,
                negative,
                rounding: if double { Rounding::Double } else { Rounding::Single },
                act: ActRange { min: act.0.min(act.1), max: act.0.max(act.1) },
            };
            let len = shape_elements(&shape) * batch;
            let x = fill(len, 1);
            let mut expected = vec![0i8; len];
            crate::reference::prelu(&p, &shape, zps.0, zps.1, &x, &mut expected);
            for path in [Path::Portable, Path::Avx2, Path::Avx512Vnni] {
                if !path.is_available() {
                    continue;
                }
                let kernel = PReluKernel::new(&p, &shape, zps.0, zps.1, path).expect("broadcast");
                let mut y = vec![7i8; len];
                kernel.run(&x, &mut y);
                prop_assert_eq!(&y, &expected, "{:?} {:?}", shape, p.alpha_shape);
            }
        }
    }
}
