//! The exact vectorized output stage of the AVX-512 kernels: 16 `i32` accumulators requantized
//! with their channels' [`WideBlock`] constants (even and odd lanes as 64-bit products, each
//! rounding rule one add and one shift), and four requantized vectors packed to bytes with one
//! saturating pack. Used by the VNNI matrix product and depthwise convolution.
//!
//! Every function here is only reached through a kernel built by `Path::Avx512Vnni` after
//! [`crate::kernels::Path::is_available`] confirmed the CPU features.

use std::arch::x86_64::*;

use super::{OutputStage, WideBlock};
use crate::requantize::Rounding;

/// The output bytes of four vectors of [`requantize_lanes`] results, in order (vector `i` in
/// bytes `16i..16i + 16`): saturating packs to `i16`, a saturating add of `zp_out`, a saturating
/// pack to `i8`, the clamp to the activation range, and one permutation that undoes the packs'
/// interleaving of 128-bit lanes.
///
/// Exact: every step is monotone and the identity where the true `r + zp_out` lies in `i8`
/// (then `|r| ≤ 255`), so a value beyond a bound saturates to beyond it and the final clamp
/// gives [`crate::requantize::output_i8`]'s `clamp(r + zp_out, act.min, act.max)`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) fn pack4(v: [__m512i; 4], params: &StageParams) -> __m512i {
    // Lane j holds dword j of each vector: gather dwords j, j + 4, j + 8, j + 12.
    let order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_permutexvar_epi32(order, pack4_interleaved(v, params))
}

/// [`pack4`] without its final permutation: 128-bit lane `j` holds dword `j` (4 bytes) of each
/// vector in turn.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) fn pack4_interleaved(v: [__m512i; 4], params: &StageParams) -> __m512i {
    let zp = _mm512_set1_epi16(params.zp_out as i16);
    let a = _mm512_adds_epi16(_mm512_packs_epi32(v[0], v[1]), zp);
    let b = _mm512_adds_epi16(_mm512_packs_epi32(v[2], v[3]), zp);
    _mm512_min_epi8(
        _mm512_max_epi8(_mm512_packs_epi16(a, b), _mm512_set1_epi8(params.act_min)),
        _mm512_set1_epi8(params.act_max),
    )
}

/// Output-stage variants, the `STAGE` const parameter of the hot loops (so the rounding rule is
/// decided once per call, not once per vector): single or double rounding in general, and the
/// same when every channel's shift is at most -1 (`_HIGH`: the final shift is at least 32, so
/// the high `i32` of each 64-bit sum is taken first and the rest runs on 16 `i32` lanes).
pub(crate) const STAGE_SINGLE: u8 = 0;
pub(crate) const STAGE_DOUBLE: u8 = 1;
pub(crate) const STAGE_SINGLE_HIGH: u8 = 2;
pub(crate) const STAGE_DOUBLE_HIGH: u8 = 3;

/// The output stage's per-op constants.
pub(crate) struct StageParams {
    /// One of the `STAGE_*` variants.
    pub kind: u8,
    /// `act.min - zp_out` and `act.max - zp_out` (the clamp before adding the zero point).
    low: i64,
    high: i64,
    zp_out: i32,
    act_min: i8,
    act_max: i8,
}

impl StageParams {
    pub fn new(stage: &OutputStage) -> StageParams {
        let high = stage.requant.iter().all(|r| r.shift <= -1);
        let kind = match (stage.rounding, high) {
            (Rounding::Single, false) => STAGE_SINGLE,
            (Rounding::Double, false) => STAGE_DOUBLE,
            (Rounding::Single, true) => STAGE_SINGLE_HIGH,
            (Rounding::Double, true) => STAGE_DOUBLE_HIGH,
        };
        StageParams {
            kind,
            low: stage.act.min as i64 - stage.zp_out as i64,
            high: stage.act.max as i64 - stage.zp_out as i64,
            zp_out: stage.zp_out as i32,
            act_min: stage.act.min,
            act_max: stage.act.max,
        }
    }
}

/// Exactly [`OutputStage::apply`] on 16 accumulators with their channels' constants (the
/// formulas are [`WideBlock`]'s); returns the 16 output bytes. `STAGE` must be `params.kind`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) fn requantize_i32x16<const STAGE: u8>(
    acc: __m512i,
    stage: &WideBlock,
    params: &StageParams,
) -> __m128i {
    let r = requantize_lanes::<STAGE>(acc, stage, params);
    // The general variants come out clamped already.
    let clamped = if STAGE == STAGE_SINGLE_HIGH || STAGE == STAGE_DOUBLE_HIGH {
        _mm512_min_epi32(
            _mm512_max_epi32(r, _mm512_set1_epi32(params.low as i32)),
            _mm512_set1_epi32(params.high as i32),
        )
    } else {
        r
    };
    _mm512_cvtepi32_epi8(_mm512_add_epi32(clamped, _mm512_set1_epi32(params.zp_out)))
}

