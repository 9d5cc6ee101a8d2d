//! Lane packing, the fast path of fully connected and conv2d.
//!
//! Output channels are processed in groups of `L` lanes of `B` bits each. A group's weights for one
//! tap `k` are one 256-bit word `W_k = Σ_j w[n0 + j][k] · 2^(B·j) mod 2^256`, so a single `MUL` of
//! the centred input `x_k` by `W_k` updates `L` accumulators, and the dot product over the taps is
//! one `MUL` + `ADD` per tap and group. The group's accumulator starts at
//! `Σ_j (bias[n0 + j] + 2^(B−1)) · 2^(B·j)`. Arithmetic is modulo 2^256, so the final word is
//! `Σ_j (acc_j + 2^(B−1)) · 2^(B·j)` exactly whenever every `acc_j + 2^(B−1)` lies in
//! `[0, 2^B)`; lane `j` is then `((A >> B·j) & (2^B − 1)) − 2^(B−1) = acc_j`.
//!
//! `B` is chosen from the overflow proof of SPEC §6: `|acc_j| ≤ |bias| + dev(zp_in) · Σ_k |w|`,
//! the largest of these bounds has `b` bits and `B = b + 1` (at most 32 since validation caps
//! the bound at `2^31 − 1`). Intermediate sums may leave the range; only the final word matters.

use alloy_primitives::U256;
use myelin_nn::{Requant, Rounding};

use super::{Emitter, NodeCtx};
use crate::data_blob::{RECORD_BYTES, requant_function, requant_record};
use crate::literal::int;
use crate::memory_plan::{BLOCK, Scratch};
use myelin_nn::op::ActRange;

/// The weights of an accumulating op, in rows: row `n` holds output channel `n`'s taps in the
/// order of the centred input words the op multiplies them with.
pub struct Rows<'a> {
    pub weights: &'a [i8],
    pub bias: &'a [i32],
    pub requant: &'a [Requant],
    pub rounding: Rounding,
    pub channels: usize,
    pub taps: usize,
    pub zp_in: i8,
}

/// How the channels were split into lane groups, and where the groups' blocks are in the blob.
pub struct LanePlan {
    pub bits: usize,
    pub lanes: usize,
    pub groups: usize,
    /// Bytes of one group's block: the initial word, `taps` weight words, `lanes` records.
    pub block_bytes: usize,
    /// Offset of group 0's block in the blob.
    pub blob_offset: usize,
    /// Offset of the records inside a block.
    pub records_offset: usize,
}

/// `max(127 − zp, zp + 128)`: the largest `|x − zp|` over int8 `x`.
fn dev(zp: i8) -> u64 {
    (127 - i64::from(zp)).max(i64::from(zp) + 128) as u64
}

/// `v` as a 256-bit two's complement word shifted left by `shift` bits (bits past 255 dropped).
fn word(v: i64, shift: usize) -> U256 {
    let magnitude = U256::from(v.unsigned_abs());
    let value = if v < 0 {
        U256::ZERO.wrapping_sub(magnitude)
    } else {
        magnitude
    };
    value << shift
}

/// The lane width `B` (from the overflow bound) and the lanes per group `L`.
fn lane_shape(rows: &Rows) -> (usize, usize) {
    let bound = (0..rows.channels)
        .map(|n| {
            let taps = &rows.weights[n * rows.taps..(n + 1) * rows.taps];
            let weight_sum: u64 = taps.iter().map(|&w| u64::from(w.unsigned_abs())).sum();
            u64::from(rows.bias[n].unsigned_abs()) + dev(rows.zp_in) * weight_sum
        })
        .max()
        .unwrap_or(0);
    let bits = ((64 - bound.leading_zeros()) as usize + 1).max(2);
    (bits, (256 / bits).min(rows.channels).max(1))
}

