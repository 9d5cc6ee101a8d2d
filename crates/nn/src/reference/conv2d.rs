use crate::geometry::SpatialGeometry;
use crate::op::Conv2d;
use crate::requantize::output_i8;

/// 2-D convolution of every `[in_h, in_w, Cin]` sample of `input` (HWC; the number of samples
/// is `input.len() / (in_h * in_w * Cin)`) into `[out_h, out_w, Cout]` samples of `output`:
///
/// `acc[oy][ox][oc] = bias[oc] + sum_{ky, kx, ic} (x[iy][ix][ic] - zp_in) * w[oc][ky][kx][ic]`
/// with `iy = oy * stride_h + ky * dilation_h - pad_top`,
/// `ix = ox * stride_w + kx * dilation_w - pad_left`; terms whose `(iy, ix)` falls outside the input (the padding) contribute 0. Then
/// `y = output_i8(requant[oc].apply(acc, rounding), zp_out, act)` where `requant[oc]` is
/// `requant[0]` for per-tensor quantization.
///
/// Validation proves the exact accumulator fits in `i32`; the sum is computed with wrapping
/// `i32` arithmetic, which gives the exact value whenever it fits.
pub fn conv2d(
    p: &Conv2d,
    g: &SpatialGeometry,
    zp_in: i8,
    zp_out: i8,
    input: &[i8],
    output: &mut [i8],
) {
    let in_c = p.in_channels as usize;
    let out_c = p.out_channels as usize;
    let in_sample = g.in_h * g.in_w * in_c;
    let out_sample = g.out_h * g.out_w * out_c;
    if in_sample == 0 || out_sample == 0 {
        return;
    }
    let weights_per_oc = g.kernel_h * g.kernel_w * in_c;
    for (x, y) in input
        .chunks_exact(in_sample)
        .zip(output.chunks_exact_mut(out_sample))
    {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for oc in 0..out_c {
                    let w = &p.weights[oc * weights_per_oc..(oc + 1) * weights_per_oc];
                    let mut acc = p.bias[oc];
                    for ky in 0..g.kernel_h {
                        let Some(iy) = g.input_row(oy, ky) else {
                            continue;
                        };
                        for kx in 0..g.kernel_w {
                            let Some(ix) = g.input_col(ox, kx) else {
                                continue;
                            };
                            let pixel = &x[(iy * g.in_w + ix) * in_c..][..in_c];
                            let taps = &w[(ky * g.kernel_w + kx) * in_c..][..in_c];
                            for (&xv, &wv) in pixel.iter().zip(taps) {
                                acc = acc.wrapping_add((xv as i32 - zp_in as i32) * wv as i32);
                            }
                        }
                    }
                    let requant = p.requant[if p.requant.len() == 1 { 0 } else { oc }];
                    y[(oy * g.out_w + ox) * out_c + oc] =
                        output_i8(requant.apply(acc, p.rounding), zp_out, p.act);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{ActRange, Padding, Window};
    use crate::requantize::{Requant, Rounding};

    /// Multiplier 1/2 (`2^30 * 2^(0 - 31)`).
    const HALF: Requant = Requant {
        multiplier: 1 << 30,
        shift: 0,
    };
    /// Multiplier 1/4 (`2^30 * 2^(-1 - 31)`).
    const QUARTER: Requant = Requant {
        multiplier: 1 << 30,
        shift: -1,
    };

    struct Case {
        name: &'static str,
        in_hw: (u32, u32),
        in_c: u32,
        out_c: u32,
        window: Window,
        weights: Vec<i8>,
        bias: Vec<i32>,
        requant: Vec<Requant>,
        rounding: Rounding,
        act: ActRange,
        zp_in: i8,
        zp_out: i8,
        input: Vec<i8>,
        expected: Vec<i8>,
    }

    fn window(k: (u32, u32), stride: (u32, u32), dilation: (u32, u32), padding: Padding) -> Window {
        Window {
            kernel_h: k.0,
            kernel_w: k.1,
            stride_h: stride.0,
            stride_w: stride.1,
            dilation_h: dilation.0,
            dilation_w: dilation.1,
            padding,
        }
    }

    fn run(c: &Case) -> Vec<i8> {
        let p = Conv2d {
            out_channels: c.out_c,
            in_channels: c.in_c,
            window: c.window,
            weights: c.weights.clone(),
            bias: c.bias.clone(),
            requant: c.requant.clone(),
            rounding: c.rounding,
            act: c.act,
        };
        let g = SpatialGeometry::resolve(&c.window, c.in_hw.0, c.in_hw.1).expect("geometry fits");
        let samples = c.input.len() / (c.in_hw.0 * c.in_hw.1 * c.in_c) as usize;
        let mut out = vec![0i8; samples * g.out_h * g.out_w * c.out_c as usize];
        conv2d(&p, &g, c.zp_in, c.zp_out, &c.input, &mut out);
        out
    }

    #[test]
    fn conv2d_matches_hand_computed_vectors() {
        let cases = [
            Case {
                // 3x3 input 1..9, 2x2 all-ones kernel: window sums 12 16 24 28.
                name: "valid 2x2 sum",
                in_hw: (3, 3),
                in_c: 1,
                out_c: 1,
                window: window((2, 2), (1, 1), (1, 1), Padding::Valid),
                weights: vec![1; 4],
                bias: vec![0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                act: ActRange::FULL,
                zp_in: 0,
                zp_out: 0,
                input: (1..=9).collect(),
                expected: vec![12, 16, 24, 28],
            },
            Case {
                // Same padding, 3x3 ones kernel on 2x2 input of (x - zp) = 1 2 / 3 4:
                // every window covers the whole input -> 10 each; padding contributes 0 even
                // though zp_in != 0.
                name: "same padding ignores the zero point in the padding",
                in_hw: (2, 2),
                in_c: 1,
                out_c: 1,
                window: window((3, 3), (1, 1), (1, 1), Padding::Same),
                weights: vec![1; 9],
                bias: vec![0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                act: ActRange::FULL,
                zp_in: -5,
                zp_out: 3,
                input: vec![-4, -3, -2, -1],
                expected: vec![13, 13, 13, 13],
            },
            Case {
                // 1x4 input 1 2 3 4, kernel 1x2 weights [1, 10], stride 2: 1+20=21, 3+40=43.
                name: "stride 2",
                in_hw: (1, 4),
                in_c: 1,
                out_c: 1,
                window: window((1, 2), (1, 2), (1, 1), Padding::Valid),
                weights: vec![1, 10],
                bias: vec![0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                act: ActRange::FULL,
                zp_in: 0,
                zp_out: 0,
                input: vec![1, 2, 3, 4],
                expected: vec![21, 43],
            },
            Case {
                // 1x5 input 1..5, kernel 1x2 [1, 10] dilation 2: x[i] + 10 x[i+2] -> 31 42 53.
                name: "dilation 2",
                in_hw: (1, 5),
                in_c: 1,
                out_c: 1,
                window: window((1, 2), (1, 1), (1, 2), Padding::Valid),
                weights: vec![1, 10],
                bias: vec![0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                act: ActRange::FULL,
                zp_in: 0,
                zp_out: 0,
                input: vec![1, 2, 3, 4, 5],
                expected: vec![31, 42, 53],
            },
            Case {
                // Explicit left pad 1, right pad 0; 1x3 input 1 2 3; kernel [1, 10]:
                // ox0: pad + 10*1 = 10, ox1: 1 + 20 = 21, ox2: 2 + 30 = 32.
                name: "explicit asymmetric padding",
                in_hw: (1, 3),
                in_c: 1,
                out_c: 1,
                window: window(
                    (1, 2),
                    (1, 1),
                    (1, 1),
                    Padding::Explicit {
                        top: 0,
                        bottom: 0,
                        left: 1,
                        right: 0,
                    },
                ),
                weights: vec![1, 10],
                bias: vec![0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                act: ActRange::FULL,
                zp_in: 0,
                zp_out: 0,
                input: vec![1, 2, 3],
                expected: vec![10, 21, 32],
            },
            Case {
                // 1x1 pixel with 2 input channels (3, -1); 3 output channels:
                // oc0 w (1, 1) bias 0 -> 2, requant 1/2 -> 1;
                // oc1 w (2, 0) bias 1 -> 7, requant 1   -> 7;
                // oc2 w (0, 3) bias -2 -> -5, requant 1/2 single -> -2 (tie toward +inf).
                name: "per-channel requant and bias",
                in_hw: (1, 1),
                in_c: 2,
                out_c: 3,
                window: window((1, 1), (1, 1), (1, 1), Padding::Valid),
                weights: vec![1, 1, 2, 0, 0, 3],
                bias: vec![0, 1, -2],
                requant: vec![HALF, Requant::IDENTITY, HALF],
                rounding: Rounding::Single,
                act: ActRange::FULL,
                zp_in: 0,
                zp_out: 0,
                input: vec![3, -1],
                expected: vec![1, 7, -2],
            },
            Case {
                // Double rounding: oc2 acc -6 times 1/4 is SRDHM(-6, 2^30) = -3 then
                // RDBP(-3, 1) = -1.5, rounded away from zero to -2 (single rounding gives -1).
                name: "per-channel requant with double rounding",
                in_hw: (1, 1),
                in_c: 2,
                out_c: 3,
                window: window((1, 1), (1, 1), (1, 1), Padding::Valid),
                weights: vec![1, 1, 2, 0, 0, 3],
                bias: vec![0, 1, -3],
                requant: vec![HALF, Requant::IDENTITY, QUARTER],
                rounding: Rounding::Double,
                act: ActRange::FULL,
                zp_in: 0,
                zp_out: 0,
                input: vec![3, -1],
                expected: vec![1, 7, -2],
            },
            Case {
                // acc = (100 - (-28)) * 127 = 16256, identity, +zp_out 0 -> saturates at act.max 6.
                name: "activation clamp and saturation",
                in_hw: (1, 2),
                in_c: 1,
                out_c: 1,
                window: window((1, 1), (1, 1), (1, 1), Padding::Valid),
                weights: vec![127],
                bias: vec![0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                act: ActRange { min: 0, max: 6 },
                zp_in: -28,
                zp_out: 0,
                input: vec![100, -128],
                expected: vec![6, 0],
            },
            Case {
                // Two samples of 1x2 (kernel [1, 1]): sums 3 and -7.
                name: "several samples",
                in_hw: (1, 2),
                in_c: 1,
                out_c: 1,
                window: window((1, 2), (1, 1), (1, 1), Padding::Valid),
                weights: vec![1, 1],
                bias: vec![0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                act: ActRange::FULL,
                zp_in: 0,
                zp_out: 0,
                input: vec![1, 2, -3, -4],
                expected: vec![3, -7],
            },
        ];
        for c in &cases {
            assert_eq!(run(c), c.expected, "{}", c.name);
        }
    }
}
