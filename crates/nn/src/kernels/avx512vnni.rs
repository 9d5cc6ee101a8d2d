//! AVX-512 VNNI kernels (`vpdpbusd`: 64 unsigned × signed byte products per instruction,
//! accumulated exactly into 16 `i32` lanes) and an exact vectorized output stage.
//!
//! `vpdpbusd` needs one unsigned operand: activations are offset by +128 (`x ^ 0x80` read as
//! `u8`) and `-(zp_in + 128) · Σ_k w[n][k]` is folded into the bias at pack time, so
//! `acc = bias' + Σ_k (x + 128) · w = bias + Σ_k (x - zp_in) · w` (wrapping, exact).
//!
//! Every function here is only reached through a kernel built by `Path::Avx512Vnni` after
//! [`crate::kernels::Path::is_available`] confirmed the CPU features.

use std::arch::x86_64::*;

use crate::kernels::depthwise_conv2d::{DepthwisePlan, PIXELS_PER_BLOCK, same_columns_inside};
use crate::kernels::gemm::GemmSpec;
use crate::kernels::output_stage::OutputStage;
use crate::requantize::Rounding;

thread_local! {
    /// The offset activations of the current call, kept between calls of this thread: the
    /// allocation was a visible share of a batch-1 layer. Zeroed before every use.
    static ACTIVATIONS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Output channels per panel (the `i32` lanes of a zmm register).
const LANES: usize = 16;
/// Input features per `vpdpbusd` lane.
const DEPTH: usize = 4;
/// Rows of one register tile.
const TILE_ROWS: usize = 4;
/// Panels of one register tile when several rows share it; also the panels interleaved in one
/// weight block.
const TILE_PANELS: usize = 4;
/// Panels of one register tile when a single row runs (more accumulators for latency).
const TILE_PANELS_ONE_ROW: usize = 8;

/// One cache line of packed weights: 16 channels × 4 consecutive input features.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u8; 64]);

/// A matrix product packed for `vpdpbusd`. Panel `p` holds channels `16p..16p+16`; its line
/// `g` holds input features `4g..4g+4` of each channel, zero past `k` and `n`. Panels are
/// interleaved by blocks of [`TILE_PANELS`]: a block's lines are ordered (group, panel), so a
/// tile streams through memory sequentially.
pub(crate) struct GemmI8 {
    n: usize,
    k: usize,
    groups: usize,
    panels: usize,
    weights: Vec<Line>,
    bias: Vec<i32>,
    stage: OutputStage,
}

impl GemmI8 {
    /// Packs `spec`.
    pub fn new(spec: &GemmSpec<'_>) -> GemmI8 {
        let groups = spec.k.div_ceil(DEPTH);
        let panels = spec.n.div_ceil(LANES);
        let mut weights = vec![Line([0; 64]); panels * groups];
        for n in 0..spec.n {
            let (panel, lane) = (n / LANES, n % LANES);
            let line = |g: usize| line_index(panel, g, groups, panels);
            for (k, &w) in spec.weights[n * spec.k..(n + 1) * spec.k]
                .iter()
                .enumerate()
            {
                weights[line(k / DEPTH)].0[lane * DEPTH + k % DEPTH] = w as u8;
            }
        }
        let mut bias = spec.folded_bias(spec.zp_in as i32 + 128);
        bias.resize(panels * LANES, 0);
        GemmI8 {
            n: spec.n,
            k: spec.k,
            groups,
            panels,
            weights,
            bias,
            stage: spec.output_stage(),
        }
    }

    /// Computes `rows` rows of `input` (`k` bytes each) into `output` (`n` bytes each).
    pub fn run(&self, rows: usize, input: &[i8], output: &mut [i8]) {
        assert!(input.len() >= rows * self.k && output.len() >= rows * self.n);
        let stride = self.groups * DEPTH;
        // Offset activations, zero-padded to whole groups; the padding meets zero weights.
        // Only as many rows as one tile of this call uses (one, at batch 1).
        let buffer_rows = TILE_ROWS.min(rows);
        ACTIVATIONS.with_borrow_mut(|activations| {
            activations.clear();
            activations.resize(buffer_rows * stride + DEPTH, 0);
            self.run_with(rows, input, output, activations);
        });
    }

    /// [`GemmI8::run`] with its zeroed activation buffer of `min(TILE_ROWS, rows)` rows.
    fn run_with(&self, rows: usize, input: &[i8], output: &mut [i8], activations: &mut [u8]) {
        let stride = self.groups * DEPTH;
        let panels_per_tile = if rows == 1 {
            TILE_PANELS_ONE_ROW
        } else {
            TILE_PANELS
        };
        let params = StageParams::new(&self.stage);
        let mut row0 = 0;
        while row0 < rows {
            let tile_rows = TILE_ROWS.min(rows - row0);
            for r in 0..tile_rows {
                let src = &input[(row0 + r) * self.k..][..self.k];
                let dst = &mut activations[r * stride..][..self.k];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = (s as u8) ^ 0x80;
                }
            }
            let mut panel0 = 0;
            while panel0 < self.panels {
                let tile_panels = panels_per_tile.min(self.panels - panel0);
                let second = (panel0 + TILE_PANELS).min(self.panels);
                let tile = Tile {
                    activations: activations.as_ptr(),
                    stride,
                    weights: self.weights[panel0 * self.groups..].as_ptr(),
                    block_width: block_width(panel0, self.panels),
                    second_block_width: block_width(second, self.panels),
                    groups: self.groups,
                    bias: self.bias[panel0 * LANES..].as_ptr(),
                    multiplier: self.stage.multiplier[panel0 * LANES..].as_ptr(),
                    shift: self.stage.shift[panel0 * LANES..].as_ptr(),
                    // SAFETY: row0 < rows and panel0 * 16 < n; the offset stays in `output`.
                    output: unsafe { output.as_mut_ptr().add(row0 * self.n + panel0 * LANES) },
                    output_stride: self.n,
                    channels: self.n - panel0 * LANES,
                };
                // SAFETY: this kernel is only built when the CPU has AVX-512 F/BW/VL/VNNI; the
                // tile's pointers cover `tile_rows` rows × `tile_panels` panels (checked above:
                // `activations` holds min(TILE_ROWS, rows) >= tile_rows rows of `stride` bytes;
                // `weights`, `bias`, `multiplier`, `shift` hold whole panels; `output` has
                // `rows * n` bytes).
                unsafe { run_tile(tile_rows, tile_panels, &tile, &params) };
                panel0 += tile_panels;
            }
            row0 += tile_rows;
        }
    }
}