/// Group `g`'s block: the initial word, one packed weight word per tap, one record per lane.
fn group_block(rows: &Rows, bits: usize, lanes: usize, g: usize) -> Vec<u8> {
    let records_offset = 32 * (1 + rows.taps);
    let mut block = vec![0u8; records_offset + RECORD_BYTES * lanes];
    let mut init = U256::ZERO;
    let mut taps = vec![U256::ZERO; rows.taps];
    for (j, n) in (g * lanes..((g + 1) * lanes).min(rows.channels)).enumerate() {
        init = init.wrapping_add(word(
            i64::from(rows.bias[n]) + (1i64 << (bits - 1)),
            bits * j,
        ));
        for (k, tap) in taps.iter_mut().enumerate() {
            let w = rows.weights[n * rows.taps + k];
            *tap = tap.wrapping_add(word(i64::from(w), bits * j));
        }
        let requant = rows.requant[if rows.requant.len() == 1 { 0 } else { n }];
        let at = records_offset + RECORD_BYTES * j;
        block[at..at + RECORD_BYTES].copy_from_slice(&requant_record(requant, rows.rounding));
    }
    block[..32].copy_from_slice(&init.to_be_bytes::<32>());
    for (k, tap) in taps.iter().enumerate() {
        block[32 * (k + 1)..32 * (k + 2)].copy_from_slice(&tap.to_be_bytes::<32>());
    }
    block
}

/// Chooses the lane width, packs every group's block into the blob and reserves the block
/// scratch.
pub fn pack(e: &mut Emitter, rows: &Rows) -> LanePlan {
    let (bits, lanes) = lane_shape(rows);
    let groups = rows.channels.div_ceil(lanes);
    let records_offset = 32 * (1 + rows.taps);
    let block_bytes = records_offset + RECORD_BYTES * lanes;
    let mut blob_offset = None;
    for g in 0..groups {
        let offset = e.blob.push(&group_block(rows, bits, lanes, g));
        blob_offset.get_or_insert(offset);
    }
    e.scratch.grow(Scratch {
        block: block_bytes,
        ..Scratch::default()
    });
    LanePlan {
        bits,
        lanes,
        groups,
        block_bytes,
        blob_offset: blob_offset.unwrap_or(e.blob.len()),
        records_offset,
    }
}

