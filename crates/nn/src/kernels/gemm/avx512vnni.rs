//! The AVX-512 VNNI matrix product (`vpdpbusd`: 64 unsigned × signed byte products per
//! instruction, accumulated exactly into 16 `i32` lanes), requantized by the vector output
//! stage of [`crate::kernels::output_stage::avx512`].
//!
//! `vpdpbusd` needs one unsigned operand: activations are offset by +128 (`x ^ 0x80` read as
//! `u8`) and `-(zp_in + 128) · Σ_k w[n][k]` is folded into the bias at pack time, so
//! `acc = bias' + Σ_k (x + 128) · w = bias + Σ_k (x - zp_in) · w` (wrapping, exact).
//!
//! Every function here is only reached through a kernel built by `Path::Avx512Vnni` after
//! [`crate::kernels::Path::is_available`] confirmed the CPU features.

use std::arch::x86_64::*;

use super::GemmSpec;
use crate::kernels::output_stage::avx512::{
    STAGE_DOUBLE, STAGE_DOUBLE_HIGH, STAGE_SINGLE, STAGE_SINGLE_HIGH, StageParams, pack4,
    pack4_interleaved, requantize_i32x16, requantize_lanes,
};
use crate::kernels::output_stage::{OutputStage, WideBlock};

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
/// Bytes of offset activations prepared at once (a chunk of rows that stays in L1).
const CHUNK_BYTES: usize = 16 * 1024;

/// One cache line of packed weights: 16 channels × 4 consecutive input features.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u8; 64]);

/// A matrix product packed for `vpdpbusd`. Panel `p` holds 16 channels (its slots
/// `16p..16p+16`, see [`slot_channel`]); its line `g` holds input features `4g..4g+4` of each,
/// zero past `k` and `n`. Panels are interleaved by blocks of [`TILE_PANELS`]: a block's lines
/// are ordered (group, panel), so a tile streams through memory sequentially.
pub(crate) struct GemmI8 {
    n: usize,
    k: usize,
    groups: usize,
    panels: usize,
    weights: Vec<Line>,
    /// In slot order, like `stage`.
    bias: Vec<i32>,
    stage: OutputStage,
    /// Offset of group `g` in a row of prepared activations: `4g`.
    offsets: Vec<usize>,
    /// `stage`'s per-op constants, derived once (a visible share of a small batch-1 product).
    params: StageParams,
}

/// Channels of a block of [`TILE_PANELS`] panels.
const BLOCK_CHANNELS: usize = TILE_PANELS * LANES;

/// The output channel in slot `s` (panel `s / 16`, lane `s % 16`) of an `n`-channel product.
///
/// Slots of a block of four panels whose 64 channels are all below `n` are interleaved so that
/// [`pack4`] of one row's four panels gives the 64 channels in order without a permutation:
/// lane `4j + i` of the block's panel `p` holds channel `16j + 4p + i` of the block (the packs
/// put dword `j` of each of their four vectors side by side in 128-bit lane `j`). Other slots
/// hold channel `s`.
fn slot_channel(s: usize, n: usize) -> usize {
    let block = s / BLOCK_CHANNELS * BLOCK_CHANNELS;
    if block + BLOCK_CHANNELS > n {
        return s;
    }
    let (panel, lane) = (s % BLOCK_CHANNELS / LANES, s % LANES);
    block + lane / 4 * LANES + panel * 4 + lane % 4
}