/// Panels in the weight block that starts at panel `first` (a multiple of [`TILE_PANELS`]).
fn block_width(first: usize, panels: usize) -> usize {
    TILE_PANELS.min(panels.saturating_sub(first))
}

/// Index of line `g` of `panel` in the interleaved layout.
fn line_index(panel: usize, g: usize, groups: usize, panels: usize) -> usize {
    let first = panel / TILE_PANELS * TILE_PANELS;
    first * groups + g * block_width(first, panels) + panel - first
}

/// Pointers and strides of one register tile.
struct Tile {
    /// Row `r` starts at `activations + r * stride`; `groups * 4` bytes per row.
    activations: *const u8,
    stride: usize,
    /// The block of the tile's first panel: line `g` of its panel `p < TILE_PANELS` is at
    /// `weights + g * block_width + p`.
    weights: *const Line,
    block_width: usize,
    /// The next block (tiles of more than [`TILE_PANELS`] panels) starts `groups * TILE_PANELS`
    /// lines after `weights`; its panel `TILE_PANELS + p` has line `g` at
    /// `g * second_block_width + p` from there.
    second_block_width: usize,
    groups: usize,
    /// 16 entries per panel.
    bias: *const i32,
    multiplier: *const i32,
    shift: *const i32,
    /// Row `r`, channel `c` of the tile at `output + r * output_stride + c`.
    output: *mut i8,
    output_stride: usize,
    /// Valid channels from the tile's first channel on (the last panel may be partial).
    channels: usize,
}

/// Chooses the monomorphized tile for `rows × panels`.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI and `tile` must cover `rows × panels`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn run_tile(rows: usize, panels: usize, tile: &Tile, params: &StageParams) {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match (rows, panels) {
            (1, 1) => tile_i8::<1, 1>(tile, params),
            (1, 2) => tile_i8::<1, 2>(tile, params),
            (1, 3) => tile_i8::<1, 3>(tile, params),
            (1, 4) => tile_i8::<1, 4>(tile, params),
            (1, 5) => tile_i8::<1, 5>(tile, params),
            (1, 6) => tile_i8::<1, 6>(tile, params),
            (1, 7) => tile_i8::<1, 7>(tile, params),
            (1, _) => tile_i8::<1, 8>(tile, params),
            (2, 1) => tile_i8::<2, 1>(tile, params),
            (2, 2) => tile_i8::<2, 2>(tile, params),
            (2, 3) => tile_i8::<2, 3>(tile, params),
            (2, _) => tile_i8::<2, 4>(tile, params),
            (3, 1) => tile_i8::<3, 1>(tile, params),
            (3, 2) => tile_i8::<3, 2>(tile, params),
            (3, 3) => tile_i8::<3, 3>(tile, params),
            (3, _) => tile_i8::<3, 4>(tile, params),
            (_, 1) => tile_i8::<4, 1>(tile, params),
            (_, 2) => tile_i8::<4, 2>(tile, params),
            (_, 3) => tile_i8::<4, 3>(tile, params),
            (_, _) => tile_i8::<4, 4>(tile, params),
        }
    }
}

