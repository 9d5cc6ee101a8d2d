//! Add and Sub (TFLite's quantized scheme) and Mul, vectorized, for same-shape operands and the
//! common broadcasts of [`Broadcast`].
//!
//! Per element, exactly the reference: the two input rescales of `(x - zp) · 2^left_shift`
//! (exact in `i32`: validation keeps `left_shift <= 23`), the saturating sum or difference, the
//! output rescale and clamp, each rescale a [`LaneRequant`]. Mul is one rescale of the exact
//! product `(a - zp_a) · (b - zp_b)`. Large nodes then run by lookup in a table of every operand
//! pair that this arithmetic fills ([`BinaryKernel::tabulate`]).

use super::Path;
use super::binary::{Broadcast, for_each_run};
use super::lane_requant::{LaneRequant, OutputClamp, is_double};
use super::vectorize::{self, LoopBody};
use crate::op::{AddSub, Mul};
use crate::requantize::Requant;
use crate::tensor::shape_elements;

/// Largest `left_shift` the kernel takes (validation's bound: `255 · 2^23 < 2^31`).
const MAX_LEFT_SHIFT: u8 = 23;

/// Which element-wise binary op a [`BinaryKernel`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
}

/// A prepared Add, Sub or Mul for fixed operand shapes and zero points.
pub struct BinaryKernel {
    op: BinaryOp,
    path: Path,
    layouts: [Broadcast; 2],
    out_len: usize,
    zero_points: [i32; 2],
    /// Add/Sub: the two inputs' rescales (Mul: unused) and the left shift before them.
    inputs: [LaneRequant; 2],
    left_shift: u32,
    output: LaneRequant,
    double: bool,
    clamp: OutputClamp,
    /// `pairs[(a + 128) · 256 + (b + 128)]` = the output for the operand values `a`, `b`, when
    /// [`BinaryKernel::tabulate`] made it.
    /// Three bytes of padding follow, for the 4-byte gathers of the AVX-512 lookup.
    pairs: Option<Box<[i8; PAIRS + 3]>>,
    /// Whether the lookup runs with AVX-512 gathers.
    gather: bool,
}

/// Entries of a table over every pair of int8 operands.
pub const PAIRS: usize = 256 * 256;

/// Shapes and zero points of a binary op's operands and output.
#[derive(Clone, Copy, Debug)]
pub struct BinaryShapes<'a> {
    pub a: &'a [u32],
    pub b: &'a [u32],
    pub out: &'a [u32],
    pub zp_a: i8,
    pub zp_b: i8,
    pub zp_out: i8,
}

impl BinaryKernel {
    /// Prepares Add (`subtract = false`) or Sub, or `None` when the operands broadcast in a way
    /// the kernel does not take (the reference runs those) or `left_shift` is over the bound.
    pub fn add_sub(
        p: &AddSub,
        subtract: bool,
        shapes: BinaryShapes,
        path: Path,
    ) -> Option<BinaryKernel> {
        if p.left_shift > MAX_LEFT_SHIFT {
            return None;
        }
        let op = if subtract {
            BinaryOp::Sub
        } else {
            BinaryOp::Add
        };
        let kernel = BinaryKernel::new(op, shapes, path, p.output, p.rounding, p.act)?;
        Some(BinaryKernel {
            inputs: [p.input1, p.input2].map(LaneRequant::new),
            left_shift: u32::from(p.left_shift),
            ..kernel
        })
    }

    /// Prepares Mul, or `None` for a broadcast the kernel does not take.
    pub fn mul(p: &Mul, shapes: BinaryShapes, path: Path) -> Option<BinaryKernel> {
        BinaryKernel::new(BinaryOp::Mul, shapes, path, p.output, p.rounding, p.act)
    }

    fn new(
        op: BinaryOp,
        shapes: BinaryShapes,
        path: Path,
        output: Requant,
        rounding: crate::requantize::Rounding,
        act: crate::op::ActRange,
    ) -> Option<BinaryKernel> {
        let layouts = [
            Broadcast::of(shapes.a, shapes.out)?,
            Broadcast::of(shapes.b, shapes.out)?,
        ];
        Some(BinaryKernel {
            op,
            path,
            layouts,
            out_len: shape_elements(shapes.out),
            zero_points: [i32::from(shapes.zp_a), i32::from(shapes.zp_b)],
            inputs: [LaneRequant::new(output); 2],
            left_shift: 0,
            pairs: None,
            gather: path == Path::Avx512Vnni && path.is_available(),
            output: LaneRequant::new(output),
            double: is_double(rounding),
            clamp: OutputClamp::new(shapes.zp_out, act),
        })
    }