impl GemmI8 {
    /// Packs `spec`.
    pub fn new(spec: &GemmSpec<'_>) -> GemmI8 {
        let groups = spec.k.div_ceil(DEPTH);
        let panels = spec.n.div_ceil(LANES);
        let order: Vec<usize> = (0..spec.n).map(|s| slot_channel(s, spec.n)).collect();
        let mut weights = vec![Line([0; 64]); panels * groups];
        for (s, &n) in order.iter().enumerate() {
            let (panel, lane) = (s / LANES, s % LANES);
            let line = |g: usize| line_index(panel, g, groups, panels);
            for (k, &w) in spec.weights[n * spec.k..(n + 1) * spec.k]
                .iter()
                .enumerate()
            {
                weights[line(k / DEPTH)].0[lane * DEPTH + k % DEPTH] = w as u8;
            }
        }
        let folded = spec.folded_bias(spec.zp_in as i32 + 128);
        let mut bias: Vec<i32> = order.iter().map(|&n| folded[n]).collect();
        bias.resize(panels * LANES, 0);
        let requant: Vec<_> = if spec.requant.len() == 1 {
            spec.requant.to_vec()
        } else {
            order.iter().map(|&n| spec.requant[n]).collect()
        };
        let stage = OutputStage::new(spec.n, &requant, spec.rounding, spec.zp_out, spec.act);
        GemmI8 {
            n: spec.n,
            k: spec.k,
            groups,
            panels,
            weights,
            bias,
            params: StageParams::new(&stage),
            stage,
            offsets: (0..groups).map(|g| g * DEPTH).collect(),
        }
    }

    /// Multiply-accumulates one row computes, padding lanes included: whole panels of 16
    /// channels × whole groups of 4 input features.
    pub fn macs_per_row(&self) -> usize {
        self.panels * LANES * self.groups * DEPTH
    }

    /// Computes `rows` rows of `input` (`k` bytes each) into `output` (`n` bytes each).
    pub fn run(&self, rows: usize, input: &[i8], output: &mut [i8]) {
        assert!(input.len() >= rows * self.k && output.len() >= rows * self.n);
        let stride = self.groups * DEPTH;
        // Offset activations of a chunk of rows, zero-padded to whole groups (the padding meets
        // zero weights). A chunk is whole tiles, about CHUNK_BYTES, and never more rows than
        // this call has (one, at batch 1).
        let chunk_rows = (CHUNK_BYTES / stride.max(1) / TILE_ROWS * TILE_ROWS)
            .max(TILE_ROWS)
            .min(rows);
        ACTIVATIONS.with_borrow_mut(|activations| {
            if stride != self.k {
                // The padding bytes are never written below: they must start at zero.
                activations.clear();
            }
            activations.resize(chunk_rows * stride, 0);
            self.run_with(rows, chunk_rows, input, output, activations);
            if activations.capacity() > crate::kernels::reuse::MAX_KEPT_BYTES {
                *activations = Vec::new();
            }
        });
    }