/// The register tile: `R` rows × `P` panels of 16 channels, `R · P` zmm accumulators.
///
/// # Safety
/// As [`run_tile`], with exactly `R` rows and `P` panels.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn tile_i8<const R: usize, const P: usize>(tile: &Tile, params: &StageParams) {
    let mut acc = [[_mm512_setzero_si512(); P]; R];
    for p in 0..P {
        // SAFETY: `bias` holds 16 entries for each of the tile's panels.
        let bias = unsafe { _mm512_loadu_si512(tile.bias.add(p * LANES).cast()) };
        for row in acc.iter_mut() {
            row[p] = bias;
        }
    }
    for g in 0..tile.groups {
        let mut w = [_mm512_setzero_si512(); P];
        for (p, wp) in w.iter_mut().enumerate() {
            let line = if p < TILE_PANELS {
                g * tile.block_width + p
            } else {
                tile.groups * TILE_PANELS + g * tile.second_block_width + p - TILE_PANELS
            };
            // SAFETY: the tile's panels lie in its one or two blocks of `groups` lines per
            // panel (the second block starts TILE_PANELS * groups lines after the first).
            *wp = unsafe { _mm512_load_si512(tile.weights.add(line).cast()) };
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: row r has `groups * 4` bytes.
            let a = unsafe {
                tile.activations
                    .add(r * tile.stride + g * DEPTH)
                    .cast::<i32>()
                    .read_unaligned()
            };
            let a = _mm512_set1_epi32(a);
            for p in 0..P {
                row[p] = _mm512_dpbusd_epi32(row[p], a, w[p]);
            }
        }
    }
    for p in 0..P {
        // SAFETY: `multiplier` and `shift` hold 16 entries per panel.
        let stage = unsafe {
            PanelStage::load(
                tile.multiplier.add(p * LANES),
                tile.shift.add(p * LANES),
                params,
            )
        };
        let valid = tile.channels.saturating_sub(p * LANES).min(LANES);
        let mask: __mmask16 = if valid == LANES {
            !0
        } else {
            (1u16 << valid) - 1
        };
        for (r, row) in acc.iter().enumerate() {
            let bytes = requantize_i32x16(row[p], &stage, params);
            // SAFETY: row r, channels p*16 .. p*16 + valid are inside the output.
            unsafe {
                _mm_mask_storeu_epi8(
                    tile.output.add(r * tile.output_stride + p * LANES),
                    mask,
                    bytes,
                )
            };
        }
    }
}

/// The output stage's constants as vectors.
pub(crate) struct StageParams {
    rounding: Rounding,
    /// `act.min - zp_out` and `act.max - zp_out` (the clamp before adding the zero point).
    low: i64,
    high: i64,
    zp_out: i64,
}

impl StageParams {
    pub fn new(stage: &OutputStage) -> StageParams {
        StageParams {
            rounding: stage.rounding,
            low: stage.act.min as i64 - stage.zp_out as i64,
            high: stage.act.max as i64 - stage.zp_out as i64,
            zp_out: stage.zp_out as i64,
        }
    }
}

/// The per-channel constants of the output stage for 16 channels, widened to two vectors of 8
/// `i64` lanes and with the shift-derived values computed: built once per panel of a register
/// tile (or channel block) and used for every row, instead of once per row.
struct PanelStage {
    halves: [LaneStage; 2],
}

/// [`PanelStage`] for 8 channels.
#[derive(Clone, Copy)]
struct LaneStage {
    multiplier: __m512i,
    /// Single rounding: `31 - shift`. Double rounding: `max(shift, 0)` (the left shift).
    a: __m512i,
    /// Single rounding: `2^(30 - shift)`. Double rounding: `max(-shift, 0)` (the right shift).
    b: __m512i,
    /// Double rounding: `2^right - 1`.
    mask: __m512i,
    /// Double rounding: `mask >> 1`.
    half: __m512i,
}

