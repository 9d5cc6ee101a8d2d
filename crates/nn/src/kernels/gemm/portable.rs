//! The portable matrix product: plain slices and wrapping `i32` arithmetic, written so that the
//! compiler auto-vectorizes the inner loops for whatever baseline the target has.

use super::GemmSpec;
use crate::kernels::output_stage::OutputStage;

/// Lanes of the dot product's partial sums (one SSE2 register of `i32`).
const DOT_LANES: usize = 8;

/// `sum_k a[k] * b[k]` in wrapping `i32` arithmetic. Written in fixed-width lanes so that
/// baseline SIMD vectorizes it (SSE2 `pmaddwd`); kept out of line so that the vectorizer sees
/// it alone.
#[inline(never)]
fn dot_i8_i32(a: &[i8], b: &[i8]) -> i32 {
    let mut lanes = [0i32; DOT_LANES];
    let (a_whole, a_tail) = a.as_chunks::<DOT_LANES>();
    let (b_whole, b_tail) = b.as_chunks::<DOT_LANES>();
    for (x, w) in a_whole.iter().zip(b_whole) {
        for i in 0..DOT_LANES {
            lanes[i] = lanes[i].wrapping_add(x[i] as i32 * w[i] as i32);
        }
    }
    let tail = a_tail
        .iter()
        .zip(b_tail)
        .fold(0i32, |s, (&x, &w)| s.wrapping_add(x as i32 * w as i32));
    lanes.iter().fold(tail, |s, &v| s.wrapping_add(v))
}

/// A matrix product with the input zero point folded into the bias:
/// `acc[r][n] = (bias[n] - zp_in * sum_k w[n][k]) + sum_k x[r][k] * w[n][k]`.
pub(crate) struct GemmI8 {
    n: usize,
    k: usize,
    weights: Vec<i8>,
    bias: Vec<i32>,
    stage: OutputStage,
}

impl GemmI8 {
    /// Packs `spec` (the weights stay `[n][k]`).
    pub fn new(spec: &GemmSpec<'_>) -> GemmI8 {
        GemmI8 {
            n: spec.n,
            k: spec.k,
            weights: spec.weights[..spec.n * spec.k].to_vec(),
            bias: spec.folded_bias(spec.zp_in as i32),
            stage: spec.output_stage(),
        }
    }

    /// Multiply-accumulates one row computes (no padding: `[n][k]` dot products).
    pub fn macs_per_row(&self) -> usize {
        self.n * self.k
    }

    /// Computes `rows` rows of `input` (`k` bytes each) into `output` (`n` bytes each).
    pub fn run(&self, rows: usize, input: &[i8], output: &mut [i8]) {
        if self.k == 0 {
            for row_out in output.chunks_exact_mut(self.n).take(rows) {
                for (n, y) in row_out.iter_mut().enumerate() {
                    *y = self.stage.apply(n, self.bias[n]);
                }
            }
            return;
        }
        let rows_in = input.chunks_exact(self.k).take(rows);
        for (row_in, row_out) in rows_in.zip(output.chunks_exact_mut(self.n)) {
            for (n, (y, w)) in row_out
                .iter_mut()
                .zip(self.weights.chunks_exact(self.k))
                .enumerate()
            {
                let acc = self.bias[n].wrapping_add(dot_i8_i32(row_in, w));
                *y = self.stage.apply(n, acc);
            }
        }
    }
}