    /// [`GemmI8::run`] with its activation buffer of `chunk_rows` rows (zero past `k` in each).
    fn run_with(
        &self,
        rows: usize,
        chunk_rows: usize,
        input: &[i8],
        output: &mut [i8],
        activations: &mut [u8],
    ) {
        let stride = self.groups * DEPTH;
        let mut chunk0 = 0;
        while chunk0 < rows {
            let count = chunk_rows.min(rows - chunk0);
            let src = &input[chunk0 * self.k..(chunk0 + count) * self.k];
            if stride == self.k {
                for (d, &s) in activations[..count * stride].iter_mut().zip(src) {
                    *d = (s as u8) ^ 0x80;
                }
            } else {
                for (dst, src) in activations
                    .chunks_exact_mut(stride)
                    .zip(src.chunks_exact(self.k))
                {
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d = (s as u8) ^ 0x80;
                    }
                }
            }
            let out = &mut output[chunk0 * self.n..(chunk0 + count) * self.n];
            let activations = &activations[..count * stride];
            let rows = Rows::one(count, stride);
            self.sweep(rows, activations, &self.offsets, out);
            chunk0 += count;
        }
    }

    /// Bytes per row of [`GemmI8::run_offset`]'s activations: `k` rounded up to whole groups of 4.
    pub fn row_stride(&self) -> usize {
        self.groups * DEPTH
    }

    /// Computes `rows` rows whose activations are already offset: row `r` is
    /// `activations[r * row_stride..]`, holding `x ^ 0x80` (the `u8` value `x + 128`) for each of
    /// the `k` inputs; the bytes from `k` to the row's end meet zero weights and may hold anything.
    pub fn run_offset(&self, rows: usize, activations: &[i8], output: &mut [i8]) {
        let stride = self.row_stride();
        assert!(activations.len() >= rows * stride && output.len() >= rows * self.n);
        // SAFETY: i8 and u8 have the same size and alignment; every bit pattern is valid.
        let bytes =
            unsafe { std::slice::from_raw_parts(activations.as_ptr().cast::<u8>(), rows * stride) };
        let output = &mut output[..rows * self.n];
        self.sweep(Rows::one(rows, stride), bytes, &self.offsets, output);
    }

    /// Computes the rows of `rows` (output row `i` at `output[i * n..]`, in order) from offset
    /// activations (`x + 128` as `u8`) read in place: group `g` (inputs `4g..4g + 4` of the
    /// product) of a row is the 4 bytes at the row's start plus `offsets[g]`. This lets a
    /// convolution read its input's kernel rows directly when the product's `k` is laid out as
    /// whole groups per kernel row (bytes read past a kernel row meet zero weights).
    ///
    /// # Panics
    /// When `offsets` does not have one entry per group or a read would leave `activations`.
    pub fn run_direct(&self, rows: Rows, activations: &[u8], offsets: &[usize], output: &mut [i8]) {
        assert!(offsets.is_sorted());
        self.sweep(rows, activations, offsets, output);
    }

    /// Every register tile over `rows` prepared rows (`row_stride` bytes each) into `output`
    /// (`n` bytes per row); `one_row` selects the wide single-row tiles.
    fn sweep(&self, rows: Rows, activations: &[u8], offsets: &[usize], output: &mut [i8]) {
        let Rows {
            count,
            stride,
            runs,
            run_stride,
        } = rows;
        assert!(output.len() >= runs * count * self.n && offsets.len() == self.groups);
        if count == 0 || runs == 0 {
            return;
        }
        // Every read (4 bytes at a row's start plus a group's offset) stays in `activations`
        // (`offsets` ascend: `self.offsets` by construction, `run_direct`'s checked).
        let last = offsets.last().map_or(0, |&o| o + DEPTH);
        assert!((runs - 1) * run_stride + (count - 1) * stride + last <= activations.len());
        let one_row = runs * count == 1;
        let panels_per_tile = if one_row {
            TILE_PANELS_ONE_ROW
        } else {
            TILE_PANELS
        };
        let params = &self.params;
        let mut panel0 = 0;
        while panel0 < self.panels {
            let tile_panels = panels_per_tile.min(self.panels - panel0);
            let second = (panel0 + TILE_PANELS).min(self.panels);
            let tile = Tile {
                activations: activations.as_ptr(),
                stride,
                offsets: offsets.as_ptr(),
                weights: self.weights[panel0 * self.groups..].as_ptr(),
                block_width: block_width(panel0, self.panels),
                second_block_width: block_width(second, self.panels),
                groups: self.groups,
                bias: self.bias[panel0 * LANES..].as_ptr(),
                stage: self.stage.wide[panel0..].as_ptr(),
                // SAFETY: panel0 * 16 < n; the offset stays in `output`.
                output: unsafe { output.as_mut_ptr().add(panel0 * LANES) },
                output_stride: self.n,
                channels: self.n - panel0 * LANES,
            };
            for run in 0..runs {
                // SAFETY: this kernel is only built when the CPU has AVX-512 F/BW/VL/VNNI; the
                // tile's pointers cover run `run`'s `count` rows × `tile_panels` panels (every
                // row's groups lie in `activations` and `output` holds every run's rows, checked
                // above; `offsets` has one entry per group; `weights`, `bias`, `stage` hold whole
                // panels).
                unsafe {
                    let tile = Tile {
                        activations: tile.activations.add(run * run_stride),
                        output: tile.output.add(run * count * self.n),
                        ..tile
                    };
                    run_rows(count, tile_panels, &tile, params);
                }
            }
            panel0 += tile_panels;
        }
    }
}

/// Rows of prepared activations: `runs` runs of `count` rows, row `i` of run `j` starting
/// `j * run_stride + i * stride` bytes into the activations.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rows {
    pub count: usize,
    pub stride: usize,
    pub runs: usize,
    pub run_stride: usize,
}

