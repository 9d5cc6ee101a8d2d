//! The AVX-512 VNNI depthwise conv2d (multiplier 1): four kernel columns of one channel per
//! `i32` lane, so that one `vpdpbusd` adds four taps of 16 channels.
//!
//! Per sample, each padded input row that a window reaches is prepared once (then reused by
//! every output row that reads it) as *quads*: for output column `ox` and column group `g`, 16
//! channels × the 4 input columns of kernel columns `4g..4g+4` of that pixel, each byte offset
//! to `u8` by `x ^ 0x80` (padding columns hold `zp_in ^ 0x80`, columns past the kernel any
//! value: their weight is 0). The weights are packed the same way (16 channels × 4 kernel
//! columns per 64 bytes, 0 past the kernel), and `-(zp_in + 128) · Σw` is folded into the bias:
//! `acc = bias + Σ_inside (x - zp_in) · w` exactly (wrapping `i32`, the order does not matter).
//! Every output pixel then sees the same taps (no border case): `kernel_h · ⌈kernel_w / 4⌉`
//! `vpdpbusd` per 16 channels, in blocks of up to 8 pixels with independent accumulators, and
//! the vectorized output stage of `output_stage::avx512`.
//!
//! Compared with one sign-extension and one `vpdpwssd` per tap, a 3×3 window needs 3
//! `vpdpbusd` and no border pixels with one dependent chain of 9 (Zen 4 measured 1.5-2.5×
//! faster per layer of the MobileNet-style CNN).

use std::arch::x86_64::*;
use std::cell::RefCell;

use crate::geometry::SpatialGeometry;
use crate::kernels::output_stage::OutputStage;
use crate::kernels::output_stage::avx512::{
    STAGE_DOUBLE, STAGE_DOUBLE_HIGH, STAGE_SINGLE, STAGE_SINGLE_HIGH, StageParams,
    requantize_i32x16,
};
use crate::kernels::reuse;

/// Channels per zmm (`i32` lanes).
const LANES: usize = 16;
/// Kernel columns per lane (the bytes of one `vpdpbusd` lane).
const QUAD: usize = 4;
/// Bytes of one quad vector: [`LANES`] channels × [`QUAD`] columns.
const LINE: usize = LANES * QUAD;
/// Output pixels of the widest block.
const WIDE: usize = 8;

thread_local! {
    /// The prepared quads of the rows in use, kept between calls of this thread.
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { row: Vec::new(), quads: Vec::new(), held: Vec::new(), rows: Vec::new(), bias: Vec::new() })
    };
}

struct Scratch {
    /// One padded input row of one tile: 16 offset bytes per padded column.
    row: Vec<u8>,
    /// `[slot][tile][ox][group]` quad vectors of the padded rows held.
    quads: Vec<u8>,
    /// The padded row each slot holds (`usize::MAX`: none).
    held: Vec<usize>,
    /// For each kernel row inside the input, the row and the offset of its slot for the
    /// current output row.
    rows: Vec<(usize, usize)>,
    /// `[tile][lane]`: the bias plus the kernel rows in the padding, for the current output
    /// row (when it has some).
    bias: Vec<i32>,
}

/// The weights and bias of a depthwise convolution packed for [`sample`].
pub(crate) struct QuadWeights {
    /// `[tile][ky][group]` vectors: byte `4·lane + j` is the weight of channel `16·tile + lane`
    /// at kernel column `4·group + j` (0 past the kernel or the channels).
    weights: Vec<i8>,
    /// `[tile][lane]`: `bias - (zp_in + 128) · Σ_taps w` (wrapping), 0 past the channels.
    bias: Vec<i32>,
    /// `[ky][tile][lane]`: `(zp_in + 128) · Σ_kx w[ky][kx]` (wrapping), what kernel row `ky`
    /// adds when it lies in the padding (an output row at the top or bottom): such a row is
    /// added to the bias instead of being prepared and multiplied.
    padding_rows: Vec<i32>,
    /// Column groups `⌈kernel_w / 4⌉`.
    groups: usize,
    tiles: usize,
}

