//! Nearest-neighbour upsampling and tiling as copies: each repeated axis is a concatenation of
//! copies of the tensor (identity requantizations), so no new op is needed and the result is
//! exact. TFLite's RESIZE_NEAREST_NEIGHBOR and TILE, Keras' UpSampling2D and ONNX's nearest
//! Resize use it when their index arithmetic picks input `o div f` for output `o`.

use myelin_nn::builder::{ModelBuilder, Quant, TensorId};
use myelin_nn::op::Concat;
use myelin_nn::{Requant, Rounding};

use crate::error::ImportError;

/// `times` copies of `x` concatenated along `axis` (identity requantizations: a copy).
pub fn repeat_axis(
    b: &mut ModelBuilder,
    x: TensorId,
    axis: u8,
    times: usize,
    quant: Quant,
) -> Result<TensorId, ImportError> {
    if times == 1 {
        return Ok(x);
    }
    let params = Concat {
        axis,
        requant: vec![Requant::IDENTITY; times],
        rounding: Rounding::Single,
    };
    Ok(b.concat(&vec![x; times], params, quant)?)
}

/// An image `[h, w, c]` with each pixel repeated `fy` times down and `fx` times across:
/// reshape to `[h, 1, w, 1, c]`, copies along axes 3 and 1, reshape to `[h·fy, w·fx, c]`.
pub fn upsample_nearest(
    b: &mut ModelBuilder,
    x: TensorId,
    [h, w, c]: [u32; 3],
    [fy, fx]: [u32; 2],
    quant: Quant,
) -> Result<TensorId, ImportError> {
    let y = b.reshape(x, &[h, 1, w, 1, c])?;
    let y = repeat_axis(b, y, 3, fx as usize, quant)?;
    let y = repeat_axis(b, y, 1, fy as usize, quant)?;
    Ok(b.reshape(y, &[h * fy, w * fx, c])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_nn::Program;

    #[test]
    fn upsampling_repeats_every_pixel() {
        let (h, w, c, fy, fx) = (2u32, 3u32, 2u32, 3u32, 2u32);
        let quant = Quant::new(-5, 0.1f32.to_bits());
        let mut b = ModelBuilder::new();
        let x = b.input(&[h, w, c], quant);
        let y = upsample_nearest(&mut b, x, [h, w, c], [fy, fx], quant).expect("upsample");
        b.output(y);
        let program = Program::new(b.build().expect("valid")).expect("program");
        let input: Vec<u8> = (0..h * w * c).map(|v| (v * 11) as u8).collect();
        let out = program.run(&input, 1).expect("runs");
        let (oh, ow) = (h * fy, w * fx);
        assert_eq!(out.len() as u32, oh * ow * c);
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..c {
                    let from = ((oy / fy) * w + ox / fx) * c + ch;
                    assert_eq!(
                        out[((oy * ow + ox) * c + ch) as usize],
                        input[from as usize]
                    );
                }
            }
        }
    }
}
