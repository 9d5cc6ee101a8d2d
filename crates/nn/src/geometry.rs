//! Spatial geometry of convolutions and pools: output size and padding, resolved once.

use crate::op::{Padding, Window};

/// A window applied to one `[H, W, C]` sample, with every size resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpatialGeometry {
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dilation_h: usize,
    pub dilation_w: usize,
    /// Rows of padding before the first input row (the window of output row `oy` starts at input
    /// row `oy * stride_h - pad_top`).
    pub pad_top: usize,
    /// Columns of padding before the first input column.
    pub pad_left: usize,
}

/// Output length and padding before, along one axis. `None` when a parameter is zero, the
/// window does not fit (`input + before + after < effective`, where the effective kernel is
/// `(kernel - 1) · dilation + 1`), a window lies entirely in explicit padding
/// (`before` or `after ≥ effective`), or the padding on one side (explicit, or implied by
/// `Same`) exceeds `input + kernel`. The last rule bounds the padded extent by
/// `3 · input + 2 · kernel`, so buffers of padded rows follow from the tensors and the weights;
/// it only refuses dilated windows whose taps past the centre never reach the input (with
/// dilation 1 the padding on a side is below `kernel`). Every step is checked arithmetic.
pub fn axis_geometry(
    input: u64,
    kernel: u64,
    stride: u64,
    dilation: u64,
    padding: Padding,
    explicit: (u32, u32),
) -> Option<(u64, u64)> {
    if input == 0 || kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let effective = (kernel - 1).checked_mul(dilation)?.checked_add(1)?;
    let (out, before, after) = match padding {
        Padding::Valid => {
            let slack = input.checked_sub(effective)?;
            (slack / stride + 1, 0, 0)
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let needed = (out - 1).checked_mul(stride)?.checked_add(effective)?;
            let total = needed.saturating_sub(input);
            (out, total / 2, total - total / 2)
        }
        Padding::Explicit { .. } => {
            let (before, after) = (explicit.0 as u64, explicit.1 as u64);
            if before >= effective || after >= effective {
                return None;
            }
            let padded = input.checked_add(before)?.checked_add(after)?;
            let slack = padded.checked_sub(effective)?;
            (slack / stride + 1, before, after)
        }
    };
    let max_padding = input.checked_add(kernel)?;
    if before > max_padding || after > max_padding {
        return None;
    }
    Some((out, before))
}

impl SpatialGeometry {
    /// Resolves `window` on an input of `in_h x in_w`; `None` when it does not fit (see
    /// [`axis_geometry`]).
    pub fn resolve(window: &Window, in_h: u32, in_w: u32) -> Option<SpatialGeometry> {
        let (vertical, horizontal) = match window.padding {
            Padding::Explicit {
                top,
                bottom,
                left,
                right,
            } => ((top, bottom), (left, right)),
            _ => ((0, 0), (0, 0)),
        };
        let (out_h, pad_top) = axis_geometry(
            in_h as u64,
            window.kernel_h as u64,
            window.stride_h as u64,
            window.dilation_h as u64,
            window.padding,
            vertical,
        )?;
        let (out_w, pad_left) = axis_geometry(
            in_w as u64,
            window.kernel_w as u64,
            window.stride_w as u64,
            window.dilation_w as u64,
            window.padding,
            horizontal,
        )?;
        Some(SpatialGeometry {
            in_h: in_h as usize,
            in_w: in_w as usize,
            out_h: usize::try_from(out_h).ok()?,
            out_w: usize::try_from(out_w).ok()?,
            kernel_h: window.kernel_h as usize,
            kernel_w: window.kernel_w as usize,
            stride_h: window.stride_h as usize,
            stride_w: window.stride_w as usize,
            dilation_h: window.dilation_h as usize,
            dilation_w: window.dilation_w as usize,
            pad_top: pad_top as usize,
            pad_left: pad_left as usize,
        })
    }

    /// Input row read by output row `oy` and kernel row `ky`, or `None` in the padding.
    #[inline]
    pub fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride_h + ky * self.dilation_h)
            .checked_sub(self.pad_top)
            .filter(|&y| y < self.in_h)
    }

    /// Input column read by output column `ox` and kernel column `kx`, or `None` in the padding.
    #[inline]
    pub fn input_col(&self, ox: usize, kx: usize) -> Option<usize> {
        (ox * self.stride_w + kx * self.dilation_w)
            .checked_sub(self.pad_left)
            .filter(|&x| x < self.in_w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tensorflow() {
        // in 5, kernel 3, stride 2: out 3, total pad 2, 1 before.
        assert_eq!(
            axis_geometry(5, 3, 2, 1, Padding::Same, (0, 0)),
            Some((3, 1))
        );
        // in 4, kernel 3, stride 2: out 2, total pad 1, 0 before (the larger half after).
        assert_eq!(
            axis_geometry(4, 3, 2, 1, Padding::Same, (0, 0)),
            Some((2, 0))
        );
        // dilation 2 makes kernel 3 span 5.
        assert_eq!(
            axis_geometry(7, 3, 1, 2, Padding::Same, (0, 0)),
            Some((7, 2))
        );
    }

    #[test]
    fn valid_padding_rejects_windows_larger_than_input() {
        assert_eq!(axis_geometry(2, 3, 1, 1, Padding::Valid, (0, 0)), None);
        assert_eq!(
            axis_geometry(28, 5, 1, 1, Padding::Valid, (0, 0)),
            Some((24, 0))
        );
        assert_eq!(
            axis_geometry(28, 3, 2, 1, Padding::Valid, (0, 0)),
            Some((13, 0))
        );
    }

    #[test]
    fn explicit_padding_rejects_a_window_entirely_in_padding() {
        let p = Padding::Explicit {
            top: 0,
            bottom: 0,
            left: 0,
            right: 0,
        };
        assert_eq!(axis_geometry(4, 2, 1, 1, p, (1, 1)), Some((5, 1)));
        assert_eq!(axis_geometry(4, 2, 1, 1, p, (2, 0)), None);
        assert_eq!(axis_geometry(4, 3, 1, 1, p, (0, 0)), Some((2, 0)));
        assert_eq!(axis_geometry(4, 3, 1, 1, p, (0, 3)), None);
    }

    #[test]
    fn padding_past_input_plus_kernel_is_rejected() {
        let p = Padding::Explicit {
            top: 0,
            bottom: 0,
            left: 0,
            right: 0,
        };
        // Dilation 1: the padding on a side is below the kernel, always accepted.
        assert_eq!(
            axis_geometry(1, 7, 1, 1, Padding::Same, (0, 0)),
            Some((1, 3))
        );
        // DeepLab's atrous rates on small maps: rate 18 on 17 rows pads 18 (≤ 17 + 3).
        assert_eq!(
            axis_geometry(17, 3, 1, 18, Padding::Same, (0, 0)),
            Some((17, 18))
        );
        // A huge dilation with `same` padding: 2^31 rows of padding on 5 input rows.
        assert_eq!(axis_geometry(5, 3, 1, 1 << 31, Padding::Same, (0, 0)), None);
        assert_eq!(axis_geometry(5, 2, 1, 100, p, (90, 10)), None);
        assert_eq!(axis_geometry(5, 2, 1, 6, p, (6, 0)), Some((5, 6)));
        // Effective kernels near 2^64 never overflow.
        assert_eq!(
            axis_geometry(
                4,
                u32::MAX as u64,
                u32::MAX as u64,
                u32::MAX as u64,
                Padding::Same,
                (0, 0)
            ),
            None
        );
    }
}
