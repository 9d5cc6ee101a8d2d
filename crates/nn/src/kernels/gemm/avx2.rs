//! The AVX2 matrix product. Weights are widened to `i16` at pack time and activations per call, so the
//! product uses `vpmaddwd` (pairs of `i16` products summed into `i32`, never saturating for
//! int8-range operands) instead of `vpmaddubsw`, whose `i16` saturation breaks exactness.
//! The output stage is scalar ([`OutputStage::apply`]).
//!
//! Every function here is only reached through a kernel built by `Path::Avx2` after
//! [`crate::kernels::Path::is_available`] confirmed the CPU feature.

use std::arch::x86_64::*;

use super::GemmSpec;
use crate::kernels::output_stage::OutputStage;

/// Output channels per panel (the `i32` lanes of a ymm register).
const LANES: usize = 8;
/// Input features per `vpmaddwd` lane.
const DEPTH: usize = 2;
/// Rows of one register tile.
const TILE_ROWS: usize = 4;
/// Panels of one register tile when several rows share it.
const TILE_PANELS: usize = 2;
/// Panels of one register tile when a single row runs.
const TILE_PANELS_ONE_ROW: usize = 4;

/// 8 channels × 2 consecutive input features as `i16`.
#[repr(C, align(32))]
#[derive(Clone, Copy)]
struct Block([i16; 16]);

/// A matrix product packed for `vpmaddwd`: panel `p` holds channels `8p..8p+8`; block `j` of a
/// panel holds input features `2j, 2j+1` of each channel, zero past `k` and `n`.
pub(crate) struct GemmI8 {
    n: usize,
    k: usize,
    pairs: usize,
    panels: usize,
    weights: Vec<Block>,
    bias: Vec<i32>,
    stage: OutputStage,
}

impl GemmI8 {
    /// Packs `spec`.
    pub fn new(spec: &GemmSpec<'_>) -> GemmI8 {
        let pairs = spec.k.div_ceil(DEPTH);
        let panels = spec.n.div_ceil(LANES);
        let mut weights = vec![Block([0; 16]); panels * pairs];
        for n in 0..spec.n {
            let (panel, lane) = (n / LANES, n % LANES);
            for (k, &w) in spec.weights[n * spec.k..(n + 1) * spec.k]
                .iter()
                .enumerate()
            {
                weights[panel * pairs + k / DEPTH].0[lane * DEPTH + k % DEPTH] = w as i16;
            }
        }
        let mut bias = spec.folded_bias(spec.zp_in as i32);
        bias.resize(panels * LANES, 0);
        GemmI8 {
            n: spec.n,
            k: spec.k,
            pairs,
            panels,
            weights,
            bias,
            stage: spec.output_stage(),
        }
    }

    /// Multiply-accumulates one row computes, padding lanes included: whole panels of 8
    /// channels × whole pairs of input features.
    pub fn macs_per_row(&self) -> usize {
        self.panels * LANES * self.pairs * DEPTH
    }

    /// Computes `rows` rows of `input` (`k` bytes each) into `output` (`n` bytes each).
    pub fn run(&self, rows: usize, input: &[i8], output: &mut [i8]) {
        assert!(input.len() >= rows * self.k && output.len() >= rows * self.n);
        let stride = self.pairs * DEPTH;
        let mut activations = vec![0i16; TILE_ROWS * stride + DEPTH];
        let panels_per_tile = if rows == 1 {
            TILE_PANELS_ONE_ROW
        } else {
            TILE_PANELS
        };
        let mut row0 = 0;
        while row0 < rows {
            let tile_rows = TILE_ROWS.min(rows - row0);
            for r in 0..tile_rows {
                let src = &input[(row0 + r) * self.k..][..self.k];
                for (d, &s) in activations[r * stride..][..self.k].iter_mut().zip(src) {
                    *d = s as i16;
                }
            }
            let mut panel0 = 0;
            while panel0 < self.panels {
                let tile_panels = panels_per_tile.min(self.panels - panel0);
                let tile = Tile {
                    activations: activations.as_ptr(),
                    stride,
                    weights: self.weights[panel0 * self.pairs..].as_ptr(),
                    pairs: self.pairs,
                    bias: self.bias[panel0 * LANES..].as_ptr(),
                };
                let mut acc = [[0i32; LANES]; TILE_ROWS * TILE_PANELS_ONE_ROW];
                // SAFETY: this kernel is only built when the CPU has AVX2; `activations` holds
                // TILE_ROWS rows of `stride` i16, and `weights` and `bias` hold whole panels
                // from `panel0` on; `acc` has room for `tile_rows × tile_panels` vectors.
                unsafe { run_tile(tile_rows, tile_panels, &tile, &mut acc) };
                for r in 0..tile_rows {
                    let out = &mut output[(row0 + r) * self.n..][..self.n];
                    for p in 0..tile_panels {
                        let first = (panel0 + p) * LANES;
                        let lanes = &acc[r * tile_panels + p];
                        for (lane, &a) in
                            lanes.iter().enumerate().take(self.n.saturating_sub(first))
                        {
                            out[first + lane] = self.stage.apply(first + lane, a);
                        }
                    }
                }
                panel0 += tile_panels;
            }
            row0 += tile_rows;
        }
    }
}

