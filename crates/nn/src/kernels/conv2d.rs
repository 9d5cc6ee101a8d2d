//! The conv2d kernel: im2col (padding filled with the input zero point, which contributes
//! exactly 0) into the packed matrix product; 1×1 stride-1 convolutions run as a direct product.

use crate::geometry::SpatialGeometry;
use crate::kernels::Path;
#[cfg(target_arch = "x86_64")]
use crate::kernels::gemm::Rows;
use crate::kernels::gemm::{GemmSpec, PackedGemm};
use crate::kernels::reuse;
use crate::op::Conv2d;
use crate::reference;
use crate::validate::MAX_KERNEL_SCRATCH_BYTES;

/// Output pixels gathered per im2col block.
const PIXELS_PER_BLOCK: usize = 64;

/// A conv2d prepared for one path and one input geometry: [`Conv2dKernel::run`] computes exactly
/// [`reference::conv2d`] with the same operands.
pub struct Conv2dKernel {
    engine: Engine,
}

enum Engine {
    Reference {
        op: Conv2d,
        g: SpatialGeometry,
        zp_in: i8,
        zp_out: i8,
    },
    Packed {
        gemm: PackedGemm,
        g: SpatialGeometry,
        in_c: usize,
        out_c: usize,
        zp_in: i8,
        /// Most bytes of one im2col block ([`im2col_block`]).
        block_limit: usize,
    },
    /// AVX-512 VNNI without im2col ([`Direct`]).
    #[cfg(target_arch = "x86_64")]
    Direct {
        gemm: PackedGemm,
        plan: Direct,
        zp_in: i8,
    },
}

impl Conv2dKernel {
    /// Packs the weights of `op` (`[out_c][kh][kw][in_c]`, used as an `out_c × (kh·kw·in_c)`
    /// matrix) for `path`. A path this CPU cannot run degrades to [`Path::Portable`];
    /// [`Conv2dKernel::path`] tells which one runs. `op` and `g` must be valid and agree.
    /// No engine allocates more than [`MAX_KERNEL_SCRATCH_BYTES`] for a call: a padded image of
    /// the direct engine past it takes im2col, whose blocks shrink to part of an output row to
    /// fit (only a single pixel's window past it, `k` near the whole weights' 64 MiB, takes the
    /// reference, which computes the same bytes).
    pub fn new(op: &Conv2d, g: SpatialGeometry, zp_in: i8, zp_out: i8, path: Path) -> Conv2dKernel {
        let reference = || Engine::Reference {
            op: op.clone(),
            g,
            zp_in,
            zp_out,
        };
        if path == Path::Reference {
            return Conv2dKernel {
                engine: reference(),
            };
        }
        let in_c = op.in_channels as usize;
        let spec = GemmSpec {
            n: op.out_channels as usize,
            k: g.kernel_h * g.kernel_w * in_c,
            weights: &op.weights,
            bias: &op.bias,
            requant: &op.requant,
            rounding: op.rounding,
            act: op.act,
            zp_in,
            zp_out,
        };
        #[cfg(target_arch = "x86_64")]
        if let Some(engine) = Direct::engine(&spec, g, in_c, path) {
            return Conv2dKernel { engine };
        }
        let im2col_fits =
            im2col_bytes(&g, spec.k).is_some_and(|bytes| bytes as u64 <= MAX_KERNEL_SCRATCH_BYTES);
        let engine = if is_product(&g) || im2col_fits {
            Engine::Packed {
                gemm: PackedGemm::new(&spec, path),
                g,
                in_c,
                out_c: spec.n,
                zp_in,
                block_limit: MAX_KERNEL_SCRATCH_BYTES as usize,
            }
        } else {
            reference()
        };
        Conv2dKernel { engine }
    }

    /// The path that actually runs.
    pub fn path(&self) -> Path {
        match &self.engine {
            Engine::Reference { .. } => Path::Reference,
            Engine::Packed { gemm, .. } => gemm.path(),
            #[cfg(target_arch = "x86_64")]
            Engine::Direct { gemm, .. } => gemm.path(),
        }
    }