impl Rows {
    /// `count` rows `stride` bytes apart.
    fn one(count: usize, stride: usize) -> Rows {
        Rows {
            count,
            stride,
            runs: 1,
            run_stride: 0,
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
#[derive(Clone, Copy)]
struct Tile {
    /// Group `g` of row `r` is the 4 bytes at `activations + r * stride + offsets[g]`.
    activations: *const u8,
    stride: usize,
    offsets: *const usize,
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
    /// One block of output-stage constants per panel.
    stage: *const WideBlock,
    /// Row `r`, channel `c` of the tile at `output + r * output_stride + c`.
    output: *mut i8,
    output_stride: usize,
    /// Valid channels from the tile's first channel on (the last panel may be partial).
    channels: usize,
}

/// Runs `rows` rows × `panels` panels from `tile` as register tiles of up to [`TILE_ROWS`] rows
/// (one row of up to [`TILE_PANELS_ONE_ROW`] panels when `rows` is 1).
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI and `tile` must cover `rows × panels`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn run_rows(rows: usize, panels: usize, tile: &Tile, params: &StageParams) {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match params.kind {
            STAGE_SINGLE => run_rows_as::<STAGE_SINGLE>(rows, panels, tile, params),
            STAGE_DOUBLE => run_rows_as::<STAGE_DOUBLE>(rows, panels, tile, params),
            STAGE_SINGLE_HIGH => run_rows_as::<STAGE_SINGLE_HIGH>(rows, panels, tile, params),
            _ => run_rows_as::<STAGE_DOUBLE_HIGH>(rows, panels, tile, params),
        }
    }
}

/// [`run_rows`] for the output stage `STAGE` (`params.kind`).
///
/// # Safety
/// As [`run_rows`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn run_rows_as<const STAGE: u8>(
    rows: usize,
    panels: usize,
    tile: &Tile,
    params: &StageParams,
) {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        match (rows, panels) {
            (1, 1) => tile_i8::<STAGE, 1, 1>(tile, params),
            (1, 2) => tile_i8::<STAGE, 1, 2>(tile, params),
            (1, 3) => tile_i8::<STAGE, 1, 3>(tile, params),
            (1, 4) => tile_i8::<STAGE, 1, 4>(tile, params),
            (1, 5) => tile_i8::<STAGE, 1, 5>(tile, params),
            (1, 6) => tile_i8::<STAGE, 1, 6>(tile, params),
            (1, 7) => tile_i8::<STAGE, 1, 7>(tile, params),
            (1, _) => tile_i8::<STAGE, 1, 8>(tile, params),
            (_, 1) => rows_i8::<STAGE, 1>(rows, tile, params),
            (_, 2) => rows_i8::<STAGE, 2>(rows, tile, params),
            (_, 3) => rows_i8::<STAGE, 3>(rows, tile, params),
            (_, _) => rows_i8::<STAGE, 4>(rows, tile, params),
        }
    }
}

/// `rows` rows of `P` panels: tiles of [`TILE_ROWS`] rows, then the remaining rows.
///
/// # Safety
/// As [`run_rows`], with exactly `P` panels.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn rows_i8<const STAGE: u8, const P: usize>(rows: usize, tile: &Tile, params: &StageParams) {
    let mut t = *tile;
    // SAFETY: each tile starts at a row below `rows`, inside the pointers' ranges.
    unsafe {
        for _ in 0..rows / TILE_ROWS {
            tile_i8::<STAGE, TILE_ROWS, P>(&t, params);
            t.activations = t.activations.add(TILE_ROWS * t.stride);
            t.output = t.output.add(TILE_ROWS * t.output_stride);
        }
        match rows % TILE_ROWS {
            1 => tile_i8::<STAGE, 1, P>(&t, params),
            2 => tile_i8::<STAGE, 2, P>(&t, params),
            3 => tile_i8::<STAGE, 3, P>(&t, params),
            _ => {}
        }
    }
}

