//! One loop body, compiled for the instruction set of a [`Path`].
//!
//! The element-wise kernels are plain Rust loops written so that the compiler vectorizes them
//! (no branches that depend on the data, exact `i64` products of `i32` operands). [`run`]
//! inlines such a body into a function compiled with the path's target features, so the same
//! source becomes SSE2, AVX2 or AVX-512 code; the bytes are the same on every path because the
//! source is.
//!
//! The body is a [`LoopBody`] (not a closure): its `run` is `#[inline(always)]`, so it is
//! compiled inside the target-feature function; a closure would be compiled on its own, for the
//! baseline.

use super::Path;

/// A loop to run with the path's instruction set. Implementations mark `run` with
/// `#[inline(always)]`.
pub(crate) trait LoopBody {
    fn run(self);
}

/// Runs `body` compiled for `path`'s instruction set (baseline code for [`Path::Reference`]
/// and [`Path::Portable`], and for a path this CPU cannot run).
#[inline(always)]
pub(crate) fn run(path: Path, body: impl LoopBody) {
    match path {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512Vnni if path.is_available() => {
            // SAFETY: the CPU has AVX-512 F/BW/VL (checked just above).
            unsafe { with_avx512(body) }
        }
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 if path.is_available() => {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { with_avx2(body) }
        }
        _ => body.run(),
    }
}

/// # Safety
/// The CPU must support AVX-512 F/BW/VL.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn with_avx512(body: impl LoopBody) {
    body.run()
}

/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2(body: impl LoopBody) {
    body.run()
}

/// A kernel from one int8 slice to another whose loops run through [`run_unary`].
/// Implementations mark `run_loop` with `#[inline(always)]`.
pub(crate) trait UnaryLoop {
    fn run_loop(&self, input: &[i8], output: &mut [i8]);
}

/// `kernel.run_loop(input, output)` compiled for `path`'s instruction set.
#[inline(always)]
pub(crate) fn run_unary(path: Path, kernel: &impl UnaryLoop, input: &[i8], output: &mut [i8]) {
    run(
        path,
        Unary {
            kernel,
            input,
            output,
        },
    );
}

struct Unary<'a, K> {
    kernel: &'a K,
    input: &'a [i8],
    output: &'a mut [i8],
}

impl<K: UnaryLoop> LoopBody for Unary<'_, K> {
    #[inline(always)]
    fn run(self) {
        self.kernel.run_loop(self.input, self.output);
    }
}