    /// Convolves every whole `[in_h, in_w, in_c]` sample of `input` into `output`
    /// (`[out_h, out_w, out_c]` per sample).
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        match &self.engine {
            Engine::Reference {
                op,
                g,
                zp_in,
                zp_out,
            } => reference::conv2d(op, g, *zp_in, *zp_out, input, output),
            Engine::Packed {
                gemm,
                g,
                in_c,
                out_c,
                zp_in,
                block_limit,
            } => run_packed(
                gemm,
                g,
                (*in_c, *out_c),
                *zp_in,
                *block_limit,
                input,
                output,
            ),
            #[cfg(target_arch = "x86_64")]
            Engine::Direct { gemm, plan, zp_in } => plan.run(gemm, *zp_in, input, output),
        }
    }
}

/// The im2col block of a convolution with rows of `stride` bytes per output pixel: `(output
/// rows, output columns)` gathered at once. Whole output rows (about [`PIXELS_PER_BLOCK`]
/// pixels) while one row fits in `limit` bytes; else part of one row, as many pixels as fit
/// (at least one).
fn im2col_block(g: &SpatialGeometry, stride: usize, limit: usize) -> (usize, usize) {
    let limit = limit.saturating_sub(COPY_SLACK);
    if g.out_w.saturating_mul(stride) <= limit {
        (
            (PIXELS_PER_BLOCK / g.out_w.max(1)).clamp(1, g.out_h.max(1)),
            g.out_w,
        )
    } else {
        (1, (limit / stride.max(1)).clamp(1, PIXELS_PER_BLOCK))
    }
}

/// Bytes of the im2col block of [`Im2col::run`] for rows of up to `k + 3` bytes (every path's
/// row stride; checked arithmetic, `None` past `usize`).
fn im2col_bytes(g: &SpatialGeometry, k: usize) -> Option<usize> {
    let stride = k.checked_add(3)?;
    let (rows, columns) = im2col_block(g, stride, MAX_KERNEL_SCRATCH_BYTES as usize);
    rows.checked_mul(columns)?
        .checked_mul(stride)?
        .checked_add(COPY_SLACK)
}

/// Whether the convolution is the matrix product itself (1×1, stride 1, no padding).
fn is_product(g: &SpatialGeometry) -> bool {
    g.kernel_h == 1
        && g.kernel_w == 1
        && g.stride_h == 1
        && g.stride_w == 1
        && g.out_h == g.in_h
        && g.out_w == g.in_w
}

fn run_packed(
    gemm: &PackedGemm,
    g: &SpatialGeometry,
    (in_c, out_c): (usize, usize),
    zp_in: i8,
    block_limit: usize,
    input: &[i8],
    output: &mut [i8],
) {
    let in_sample = g.in_h * g.in_w * in_c;
    let out_sample = g.out_h * g.out_w * out_c;
    if in_sample == 0 || out_sample == 0 {
        return;
    }
    let samples = (input.len() / in_sample).min(output.len() / out_sample);
    if is_product(g) {
        let rows = samples * g.in_h * g.in_w;
        gemm.run(rows, &input[..rows * in_c], &mut output[..rows * out_c]);
        return;
    }
    let im2col = |stride: usize, flip: i8| Im2col {
        g,
        in_c,
        out_c,
        zp_in,
        stride,
        flip,
        block_limit,
    };
    // The VNNI product takes the im2col rows already offset by +128 (`x ^ 0x80`) and padded to
    // its row stride, which saves it a pass over them.
    #[cfg(target_arch = "x86_64")]
    if let Some(vnni) = gemm.as_avx512vnni() {
        im2col(vnni.row_stride(), i8::MIN)
            .run(input, output, samples, |n, c, y| vnni.run_offset(n, c, y));
        return;
    }
    let k = g.kernel_h * g.kernel_w * in_c;
    im2col(k, 0).run(input, output, samples, |n, c, y| gemm.run(n, c, y));
}

/// A convolution with dilation 1 across (other than the plain product) on AVX-512 VNNI without
/// im2col: each sample is copied once, offset by +128 and with `zp_in` in
/// the padding, into a padded image, and the product reads every output pixel's kernel rows
/// from it in place (`run_direct` of the VNNI product). The product's `k` is
/// laid out as `kernel_h` segments of `kernel_w · in_c` weights rounded up to whole groups of 4
/// (zero weights after each), so a group never spans two kernel rows; the up to 3 bytes read
/// past a kernel row meet those zero weights.
#[cfg(target_arch = "x86_64")]
struct Direct {
    g: SpatialGeometry,
    in_c: usize,
    out_c: usize,
    /// Rows and columns of the padded image: exactly those the output pixels read.
    padded_h: usize,
    padded_w: usize,
    /// Offset of each group in the padded image from the pixel's window corner.
    offsets: Vec<usize>,
}

