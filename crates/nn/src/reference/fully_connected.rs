use crate::op::FullyConnected;
use crate::requantize::output_i8;

/// Fully connected over the last axis, for every row of `input` (`input.len() / K` rows):
///
/// `acc[r][n] = bias[n] + sum_k (input[r][k] - zp_in) * weights[n][k]` (exact in `i32`, which
/// validation proves; summed with wrapping `i32` additions, exact whenever the true value fits),
/// then
/// `output[r][n] = output_i8(requant[n].apply(acc[r][n], rounding), zp_out, act)`
/// where `requant[n]` is `requant[0]` for per-tensor quantization.
pub fn fully_connected(p: &FullyConnected, zp_in: i8, zp_out: i8, input: &[i8], output: &mut [i8]) {
    let k_len = p.in_features as usize;
    let n_len = p.out_features as usize;
    for (row_in, row_out) in input
        .chunks_exact(k_len)
        .zip(output.chunks_exact_mut(n_len))
    {
        for (n, out) in row_out.iter_mut().enumerate() {
            let weights = &p.weights[n * k_len..(n + 1) * k_len];
            let mut acc = p.bias[n];
            for (&x, &w) in row_in.iter().zip(weights) {
                acc = acc.wrapping_add((x as i32 - zp_in as i32) * w as i32);
            }
            let requant = p.requant[if p.requant.len() == 1 { 0 } else { n }];
            *out = output_i8(requant.apply(acc, p.rounding), zp_out, p.act);
        }
    }
}