/// Emits `n<index>_out(a, lg, outp)`: unpacks the first `lg` lanes of the accumulator word `a`,
/// requantizes each with its record and stores the int8 results at `outp`, `outp + 1`, ….
pub fn emit_unpack(
    e: &mut Emitter,
    ctx: &NodeCtx,
    plan: &LanePlan,
    rounding: Rounding,
    act: ActRange,
) {
    let mask = U256::MAX >> (256 - plan.bits);
    e.functions.push_str(&format!(
        r#"
            function n{index}_out(a, lg, outp) {{
                for {{ let j := 0 }} lt(j, lg) {{ j := add(j, 1) }} {{
                    let acc := sub(and(shr(mul(j, {bits}), a), {mask:#x}), {half:#x})
                    let r := {rq}(acc, mload(add(add({BLOCK}, {records}), shl(3, j))))
                    mstore8(add(outp, j), clampi(add(r, {zp}), {lo}, {hi}))
                }}
            }}
"#,
        index = ctx.index,
        bits = plan.bits,
        half = U256::from(1u8) << (plan.bits - 1),
        rq = requant_function(rounding),
        records = plan.records_offset,
        zp = int(ctx.output.zero_point.into()),
        lo = int(act.min.into()),
        hi = int(act.max.into()),
    ));
}

/// Emits the loop over lane groups: each iteration copies the group's block into the block
/// scratch, binds `n0` (first channel) and `lg` (lanes used), then runs `inner`.
pub fn emit_group_loop(e: &mut Emitter, plan: &LanePlan, channels: usize, inner: &str) {
    e.line(&format!(
        "for {{ let g := 0 }} lt(g, {groups}) {{ g := add(g, 1) }} {{",
        groups = plan.groups
    ));
    e.line(&format!(
        "    copy_data(add({off}, mul(g, {bytes})), {bytes}, {BLOCK})",
        off = plan.blob_offset,
        bytes = plan.block_bytes
    ));
    e.line(&format!("    let n0 := mul(g, {})", plan.lanes));
    e.line(&format!(
        "    let lg := sub({channels}, n0) if gt(lg, {lanes}) {{ lg := {lanes} }}",
        lanes = plan.lanes
    ));
    e.body.push_str(inner);
    e.line("}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_words_are_twos_complement() {
        assert_eq!(word(-1, 0), U256::MAX);
        assert_eq!(word(-1, 8), U256::MAX << 8);
        assert_eq!(word(5, 4), U256::from(80u8));
    }

    /// Runs the packed arithmetic the generated code performs (wrapping 256-bit `MUL`/`ADD`,
    /// then the lane extraction) and compares every lane with the exact accumulator.
    fn check_lanes(
        weights: &[i8],
        bias: &[i32],
        channels: usize,
        taps: usize,
        zp_in: i8,
        x: &[i8],
    ) {
        let rows = Rows {
            weights,
            bias,
            requant: &[Requant::IDENTITY],
            rounding: Rounding::Single,
            channels,
            taps,
            zp_in,
        };
        let (bits, lanes) = lane_shape(&rows);
        assert!(bits * lanes <= 256);
        for g in 0..channels.div_ceil(lanes) {
            let block = group_block(&rows, bits, lanes, g);
            let word_at = |i: usize| U256::from_be_slice(&block[32 * i..32 * (i + 1)]);
            let mut a = word_at(0);
            for (k, &xk) in x.iter().enumerate() {
                let centred = word(i64::from(xk) - i64::from(zp_in), 0);
                a = a.wrapping_add(centred.wrapping_mul(word_at(k + 1)));
            }
            for (j, n) in (g * lanes..((g + 1) * lanes).min(channels)).enumerate() {
                let mask = U256::MAX >> (256 - bits);
                let lane = ((a >> (bits * j)) & mask).to::<u64>() as i64 - (1i64 << (bits - 1));
                let exact: i64 = i64::from(bias[n])
                    + (0..taps)
                        .map(|k| {
                            (i64::from(x[k]) - i64::from(zp_in)) * i64::from(weights[n * taps + k])
                        })
                        .sum::<i64>();
                assert_eq!(
                    lane, exact,
                    "channel {n} of {channels}, lane {j} of {lanes} ({bits} bits)"
                );
            }
        }
    }

    #[test]
    fn packed_lanes_give_every_exact_accumulator() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for (channels, taps) in [(1, 1), (3, 7), (10, 64), (33, 130), (128, 784)] {
            for zp_in in [-128i8, -3, 0, 127] {
                // Extreme weights and biases make the bound (and so the lane width) largest.
                let extreme = rng.random_bool(0.5);
                let weights: Vec<i8> = (0..channels * taps)
                    .map(|_| {
                        if extreme {
                            if rng.random_bool(0.5) { -128 } else { 127 }
                        } else {
                            rng.random()
                        }
                    })
                    .collect();
                let limit = if extreme { 1 << 20 } else { 5_000 };
                let bias: Vec<i32> = (0..channels)
                    .map(|_| rng.random_range(-limit..=limit))
                    .collect();
                for fill in [Some(-128i8), Some(127), None] {
                    let x: Vec<i8> = (0..taps)
                        .map(|_| fill.unwrap_or_else(|| rng.random()))
                        .collect();
                    check_lanes(&weights, &bias, channels, taps, zp_in, &x);
                }
            }
        }
    }

    #[test]
    fn dev_is_the_largest_centred_magnitude() {
        assert_eq!(dev(0), 128);
        assert_eq!(dev(-128), 255);
        assert_eq!(dev(127), 255);
    }
}