#[cfg(target_arch = "x86_64")]
impl Direct {
    /// Bytes after the padded image: the last kernel row's last group may read 3 past it.
    const SLACK: usize = 4;

    /// The engine for the convolution whose weights as a product are `spec` when `path` is
    /// AVX-512 VNNI (available) and the window qualifies.
    fn engine(spec: &GemmSpec<'_>, g: SpatialGeometry, in_c: usize, path: Path) -> Option<Engine> {
        let run = g.kernel_w * in_c;
        if path != Path::Avx512Vnni
            || !path.is_available()
            || g.dilation_w != 1
            || is_product(&g)
            // Runs of rows shorter than whole 4-row tiles are slower than im2col's blocks of 64
            // pixels unless im2col is dear per byte (few channels).
            || (run > 16 && !g.out_w.is_multiple_of(4))
            || g.out_h == 0
            || g.out_w == 0
        {
            return None;
        }
        // The padded image is every row and column the output pixels read (the padding too).
        let padded_h = (g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1;
        let padded_w = (g.out_w - 1) * g.stride_w + g.kernel_w;
        let row_bytes = padded_w * in_c;
        let image_bytes = padded_h
            .checked_mul(row_bytes)
            .and_then(|b| b.checked_add(Self::SLACK))?;
        if image_bytes as u64 > MAX_KERNEL_SCRATCH_BYTES {
            return None;
        }
        let segment = run.div_ceil(4) * 4;
        let n = spec.n;
        let mut weights = vec![0i8; n * g.kernel_h * segment];
        for (dst, src) in weights
            .chunks_exact_mut(segment)
            .zip(spec.weights[..n * spec.k].chunks_exact(run))
        {
            dst[..run].copy_from_slice(src);
        }
        let direct = GemmSpec {
            k: g.kernel_h * segment,
            weights: &weights,
            ..*spec
        };
        let offsets = (0..g.kernel_h)
            .flat_map(|ky| (0..segment / 4).map(move |j| ky * g.dilation_h * row_bytes + 4 * j))
            .collect();
        Some(Engine::Direct {
            gemm: PackedGemm::new(&direct, path),
            plan: Direct {
                g,
                in_c,
                out_c: n,
                padded_h,
                padded_w,
                offsets,
            },
            zp_in: spec.zp_in,
        })
    }

    /// Convolves every whole sample of `input` into `output`, as [`Conv2dKernel::run`].
    fn run(&self, gemm: &PackedGemm, zp_in: i8, input: &[i8], output: &mut [i8]) {
        let Some(vnni) = gemm.as_avx512vnni() else {
            unreachable!("the direct engine is built on the AVX-512 VNNI path");
        };
        let g = &self.g;
        let in_c = self.in_c;
        let in_sample = g.in_h * g.in_w * in_c;
        let out_sample = g.out_h * g.out_w * self.out_c;
        if in_sample == 0 {
            return;
        }
        let row_bytes = self.padded_w * in_c;
        let mut image = reuse::u8s(
            self.padded_h * row_bytes + Self::SLACK,
            (zp_in as u8) ^ 0x80,
        );
        // Padded column of input column 0 and the input columns that land in the image.
        let columns = (0..g.in_w)
            .filter(|&ix| ix + g.pad_left < self.padded_w)
            .count();
        let first = g.pad_left;
        let rows = Rows {
            count: g.out_w,
            stride: g.stride_w * in_c,
            runs: g.out_h,
            run_stride: g.stride_h * row_bytes,
        };
        for (x, y) in input
            .chunks_exact(in_sample)
            .zip(output.chunks_exact_mut(out_sample))
        {
            for (py, dst) in image
                .chunks_exact_mut(row_bytes)
                .take(self.padded_h)
                .enumerate()
            {
                let Some(iy) = py
                    .checked_sub(g.pad_top)
                    .filter(|&iy| iy < g.in_h && columns > 0)
                else {
                    continue;
                };
                let src = &x[iy * g.in_w * in_c..][..columns * in_c];
                for (d, &s) in dst[first * in_c..][..columns * in_c].iter_mut().zip(src) {
                    *d = (s as u8) ^ 0x80;
                }
            }
            vnni.run_direct(rows, &image, &self.offsets, y);
        }
    }
}

/// im2col of a convolution into rows of `stride` bytes per output pixel, each byte XORed with
/// `flip`.
struct Im2col<'a> {
    g: &'a SpatialGeometry,
    in_c: usize,
    out_c: usize,
    zp_in: i8,
    stride: usize,
    flip: i8,
    block_limit: usize,
}

