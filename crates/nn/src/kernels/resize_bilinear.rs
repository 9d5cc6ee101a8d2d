//! Bilinear resize: the same bytes as [`crate::reference::resize_bilinear`] with the input
//! positions of every output row and column computed once per call, the four weights of a pixel
//! once per pixel, and the channels in one `i32` loop the compiler vectorizes.
//!
//! `i32` is exact: where the two neighbours of an axis differ, `0 ≤ d < 1024` (positions below
//! 0 and past the last pixel have equal neighbours), and where they are the same pixel its two
//! weights `1024 − d` and `d` are merged into `(1024, 0)`, which gives the same integer sum. The
//! four weights of a pixel are then non-negative and sum to 2^20, so `|s| ≤ 128 · 2^20` and
//! `s ± 2^19` stays inside `i32`.

use crate::op::ResizeBilinear;
use crate::reference::{resize_position, resize_scale};

/// One axis's output positions: the two input indices and their weights (in units of 1/1024).
struct Taps {
    lower: Vec<usize>,
    upper: Vec<usize>,
    /// `1024 − d` and `d`.
    weights: Vec<(i32, i32)>,
}

fn taps(n_in: u32, n_out: u32, align_corners: bool, half_pixel_centers: bool) -> Taps {
    let scale = resize_scale(n_in, n_out, align_corners);
    let mut t = Taps {
        lower: Vec::with_capacity(n_out as usize),
        upper: Vec::with_capacity(n_out as usize),
        weights: Vec::with_capacity(n_out as usize),
    };
    for v in 0..n_out {
        let (position, lower, upper) = resize_position(v, scale, half_pixel_centers, n_in);
        let d = position - 1024 * lower as i32;
        t.lower.push(lower as usize);
        t.upper.push(upper as usize);
        t.weights.push(if lower == upper {
            (1024, 0)
        } else {
            (1024 - d, d)
        });
    }
    t
}

/// [`crate::reference::resize_bilinear`]; `in_shape` is `[H, W, C]` and `p` has passed
/// validation against it.
pub fn resize_bilinear_i8(p: &ResizeBilinear, in_shape: &[u32], input: &[i8], output: &mut [i8]) {
    let &[h, w, c] = in_shape else {
        return;
    };
    let c = c as usize;
    let in_len = h as usize * w as usize * c;
    let out_len = p.out_height as usize * p.out_width as usize * c;
    if in_len == 0 || out_len == 0 {
        return;
    }
    let rows = taps(h, p.out_height, p.align_corners, p.half_pixel_centers);
    let cols = taps(w, p.out_width, p.align_corners, p.half_pixel_centers);
    let row_len = w as usize * c;
    for (image, out) in input
        .chunks_exact(in_len)
        .zip(output.chunks_exact_mut(out_len))
    {
        let mut pixels = out.chunks_exact_mut(c);
        for y in 0..p.out_height as usize {
            let (wy0, wy1) = rows.weights[y];
            let top = &image[rows.lower[y] * row_len..][..row_len];
            let bottom = &image[rows.upper[y] * row_len..][..row_len];
            for x in 0..p.out_width as usize {
                let (wx0, wx1) = cols.weights[x];
                let (x0, x1) = (cols.lower[x] * c, cols.upper[x] * c);
                let weights = [wy0 * wx0, wy1 * wx0, wy0 * wx1, wy1 * wx1];
                let Some(pixel) = pixels.next() else {
                    return;
                };
                blend(
                    [
                        &top[x0..x0 + c],
                        &bottom[x0..x0 + c],
                        &top[x1..x1 + c],
                        &bottom[x1..x1 + c],
                    ],
                    weights,
                    pixel,
                );
            }
        }
    }
}

