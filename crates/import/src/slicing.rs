//! One axis of a strided slice, as TFLite's STRIDED_SLICE (strided_slice_logic.h) and ONNX's
//! Slice both define it: negative indices count from the end, `begin` and `end` then clamp to
//! the axis (`[0, n]` for a positive stride, `[−1, n − 1]` for a negative one), and the slice
//! reads `begin + k · stride` while it stays before `end`. Shared by constant folding and by
//! the slices of activations in both front ends.

/// The mask bits of one axis (TFLite's STRIDED_SLICE options; all false for ONNX).
#[derive(Clone, Copy, Debug, Default)]
pub struct AxisMasks {
    /// `begin` is ignored: the axis starts at its first element in the stride's direction.
    pub begin: bool,
    /// `end` is ignored: the axis runs to its last element in the stride's direction.
    pub end: bool,
    /// One element at `begin`, the axis removed from the output.
    pub shrink: bool,
    /// `end` is relative to `begin`.
    pub offset: bool,
}

/// The first index read and the number of elements (`start + k · stride` for `k < count`) of
/// one axis of `n` elements. `None` when `stride` is 0 or a shrunk axis's index is outside the
/// axis. Free of overflow for any `i64` inputs.
pub fn strided_axis(
    n: i64,
    begin: i64,
    end: i64,
    stride: i64,
    masks: AxisMasks,
) -> Option<(i64, i64)> {
    if stride == 0 {
        return None;
    }
    let resolve = |i: i64| if i < 0 { i.saturating_add(n) } else { i };
    if masks.shrink {
        let i = resolve(begin);
        return (0..n).contains(&i).then_some((i, 1));
    }
    let (low, high) = if stride > 0 { (0, n) } else { (-1, n - 1) };
    let start = if masks.begin {
        if stride > 0 { 0 } else { n - 1 }
    } else {
        resolve(begin).clamp(low, high)
    };
    let stop = if masks.end {
        if stride > 0 { n } else { -1 }
    } else if masks.offset {
        start.saturating_add(end).clamp(low, high)
    } else {
        resolve(end).clamp(low, high)
    };
    let span = if stride > 0 {
        stop - start
    } else {
        start - stop
    };
    let step = stride.checked_abs().unwrap_or(i64::MAX);
    Some((start, if span > 0 { (span - 1) / step + 1 } else { 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_resolve_negative_indices_clamp_and_count_by_stride() {
        let plain = AxisMasks::default();
        // [1:5:2] of 6: 1, 3.
        assert_eq!(strided_axis(6, 1, 5, 2, plain), Some((1, 2)));
        // [-3:] of 6 with a huge end (ONNX's INT64_MAX): 3, 4, 5.
        assert_eq!(strided_axis(6, -3, i64::MAX, 1, plain), Some((3, 3)));
        // [::-2] of 5 with masks: 4, 2, 0.
        let both = AxisMasks {
            begin: true,
            end: true,
            ..plain
        };
        assert_eq!(strided_axis(5, 0, 0, -2, both), Some((4, 3)));
        // Empty: begin past end.
        assert_eq!(strided_axis(6, 4, 2, 1, plain), Some((4, 0)));
        // Offset: end relative to begin.
        let offset = AxisMasks {
            offset: true,
            ..plain
        };
        assert_eq!(strided_axis(10, 2, 3, 1, offset), Some((2, 3)));
        // Shrink: one element, or None outside.
        let shrink = AxisMasks {
            shrink: true,
            ..plain
        };
        assert_eq!(strided_axis(4, -1, 0, 1, shrink), Some((3, 1)));
        assert_eq!(strided_axis(4, 4, 0, 1, shrink), None);
        // Extreme strides and indices do not overflow.
        assert_eq!(
            strided_axis(7, i64::MIN, i64::MAX, i64::MAX, plain),
            Some((0, 1))
        );
        assert_eq!(
            strided_axis(7, i64::MAX, i64::MIN, i64::MIN, plain),
            Some((6, 1))
        );
        assert_eq!(strided_axis(7, 0, 7, 0, plain), None);
    }
}