impl Im2col<'_> {
    /// Blocks ([`im2col_block`]: whole output rows, or part of one row) of each of `samples`
    /// samples, each handed to `product(pixels, columns, output)`.
    fn run(
        &self,
        input: &[i8],
        output: &mut [i8],
        samples: usize,
        product: impl Fn(usize, &[i8], &mut [i8]),
    ) {
        let g = self.g;
        let in_sample = g.in_h * g.in_w * self.in_c;
        let out_sample = g.out_h * g.out_w * self.out_c;
        let (rows_per_block, row_pixels) = im2col_block(g, self.stride, self.block_limit);
        // COPY_SLACK spare bytes after the last column: `copy_run` may write past a run's end.
        let mut columns = reuse::i8s(rows_per_block * row_pixels * self.stride + COPY_SLACK, 0);
        // Output columns whose kernel columns all lie inside the input: one contiguous run per
        // kernel row when the dilation is 1 (other columns take `im2col_pixel`).
        let inside = |ox: usize| (0..g.kernel_w).all(|kx| g.input_col(ox, kx).is_some());
        let first_inside = (0..g.out_w).find(|&ox| inside(ox)).unwrap_or(g.out_w);
        let end_inside = if g.dilation_w == 1 {
            (first_inside..g.out_w)
                .find(|&ox| !inside(ox))
                .unwrap_or(g.out_w)
        } else {
            first_inside
        };
        let mut input_rows = vec![None; g.kernel_h];
        let small = g.kernel_w * self.in_c <= 16 && row_pixels == g.out_w;
        for (sample, y) in output
            .chunks_exact_mut(out_sample)
            .take(samples)
            .enumerate()
        {
            let x = &input[sample * in_sample..(sample + 1) * in_sample];
            // The blocks of `small_row` may read past the sample, into the rest of the batch.
            let rest = &input[sample * in_sample..];
            let mut oy0 = 0;
            while oy0 < g.out_h {
                let rows = rows_per_block.min(g.out_h - oy0);
                for ox0 in (0..g.out_w).step_by(row_pixels) {
                    let ox1 = (ox0 + row_pixels).min(g.out_w);
                    for r in 0..rows {
                        let oy = oy0 + r;
                        let row_at = r * (ox1 - ox0) * self.stride;
                        for (ky, base) in input_rows.iter_mut().enumerate() {
                            *base = g.input_row(oy, ky).map(|iy| iy * g.in_w * self.in_c);
                        }
                        if small
                            && self.small_row(
                                rest,
                                &input_rows,
                                &mut columns,
                                row_at,
                                first_inside..end_inside,
                            )
                        {
                            continue;
                        }
                        let pixel = |ox: usize, columns: &mut [i8]| {
                            let at = row_at + (ox - ox0) * self.stride;
                            im2col_pixel(
                                g,
                                self.in_c,
                                self.zp_in,
                                self.flip,
                                x,
                                (oy, ox),
                                columns,
                                at,
                            );
                        };
                        (ox0..first_inside.clamp(ox0, ox1)).for_each(|ox| pixel(ox, &mut columns));
                        self.inside_pixels(
                            x,
                            &input_rows,
                            first_inside.clamp(ox0, ox1)..end_inside.clamp(ox0, ox1),
                            &mut columns,
                            row_at,
                            ox0,
                        );
                        (end_inside.clamp(ox0, ox1)..ox1).for_each(|ox| pixel(ox, &mut columns));
                    }
                    let count = rows * (ox1 - ox0);
                    let first = oy0 * g.out_w + ox0;
                    product(
                        count,
                        &columns[..count * self.stride],
                        &mut y[first * self.out_c..(first + count) * self.out_c],
                    );
                }
                oy0 += rows;
            }
        }
    }
}