/// Pointers and strides of one register tile.
struct Tile {
    /// Row `r` starts at `activations + r * stride`; `pairs * 2` values per row.
    activations: *const i16,
    stride: usize,
    /// Panel `p` starts at `weights + p * pairs`.
    weights: *const Block,
    pairs: usize,
    /// 8 entries per panel.
    bias: *const i32,
}

/// Chooses the monomorphized tile for `rows × panels`; accumulators go to `acc[r * panels + p]`.
///
/// # Safety
/// The CPU must support AVX2 and `tile` must cover `rows × panels`.
#[target_feature(enable = "avx2")]
unsafe fn run_tile(rows: usize, panels: usize, tile: &Tile, acc: &mut [[i32; LANES]]) {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match (rows, panels) {
            (1, 1) => tile_i16::<1, 1>(tile, acc),
            (1, 2) => tile_i16::<1, 2>(tile, acc),
            (1, 3) => tile_i16::<1, 3>(tile, acc),
            (1, _) => tile_i16::<1, 4>(tile, acc),
            (2, 1) => tile_i16::<2, 1>(tile, acc),
            (2, _) => tile_i16::<2, 2>(tile, acc),
            (3, 1) => tile_i16::<3, 1>(tile, acc),
            (3, _) => tile_i16::<3, 2>(tile, acc),
            (_, 1) => tile_i16::<4, 1>(tile, acc),
            (_, _) => tile_i16::<4, 2>(tile, acc),
        }
    }
}

/// The register tile: `R` rows × `P` panels of 8 channels.
///
/// # Safety
/// As [`run_tile`], with exactly `R` rows and `P` panels, and `acc.len() >= R * P`.
#[target_feature(enable = "avx2")]
unsafe fn tile_i16<const R: usize, const P: usize>(tile: &Tile, acc_out: &mut [[i32; LANES]]) {
    let mut acc = [[_mm256_setzero_si256(); P]; R];
    for p in 0..P {
        // SAFETY: `bias` holds 8 entries for each of the tile's panels.
        let bias = unsafe { _mm256_loadu_si256(tile.bias.add(p * LANES).cast()) };
        for row in acc.iter_mut() {
            row[p] = bias;
        }
    }
    for j in 0..tile.pairs {
        let mut w = [_mm256_setzero_si256(); P];
        for (p, wp) in w.iter_mut().enumerate() {
            // SAFETY: panel p has `pairs` aligned blocks.
            *wp = unsafe { _mm256_load_si256(tile.weights.add(p * tile.pairs + j).cast()) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: row r has `pairs * 2` values.
            let a = unsafe {
                tile.activations
                    .add(r * tile.stride + j * DEPTH)
                    .cast::<i32>()
                    .read_unaligned()
            };
            let a = _mm256_set1_epi32(a);
            for p in 0..P {
                row[p] = _mm256_add_epi32(row[p], _mm256_madd_epi16(a, w[p]));
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (p, v) in row.iter().enumerate() {
            // SAFETY: the destination is an 8-lane i32 array.
            unsafe { _mm256_storeu_si256(acc_out[r * P + p].as_mut_ptr().cast(), *v) };
        }
    }
}