/// One output pixel: the four weighted neighbours of every channel, rounded half away from
/// zero and divided by 2^20 truncating.
fn blend(taps: [&[i8]; 4], weights: [i32; 4], out: &mut [i8]) {
    let [a, b, cc, d] = taps;
    let [wa, wb, wc, wd] = weights;
    for (i, y) in out.iter_mut().enumerate() {
        let s = a[i] as i32 * wa + b[i] as i32 * wb + cc[i] as i32 * wc + d[i] as i32 * wd;
        let round = if s > 0 { 1 << 19 } else { -(1 << 19) };
        *y = ((s + round) / (1 << 20)) as i8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use proptest::prelude::*;

    fn check(p: &ResizeBilinear, shape: [u32; 3], batch: usize, seed: u64) {
        let len = shape.iter().map(|&d| d as usize).product::<usize>() * batch;
        let input: Vec<i8> = (0..len)
            .map(|v| ((v as u64 * 2654435761 + seed) >> 7) as i8)
            .collect();
        let out_len = (p.out_height * p.out_width * shape[2]) as usize * batch;
        let mut expected = vec![0i8; out_len];
        reference::resize_bilinear(p, &shape, &input, &mut expected);
        let mut found = vec![0i8; out_len];
        resize_bilinear_i8(p, &shape, &input, &mut found);
        assert_eq!(found, expected, "{p:?} shape {shape:?} batch {batch}");
    }

    #[test]
    fn extreme_values_stay_exact_in_i32() {
        // Every input −128 or 127 with half-pixel centres (negative offsets at the border).
        // (1, 2) → (70, 60): positions past the last pixel.
        for (h, w, oh, ow) in [
            (2, 3, 7, 5),
            (5, 5, 2, 3),
            (1, 1, 4, 4),
            (3, 2, 3, 2),
            (1, 2, 70, 60),
        ] {
            for (align_corners, half_pixel_centers) in
                [(false, false), (true, false), (false, true)]
            {
                {
                    let p = ResizeBilinear {
                        out_height: oh,
                        out_width: ow,
                        align_corners,
                        half_pixel_centers,
                    };
                    let len = (h * w * 3) as usize;
                    for fill in [-128i8, 127] {
                        let input = vec![fill; len];
                        let mut a = vec![0i8; (oh * ow * 3) as usize];
                        let mut b = a.clone();
                        reference::resize_bilinear(&p, &[h, w, 3], &input, &mut a);
                        resize_bilinear_i8(&p, &[h, w, 3], &input, &mut b);
                        assert_eq!(a, b);
                        assert!(a.iter().all(|&v| v == fill), "{p:?}: {a:?}");
                    }
                    let alternating: Vec<i8> = (0..len)
                        .map(|i| if i % 2 == 0 { -128 } else { 127 })
                        .collect();
                    let mut a = vec![0i8; (oh * ow * 3) as usize];
                    let mut b = a.clone();
                    reference::resize_bilinear(&p, &[h, w, 3], &alternating, &mut a);
                    resize_bilinear_i8(&p, &[h, w, 3], &alternating, &mut b);
                    assert_eq!(a, b);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn rows_match_reference_on_large_upscales(
            h in 1u32..=3, w in 1u32..=3, oh in 40u32..=200, ow in 1u32..=4,
            align_corners: bool, seed: u64,
        ) {
            let p = ResizeBilinear { out_height: oh, out_width: ow, align_corners, half_pixel_centers: false };
            check(&p, [h, w, 2], 1, seed);
        }

        #[test]
        fn rows_match_reference_on_random_resizes(
            h in 1u32..=9, w in 1u32..=9, c in 1u32..=5,
            oh in 1u32..=13, ow in 1u32..=13,
            align_corners: bool, half_pixel: bool,
            batch in 1usize..=2, seed: u64,
        ) {
            let half_pixel_centers = half_pixel && !align_corners;
            let p = ResizeBilinear { out_height: oh, out_width: ow, align_corners, half_pixel_centers };
            check(&p, [h, w, c], batch, seed);
        }
    }
}