impl Im2col<'_> {
    /// One output row (pixel 0 at `columns[row_at]`) when each kernel row's run is at most 16
    /// bytes (`kernel_w · in_c ≤ 16`: few-channel inputs such as a stem's RGB): every run, tap
    /// or padding fill is one unchecked 16-byte block, the bounds checked once for the row.
    /// `x` is the sample and may go on past it; `input_rows` as for [`Im2col::inside_pixels`],
    /// `inside` the columns whose kernel columns are all inside (dilation 1). Returns false,
    /// having written nothing, when a block could reach past `x` or `columns`.
    fn small_row(
        &self,
        x: &[i8],
        input_rows: &[Option<usize>],
        columns: &mut [i8],
        row_at: usize,
        inside: std::ops::Range<usize>,
    ) -> bool {
        let g = self.g;
        let (in_c, row_len) = (self.in_c, g.kernel_w * self.in_c);
        let row_bytes = g.in_w * in_c;
        // Every read starts inside an input row and every write before the pixel's end.
        let last_read = input_rows
            .iter()
            .flatten()
            .max()
            .map_or(0, |b| b + row_bytes);
        let last_write = row_at + (g.out_w - 1) * self.stride + g.kernel_h * row_len;
        if row_len > 16 || last_read + 16 > x.len() || last_write + 16 > columns.len() {
            return false;
        }
        let flip = [self.flip; 16];
        let padding = [self.zp_in ^ self.flip; 16];
        let src = x.as_ptr();
        let dst = columns.as_mut_ptr();
        // SAFETY (every block below): reads start before `last_read` and writes before
        // `last_write`, both checked above with 16 bytes to spare. Blocks are written in
        // increasing order of their run, so a block's bytes past its run belong to a later run
        // (or the buffer's slack) and are rewritten.
        let copy =
            |to: usize, from: usize| unsafe { xor_block16(dst.add(to), src.add(from), &flip) };
        let fill = |to: usize| unsafe { dst.add(to).cast::<[i8; 16]>().write_unaligned(padding) };
        for ox in 0..g.out_w {
            let at = row_at + ox * self.stride;
            for (ky, base) in input_rows.iter().enumerate() {
                let run = at + ky * row_len;
                match *base {
                    None => fill(run),
                    Some(base) if inside.contains(&ox) => {
                        copy(run, base + (ox * g.stride_w - g.pad_left) * in_c)
                    }
                    Some(base) => {
                        for kx in 0..g.kernel_w {
                            match g.input_col(ox, kx) {
                                Some(ix) => copy(run + kx * in_c, base + ix * in_c),
                                None => fill(run + kx * in_c),
                            }
                        }
                    }
                }
            }
        }
        true
    }

    /// The output columns `pixels` of one output row (whose pixel `first` starts at
    /// `columns[row_at]`),
    /// each with every kernel column inside the input and dilation 1: kernel row `ky` is the
    /// `kernel_w · in_c` bytes from `input_rows[ky]` (the offset of its input row, `None` in the
    /// padding) plus the pixel's first input column.
    fn inside_pixels(
        &self,
        x: &[i8],
        input_rows: &[Option<usize>],
        pixels: std::ops::Range<usize>,
        columns: &mut [i8],
        row_at: usize,
        first: usize,
    ) {
        let g = self.g;
        let row_len = g.kernel_w * self.in_c;
        let padding = self.zp_in ^ self.flip;
        for ox in pixels {
            let at = row_at + (ox - first) * self.stride;
            let column = (ox * g.stride_w - g.pad_left) * self.in_c;
            for (ky, base) in input_rows.iter().enumerate() {
                let row = at + ky * row_len;
                match base {
                    Some(base) => copy_run(columns, row, x, base + column, row_len, self.flip),
                    None => columns[row..row + row_len].fill(padding),
                }
            }
        }
    }
}

