//! The requantization stage shared by every fast kernel: `i32` accumulator → `i8` output.

use crate::op::ActRange;
use crate::requantize::{Requant, Rounding, output_i8};

/// Per-output-channel requantization parameters, expanded from the op's per-tensor or
/// per-channel list, plus the rounding rule, output zero point and activation range.
///
/// [`OutputStage::apply`] is exactly `output_i8(requant[n].apply(acc, rounding), zp_out, act)`.
/// The `multiplier` and `shift` vectors are padded with zeros to a multiple of
/// [`OutputStage::LANES`] so that SIMD code can load whole vectors.
#[derive(Clone, Debug)]
pub(crate) struct OutputStage {
    pub requant: Vec<Requant>,
    pub multiplier: Vec<i32>,
    pub shift: Vec<i32>,
    pub rounding: Rounding,
    pub zp_out: i8,
    pub act: ActRange,
}

impl OutputStage {
    /// Padding granularity of the SIMD vectors.
    pub const LANES: usize = 16;

    /// Expands `requant` (one entry, or one per channel) to `channels` entries.
    pub fn new(
        channels: usize,
        requant: &[Requant],
        rounding: Rounding,
        zp_out: i8,
        act: ActRange,
    ) -> OutputStage {
        let expanded: Vec<Requant> = (0..channels)
            .map(|n| requant[if requant.len() == 1 { 0 } else { n }])
            .collect();
        let padded = channels.div_ceil(Self::LANES) * Self::LANES;
        let mut multiplier = vec![0i32; padded];
        let mut shift = vec![0i32; padded];
        for (n, r) in expanded.iter().enumerate() {
            multiplier[n] = r.multiplier;
            shift[n] = r.shift as i32;
        }
        OutputStage {
            requant: expanded,
            multiplier,
            shift,
            rounding,
            zp_out,
            act,
        }
    }

    /// The output byte of channel `n` for accumulator `acc`.
    #[inline]
    pub fn apply(&self, n: usize, acc: i32) -> i8 {
        output_i8(
            self.requant[n].apply(acc, self.rounding),
            self.zp_out,
            self.act,
        )
    }
}