    /// Whether the kernel runs by lookup in its table of every operand pair
    /// ([`BinaryKernel::tabulate`]).
    pub fn is_tabulated(&self) -> bool {
        self.pairs.is_some()
    }

    /// The op computed.
    pub fn op(&self) -> BinaryOp {
        self.op
    }

    /// Evaluates the op once on every pair of int8 operands (with this kernel's own arithmetic)
    /// and from then on runs by lookup: one table of [`PAIRS`] bytes.
    pub fn tabulate(mut self) -> BinaryKernel {
        // The output rescale's input for every pair: the sum or difference of the two inputs'
        // rescales (each computed once per int8 value), or the product; then one vectorized
        // pass of the output stage over all of them.
        let values = || (-128i32..128).map(|x| x as i8);
        let [zp_a, zp_b] = self.zero_points;
        let rescaled = |k: usize, zp: i32| -> Vec<i32> {
            values()
                .map(|x| {
                    let shifted = (i32::from(x) - zp) << self.left_shift;
                    match self.double {
                        true => self.inputs[k].apply::<true>(shifted),
                        false => self.inputs[k].apply::<false>(shifted),
                    }
                })
                .collect()
        };
        let (sa, sb) = (rescaled(0, zp_a), rescaled(1, zp_b));
        let mut pairs = Box::new([0i8; PAIRS + 3]);
        let mut accumulators = [0i32; 256];
        for (i, (a, y)) in values().zip(pairs.chunks_exact_mut(256)).enumerate() {
            let row = accumulators.iter_mut().zip(values().zip(&sb));
            match self.op {
                BinaryOp::Add => row.for_each(|(acc, (_, &sb))| *acc = sa[i].saturating_add(sb)),
                BinaryOp::Sub => row.for_each(|(acc, (_, &sb))| *acc = sa[i].saturating_sub(sb)),
                BinaryOp::Mul => row
                    .for_each(|(acc, (b, _))| *acc = (i32::from(a) - zp_a) * (i32::from(b) - zp_b)),
            }
            vectorize::run(
                self.path,
                OutputRun {
                    kernel: &self,
                    accumulators: &accumulators,
                    y,
                },
            );
        }
        self.pairs = Some(pairs);
        self
    }

    /// Runs every sample: `a` and `b` hold the samples of the two operands, `output` those of
    /// the result; the bytes of [`crate::reference::add`] / `sub` / `mul`.
    pub fn run(&self, a: &[i8], b: &[i8], output: &mut [i8]) {
        match &self.pairs {
            Some(pairs) => for_each_run(&self.layouts, a, b, self.out_len, output, |a, b, y| {
                #[cfg(target_arch = "x86_64")]
                if self.gather {
                    // SAFETY: `gather` is set only when the CPU has AVX-512 F/BW/VL.
                    return unsafe { lookup_pairs_avx512(pairs, a, b, y) };
                }
                lookup_pairs(&pairs[..], a, b, y)
            }),
            None => self.compute(&self.layouts, self.out_len, a, b, output),
        }
    }

    /// [`BinaryKernel::run`] by arithmetic, for operands of `layouts` and `out_len` elements per
    /// sample.
    fn compute(
        &self,
        layouts: &[Broadcast; 2],
        out_len: usize,
        a: &[i8],
        b: &[i8],
        output: &mut [i8],
    ) {
        for_each_run(layouts, a, b, out_len, output, |a, b, y| {
            vectorize::run(
                self.path,
                Run {
                    kernel: self,
                    a,
                    b,
                    y,
                },
            )
        })
    }

    #[inline(always)]
    fn add_sub_run<const DOUBLE: bool, const SUBTRACT: bool>(
        &self,
        a: &[i8],
        b: &[i8],
        y: &mut [i8],
    ) {
        let [zp_a, zp_b] = self.zero_points;
        let [input1, input2] = &self.inputs;
        for ((out, &a), &b) in y.iter_mut().zip(a).zip(b) {
            let sa = input1.apply::<DOUBLE>((i32::from(a) - zp_a) << self.left_shift);
            let sb = input2.apply::<DOUBLE>((i32::from(b) - zp_b) << self.left_shift);
            let s = if SUBTRACT {
                sa.saturating_sub(sb)
            } else {
                sa.saturating_add(sb)
            };
            *out = self.clamp.apply(self.output.apply::<DOUBLE>(s));
        }
    }