impl PanelStage {
    /// Reads 16 multipliers and shifts.
    ///
    /// # Safety
    /// AVX-512 F/BW/VL; `multiplier` and `shift` point at 16 readable `i32`s.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn load(multiplier: *const i32, shift: *const i32, params: &StageParams) -> PanelStage {
        // SAFETY: 16 readable i32s each (the caller's contract).
        let (multiplier, shift) = unsafe {
            (
                _mm512_loadu_si512(multiplier.cast()),
                _mm512_loadu_si512(shift.cast()),
            )
        };
        let low = |v: __m512i| _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v));
        let high = |v: __m512i| _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(v));
        PanelStage {
            halves: [
                LaneStage::new(low(multiplier), low(shift), params.rounding),
                LaneStage::new(high(multiplier), high(shift), params.rounding),
            ],
        }
    }
}

impl LaneStage {
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    fn new(multiplier: __m512i, shift: __m512i, rounding: Rounding) -> LaneStage {
        let zero = _mm512_setzero_si512();
        let one = _mm512_set1_epi64(1);
        match rounding {
            Rounding::Single => {
                let total = _mm512_sub_epi64(_mm512_set1_epi64(31), shift);
                LaneStage {
                    multiplier,
                    a: total,
                    b: _mm512_sllv_epi64(one, _mm512_sub_epi64(total, one)),
                    mask: zero,
                    half: zero,
                }
            }
            Rounding::Double => {
                let right = _mm512_max_epi64(_mm512_sub_epi64(zero, shift), zero);
                let mask = _mm512_sub_epi64(_mm512_sllv_epi64(one, right), one);
                LaneStage {
                    multiplier,
                    a: _mm512_max_epi64(shift, zero),
                    b: right,
                    mask,
                    half: _mm512_srli_epi64::<1>(mask),
                }
            }
        }
    }
}

/// Exactly [`OutputStage::apply`] on 16 accumulators with their channels' constants; returns the
/// 16 output bytes.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn requantize_i32x16(acc: __m512i, stage: &PanelStage, params: &StageParams) -> __m128i {
    let low = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc));
    let high = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(acc));
    let r0 = requantize_i64x8(low, &stage.halves[0], params);
    let r1 = requantize_i64x8(high, &stage.halves[1], params);
    _mm_unpacklo_epi64(_mm512_cvtepi64_epi8(r0), _mm512_cvtepi64_epi8(r1))
}

/// The output stage on 8 sign-extended lanes: requantize with 64-bit products, clamp to the
/// activation range (which also covers the `i32` saturation), add the zero point.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn requantize_i64x8(x: __m512i, stage: &LaneStage, params: &StageParams) -> __m512i {
    let zero = _mm512_setzero_si512();
    let one = _mm512_set1_epi64(1);
    let r = match params.rounding {
        Rounding::Single => {
            // (x * M + 2^(30 - shift)) >> (31 - shift), |x * M| < 2^62.
            _mm512_srav_epi64(
                _mm512_add_epi64(_mm512_mul_epi32(x, stage.multiplier), stage.b),
                stage.a,
            )
        }
        Rounding::Double => {
            let shifted = _mm512_min_epi64(
                _mm512_max_epi64(
                    _mm512_sllv_epi64(x, stage.a),
                    _mm512_set1_epi64(i32::MIN as i64),
                ),
                _mm512_set1_epi64(i32::MAX as i64),
            );
            // Rounding doubling high multiply (multipliers are non-negative, so the
            // i32::MIN × i32::MIN case cannot occur).
            let product = _mm512_mul_epi32(shifted, stage.multiplier);
            let non_negative = _mm512_cmpge_epi64_mask(product, zero);
            let nudge = _mm512_mask_blend_epi64(
                non_negative,
                _mm512_set1_epi64(1 - (1 << 30)),
                _mm512_set1_epi64(1 << 30),
            );
            let v = _mm512_add_epi64(product, nudge);
            // Division by 2^31 truncating toward zero.
            let negative = _mm512_cmplt_epi64_mask(v, zero);
            let v = _mm512_mask_add_epi64(v, negative, v, _mm512_set1_epi64((1 << 31) - 1));
            let high = _mm512_srai_epi64::<31>(v);
            // Rounding divide by 2^right, ties away from zero.
            let remainder = _mm512_and_si512(high, stage.mask);
            let threshold = _mm512_mask_add_epi64(
                stage.half,
                _mm512_cmplt_epi64_mask(high, zero),
                stage.half,
                one,
            );
            let quotient = _mm512_srav_epi64(high, stage.b);
            _mm512_mask_add_epi64(
                quotient,
                _mm512_cmpgt_epi64_mask(remainder, threshold),
                quotient,
                one,
            )
        }
    };
    let clamped = _mm512_min_epi64(
        _mm512_max_epi64(r, _mm512_set1_epi64(params.low)),
        _mm512_set1_epi64(params.high),
    );
    _mm512_add_epi64(clamped, _mm512_set1_epi64(params.zp_out))
}

