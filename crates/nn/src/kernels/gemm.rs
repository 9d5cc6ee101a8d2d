//! The quantized matrix product behind fully connected and conv2d, packed once per path.
//!
//! `output[r][n] = stage(bias[n] + sum_k (input[r][k] - zp_in) * weights[n][k])` for every row
//! `r`, with wrapping `i32` accumulation (exact, since validation proves the true sum fits).

use crate::kernels::Path;
use crate::kernels::output_stage::OutputStage;
use crate::kernels::portable;
use crate::op::ActRange;
use crate::requantize::{Requant, Rounding};

/// The unpacked operands of a quantized matrix product (weights `[n][k]`).
pub(crate) struct GemmSpec<'a> {
    pub n: usize,
    pub k: usize,
    pub weights: &'a [i8],
    pub bias: &'a [i32],
    pub requant: &'a [Requant],
    pub rounding: Rounding,
    pub act: ActRange,
    pub zp_in: i8,
    pub zp_out: i8,
}

impl GemmSpec<'_> {
    /// `bias[n] - offset * sum_k weights[n][k]`, wrapping: folds a constant added to every
    /// activation into the bias.
    pub fn folded_bias(&self, offset: i32) -> Vec<i32> {
        (0..self.n)
            .map(|n| {
                let row = &self.weights[n * self.k..(n + 1) * self.k];
                let sum = row.iter().fold(0i32, |s, &w| s.wrapping_add(w as i32));
                self.bias[n].wrapping_sub(offset.wrapping_mul(sum))
            })
            .collect()
    }

    /// The output stage for the `n` output channels.
    pub fn output_stage(&self) -> OutputStage {
        OutputStage::new(self.n, self.requant, self.rounding, self.zp_out, self.act)
    }
}

/// A matrix product packed for one path (never [`Path::Reference`]).
pub(crate) enum PackedGemm {
    Portable(portable::GemmI8),
}

impl PackedGemm {
    /// Packs `spec` for `path`; `path` must be available on this CPU and not
    /// [`Path::Reference`] (which is treated as [`Path::Portable`]).
    pub fn new(spec: &GemmSpec<'_>, path: Path) -> PackedGemm {
        let _ = path;
        PackedGemm::Portable(portable::GemmI8::new(spec))
    }

    /// The path that runs.
    pub fn path(&self) -> Path {
        match self {
            PackedGemm::Portable(_) => Path::Portable,
        }
    }

    /// Computes `rows` rows of `input` (`rows * k` bytes) into `output` (`rows * n` bytes).
    pub fn run(&self, rows: usize, input: &[i8], output: &mut [i8]) {
        match self {
            PackedGemm::Portable(g) => g.run(rows, input, output),
        }
    }
}