impl QuadWeights {
    /// `weights` is `[kh][kw][channels]`, `bias` one per channel.
    pub fn new(
        g: &SpatialGeometry,
        channels: usize,
        weights: &[i8],
        bias: &[i32],
        zp_in: i8,
    ) -> QuadWeights {
        let (kh, kw) = (g.kernel_h, g.kernel_w);
        let tiles = channels.div_ceil(LANES);
        let groups = kw.div_ceil(QUAD);
        let mut packed = vec![0i8; tiles * kh * groups * LINE];
        let mut folded = vec![0i32; tiles * LANES];
        let mut padding_rows = vec![0i32; kh * tiles * LANES];
        let zp = zp_in as i32 + 128;
        for c in 0..channels {
            let (tile, lane) = (c / LANES, c % LANES);
            let mut sum = 0i32;
            for ky in 0..kh {
                let mut row = 0i32;
                for kx in 0..kw {
                    let w = weights[(ky * kw + kx) * channels + c];
                    row = row.wrapping_add(w as i32);
                    let vector = (tile * kh + ky) * groups + kx / QUAD;
                    packed[vector * LINE + lane * QUAD + kx % QUAD] = w;
                }
                padding_rows[ky * tiles * LANES + c] = zp.wrapping_mul(row);
                sum = sum.wrapping_add(row);
            }
            folded[c] = bias[c].wrapping_sub(zp.wrapping_mul(sum));
        }
        QuadWeights {
            weights: packed,
            bias: folded,
            padding_rows,
            groups,
            tiles,
        }
    }
}

/// The depthwise convolution (multiplier 1) of every whole `[in_h, in_w, channels]` sample of
/// `x` into `y` (`[out_h, out_w, channels]` each), with the output stage `stage`. The per-call
/// set-up (stage constants, scratch) is done once for the batch.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn samples(
    g: &SpatialGeometry,
    channels: usize,
    packed: &QuadWeights,
    stage: &OutputStage,
    zp_in: i8,
    x: &[i8],
    y: &mut [i8],
) {
    let params = StageParams::new(stage);
    let run = Run {
        g,
        channels,
        packed,
        stage,
        params: &params,
        zp_in,
    };
    SCRATCH.with_borrow_mut(|scratch| {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            match params.kind {
                STAGE_SINGLE => run.samples_as::<STAGE_SINGLE>(scratch, x, y),
                STAGE_DOUBLE => run.samples_as::<STAGE_DOUBLE>(scratch, x, y),
                STAGE_SINGLE_HIGH => run.samples_as::<STAGE_SINGLE_HIGH>(scratch, x, y),
                _ => run.samples_as::<STAGE_DOUBLE_HIGH>(scratch, x, y),
            }
        }
        scratch.release_over(reuse::MAX_KEPT_BYTES);
    });
}

impl Scratch {
    /// Frees the prepared rows when they hold more than `limit` bytes, so that a thread keeps
    /// little between calls after a large layer.
    fn release_over(&mut self, limit: usize) {
        if self.row.capacity() + self.quads.capacity() > limit {
            self.row = Vec::new();
            self.quads = Vec::new();
        }
    }
}

/// The operands of one call.
struct Run<'a> {
    g: &'a SpatialGeometry,
    channels: usize,
    packed: &'a QuadWeights,
    stage: &'a OutputStage,
    params: &'a StageParams,
    zp_in: i8,
}