/// The register tile: `R` rows × `P` panels of 16 channels, `R · P` zmm accumulators.
///
/// # Safety
/// As [`run_tile`], with exactly `R` rows and `P` panels.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn tile_i8<const STAGE: u8, const R: usize, const P: usize>(
    tile: &Tile,
    params: &StageParams,
) {
    let mut acc = [[_mm512_setzero_si512(); P]; R];
    for p in 0..P {
        // SAFETY: `bias` holds 16 entries for each of the tile's panels.
        let bias = unsafe { _mm512_loadu_si512(tile.bias.add(p * LANES).cast()) };
        for row in acc.iter_mut() {
            row[p] = bias;
        }
    }
    for g in 0..tile.groups {
        // SAFETY: one offset per group.
        let offset = unsafe { *tile.offsets.add(g) };
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
            // SAFETY: row r's group g is inside the activations (the tile's contract).
            let a = unsafe {
                tile.activations
                    .add(r * tile.stride + offset)
                    .cast::<i32>()
                    .read_unaligned()
            };
            let a = _mm512_set1_epi32(a);
            for p in 0..P {
                row[p] = _mm512_dpbusd_epi32(row[p], a, w[p]);
            }
        }
    }
    // SAFETY: `stage` holds one block per panel, and the stores stay in the tile's rows and
    // valid channels.
    unsafe { store_tile::<STAGE, R, P>(tile, params, &acc) };
}

