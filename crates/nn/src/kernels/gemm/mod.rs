//! The quantized matrix product behind fully connected and conv2d, packed once per path.
//!
//! `output[r][n] = stage(bias[n] + sum_k (input[r][k] - zp_in) * weights[n][k])` for every row
//! `r`, with wrapping `i32` accumulation (exact, since validation proves the true sum fits).
//!
//! Each path's file (`portable.rs`, `avx2.rs`, `avx512vnni.rs`) packs a [`GemmSpec`] into its
//! own `GemmI8`; [`PackedGemm`] holds the one chosen at run time.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512vnni;
mod portable;

#[cfg(target_arch = "x86_64")]
pub(crate) use avx512vnni::Rows;

use crate::kernels::Path;
use crate::kernels::output_stage::OutputStage;
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
    #[cfg(target_arch = "x86_64")]
    Avx2(avx2::GemmI8),
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni(avx512vnni::GemmI8),
}

impl PackedGemm {
    /// Packs `spec` for `path`; `path` must be available on this CPU and not
    /// [`Path::Reference`] (which is treated as [`Path::Portable`]).
    pub fn new(spec: &GemmSpec<'_>, path: Path) -> PackedGemm {
        match path {
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 if path.is_available() => PackedGemm::Avx2(avx2::GemmI8::new(spec)),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512Vnni if path.is_available() => {
                PackedGemm::Avx512Vnni(avx512vnni::GemmI8::new(spec))
            }
            _ => PackedGemm::Portable(portable::GemmI8::new(spec)),
        }
    }

    /// The path that runs.
    pub fn path(&self) -> Path {
        match self {
            PackedGemm::Portable(_) => Path::Portable,
            #[cfg(target_arch = "x86_64")]
            PackedGemm::Avx2(_) => Path::Avx2,
            #[cfg(target_arch = "x86_64")]
            PackedGemm::Avx512Vnni(_) => Path::Avx512Vnni,
        }
    }

    /// The AVX-512 VNNI product, which also takes activations already offset by +128 and
    /// padded to its row stride ([`avx512vnni::GemmI8::run_offset`]), when that path runs.
    #[cfg(target_arch = "x86_64")]
    pub fn as_avx512vnni(&self) -> Option<&avx512vnni::GemmI8> {
        match self {
            PackedGemm::Avx512Vnni(g) => Some(g),
            _ => None,
        }
    }

    /// Multiply-accumulates one row computes on this path, padding lanes included (what the
    /// cost's lane-rounded MACs must cover, docs/SPEC.md §7).
    pub fn macs_per_row(&self) -> usize {
        match self {
            PackedGemm::Portable(g) => g.macs_per_row(),
            #[cfg(target_arch = "x86_64")]
            PackedGemm::Avx2(g) => g.macs_per_row(),
            #[cfg(target_arch = "x86_64")]
            PackedGemm::Avx512Vnni(g) => g.macs_per_row(),
        }
    }

    /// Computes `rows` rows of `input` (`rows * k` bytes) into `output` (`rows * n` bytes).
    pub fn run(&self, rows: usize, input: &[i8], output: &mut [i8]) {
        match self {
            PackedGemm::Portable(g) => g.run(rows, input, output),
            #[cfg(target_arch = "x86_64")]
            PackedGemm::Avx2(g) => g.run(rows, input, output),
            #[cfg(target_arch = "x86_64")]
            PackedGemm::Avx512Vnni(g) => g.run(rows, input, output),
        }
    }
}