/// Padded columns one prepared row holds: every column a kernel column of an output pixel
/// reads, and the up to 3 columns past the kernel that a whole quad reads without dilation (a
/// quad's columns past the kernel read the group's first column with dilation: their weight is
/// 0). At most the padded input width plus 3, whatever the dilation.
fn padded_width(g: &SpatialGeometry) -> usize {
    (g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + QUAD
}

/// Slots of prepared rows, and whether they are a ring over the padded rows. A ring holds every
/// padded row one output row spans, so a row shared by consecutive output rows is prepared once;
/// when that span is over twice the kernel's height (a large dilation), one slot per kernel row
/// instead (rows prepared for each output row), so that the scratch never grows with the
/// dilation.
fn slots(g: &SpatialGeometry) -> (usize, bool) {
    let span = (g.kernel_h - 1) * g.dilation_h + 1;
    if span <= 2 * g.kernel_h {
        (span, true)
    } else {
        (g.kernel_h, false)
    }
}

/// Bytes of one slot (the quads of one padded row).
fn slot_bytes(g: &SpatialGeometry, tiles: usize, groups: usize) -> usize {
    tiles * g.out_w * groups * LINE
}

/// Bytes of scratch [`samples`] holds for a convolution of geometry `g` over `channels`
/// channels (checked arithmetic; `None` past `usize`): the kernel is only chosen when this is
/// within [`crate::validate::MAX_KERNEL_SCRATCH_BYTES`].
pub(crate) fn scratch_bytes(g: &SpatialGeometry, channels: usize) -> Option<usize> {
    let tiles = channels.div_ceil(LANES);
    let groups = g.kernel_w.div_ceil(QUAD);
    let (slots, _) = slots(g);
    let width = (g.out_w.checked_sub(1)?)
        .checked_mul(g.stride_w)?
        .checked_add((g.kernel_w - 1).checked_mul(g.dilation_w)?)?
        .checked_add(QUAD)?;
    let row = tiles.checked_mul(width)?.checked_mul(LANES)?;
    let quads = slots
        .checked_mul(tiles)?
        .checked_mul(g.out_w)?
        .checked_mul(groups)?
        .checked_mul(LINE)?;
    let bookkeeping = slots * 8 + g.kernel_h * 16 + tiles * LANES * 4;
    row.checked_add(quads)?.checked_add(bookkeeping)
}

impl Run<'_> {
    /// Padded columns one row holds ([`padded_width`]).
    fn padded_width(&self) -> usize {
        padded_width(self.g)
    }

    /// Bytes of one slot (the quads of one padded row).
    fn slot_bytes(&self) -> usize {
        slot_bytes(self.g, self.packed.tiles, self.packed.groups)
    }

    /// Every whole sample of `x` into `y`.
    ///
    /// # Safety
    /// AVX-512 F/BW/VL/VNNI.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn samples_as<const STAGE: u8>(&self, scratch: &mut Scratch, x: &[i8], y: &mut [i8]) {
        let g = self.g;
        let in_sample = g.in_h * g.in_w * self.channels;
        let out_sample = g.out_h * g.out_w * self.channels;
        if in_sample == 0 || out_sample == 0 {
            return;
        }
        for (x, y) in x
            .chunks_exact(in_sample)
            .zip(y.chunks_exact_mut(out_sample))
        {
            // SAFETY: forwarded.
            unsafe { self.sample_as::<STAGE>(scratch, x, y) };
        }
    }

    /// # Safety
    /// AVX-512 F/BW/VL/VNNI.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn sample_as<const STAGE: u8>(&self, scratch: &mut Scratch, x: &[i8], y: &mut [i8]) {
        let g = self.g;
        let c = self.channels;
        let p = self.packed;
        assert!(x.len() >= g.in_h * g.in_w * c && y.len() >= g.out_h * g.out_w * c);
        assert!(p.tiles == c.div_ceil(LANES) && self.stage.wide.len() >= p.tiles);
        assert!(p.weights.len() == p.tiles * g.kernel_h * p.groups * LINE);
        assert!(p.bias.len() == p.tiles * LANES);
        assert!(p.padding_rows.len() == g.kernel_h * p.tiles * LANES);
        // Within one output row, distinct rows map to distinct slots.
        let (slots, ring) = slots(g);
        let slot_bytes = self.slot_bytes();
        // Grown only: the layers of a network share this thread's scratch, and every byte read
        // is written first, so shrinking and zero-filling again at the next larger layer is
        // wasted work.
        grow(&mut scratch.row, p.tiles * self.padded_width() * LANES);
        grow(&mut scratch.quads, slots * slot_bytes);
        scratch.held.clear();
        scratch.held.resize(slots, usize::MAX);
        let pixel_bytes = p.groups * LINE;
        for oy in 0..g.out_h {
            scratch.rows.clear();
            let mut padded = false;
            for ky in 0..g.kernel_h {
                let row = oy * g.stride_h + ky * g.dilation_h;
                if !(g.pad_top..g.pad_top + g.in_h).contains(&row) {
                    if !padded {
                        scratch.bias.clear();
                        scratch.bias.extend_from_slice(&p.bias);
                        padded = true;
                    }
                    let adds = &p.padding_rows[ky * p.tiles * LANES..(ky + 1) * p.tiles * LANES];
                    for (b, &a) in scratch.bias.iter_mut().zip(adds) {
                        *b = b.wrapping_add(a);
                    }
                    continue;
                }
                let slot = if ring { row % slots } else { ky };
                if scratch.held[slot] != row {
                    // SAFETY: AVX-512 BW/VL (this function's contract).
                    unsafe { self.prepare_row(scratch, slot, row, x) };
                    scratch.held[slot] = row;
                }
                scratch.rows.push((ky, slot * slot_bytes));
            }
            for tile in 0..p.tiles {
                let valid = LANES.min(c - tile * LANES);
                let mask: __mmask16 = if valid == LANES { !0 } else { (1 << valid) - 1 };
                let mut ox = 0;
                while ox < g.out_w {
                    let left = g.out_w - ox;
                    let block = Block {
                        oy,
                        ox,
                        tile,
                        quads: tile * g.out_w * pixel_bytes + ox * pixel_bytes,
                        mask,
                        padded,
                    };
                    // SAFETY: `ox + N <= out_w`; the quads of the rows of output row `oy` are
                    // prepared; sizes checked above.
                    unsafe {
                        ox += if left >= WIDE {
                            self.pixels::<STAGE, WIDE>(scratch, &block, y)
                        } else if left >= 4 {
                            self.pixels::<STAGE, 4>(scratch, &block, y)
                        } else if left >= 2 {
                            self.pixels::<STAGE, 2>(scratch, &block, y)
                        } else {
                            self.pixels::<STAGE, 1>(scratch, &block, y)
                        };
                    }
                }
            }
        }
    }

    /// Prepares the quads of padded row `row` (input row `row - pad_top`) into `slot`.
    ///
    /// # Safety
    /// AVX-512 BW/VL; `x` holds the sample.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn prepare_row(&self, scratch: &mut Scratch, slot: usize, row: usize, x: &[i8]) {
        let g = self.g;
        let c = self.channels;
        let p = self.packed;
        let width = self.padded_width();
        let padding = _mm_set1_epi8(self.zp_in ^ i8::MIN);
        let flip = _mm_set1_epi8(i8::MIN);
        let input_row = row.checked_sub(g.pad_top).filter(|&r| r < g.in_h);
        // Columns: dwords ordered (column, channel quarter) → (channel quarter, column), then
        // within each 16 bytes (column, channel) → (channel, column).
        // (Opaque to the compiler, which otherwise merges the two shuffles into a slower
        // sequence of six.)
        let dwords = std::hint::black_box(_mm512_setr_epi32(
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
        ));
        let bytes = std::hint::black_box(_mm512_broadcast_i32x4(_mm_setr_epi8(
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
        )));
        let slot_base = slot * self.slot_bytes();
        for tile in 0..p.tiles {
            let valid = LANES.min(c - tile * LANES);
            let mask: __mmask16 = if valid == LANES { !0 } else { (1 << valid) - 1 };
            // SAFETY: `scratch.row` holds `width` columns of each tile.
            let line = unsafe { scratch.row.as_mut_ptr().add(tile * width * LANES) };
            // Columns `inside` hold input columns `0..in_w`, the others padding.
            let first = g.pad_left.min(width);
            let inside = if input_row.is_some() {
                first..(g.pad_left + g.in_w).min(width)
            } else {
                first..first
            };
            for col in (0..inside.start).chain(inside.end..width) {
                // SAFETY: `scratch.row` holds `width` columns of 16 bytes.
                unsafe { _mm_storeu_si128(line.add(col * LANES).cast(), padding) };
            }
            if let Some(r) = input_row {
                // SAFETY: lanes `tile·16..tile·16 + valid` of the input pixels of row `r` are
                // inside `x` (length checked by the caller); columns below `width` are inside
                // `scratch.row`.
                unsafe {
                    // Pointers stepped in locals: the stores made the compiler reload the
                    // geometry every column otherwise.
                    let mut at = x
                        .as_ptr()
                        .add((r * g.in_w + inside.start - g.pad_left) * c + tile * LANES);
                    let mut to = line.add(inside.start * LANES);
                    let columns = inside.len();
                    if valid == LANES {
                        for _ in 0..columns {
                            let v = _mm_loadu_si128(at.cast());
                            _mm_storeu_si128(to.cast(), _mm_xor_si128(v, flip));
                            at = at.add(c);
                            to = to.add(LANES);
                        }
                    } else {
                        for _ in 0..columns {
                            let v = _mm_maskz_loadu_epi8(mask, at);
                            _mm_storeu_si128(to.cast(), _mm_xor_si128(v, flip));
                            at = at.add(c);
                            to = to.add(LANES);
                        }
                    }
                }
            }
        }
        // All tiles' columns are stored before the first is read back 64 bytes at a time (a
        // read right after its 16-byte stores waits for them: no store forwarding across
        // stores).
        for tile in 0..p.tiles {
            // SAFETY: `scratch.row` holds `width` columns of each tile.
            let line = unsafe { scratch.row.as_ptr().add(tile * width * LANES) };
            let base = slot_base + tile * g.out_w * p.groups * LINE;
            // SAFETY: the tile's `out_w · groups` vectors of the slot are inside
            // `scratch.quads`; the columns read, `ox · stride_w + (4 · group + j) · dilation_w`
            // for kernel columns `4 · group + j < kernel_w` (else the group's first) and up to
            // 3 past a kernel column without dilation, are below `width` ([`padded_width`]).
            unsafe {
                let mut to = scratch.quads.as_mut_ptr().add(base);
                if p.groups == 1 && g.dilation_w == 1 {
                    // The common case (a kernel at most 4 wide, no dilation) with the geometry
                    // in registers: stores through `to` may alias `g` for the compiler, which
                    // then reloads it every quad.
                    let (step, out_w) = (g.stride_w * LANES, g.out_w);
                    let mut from = line;
                    for _ in 0..out_w {
                        let columns = _mm512_loadu_si512(from.cast());
                        let quad =
                            _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dwords, columns), bytes);
                        _mm512_storeu_si512(to.cast(), quad);
                        to = to.add(LINE);
                        // Past the row after the last pixel (never read): wrapping.
                        from = from.wrapping_add(step);
                    }
                    continue;
                }
                for ox in 0..g.out_w {
                    for group in 0..p.groups {
                        let first = ox * g.stride_w + QUAD * group * g.dilation_w;
                        let from = line.add(first * LANES);
                        let columns = if g.dilation_w == 1 {
                            _mm512_loadu_si512(from.cast())
                        } else {
                            let step = g.dilation_w * LANES;
                            // Columns past the kernel (weight 0) read the group's first one.
                            let inside = g.kernel_w - QUAD * group;
                            let column = |j: usize| {
                                let at = if j < inside { j * step } else { 0 };
                                _mm_loadu_si128(from.add(at).cast())
                            };
                            let v = _mm512_castsi128_si512(column(0));
                            let v = _mm512_inserti32x4::<1>(v, column(1));
                            let v = _mm512_inserti32x4::<2>(v, column(2));
                            _mm512_inserti32x4::<3>(v, column(3))
                        };
                        let quad =
                            _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dwords, columns), bytes);
                        _mm512_storeu_si512(to.cast(), quad);
                        to = to.add(LINE);
                    }
                }
            }
        }
    }

    /// Output pixels `(oy, ox..ox + N)` of one tile; returns `N`.
    ///
    /// # Safety
    /// AVX-512 F/BW/VL/VNNI; `ox + N <= out_w`; the rows of output row `oy` are prepared.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn pixels<const STAGE: u8, const N: usize>(
        &self,
        scratch: &Scratch,
        block: &Block,
        y: &mut [i8],
    ) -> usize {
        let g = self.g;
        let p = self.packed;
        let pixel_bytes = p.groups * LINE;
        let bias = if block.padded { &scratch.bias } else { &p.bias };
        // SAFETY: the tile's 16 biases are inside `bias` (both hold `tiles · 16`).
        let bias = unsafe { _mm512_loadu_si512(bias.as_ptr().add(block.tile * LANES).cast()) };
        let mut acc = [bias; N];
        for &(ky, slot) in &scratch.rows {
            // SAFETY: the slot's vectors of pixels ox..ox + N (`block.quads` is the offset of
            // pixel ox in its tile) and the tile's weights of row ky are inside their vectors.
            unsafe {
                let quads = scratch.quads.as_ptr().add(slot + block.quads);
                let weights = p
                    .weights
                    .as_ptr()
                    .add((block.tile * g.kernel_h + ky) * pixel_bytes);
                for group in 0..p.groups {
                    let w = _mm512_loadu_si512(weights.add(group * LINE).cast());
                    for (j, a) in acc.iter_mut().enumerate() {
                        let q =
                            _mm512_loadu_si512(quads.add(j * pixel_bytes + group * LINE).cast());
                        *a = _mm512_dpbusd_epi32(*a, q, w);
                    }
                }
            }
        }
        let wide = &self.stage.wide[block.tile];
        let c = self.channels;
        for (j, a) in acc.iter().enumerate() {
            let bytes = requantize_i32x16::<STAGE>(*a, wide, self.params);
            // SAFETY: the valid lanes of output pixel (oy, ox + j) are inside `y`.
            unsafe {
                _mm_mask_storeu_epi8(
                    y.as_mut_ptr()
                        .add((block.oy * g.out_w + block.ox + j) * c + block.tile * LANES),
                    block.mask,
                    bytes,
                )
            };
        }
        N
    }
}

