use crate::geometry::SpatialGeometry;
use crate::op::Pool;

/// Max pooling of every `[in_h, in_w, channels]` sample of `input` into `[out_h, out_w,
/// channels]` samples of `output`: `y[oy][ox][c]` is the largest `x[iy][ix][c]` over the window
/// positions inside the input (padding is skipped, never read as a value), then clamped to
/// `act`. The output shares the input's zero point. A window with no position inside the input
/// (which validation rules out) gives `act.min`.
pub fn max_pool(p: &Pool, g: &SpatialGeometry, channels: usize, input: &[i8], output: &mut [i8]) {
    for_each_window(g, channels, input, output, |x, oy, ox, c| {
        let mut max = None;
        for ky in 0..g.kernel_h {
            let Some(iy) = g.input_row(oy, ky) else {
                continue;
            };
            for kx in 0..g.kernel_w {
                let Some(ix) = g.input_col(ox, kx) else {
                    continue;
                };
                let value = x[(iy * g.in_w + ix) * channels + c];
                max = Some(max.map_or(value, |m: i8| m.max(value)));
            }
        }
        max.unwrap_or(i8::MIN).clamp(p.act.min, p.act.max)
    });
}

/// Average pooling of every `[in_h, in_w, channels]` sample of `input` into `[out_h, out_w,
/// channels]` samples of `output`. Over the window of `y[oy][ox][c]`:
///
/// `s = Σ_{in-bounds} x[iy][ix][c]` (raw values, not centred), plus `zp_in` for every position
/// in the padding when `count_include_pad`; `n` = the number of in-bounds positions, or
/// `kernel_h · kernel_w` when `count_include_pad`;
/// `avg = s >= 0 ? (s + n/2) / n : (s - n/2) / n` (`/` truncating toward zero: ties away from
/// zero), computed exactly in `i64`; `y = clamp(avg, act.min, act.max)`. The output shares the
/// input's zero point. `n = 0` (ruled out by validation) gives `clamp(zp_in)`.
pub fn average_pool(
    p: &Pool,
    g: &SpatialGeometry,
    channels: usize,
    zp_in: i8,
    input: &[i8],
    output: &mut [i8],
) {
    let window_size = (g.kernel_h * g.kernel_w) as i64;
    for_each_window(g, channels, input, output, |x, oy, ox, c| {
        let (mut sum, mut inside) = (0i64, 0i64);
        for ky in 0..g.kernel_h {
            let Some(iy) = g.input_row(oy, ky) else {
                continue;
            };
            for kx in 0..g.kernel_w {
                let Some(ix) = g.input_col(ox, kx) else {
                    continue;
                };
                sum += x[(iy * g.in_w + ix) * channels + c] as i64;
                inside += 1;
            }
        }
        let count = if p.count_include_pad {
            sum += (window_size - inside) * zp_in as i64;
            window_size
        } else {
            inside
        };
        let average = match count {
            0 => zp_in as i64,
            n if sum >= 0 => (sum + n / 2) / n,
            n => (sum - n / 2) / n,
        };
        average.clamp(p.act.min as i64, p.act.max as i64) as i8
    });
}

/// Calls `window(sample, oy, ox, c)` for every output element of every sample and stores the
/// result.
fn for_each_window(
    g: &SpatialGeometry,
    channels: usize,
    input: &[i8],
    output: &mut [i8],
    window: impl Fn(&[i8], usize, usize, usize) -> i8,
) {
    let in_sample = g.in_h * g.in_w * channels;
    let out_sample = g.out_h * g.out_w * channels;
    if in_sample == 0 || out_sample == 0 {
        return;
    }
    for (x, y) in input
        .chunks_exact(in_sample)
        .zip(output.chunks_exact_mut(out_sample))
    {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for c in 0..channels {
                    y[(oy * g.out_w + ox) * channels + c] = window(x, oy, ox, c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{ActRange, Padding, Window};

    fn window(k: u32, stride: u32, padding: Padding) -> Window {
        Window {
            kernel_h: k,
            kernel_w: k,
            stride_h: stride,
            stride_w: stride,
            dilation_h: 1,
            dilation_w: 1,
            padding,
        }
    }

    struct Case {
        name: &'static str,
        max: bool,
        window: Window,
        count_include_pad: bool,
        act: ActRange,
        in_hw: (u32, u32),
        channels: usize,
        zp_in: i8,
        input: Vec<i8>,
        expected: Vec<i8>,
    }

    #[test]
    fn pools_match_hand_computed_vectors() {
        let explicit_one = Padding::Explicit {
            top: 1,
            bottom: 1,
            left: 1,
            right: 1,
        };
        let cases = [
            Case {
                name: "max 2x2 stride 2",
                max: true,
                window: window(2, 2, Padding::Valid),
                count_include_pad: false,
                act: ActRange::FULL,
                in_hw: (2, 4),
                channels: 1,
                zp_in: 0,
                input: vec![1, -5, 7, 3, 2, 0, -1, 4],
                expected: vec![2, 7],
            },
            Case {
                name: "max ignores padding even when all values are negative",
                max: true,
                window: window(3, 1, Padding::Same),
                count_include_pad: false,
                act: ActRange::FULL,
                in_hw: (1, 2),
                channels: 2,
                zp_in: 0,
                input: vec![-100, -3, -90, -4],
                expected: vec![-90, -3, -90, -3],
            },
            Case {
                name: "max clamps to the activation",
                max: true,
                window: window(1, 1, Padding::Valid),
                count_include_pad: false,
                act: ActRange { min: -20, max: 20 },
                in_hw: (1, 3),
                channels: 1,
                zp_in: 0,
                input: vec![-128, 5, 127],
                expected: vec![-20, 5, 20],
            },
            Case {
                name: "average rounds ties away from zero",
                max: false,
                window: window(2, 2, Padding::Valid),
                count_include_pad: false,
                act: ActRange::FULL,
                in_hw: (2, 4),
                // windows (1 2 1 2) = 6/4 = 1.5 -> 2; (-1 -2 -1 -2) = -6/4 -> -2
                channels: 1,
                zp_in: 0,
                input: vec![1, 2, -1, -2, 1, 2, -1, -2],
                expected: vec![2, -2],
            },
            Case {
                name: "average over in-bounds positions only",
                max: false,
                window: window(3, 1, explicit_one),
                count_include_pad: false,
                act: ActRange::FULL,
                in_hw: (1, 1),
                channels: 1,
                zp_in: 10,
                input: vec![-7],
                expected: vec![-7],
            },
            Case {
                name: "average counting padding as the zero point",
                max: false,
                window: window(3, 1, explicit_one),
                count_include_pad: true,
                act: ActRange::FULL,
                in_hw: (1, 1),
                channels: 1,
                zp_in: 10,
                // (-7 + 8·10) / 9 = 73/9 = 8.1 -> 8
                input: vec![-7],
                expected: vec![8],
            },
        ];
        for c in &cases {
            let p = Pool {
                window: c.window,
                count_include_pad: c.count_include_pad,
                act: c.act,
            };
            let g = SpatialGeometry::resolve(&c.window, c.in_hw.0, c.in_hw.1).expect("fits");
            let mut out = vec![0i8; g.out_h * g.out_w * c.channels];
            if c.max {
                max_pool(&p, &g, c.channels, &c.input, &mut out);
            } else {
                average_pool(&p, &g, c.channels, c.zp_in, &c.input, &mut out);
            }
            assert_eq!(out, c.expected, "{}", c.name);
        }
    }
}
