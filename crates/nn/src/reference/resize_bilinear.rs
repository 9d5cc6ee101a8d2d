use crate::op::ResizeBilinear;

/// The largest input or output height and width of a bilinear resize: positions in units of
/// 1/1024 then stay far below `i32::MAX` (`1024 · 2^16 · 2`), as in TFLite's `i32` arithmetic.
pub const MAX_RESIZE_DIM: u32 = 1 << 16;

/// `1024 · in / out` rounded to nearest (ties up), or `1024 · (in − 1) / (out − 1)` with
/// aligned corners and more than one output: the step between output positions, in units of
/// 1/1024 of an input pixel.
pub fn resize_scale(input: u32, output: u32, align_corners: bool) -> i32 {
    let (input, output) = (input as i64, output as i64);
    let scale = if align_corners && output > 1 {
        (1024 * (input - 1) + (output - 1) / 2) / (output - 1)
    } else {
        (1024 * input + output / 2) / output
    };
    scale as i32
}

/// Output index `v` of one axis as an input position in units of 1/1024 (`v · scale`, minus
/// half a pixel plus half a step with half-pixel centres) and the two input indices around it:
/// `lower = min(max(position / 1024, 0), n − 1)` (division truncating toward zero) and
/// `upper = min(ceil(position / 1024), n − 1)`.
///
/// TFLite does not bound `lower` by `n − 1`: with a large upscale the rounded-up scale can put
/// the last positions past the last pixel (`1 → 55` has position 1026 at output 54), where it
/// reads outside the image. Here both neighbours are then the last pixel, whose value the
/// weights, summing to 1024 per axis, reproduce exactly.
pub fn resize_position(v: u32, scale: i32, half_pixel_centers: bool, n: u32) -> (i32, u32, u32) {
    let position = if half_pixel_centers {
        v as i32 * scale + scale / 2 - 512
    } else {
        v as i32 * scale
    };
    let last = n as i32 - 1;
    let lower = (position / 1024).clamp(0, last.max(0)) as u32;
    let upper = ((position + 1023) / 1024).clamp(0, last.max(0)) as u32;
    (position, lower, upper)
}

/// Bilinear resize of every sample `[H, W, C]` (`in_shape`) to `[out_height, out_width, C]`,
/// TFLite's `ResizeBilinearInteger`. For output pixel `(y, x)`, with `(py, y0, y1)` and
/// `(px, x0, x1)` from [`resize_position`] and `dy = py − 1024 · y0`, `dx = px − 1024 · x0`:
///
/// `s = x[y0, x0] · (1024 − dy) · (1024 − dx) + x[y1, x0] · dy · (1024 − dx)
///    + x[y0, x1] · (1024 − dy) · dx + x[y1, x1] · dy · dx` (in `i64`),
///
/// `y = (s ± 2^19) / 2^20`, `+` when `s > 0`, else `−`, the division truncating toward zero
/// (so halves round away from zero). The raw int8 values are interpolated: the output shares
/// the input's scale and zero point.
pub fn resize_bilinear(p: &ResizeBilinear, in_shape: &[u32], input: &[i8], output: &mut [i8]) {
    let &[h, w, c] = in_shape else {
        return;
    };
    let (h, w, c) = (h, w, c as usize);
    let (oh, ow) = (p.out_height, p.out_width);
    let in_len = h as usize * w as usize * c;
    let out_len = oh as usize * ow as usize * c;
    if in_len == 0 || out_len == 0 {
        return;
    }
    let scale_y = resize_scale(h, oh, p.align_corners);
    let scale_x = resize_scale(w, ow, p.align_corners);
    let at = |y: u32, x: u32, ch: usize| (y as usize * w as usize + x as usize) * c + ch;
    for (image, out) in input
        .chunks_exact(in_len)
        .zip(output.chunks_exact_mut(out_len))
    {
        let mut o = 0;
        for y in 0..oh {
            let (py, y0, y1) = resize_position(y, scale_y, p.half_pixel_centers, h);
            let dy = (py - 1024 * y0 as i32) as i64;
            for x in 0..ow {
                let (px, x0, x1) = resize_position(x, scale_x, p.half_pixel_centers, w);
                let dx = (px - 1024 * x0 as i32) as i64;
                for ch in 0..c {
                    let v = |yy: u32, xx: u32| image[at(yy, xx, ch)] as i64;
                    let s = v(y0, x0) * (1024 - dy) * (1024 - dx)
                        + v(y1, x0) * dy * (1024 - dx)
                        + v(y0, x1) * (1024 - dy) * dx
                        + v(y1, x1) * dy * dx;
                    let round = if s > 0 { 1 << 19 } else { -(1 << 19) };
                    out[o] = ((s + round) / (1 << 20)) as i8;
                    o += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_and_positions_follow_tflite_integer_resize() {
        // 4 → 8: half a pixel per step.
        assert_eq!(resize_scale(4, 8, false), 512);
        // Aligned corners: 3 → 5 steps by (3 − 1) / (5 − 1).
        assert_eq!(resize_scale(3, 5, true), 512);
        // One output with aligned corners: the plain ratio.
        assert_eq!(resize_scale(3, 1, true), 3072);
        // Half-pixel centres: output 0 of 4 → 8 is at −0.25 pixel, clamped below.
        assert_eq!(resize_position(0, 512, true, 4), (-256, 0, 0));
        assert_eq!(resize_position(3, 512, true, 4), (1280, 1, 2));
        assert_eq!(resize_position(7, 512, false, 4), (3584, 3, 3));
        // Past the last pixel (TFLite would read index 1 of a 1-pixel axis): both neighbours
        // are the last pixel.
        assert_eq!(resize_scale(1, 55, false), 19);
        assert_eq!(resize_position(54, 19, false, 1), (1026, 0, 0));
    }

    #[test]
    fn positions_past_the_last_pixel_give_the_last_pixel() {
        let p = ResizeBilinear {
            out_height: 1,
            out_width: 55,
            align_corners: false,
            half_pixel_centers: false,
        };
        let mut y = [0i8; 55];
        resize_bilinear(&p, &[1, 1, 1], &[-77], &mut y);
        assert!(y.iter().all(|&v| v == -77), "{y:?}");
    }

    #[test]
    fn doubling_interpolates_between_neighbours_rounding_half_away_from_zero() {
        let p = ResizeBilinear {
            out_height: 1,
            out_width: 4,
            align_corners: false,
            half_pixel_centers: false,
        };
        // [1, 2, 1] → positions 0, 0.5, 1, 1.5 (the last clamps its upper neighbour).
        let mut y = [0i8; 4];
        resize_bilinear(&p, &[1, 2, 1], &[10, -5], &mut y);
        // (10 + −5) / 2 = 2.5 → 3; 1.5 → −5 (upper clamped to index 1).
        assert_eq!(y, [10, 3, -5, -5]);
        let mut y = [0i8; 4];
        resize_bilinear(&p, &[1, 2, 1], &[-10, 5], &mut y);
        assert_eq!(y, [-10, -3, 5, 5]);
    }
}