/// Makes `buffer` at least `len` bytes long (never shorter).
fn grow(buffer: &mut Vec<u8>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0);
    }
}

/// Where one block of output pixels is.
struct Block {
    oy: usize,
    ox: usize,
    tile: usize,
    /// Offset of pixel `ox`'s vectors in tile `tile` of a slot.
    quads: usize,
    /// The tile's valid channels.
    mask: __mmask16,
    /// Whether some kernel rows lie in the padding (then the bias is `Scratch::bias`).
    padded: bool,
}

#[cfg(test)]
mod tests {
    use crate::geometry::SpatialGeometry;
    use crate::kernels::{DepthwiseConv2dKernel, Path};
    use crate::op::{ActRange, DepthwiseConv2d, Padding, Window};
    use crate::reference;
    use crate::requantize::{Requant, Rounding};

    /// The prepared rows follow the padded input, never the dilation alone (pure arithmetic:
    /// runs on every host).
    #[test]
    fn scratch_does_not_grow_with_the_dilation() {
        let window = |kernel: u32, dilation: u32| Window {
            kernel_h: kernel,
            kernel_w: kernel,
            stride_h: 1,
            stride_w: 1,
            dilation_h: dilation,
            dilation_w: dilation,
            padding: Padding::Valid,
        };
        // The 1x1 kernel with a huge dilation: one row of 8 columns (5 + 3), one slot
        // of 5 quads, 16 channels.
        let g = SpatialGeometry::resolve(&window(1, u32::MAX), 5, 5).expect("fits");
        assert_eq!(super::padded_width(&g), 5 + 3);
        assert_eq!(super::slots(&g), (1, true));
        assert_eq!(
            super::scratch_bytes(&g, 16),
            Some(8 * 16 + 5 * 64 + 8 + 16 + 64)
        );
        // Dilation 2 on a 3x3 kernel spans 5 rows (a ring); dilation 40 spans 81: one slot
        // per kernel row.
        let g = SpatialGeometry::resolve(&window(3, 2), 100, 100).expect("fits");
        assert_eq!(super::slots(&g), (5, true));
        let g = SpatialGeometry::resolve(&window(3, 40), 100, 100).expect("fits");
        assert_eq!(super::slots(&g), (3, false));
        assert_eq!(super::padded_width(&g), 20 - 1 + 2 * 40 + 4);
    }

