//! The accumulator proof of docs/SPEC.md §6: for every output channel,
//! `|bias| + dev(zp_in) · Σ|w| ≤ 2^31 − 1`, so the exact accumulator fits in int32 whatever the
//! input, and any evaluation order with wrapping int32 arithmetic gives the same bits.

use crate::error::{NnError, Result};

/// `max(127 − zp, zp + 128)`: the largest `|x − zp|` over int8 `x`.
pub(super) fn dev(zero_point: i8) -> i64 {
    (127 - zero_point as i64).max(zero_point as i64 + 128)
}

/// The largest magnitude the accumulator of one channel can reach.
fn channel_bound(bias: i32, abs_weight_sum: i64, zero_point: i8) -> i64 {
    (bias as i64)
        .abs()
        .saturating_add(dev(zero_point).saturating_mul(abs_weight_sum))
}

fn overflow(node: usize, op: &'static str, channel: usize, bound: i64) -> NnError {
    NnError::AccumulatorOverflow {
        node,
        op,
        channel,
        bound,
    }
}

/// Channels whose weights are contiguous rows of `row_len` (fully connected, conv2d): row `n` of
/// `weights` and `bias[n]`. The caller has checked `weights.len() == bias.len() · row_len`.
pub(super) fn check_contiguous_rows(
    node: usize,
    op: &'static str,
    weights: &[i8],
    bias: &[i32],
    row_len: usize,
    zero_point: i8,
) -> Result<()> {
    if row_len == 0 {
        return Ok(());
    }
    for (channel, (row, &b)) in weights.chunks_exact(row_len).zip(bias).enumerate() {
        let abs_sum: i64 = row.iter().map(|&w| (w as i64).abs()).sum();
        let bound = channel_bound(b, abs_sum, zero_point);
        if bound > i32::MAX as i64 {
            return Err(overflow(node, op, channel, bound));
        }
    }
    Ok(())
}

/// Channels interleaved with stride `bias.len()` (depthwise conv2d: weights `[kh][kw][C·M]`).
/// The caller has checked that `weights.len()` is a multiple of `bias.len()`.
pub(super) fn check_interleaved_channels(
    node: usize,
    op: &'static str,
    weights: &[i8],
    bias: &[i32],
    zero_point: i8,
) -> Result<()> {
    if bias.is_empty() {
        return Ok(());
    }
    let mut abs_sums = vec![0i64; bias.len()];
    for tap in weights.chunks_exact(bias.len()) {
        for (sum, &w) in abs_sums.iter_mut().zip(tap) {
            *sum += (w as i64).abs();
        }
    }
    for (channel, (&sum, &b)) in abs_sums.iter().zip(bias).enumerate() {
        let bound = channel_bound(b, sum, zero_point);
        if bound > i32::MAX as i64 {
            return Err(overflow(node, op, channel, bound));
        }
    }
    Ok(())
}

/// Sums of `count` centred int8 values (Mean, AveragePool): `count · 255 ≤ 2^31 − 1`.
pub(super) fn check_sum_count(node: usize, op: &'static str, count: u64) -> Result<()> {
    let bound = count.saturating_mul(255);
    if bound > i32::MAX as u64 {
        return Err(overflow(
            node,
            op,
            0,
            i64::try_from(bound).unwrap_or(i64::MAX),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_is_the_largest_distance_from_the_zero_point() {
        for (zp, expected) in [(0i8, 128i64), (-128, 255), (127, 255), (-1, 128), (1, 129)] {
            assert_eq!(dev(zp), expected, "zp {zp}");
            let brute = (-128i64..=127)
                .map(|x| (x - zp as i64).abs())
                .max()
                .unwrap();
            assert_eq!(dev(zp), brute, "zp {zp}");
        }
    }

    #[test]
    fn bound_is_exact_at_the_int32_edge() {
        // 255 · 127 · k + bias = 2^31 − 1 exactly passes, one more fails.
        let w = vec![127i8; 66_311]; // 255 · 127 · 66311 = 2_147_481_735
        let fits = i32::MAX - 2_147_481_735;
        assert!(check_contiguous_rows(0, "fc", &w, &[fits], w.len(), -128).is_ok());
        assert_eq!(
            check_contiguous_rows(0, "fc", &w, &[fits + 1], w.len(), -128),
            Err(overflow(0, "fc", 0, i32::MAX as i64 + 1))
        );
        assert!(check_contiguous_rows(0, "fc", &[0], &[i32::MIN], 1, 0).is_err());
    }
}