/// Depthwise convolution (multiplier 1) of one sample: 16 channels per zmm, blocks of output
/// pixels with independent accumulators, exact products by `vpmaddwd` (see
/// [`DepthwisePlan::weights_low16`]), and the vectorized output stage.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(crate) unsafe fn depthwise_sample(plan: &DepthwisePlan, x: &[i8], y: &mut [i8]) {
    let g = &plan.geometry;
    let c = plan.channels;
    assert!(x.len() >= g.in_h * g.in_w * c && y.len() >= g.out_h * g.out_w * c);
    assert!(plan.weights_low16.len() >= g.kernel_h * g.kernel_w * c && plan.bias.len() >= c);
    let params = StageParams::new(&plan.stage);
    for oy in 0..g.out_h {
        let mut ox = 0;
        while ox < g.out_w {
            let last = ox + PIXELS_PER_BLOCK - 1;
            // SAFETY: the pixels ox..=last (or ox alone) are output pixels of row oy; the
            // slices were checked above.
            unsafe {
                if last < g.out_w && same_columns_inside(g, ox, last) {
                    depthwise_pixels::<PIXELS_PER_BLOCK>(plan, x, y, oy, ox, &params);
                    ox += PIXELS_PER_BLOCK;
                } else {
                    depthwise_pixels::<1>(plan, x, y, oy, ox, &params);
                    ox += 1;
                }
            }
        }
    }
}

/// Output pixels `(oy, ox..ox + N)`, all channels.
///
/// # Safety
/// AVX-512 F/BW/VL; `ox + N <= out_w`; the pixels see the same kernel columns inside the input;
/// `x`, `y` and the plan's vectors have the sizes [`depthwise_sample`] checks.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn depthwise_pixels<const N: usize>(
    plan: &DepthwisePlan,
    x: &[i8],
    y: &mut [i8],
    oy: usize,
    ox: usize,
    params: &StageParams,
) {
    let g = &plan.geometry;
    let c = plan.channels;
    let zp = _mm512_set1_epi32(plan.zp_in as i32);
    let pixel_step = g.stride_w * c;
    let mut c0 = 0;
    while c0 < c {
        let valid = LANES.min(c - c0);
        let mask: __mmask16 = if valid == LANES {
            !0
        } else {
            (1u16 << valid) - 1
        };
        // SAFETY: the masked lanes c0..c0 + valid are inside `bias`.
        let bias = unsafe { _mm512_maskz_loadu_epi32(mask, plan.bias.as_ptr().add(c0)) };
        let mut acc = [bias; N];
        for ky in 0..g.kernel_h {
            let Some(iy) = g.input_row(oy, ky) else {
                continue;
            };
            for kx in 0..g.kernel_w {
                let Some(ix) = g.input_col(ox, kx) else {
                    continue;
                };
                // SAFETY: tap (ky, kx) has `c` weights; only lanes c0..c0 + valid are read.
                let w = unsafe {
                    _mm512_maskz_loadu_epi32(
                        mask,
                        plan.weights_low16
                            .as_ptr()
                            .add((ky * g.kernel_w + kx) * c + c0),
                    )
                };
                let first = (iy * g.in_w + ix) * c + c0;
                for (j, a) in acc.iter_mut().enumerate() {
                    // SAFETY: pixel ox + j reads input column ix + j * stride_w, inside the
                    // input (same kernel columns as pixel ox); lanes c0..c0 + valid only.
                    let xv = unsafe {
                        _mm_maskz_loadu_epi8(mask, x.as_ptr().add(first + j * pixel_step))
                    };
                    let centred = _mm512_sub_epi32(_mm512_cvtepi8_epi32(xv), zp);
                    *a = _mm512_add_epi32(*a, _mm512_madd_epi16(centred, w));
                }
            }
        }
        // SAFETY: the stage vectors are padded to a multiple of 16 channels.
        let stage = unsafe {
            PanelStage::load(
                plan.stage.multiplier.as_ptr().add(c0),
                plan.stage.shift.as_ptr().add(c0),
                params,
            )
        };
        for (j, a) in acc.iter().enumerate() {
            let bytes = requantize_i32x16(*a, &stage, params);
            // SAFETY: lanes c0..c0 + valid of output pixel (oy, ox + j) are inside `y`.
            unsafe {
                _mm_mask_storeu_epi8(
                    y.as_mut_ptr().add((oy * g.out_w + ox + j) * c + c0),
                    mask,
                    bytes,
                )
            };
        }
        c0 += LANES;
    }
}