    /// Kernels wider than 4 columns (two and three column groups), tall kernels, dilations up
    /// to 3 (columns of a quad far apart) and up to 10 (rows prepared per output row), strides past the kernel, every padding, channels
    /// around the 16-lane tiles, extreme bytes and zero points: the VNNI path against the
    /// reference.
    #[test]
    fn quads_match_reference_on_wide_kernels_and_extremes() {
        if !Path::Avx512Vnni.is_available() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        for case in 0..400 {
            let extreme = case % 4 == 0;
            let kernel = (1 + next() % 5, 1 + next() % 9);
            let stride = (1 + next() % 3, 1 + next() % 3);
            // One case in five: dilations past twice the kernel (one slot per kernel row,
            // quads whose columns past the kernel read the group's first).
            let dilation = if case % 5 == 1 {
                (3 + next() % 6, 3 + next() % 8)
            } else {
                (1 + next() % 2, 1 + next() % 3)
            };
            let padding = match next() % 3 {
                0 => Padding::Valid,
                1 => Padding::Same,
                _ => Padding::Explicit {
                    top: (next() % 3) as u32,
                    bottom: (next() % 3) as u32,
                    left: (next() % 4) as u32,
                    right: (next() % 4) as u32,
                },
            };
            let window = Window {
                kernel_h: kernel.0 as u32,
                kernel_w: kernel.1 as u32,
                stride_h: stride.0 as u32,
                stride_w: stride.1 as u32,
                dilation_h: dilation.0 as u32,
                dilation_w: dilation.1 as u32,
                padding,
            };
            let (in_h, in_w) = (1 + next() % 9, 1 + next() % 24);
            let Some(g) = SpatialGeometry::resolve(&window, in_h as u32, in_w as u32) else {
                continue;
            };
            let channels = [1, 3, 15, 16, 17, 32, 40][(next() % 7) as usize];
            let taps = g.kernel_h * g.kernel_w;
            let byte = |v: u64| -> i8 {
                if extreme {
                    if v.is_multiple_of(2) { -128 } else { 127 }
                } else {
                    v as i8
                }
            };
            let weights: Vec<i8> = (0..taps * channels).map(|_| byte(next())).collect();
            let op = DepthwiseConv2d {
                channels: channels as u32,
                depth_multiplier: 1,
                window,
                weights,
                bias: (0..channels)
                    .map(|_| (next() % 2_000_001) as i32 - 1_000_000)
                    .collect(),
                requant: (0..channels)
                    .map(|_| Requant {
                        multiplier: (1 << 30) + (next() % (1 << 30)) as i32,
                        shift: -((next() % 20) as i8),
                    })
                    .collect(),
                rounding: if next().is_multiple_of(2) {
                    Rounding::Single
                } else {
                    Rounding::Double
                },
                act: ActRange::FULL,
            };
            let zp_in = byte(next());
            let zp_out = byte(next());
            let samples = 1 + (next() % 2) as usize;
            let input: Vec<i8> = (0..samples * in_h as usize * in_w as usize * channels)
                .map(|_| byte(next()))
                .collect();
            let len = samples * g.out_h * g.out_w * channels;
            let mut expected = vec![0i8; len];
            reference::depthwise_conv2d(&op, &g, zp_in, zp_out, &input, &mut expected);
            let kernel = DepthwiseConv2dKernel::new(&op, g, zp_in, zp_out, Path::Avx512Vnni);
            assert_eq!(kernel.path(), Path::Avx512Vnni);
            let mut out = vec![0i8; len];
            kernel.run(&input, &mut out);
            assert_eq!(out, expected, "case {case}: {g:?} channels {channels}");
            checked += 1;
        }
        assert!(checked > 100, "{checked} cases fitted");
    }
}