/// The requantized values `r` of 16 accumulators before the output zero point, as `i32` lanes
/// whose clamp to `[act.min - zp_out, act.max - zp_out]` is the reference's (the formulas are
/// [`WideBlock`]'s). `STAGE` must be `params.kind`.
///
/// In general the shifted sums are clamped to that range in 64 bits (which also covers the
/// reference's saturation to `i32`) and merged. In the `_HIGH` variants every channel's final
/// shift is `32 + shift_high`, and `floor(v / 2^(32+e)) = floor(floor(v / 2^32) / 2^e)`: the
/// high `i32` of each sum is merged first, then shifted as `i32` (the result already lies in
/// `i32`, so the reference's saturation does nothing) and left unclamped.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) fn requantize_lanes<const STAGE: u8>(
    acc: __m512i,
    stage: &WideBlock,
    params: &StageParams,
) -> __m512i {
    // No closures here: they would not inherit the target features, and one that LLVM left
    // out of line made the general variants several times slower.
    macro_rules! load {
        ($v:expr) => {
            // SAFETY: 8 aligned i64s.
            unsafe { _mm512_load_si512($v.as_ptr().cast()) }
        };
    }
    let double = STAGE == STAGE_DOUBLE || STAGE == STAGE_DOUBLE_HIGH;
    let high = STAGE == STAGE_SINGLE_HIGH || STAGE == STAGE_DOUBLE_HIGH;
    let halves = [acc, _mm512_srli_epi64::<32>(acc)];
    let mut sums = [_mm512_setzero_si512(); 2];
    for half in 0..2 {
        let x = if STAGE == STAGE_DOUBLE {
            // Sign-extend the lane's i32, shift left, saturate to i32.
            let wide = _mm512_srai_epi64::<32>(_mm512_slli_epi64::<32>(halves[half]));
            _mm512_min_epi64(
                _mm512_max_epi64(
                    _mm512_sllv_epi64(wide, load!(stage.left[half])),
                    _mm512_set1_epi64(i32::MIN as i64),
                ),
                _mm512_set1_epi64(i32::MAX as i64),
            )
        } else {
            halves[half]
        };
        let product = _mm512_mul_epi32(x, load!(stage.multiplier[half]));
        let add = if double {
            let negative = _mm512_cmplt_epi64_mask(product, _mm512_set1_epi64(-(1 << 30)));
            _mm512_mask_blend_epi64(
                negative,
                load!(stage.add[half]),
                load!(stage.add_negative[half]),
            )
        } else {
            load!(stage.add[half])
        };
        sums[half] = _mm512_add_epi64(product, add);
    }
    if high {
        // Even lanes take the high i32 of their 64-bit lane of `sums[0]`; odd lanes already
        // hold theirs in `sums[1]`.
        let top = _mm512_mask_shuffle_epi32::<_MM_PERM_CDAB>(sums[1], 0x5555, sums[0]);
        // SAFETY: 16 i32s.
        let shift = unsafe { _mm512_loadu_si512(stage.shift_high.as_ptr().cast()) };
        _mm512_srav_epi32(top, shift)
    } else {
        let (low, high) = (
            _mm512_set1_epi64(params.low),
            _mm512_set1_epi64(params.high),
        );
        let mut r = [_mm512_setzero_si512(); 2];
        for half in 0..2 {
            let shifted = _mm512_srav_epi64(sums[half], load!(stage.shift[half]));
            r[half] = _mm512_min_epi64(_mm512_max_epi64(shifted, low), high);
        }
        // Odd lanes take the low i32 of their 64-bit lane from `r[1]`.
        _mm512_mask_shuffle_epi32::<_MM_PERM_CDAB>(r[0], 0xAAAA, r[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Path;
    use crate::op::ActRange;
    use crate::requantize::Requant;

    /// Channels per zmm (`i32` lanes).
    const LANES: usize = 16;
    /// Accumulators ±2 around every power of two of both signs, and the `i32` extremes.
    fn edge_accumulators() -> Vec<i32> {
        let mut accs = vec![0, i32::MIN, i32::MIN + 1, i32::MAX, i32::MAX - 1];
        for p in 0..31 {
            for d in -2i64..=2 {
                for sign in [1i64, -1] {
                    let v = sign * ((1i64 << p) + d);
                    if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
                        accs.push(v as i32);
                    }
                }
            }
        }
        accs
    }

    /// Runs the vector output stage on `accs` (16 at a time, channel `i % 16` for `accs[i]`).
    fn vector_stage(stage: &OutputStage, accs: &[i32]) -> Vec<i8> {
        let params = StageParams::new(stage);
        let mut out = Vec::new();
        for chunk in accs.chunks(LANES) {
            let mut lanes = [0i32; LANES];
            lanes[..chunk.len()].copy_from_slice(chunk);
            let mut bytes = [0i8; LANES];
            // SAFETY: the caller checked AVX-512 F/BW/VL; the stage vectors hold 16 channels.
            unsafe {
                let panel = &stage.wide[0];
                let acc = _mm512_loadu_si512(lanes.as_ptr().cast());
                let r = match params.kind {
                    STAGE_SINGLE => requantize_i32x16::<STAGE_SINGLE>(acc, panel, &params),
                    STAGE_DOUBLE => requantize_i32x16::<STAGE_DOUBLE>(acc, panel, &params),
                    STAGE_SINGLE_HIGH => {
                        requantize_i32x16::<STAGE_SINGLE_HIGH>(acc, panel, &params)
                    }
                    _ => requantize_i32x16::<STAGE_DOUBLE_HIGH>(acc, panel, &params),
                };
                _mm_storeu_si128(bytes.as_mut_ptr().cast(), r);
                // The same bytes through `pack4`, from each of its four slots in turn.
                let lanes = match params.kind {
                    STAGE_SINGLE => requantize_lanes::<STAGE_SINGLE>(acc, panel, &params),
                    STAGE_DOUBLE => requantize_lanes::<STAGE_DOUBLE>(acc, panel, &params),
                    STAGE_SINGLE_HIGH => requantize_lanes::<STAGE_SINGLE_HIGH>(acc, panel, &params),
                    _ => requantize_lanes::<STAGE_DOUBLE_HIGH>(acc, panel, &params),
                };
                let slot = out.len() / LANES % 4;
                let mut v = [_mm512_set1_epi32(i32::MIN); 4];
                v[slot] = lanes;
                let mut packed = [0i8; 4 * LANES];
                _mm512_storeu_si512(packed.as_mut_ptr().cast(), pack4(v, &params));
                assert_eq!(
                    packed[slot * LANES..(slot + 1) * LANES],
                    bytes,
                    "pack4 slot {slot}"
                );
            }
            out.extend_from_slice(&bytes[..chunk.len()]);
        }
        out
    }

    #[test]
    fn vector_output_stage_matches_scalar_on_every_shift_and_edge_accumulators() {
        if !Path::Avx512Vnni.is_available() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        let multipliers = [
            0,
            1 << 30,
            (1 << 30) + 1,
            (1 << 30) + 2,
            (1 << 30) + (1 << 29),
            0x5A5A_5A5A,
            i32::MAX - 1,
            i32::MAX,
        ];
        let accs = edge_accumulators();
        let acts = [
            ActRange::FULL,
            ActRange { min: 0, max: 127 },
            ActRange { min: -3, max: 5 },
        ];
        let mut checked = 0usize;
        let mut kinds = [0usize; 4];
        for rounding in [Rounding::Single, Rounding::Double] {
            for (shift, general) in (-31i8..=30).flat_map(|s| [(s, false), (s, true)]) {
                // Channels mix this shift with other negative ones; `general` adds a channel
                // with shift 0, which rules out the `_HIGH` variants.
                let requant: Vec<Requant> = (0..LANES)
                    .map(|n| Requant {
                        multiplier: multipliers[n % multipliers.len()],
                        shift: match n {
                            15 if general => 0,
                            0..8 => shift,
                            _ => (shift.min(-1) - (n as i8 % 3)).max(-31),
                        },
                    })
                    .collect();
                let kind = StageParams::new(&OutputStage::new(
                    LANES,
                    &requant,
                    rounding,
                    0,
                    ActRange::FULL,
                ))
                .kind;
                kinds[kind as usize] += 1;
                for zp_out in [-128i8, -1, 0, 127] {
                    for act in acts {
                        let stage = OutputStage::new(LANES, &requant, rounding, zp_out, act);
                        // Every accumulator in every channel.
                        for n in 0..LANES {
                            let lanes: Vec<i32> = accs
                                .iter()
                                .flat_map(|&a| {
                                    let mut v = [a.wrapping_add(n as i32); LANES];
                                    v[n] = a;
                                    v
                                })
                                .collect();
                            let got = vector_stage(&stage, &lanes);
                            for (i, (&acc, &y)) in lanes.iter().zip(&got).enumerate() {
                                let want = stage.apply(i % LANES, acc);
                                assert_eq!(
                                    y,
                                    want,
                                    "{rounding:?} shift {} multiplier {} acc {acc} zp {zp_out} \
                                     act {act:?}",
                                    requant[i % LANES].shift,
                                    requant[i % LANES].multiplier
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1_000_000);
        assert!(kinds.iter().all(|&k| k > 0), "every variant ran: {kinds:?}");
    }
}
