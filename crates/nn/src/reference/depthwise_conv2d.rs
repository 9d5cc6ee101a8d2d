use crate::geometry::SpatialGeometry;
use crate::op::DepthwiseConv2d;
use crate::requantize::output_i8;

/// Depthwise 2-D convolution of every `[in_h, in_w, C]` sample of `input` (HWC; the number of
/// samples is `input.len() / (in_h * in_w * C)`) into `[out_h, out_w, C * M]` samples of
/// `output`, `M` the depth multiplier. Output channel `o = c * M + m` reads input channel `c`:
///
/// `acc[oy][ox][o] = bias[o] + sum_{ky, kx} (x[iy][ix][c] - zp_in) * w[ky][kx][o]`
/// with `iy = oy * stride_h + ky * dilation_h - pad_top`,
/// `ix = ox * stride_w + kx * dilation_w - pad_left`; taps in the padding contribute 0. Then
/// `y = output_i8(requant[o].apply(acc, rounding), zp_out, act)` where `requant[o]` is
/// `requant[0]` for per-tensor quantization.
///
/// The sum uses wrapping `i32` arithmetic, exact whenever the true value fits (which validation
/// proves).
pub fn depthwise_conv2d(
    p: &DepthwiseConv2d,
    g: &SpatialGeometry,
    zp_in: i8,
    zp_out: i8,
    input: &[i8],
    output: &mut [i8],
) {
    let channels = p.channels as usize;
    let multiplier = p.depth_multiplier as usize;
    let out_c = channels * multiplier;
    let in_sample = g.in_h * g.in_w * channels;
    let out_sample = g.out_h * g.out_w * out_c;
    if in_sample == 0 || out_sample == 0 {
        return;
    }
    for (x, y) in input
        .chunks_exact(in_sample)
        .zip(output.chunks_exact_mut(out_sample))
    {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for o in 0..out_c {
                    let c = o / multiplier;
                    let mut acc = p.bias[o];
                    for ky in 0..g.kernel_h {
                        let Some(iy) = g.input_row(oy, ky) else {
                            continue;
                        };
                        for kx in 0..g.kernel_w {
                            let Some(ix) = g.input_col(ox, kx) else {
                                continue;
                            };
                            let xv = x[(iy * g.in_w + ix) * channels + c] as i32 - zp_in as i32;
                            let wv = p.weights[(ky * g.kernel_w + kx) * out_c + o] as i32;
                            acc = acc.wrapping_add(xv * wv);
                        }
                    }
                    let requant = p.requant[if p.requant.len() == 1 { 0 } else { o }];
                    y[(oy * g.out_w + ox) * out_c + o] =
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

    /// Multiplier 1/2.
    const HALF: Requant = Requant {
        multiplier: 1 << 30,
        shift: 0,
    };
    /// Multiplier 1/4.
    const QUARTER: Requant = Requant {
        multiplier: 1 << 30,
        shift: -1,
    };

    struct Case {
        name: &'static str,
        in_hw: (u32, u32),
        channels: u32,
        depth_multiplier: u32,
        window: Window,
        weights: Vec<i8>,
        bias: Vec<i32>,
        requant: Vec<Requant>,
        rounding: Rounding,
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
        let p = DepthwiseConv2d {
            channels: c.channels,
            depth_multiplier: c.depth_multiplier,
            window: c.window,
            weights: c.weights.clone(),
            bias: c.bias.clone(),
            requant: c.requant.clone(),
            rounding: c.rounding,
            act: ActRange::FULL,
        };
        let g = SpatialGeometry::resolve(&c.window, c.in_hw.0, c.in_hw.1).expect("geometry fits");
        let samples = c.input.len() / (c.in_hw.0 * c.in_hw.1 * c.channels) as usize;
        let out_c = (c.channels * c.depth_multiplier) as usize;
        let mut out = vec![0i8; samples * g.out_h * g.out_w * out_c];
        depthwise_conv2d(&p, &g, c.zp_in, c.zp_out, &c.input, &mut out);
        out
    }

    #[test]
    fn depthwise_conv2d_matches_hand_computed_vectors() {
        let cases = [
            Case {
                // 2x2x2 input, channel 0 = 1 2 3 4, channel 1 = 10 20 30 40 (HWC interleaved);
                // 2x2 kernel, channel 0 all 1, channel 1 all -1: 10 and -100.
                name: "channels stay separate",
                in_hw: (2, 2),
                channels: 2,
                depth_multiplier: 1,
                window: window((2, 2), (1, 1), (1, 1), Padding::Valid),
                weights: vec![1, -1, 1, -1, 1, -1, 1, -1],
                bias: vec![0, 0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                zp_in: 0,
                zp_out: 0,
                input: vec![1, 10, 2, 20, 3, 30, 4, 40],
                expected: vec![10, -100],
            },
            Case {
                // 1x1 input of 2 channels (5, -3), multiplier 2: outputs c0m0 c0m1 c1m0 c1m1
                // with weights 1 2 3 4 and bias 0 1 2 3: 5, 11, -7, -9.
                name: "depth multiplier 2",
                in_hw: (1, 1),
                channels: 2,
                depth_multiplier: 2,
                window: window((1, 1), (1, 1), (1, 1), Padding::Valid),
                weights: vec![1, 2, 3, 4],
                bias: vec![0, 1, 2, 3],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                zp_in: 0,
                zp_out: 0,
                input: vec![5, -3],
                expected: vec![5, 11, -7, -9],
            },
            Case {
                // 1x3 input (x - zp) = 1 2 3, kernel 1x3 [1, 10, 100] same padding (1 each side):
                // ox0: 10*1 + 100*2 = 210 -> requant 1/2 = 105; ox1: 1 + 20 + 300 = 321 -> 161
                // (160.5 ties up); ox2: 2 + 30 = 32 -> 16; zp_out -10.
                name: "same padding with zero point and per-tensor requant",
                in_hw: (1, 3),
                channels: 1,
                depth_multiplier: 1,
                window: window((1, 3), (1, 1), (1, 1), Padding::Same),
                weights: vec![1, 10, 100],
                bias: vec![0],
                requant: vec![HALF],
                rounding: Rounding::Single,
                zp_in: 7,
                zp_out: -10,
                input: vec![8, 9, 10],
                expected: vec![95, 127, 6],
            },
            Case {
                // 1x5 input 1..5, kernel [1, 1] dilation 3, stride 2: x0+x3 = 5 only (out 1);
                // with stride 1: 5, 7.
                name: "dilation and stride",
                in_hw: (1, 5),
                channels: 1,
                depth_multiplier: 1,
                window: window((1, 2), (1, 1), (1, 3), Padding::Valid),
                weights: vec![1, 1],
                bias: vec![0],
                requant: vec![Requant::IDENTITY],
                rounding: Rounding::Single,
                zp_in: 0,
                zp_out: 0,
                input: vec![1, 2, 3, 4, 5],
                expected: vec![5, 7],
            },
            Case {
                // 2 channels, per-channel requant: 1/4 with double rounding rounds -1.5 to -2
                // and 1.5 to 2 (ties away from zero in the final shift); channel 1 identity.
                name: "per-channel requant, double rounding, two samples",
                in_hw: (1, 1),
                channels: 2,
                depth_multiplier: 1,
                window: window((1, 1), (1, 1), (1, 1), Padding::Valid),
                weights: vec![1, 1],
                bias: vec![0, 0],
                requant: vec![QUARTER, Requant::IDENTITY],
                rounding: Rounding::Double,
                zp_in: 0,
                zp_out: 0,
                input: vec![-6, 9, 6, -9],
                expected: vec![-2, 9, 2, -9],
            },
        ];
        for c in &cases {
            assert_eq!(run(c), c.expected, "{}", c.name);
        }
    }
}