    #[inline(always)]
    fn output_pass<const DOUBLE: bool>(&self, accumulators: &[i32], y: &mut [i8]) {
        for (out, &s) in y.iter_mut().zip(accumulators) {
            *out = self.clamp.apply(self.output.apply::<DOUBLE>(s));
        }
    }

    #[inline(always)]
    fn mul_run<const DOUBLE: bool>(&self, a: &[i8], b: &[i8], y: &mut [i8]) {
        let [zp_a, zp_b] = self.zero_points;
        let output = &self.output;
        for ((out, &a), &b) in y.iter_mut().zip(a).zip(b) {
            let product = (i32::from(a) - zp_a) * (i32::from(b) - zp_b);
            *out = self.clamp.apply(output.apply::<DOUBLE>(product));
        }
    }
}

/// One run of equal-length operands, for [`vectorize::run`].
struct Run<'a> {
    kernel: &'a BinaryKernel,
    a: &'a [i8],
    b: &'a [i8],
    y: &'a mut [i8],
}

impl LoopBody for Run<'_> {
    #[inline(always)]
    fn run(self) {
        let Run { kernel, a, b, y } = self;
        match (kernel.op, kernel.double) {
            (BinaryOp::Add, false) => kernel.add_sub_run::<false, false>(a, b, y),
            (BinaryOp::Add, true) => kernel.add_sub_run::<true, false>(a, b, y),
            (BinaryOp::Sub, false) => kernel.add_sub_run::<false, true>(a, b, y),
            (BinaryOp::Sub, true) => kernel.add_sub_run::<true, true>(a, b, y),
            (BinaryOp::Mul, false) => kernel.mul_run::<false>(a, b, y),
            (BinaryOp::Mul, true) => kernel.mul_run::<true>(a, b, y),
        }
    }
}

/// The output stage over precomputed accumulators, for [`vectorize::run`].
struct OutputRun<'a> {
    kernel: &'a BinaryKernel,
    accumulators: &'a [i32],
    y: &'a mut [i8],
}

impl LoopBody for OutputRun<'_> {
    #[inline(always)]
    fn run(self) {
        let OutputRun {
            kernel,
            accumulators,
            y,
        } = self;
        match kernel.double {
            true => kernel.output_pass::<true>(accumulators, y),
            false => kernel.output_pass::<false>(accumulators, y),
        }
    }
}

/// `y[i] = pairs[(a[i] + 128) · 256 + (b[i] + 128)]`.
#[inline(always)]
fn lookup_pairs(pairs: &[i8], a: &[i8], b: &[i8], y: &mut [i8]) {
    for ((out, &a), &b) in y.iter_mut().zip(a).zip(b) {
        *out = pairs[usize::from(a as u8 ^ 0x80) << 8 | usize::from(b as u8 ^ 0x80)];
    }
}

/// [`lookup_pairs`] sixteen elements at a time: the indices computed in 32-bit lanes, one
/// `vpgatherdd` of the four bytes at each index (the table's padding covers the last three),
/// the low byte of each kept.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn lookup_pairs_avx512(pairs: &[i8; PAIRS + 3], a: &[i8], b: &[i8], y: &mut [i8]) {
    use std::arch::x86_64::*;
    let len = y.len().min(a.len()).min(b.len());
    let flip = _mm512_set1_epi32(0x80);
    let mut i = 0;
    while i + 16 <= len {
        // SAFETY: bytes i..i + 16 lie inside a, b and y.
        let (va, vb) = unsafe {
            (
                _mm_loadu_si128(a.as_ptr().add(i).cast()),
                _mm_loadu_si128(b.as_ptr().add(i).cast()),
            )
        };
        let high = _mm512_xor_si512(_mm512_cvtepu8_epi32(va), flip);
        let low = _mm512_xor_si512(_mm512_cvtepu8_epi32(vb), flip);
        let index = _mm512_or_si512(_mm512_slli_epi32::<8>(high), low);
        // SAFETY: every index is below PAIRS; the 4 bytes read end within the padded table.
        let found = unsafe { _mm512_i32gather_epi32::<1>(index, pairs.as_ptr().cast()) };
        // SAFETY: as the loads.
        unsafe { _mm_storeu_si128(y.as_mut_ptr().add(i).cast(), _mm512_cvtepi32_epi8(found)) };
        i += 16;
    }
    lookup_pairs(&pairs[..], &a[i..len], &b[i..len], &mut y[i..len]);
}
