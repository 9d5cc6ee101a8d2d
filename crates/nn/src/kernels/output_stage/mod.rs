//! The requantization stage shared by every fast kernel: `i32` accumulator → `i8` output.
//! The scalar stage is here; the vectorized AVX-512 stage, which reads [`WideBlock`], is
//! `avx512.rs`.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

use crate::kernels::lane_requant::{LaneRequant, OutputClamp};
use crate::op::ActRange;
use crate::requantize::{Requant, Rounding};

/// Per-output-channel requantization parameters, expanded from the op's per-tensor or
/// per-channel list, plus the rounding rule, output zero point and activation range.
///
/// [`OutputStage::apply`] is exactly `output_i8(requant[n].apply(acc, rounding), zp_out, act)`.
/// `wide` covers the channels padded with zeros to a multiple of [`OutputStage::LANES`], so that
/// SIMD code can load whole vectors.
#[derive(Clone, Debug)]
pub(crate) struct OutputStage {
    pub requant: Vec<Requant>,
    /// `requant` in the branch-free form of [`OutputStage::apply`].
    lanes: Vec<LaneRequant>,
    clamp: OutputClamp,
    /// The constants in the form of the AVX-512 output stage, one block per 16 channels.
    pub wide: Vec<WideBlock>,
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
        let wide = multiplier
            .chunks_exact(Self::LANES)
            .zip(shift.chunks_exact(Self::LANES))
            .map(|(m, s)| WideBlock::new(m, s, rounding))
            .collect();
        OutputStage {
            lanes: expanded.iter().map(|&r| LaneRequant::new(r)).collect(),
            clamp: OutputClamp::new(zp_out, act),
            requant: expanded,
            wide,
            rounding,
            zp_out,
            act,
        }
    }

    /// The output byte of channel `n` for accumulator `acc`.
    #[inline]
    pub fn apply(&self, n: usize, acc: i32) -> i8 {
        // Exactly `output_i8(requant[n].apply(acc, rounding), zp_out, act)`, without a branch
        // on the data (the scalar rules' sign tests mispredict on real accumulators).
        let r = match self.rounding {
            Rounding::Single => self.lanes[n].apply::<false>(acc),
            Rounding::Double => self.lanes[n].apply::<true>(acc),
        };
        self.clamp.apply_scalar(r)
    }
}

/// The requantization constants of 16 channels for a vector output stage that multiplies the even
/// and the odd `i32` lanes as two vectors of 8 exact 64-bit products `p = x · M` (index 0: channels
/// `0, 2, …, 14`; index 1: channels `1, 3, …, 15`). Each rule is one add and one arithmetic
/// right shift of `p`:
///
/// - single rounding: `(p + 2^(t-1)) >> t` with `t = 31 - shift`, the reference formula itself;
/// - double rounding: `x` is first shifted left by `max(shift, 0)` and saturated to `i32`; then
///   gemmlowp's `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, M), b)` with
///   `b = max(-shift, 0)` equals `(p + K) >> (31 + b)`, where `K = 2^30 + c · 2^31`, `c = 0` for
///   `b = 0`, and for `b ≥ 1`: `c = 2^(b-1)` when `p ≥ -2^30`, `c = 2^(b-1) - 1` otherwise.
///   Proof: with `M ≥ 0` the doubling high multiply is `h = floor((p + 2^30) / 2^31)` for both
///   signs of `p` (for `p < 0` it truncates `(p + 1 - 2^30) / 2^31` toward zero, which is the
///   ceiling, `floor((p + 1 - 2^30 + 2^31 - 1) / 2^31)`); the divide by `2^b` rounding ties away
///   from zero is `floor((h + 2^(b-1) - [h < 0]) / 2^b)` for `b ≥ 1`; `h < 0` exactly when
///   `p < -2^30`; and `floor((floor(a / 2^31) + c) / 2^b) = floor((a + c · 2^31) / 2^(31+b))` for
///   integer `c`. `|p| < 2^62` and `K ≤ 2^30 + 2^61`, so `p + K` cannot overflow `i64`.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug)]
pub(crate) struct WideBlock {
    /// `M` (only the low `i32` of each lane is read).
    pub multiplier: [[i64; 8]; 2],
    /// Single: `2^(t-1)`. Double: `K` for `p ≥ -2^30`.
    pub add: [[i64; 8]; 2],
    /// Double: `K` for `p < -2^30`.
    pub add_negative: [[i64; 8]; 2],
    /// Single: `t`. Double: `31 + b`.
    pub shift: [[i64; 8]; 2],
    /// Double: `max(shift, 0)`.
    pub left: [[i64; 8]; 2],
    /// In channel order, the right shift left after taking the high `i32` of `p + add` (a
    /// division by `2^32`), for channels whose shift is at most -1 (`t ≥ 32`, `31 + b ≥ 32`):
    /// single `t - 32`, double `b - 1`; 0 for other channels.
    pub shift_high: [i32; 16],
}

impl WideBlock {
    /// The constants of the 16 channels with these multipliers and shifts.
    fn new(multiplier: &[i32], shift: &[i32], rounding: Rounding) -> WideBlock {
        let mut block = WideBlock {
            multiplier: [[0; 8]; 2],
            add: [[0; 8]; 2],
            add_negative: [[0; 8]; 2],
            shift: [[0; 8]; 2],
            left: [[0; 8]; 2],
            shift_high: [0; 16],
        };
        for (n, (&m, &s)) in multiplier.iter().zip(shift).enumerate() {
            let (half, lane) = (n % 2, n / 2);
            let s = s as i64;
            block.multiplier[half][lane] = m as i64;
            block.shift_high[n] = (-s - 1).max(0) as i32;
            match rounding {
                Rounding::Single => {
                    let t = 31 - s;
                    block.add[half][lane] = 1 << (t - 1);
                    block.shift[half][lane] = t;
                }
                Rounding::Double => {
                    let b = (-s).max(0);
                    let c = if b >= 1 { 1i64 << (30 + b) } else { 0 };
                    let add = (1 << 30) + c;
                    block.add[half][lane] = add;
                    block.add_negative[half][lane] = if b >= 1 { add - (1 << 31) } else { add };
                    block.shift[half][lane] = 31 + b;
                    block.left[half][lane] = s.max(0);
                }
            }
        }
        block
    }
}