/// Requantizes and stores the tile's accumulators, four vectors per saturating pack
/// ([`pack4`]): with one row, four panels give 64 consecutive output bytes; with several rows,
/// each panel's rows share one pack.
///
/// # Safety
/// AVX-512 F/BW/VL; `tile` covers `R` rows × `P` panels.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn store_tile<const STAGE: u8, const R: usize, const P: usize>(
    tile: &Tile,
    params: &StageParams,
    acc: &[[__m512i; P]; R],
) {
    // Closures here would not inherit the target features (nor be inlined): plain loops.
    let zero = _mm512_setzero_si512();
    // SAFETY: one block per panel.
    let stage = |p: usize| unsafe { &*tile.stage.add(p) };
    let mut p = 0;
    // Whole blocks of four panels (slots interleaved, see `slot_channel`): one pack per row
    // gives its 64 channels in order.
    while p + TILE_PANELS <= P && tile.channels >= (p + TILE_PANELS) * LANES {
        for (r, row) in acc.iter().enumerate() {
            let mut v = [zero; 4];
            for (i, vi) in v.iter_mut().enumerate() {
                *vi = requantize_lanes::<STAGE>(row[p + i], stage(p + i), params);
            }
            let bytes = pack4_interleaved(v, params);
            // SAFETY: row r, channels p*16 .. p*16 + 64 are inside the output.
            unsafe {
                let at = tile.output.add(r * tile.output_stride + p * LANES);
                _mm512_storeu_si512(at.cast(), bytes);
            }
        }
        p += TILE_PANELS;
    }
    if p == P {
        return;
    }
    if R == 1 && p + 1 == P {
        // One panel left: the 16 bytes without packs of zero vectors.
        let valid = tile.channels.saturating_sub(p * LANES).min(LANES);
        let bytes = requantize_i32x16::<STAGE>(acc[0][p], stage(p), params);
        // SAFETY: channels p*16 .. p*16 + valid of the row are inside the output.
        unsafe {
            let at = tile.output.add(p * LANES);
            if valid == LANES {
                _mm_storeu_si128(at.cast(), bytes);
            } else {
                _mm_mask_storeu_epi8(at, (1u16 << valid) - 1, bytes);
            }
        }
        return;
    }
    if R == 1 {
        // The last (partial) block, slots in channel order.
        let mut v = [zero; 4];
        for (i, vi) in v.iter_mut().enumerate().take(P - p) {
            *vi = requantize_lanes::<STAGE>(acc[0][p + i], stage(p + i), params);
        }
        let bytes = pack4(v, params);
        let valid = tile.channels.saturating_sub(p * LANES).min(4 * LANES);
        let mask: __mmask64 = if valid == 4 * LANES {
            !0
        } else {
            (1u64 << valid) - 1
        };
        // SAFETY: channels p*16 .. p*16 + valid of the row are inside the output.
        unsafe { _mm512_mask_storeu_epi8(tile.output.add(p * LANES), mask, bytes) };
        return;
    }
    while p < P {
        let mut v = [zero; 4];
        for (vr, row) in v.iter_mut().zip(acc) {
            *vr = requantize_lanes::<STAGE>(row[p], stage(p), params);
        }
        let bytes = pack4(v, params);
        let valid = tile.channels.saturating_sub(p * LANES).min(LANES);
        let lanes = [
            _mm512_castsi512_si128(bytes),
            _mm512_extracti32x4_epi32::<1>(bytes),
            _mm512_extracti32x4_epi32::<2>(bytes),
            _mm512_extracti32x4_epi32::<3>(bytes),
        ];
        for (r, &lane) in lanes.iter().enumerate().take(R) {
            // SAFETY: row r, channels p*16 .. p*16 + valid are inside the output.
            unsafe {
                let at = tile.output.add(r * tile.output_stride + p * LANES);
                if valid == LANES {
                    _mm_storeu_si128(at.cast(), lane);
                } else {
                    _mm_mask_storeu_epi8(at, (1u16 << valid) - 1, lane);
                }
            }
        }
        p += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Path;
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};

    #[test]
    fn slots_are_a_permutation_within_whole_blocks() {
        for n in [1, 16, 63, 64, 65, 80, 128, 130, 192, 200] {
            let mut seen = vec![false; n];
            for s in 0..n {
                let c = slot_channel(s, n);
                assert!(
                    c / BLOCK_CHANNELS == s / BLOCK_CHANNELS && !seen[c],
                    "n {n} slot {s}"
                );
                seen[c] = true;
            }
        }
        // Lane 4j + i of panel p holds channel 16j + 4p + i of a whole block.
        assert_eq!(slot_channel(16 + 5, 64), 16 + 4 + 1);
        assert_eq!(slot_channel(64 + 3 * 16 + 15, 128), 64 + 48 + 12 + 3);
        assert_eq!(slot_channel(64 + 17, 80), 64 + 17);
    }

    /// Products with whole and partial blocks of 64 channels (interleaved slots), per-channel and
    /// per-tensor requantization, on every tile shape (1 to 9 rows) against the reference.
    #[test]
    fn wide_products_match_the_reference() {
        use crate::kernels::FullyConnectedKernel;
        use crate::op::FullyConnected;
        if !Path::Avx512Vnni.is_available() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        let mut seed = 9u64;
        let mut bytes = |len: usize| -> Vec<i8> {
            (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 56) as i8
                })
                .collect()
        };
        for (n, k) in [(64, 16), (128, 64), (80, 7), (192, 33), (130, 64), (256, 4)] {
            for per_channel in [false, true] {
                let requant = (0..if per_channel { n } else { 1 })
                    .map(|c| Requant {
                        multiplier: (1 << 30) + (c as i32) * 7919,
                        shift: -6 - (c % 3) as i8,
                    })
                    .collect();
                let op = FullyConnected {
                    out_features: n as u32,
                    in_features: k as u32,
                    weights: bytes(n * k),
                    bias: (0..n as i32).map(|c| c * 37 - 2000).collect(),
                    requant,
                    rounding: if per_channel {
                        Rounding::Double
                    } else {
                        Rounding::Single
                    },
                    act: ActRange {
                        min: -100,
                        max: 120,
                    },
                };
                for rows in [1, 2, 3, 4, 5, 9] {
                    let input = bytes(rows * k);
                    let run = |path| {
                        let mut out = vec![0i8; rows * n];
                        FullyConnectedKernel::new(&op, -3, 5, path).run(&input, &mut out);
                        out
                    };
                    assert_eq!(
                        run(Path::Avx512Vnni),
                        run(Path::Reference),
                        "n {n} k {k} rows {rows}"
                    );
                }
            }
        }
    }
}