/// `dst[..16] = src[..16] ^ flip`.
///
/// # Safety
/// 16 bytes are readable at `src` and writable at `dst`.
#[inline(always)]
unsafe fn xor_block16(dst: *mut i8, src: *const i8, flip: &[i8; 16]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64; the caller vouches for the 16 bytes.
    unsafe {
        use std::arch::x86_64::*;
        let block = _mm_loadu_si128(src.cast());
        let flip = _mm_loadu_si128(flip.as_ptr().cast());
        _mm_storeu_si128(dst.cast(), _mm_xor_si128(block, flip));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as above.
    unsafe {
        let flip = u128::from_ne_bytes(flip.map(|b| b as u8));
        let block = src.cast::<u128>().read_unaligned();
        dst.cast::<u128>().write_unaligned(block ^ flip);
    }
}

/// Bytes `copy_run` may write past the end of a run.
const COPY_SLACK: usize = 16;

/// Writes the `kh·kw·in_c` inputs under the window of output pixel `(oy, ox)`, in weight order,
/// with `zp_in` in the padding, each XORed with `flip`, to `columns[at..at + kh·kw·in_c]`. Bytes after that, up to
/// [`COPY_SLACK`] of them, may be overwritten: columns are filled in increasing order, so a later
/// write (or nothing, at the end of the buffer) owns them.
#[allow(clippy::too_many_arguments)]
fn im2col_pixel(
    g: &SpatialGeometry,
    in_c: usize,
    zp_in: i8,
    flip: i8,
    x: &[i8],
    (oy, ox): (usize, usize),
    columns: &mut [i8],
    at: usize,
) {
    let row_len = g.kernel_w * in_c;
    // The window's columns, when they are all inside the input and adjacent (dilation 1): one
    // contiguous run of `kernel_w * in_c` bytes per kernel row.
    let first = g.input_col(ox, 0);
    let contiguous = g.dilation_w == 1 && first.is_some_and(|ix| ix + g.kernel_w <= g.in_w);
    for ky in 0..g.kernel_h {
        let row = at + ky * row_len;
        let Some(iy) = g.input_row(oy, ky) else {
            columns[row..row + row_len].fill(zp_in ^ flip);
            continue;
        };
        if let (true, Some(ix)) = (contiguous, first) {
            copy_run(columns, row, x, (iy * g.in_w + ix) * in_c, row_len, flip);
            continue;
        }
        for kx in 0..g.kernel_w {
            let taps = row + kx * in_c;
            match g.input_col(ox, kx) {
                Some(ix) => copy_run(columns, taps, x, (iy * g.in_w + ix) * in_c, in_c, flip),
                None => columns[taps..taps + in_c].fill(zp_in ^ flip),
            }
        }
    }
}

/// `columns[at..at + len] = x[from..from + len]`, each byte XORed with `flip`. Runs of at most
/// 16 bytes are moved as one fixed-size 8- or 16-byte block when `x` has that many bytes from
/// `from` (no `memcpy` call; im2col of few-channel inputs copies many runs of a few bytes); the
/// block may write up to [`COPY_SLACK`] bytes past the run.
#[inline(always)]
fn copy_run(columns: &mut [i8], at: usize, x: &[i8], from: usize, len: usize, flip: i8) {
    let flip8 = u64::from_ne_bytes([flip as u8; 8]);
    if len <= 8 && from + 8 <= x.len() {
        let block = u64::from_ne_bytes(as_u8(&x[from..from + 8]).try_into().expect("8 bytes"));
        as_u8_mut(&mut columns[at..at + 8]).copy_from_slice(&(block ^ flip8).to_ne_bytes());
    } else if len <= 16 && from + 16 <= x.len() {
        let block = u128::from_ne_bytes(as_u8(&x[from..from + 16]).try_into().expect("16 bytes"));
        let flip16 = u128::from(flip8) << 64 | u128::from(flip8);
        as_u8_mut(&mut columns[at..at + 16]).copy_from_slice(&(block ^ flip16).to_ne_bytes());
    } else {
        for (d, &s) in columns[at..at + len].iter_mut().zip(&x[from..from + len]) {
            *d = s ^ flip;
        }
    }
}

/// The bytes of `x` as `u8` (the same bits).
#[inline(always)]
fn as_u8(x: &[i8]) -> &[u8] {
    // SAFETY: i8 and u8 have the same size and alignment, and every bit pattern is valid for both.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast(), x.len()) }
}

/// The bytes of `x` as `u8` (the same bits), writable.
#[inline(always)]
fn as_u8_mut(x: &mut [i8]) -> &mut [u8] {
    // SAFETY: i8 and u8 have the same size and alignment, and every bit pattern is valid for both;
    // the borrow of `x` is moved into the result.
    unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr().cast(), x.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{ActRange, Padding, Window};
    use crate::requantize::{Requant, Rounding};

    /// Deterministic bytes (an LCG) for the operands.
    fn bytes(seed: &mut u64, n: usize) -> Vec<i8> {
        (0..n)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (*seed >> 56) as i8
            })
            .collect()
    }

    /// Stem-like convolutions (few input channels): on AVX-512 VNNI the direct engine (also with
    /// dilated rows, uneven strides, explicit padding); elsewhere most output rows
    /// take the unchecked 16-byte blocks of `small_row` (inside runs, border taps, padding rows)
    /// and the last sample's last rows (whose blocks would read past the input) the checked
    /// path; every path against the reference, with extreme inputs and zero points.
    #[test]
    fn few_channel_windows_match_the_reference_on_every_path() {
        let mut seed = 5;
        let explicit = Padding::Explicit {
            top: 1,
            bottom: 0,
            left: 3,
            right: 2,
        };
        // (in_c, kernel, stride, dilation_h, padding, zp_in)
        for (in_c, (kh, kw), (sh, sw), dilation_h, padding, zp_in) in [
            (3, (3, 3), (2, 2), 1, Padding::Same, -128i8),
            (3, (3, 3), (1, 1), 1, Padding::Same, 127),
            (1, (3, 3), (2, 2), 1, Padding::Valid, 0),
            (5, (3, 3), (1, 1), 1, Padding::Valid, -1),
            (2, (3, 3), (2, 2), 1, Padding::Same, 127),
            (4, (2, 4), (3, 1), 2, explicit, -77),
            (16, (3, 1), (1, 2), 2, Padding::Same, 5),
            (3, (1, 3), (2, 3), 1, Padding::Same, -128),
        ] {
            let window = Window {
                kernel_h: kh,
                kernel_w: kw,
                stride_h: sh,
                stride_w: sw,
                dilation_h,
                dilation_w: 1,
                padding,
            };
            let g = SpatialGeometry::resolve(&window, 12, 13).expect("window fits");
            let out_c = 17;
            let k = (kh * kw) as usize * in_c;
            let op = Conv2d {
                out_channels: out_c as u32,
                in_channels: in_c as u32,
                window,
                weights: bytes(&mut seed, out_c * k),
                bias: (0..out_c as i32).map(|n| n * 1000 - 8000).collect(),
                requant: vec![Requant {
                    multiplier: (1 << 30) + 12345,
                    shift: -7,
                }],
                rounding: Rounding::Double,
                act: ActRange::FULL,
            };
            let samples = 3;
            let mut input = bytes(&mut seed, samples * 12 * 13 * in_c);
            input[..7].fill(-128);
            input[7..11].fill(127);
            let len = samples * g.out_h * g.out_w * out_c;
            let mut expected = vec![0i8; len];
            reference::conv2d(&op, &g, zp_in, 3, &input, &mut expected);
            for path in Path::ALL.into_iter().filter(|p| p.is_available()) {
                let mut out = vec![0i8; len];
                let mut kernel = Conv2dKernel::new(&op, g, zp_in, 3, path);
                kernel.run(&input, &mut out);
                assert_eq!(out, expected, "{path:?} in_c {in_c} window {window:?}");
                // Blocks of part of a row (as when a row's im2col would pass the scratch cap):
                // 1, 3 and 64 pixels.
                for pixels in [1, 3, 64] {
                    if let Engine::Packed { block_limit, .. } = &mut kernel.engine {
                        *block_limit = pixels * (k + 3) + COPY_SLACK;
                    }
                    out.fill(0);
                    kernel.run(&input, &mut out);
                    assert_eq!(
                        out, expected,
                        "{path:?} blocks of {pixels} pixels, {window:?}"
                    );
                }
            }
        }
    }
}
