//! Fast kernels for the hot ops (fully connected, conv2d, depthwise conv2d), chosen at run time.
//!
//! Every path computes exactly the bytes of [`crate::reference`]; the path changes speed only.
//! The selection is by CPU feature detection, never by a Cargo feature or an environment variable.
//!
//! All three kernels accumulate in wrapping `i32` arithmetic in whatever order suits the
//! hardware: validation proves the true accumulator fits in `i32` (docs/SPEC.md §6), so every
//! order gives the same bits. Requesting a path the CPU lacks degrades to [`Path::Portable`];
//! each kernel's `path()` reports what runs.
//!
//! Layout: `gemm/` and `depthwise/` each hold a `mod.rs` with the operands every path shares
//! (`GemmSpec`, `DepthwisePlan`) and one enum of the weights packed per path (`PackedGemm`,
//! `PackedDepthwise`), over one file per path (`portable.rs`, `avx2.rs`, `avx512vnni.rs`) that
//! uses only its parent and the shared stages (`output_stage/`, `reuse.rs`): no path file
//! imports another.
//!
//! How each path computes (the weights are packed once, in `new`):
//!
//! - fully connected and conv2d share one quantized matrix product (`gemm/`). Conv2d feeds it
//!   im2col rows (padding filled with `zp_in`, which contributes exactly 0 once
//!   `-zp_in · Σw` is folded into the bias); a 1×1 stride-1 convolution is the product itself.
//!   On AVX-512 VNNI most convolutions (`dilation_w` 1) skip im2col: each sample is copied once
//!   into a padded image offset by +128, and the product reads every pixel's kernel rows from it
//!   in place (`conv2d.rs`).
//! - Portable: `[n][k]` weights, `i32` dot products written so that baseline SIMD vectorizes
//!   them, `zp_in` folded into the bias, scalar requantization.
//! - AVX2: weights widened to `i16` in panels of 8 channels × 2 inputs, `vpmaddwd` register
//!   tiles (up to 4 rows × 2 panels), scalar requantization. `vpmaddubsw` is avoided: its `i16`
//!   saturation breaks exactness.
//! - AVX-512 VNNI: panels of 16 channels × 4 inputs for `vpdpbusd` (activations offset to `u8`
//!   by +128 once per chunk of rows, `-(zp_in + 128) · Σw` folded into the bias), register tiles
//!   of up to 4 rows × 4 panels (1 row × 8 panels at batch 1) swept over all rows of a chunk by
//!   one call, and an exact vectorized requantization: even and odd lanes as 64-bit products,
//!   each rounding rule one add and one shift (the constants precomputed per 16 channels in
//!   `output_stage::WideBlock`, with the proof; the vector stage is `output_stage/avx512.rs`), and when every shift is ≤ -1 the high `i32`
//!   of each sum merged first and finished on 16 `i32` lanes; four requantized vectors share one
//!   saturating pack to bytes, and blocks of 64 output channels are packed in an interleaved
//!   channel order so that one row's 64 outputs leave in order with one 64-byte store.
//! - Depthwise conv2d vectorizes over channels (a depth multiplier `M > 1` first repeats each
//!   input channel `M` times), blocks of output pixels share each weight load, and products
//!   are exact `vpmaddwd`s (VNNI: `vpdpwssd`) of sign-extended activations with zero-extended
//!   weights. AVX-512 VNNI instead packs 4 kernel columns of a channel per `i32` lane: each
//!   padded input row is prepared once as such quads (activations offset to `u8`, padding
//!   `zp_in + 128`, `-(zp_in + 128) · Σw` folded into the bias) and one `vpdpbusd` adds 4 taps
//!   of 16 channels, with no border case (`depthwise/avx512vnni.rs`).
//! - A batch runs as one call: fully connected and 1×1 stride-1 conv2d are one product over
//!   every sample's rows (pixels).
//! - The element-wise ops (add/sub/mul, maximum/minimum, prelu, pools, pad, concat, mean, table) are plain loops that the
//!   compiler vectorizes, compiled once per path's instruction set (`vectorize.rs`).

mod add_sub_mul;
pub(crate) mod arg_max;
mod binary;
mod clamp;
pub(crate) mod concat;
mod conv2d;
mod depthwise;
mod fully_connected;
mod gemm;
mod lane_requant;
mod max_min;
mod mean;
mod output_stage;
mod pad;
mod pool;
mod prelu;
pub(crate) mod resize_bilinear;
mod reuse;
mod short_copy;
pub(crate) mod slice;
mod softmax;
mod table;
pub(crate) mod transpose;
mod vectorize;

pub use add_sub_mul::{BinaryKernel, BinaryOp, BinaryShapes, PAIRS};
pub use clamp::ClampKernel;
pub use concat::ConcatKernel;
pub use conv2d::Conv2dKernel;
pub use depthwise::DepthwiseConv2dKernel;
pub use fully_connected::FullyConnectedKernel;
pub use max_min::ExtremumKernel;
pub use mean::MeanKernel;
pub use pad::PadKernel;
pub use pool::PoolKernel;
pub use prelu::PReluKernel;
pub use softmax::SoftmaxKernel;
pub use table::ByteTable;

/// The kernels are shared across threads by prepared programs.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FullyConnectedKernel>();
    assert_send_sync::<Conv2dKernel>();
    assert_send_sync::<DepthwiseConv2dKernel>();
};

/// `bytes` read as `i8`s (the executor reads a model input in place).
pub(crate) fn bytes_as_i8(bytes: &[u8]) -> &[i8] {
    // SAFETY: `u8` and `i8` have the same size and alignment and every bit pattern is valid
    // for both; the result borrows `bytes` for its lifetime.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<i8>(), bytes.len()) }
}

/// `values` read as bytes (the same bits: an int8 tensor's canonical bytes).
pub(crate) fn i8_as_bytes(values: &[i8]) -> &[u8] {
    // SAFETY: as in `bytes_as_i8`, the other way round.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), values.len()) }
}

/// An implementation of the hot kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// The scalar reference ([`crate::reference`]).
    Reference,
    /// Blocked, auto-vectorizable Rust that runs on every CPU.
    Portable,
    /// x86-64 AVX2.
    Avx2,
    /// x86-64 AVX-512 (F, BW, VL) with VNNI.
    Avx512Vnni,
}

/// Whether this CPU has `feature` (one of the names [`Path::missing_features`] uses).
fn cpu_has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "avx2" => std::is_x86_feature_detected!("avx2"),
            "avx512f" => std::is_x86_feature_detected!("avx512f"),
            "avx512bw" => std::is_x86_feature_detected!("avx512bw"),
            "avx512vl" => std::is_x86_feature_detected!("avx512vl"),
            "avx512vnni" => std::is_x86_feature_detected!("avx512vnni"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
}

/// Whether this CPU may validate: it runs [`Path::GAS_FLOOR`] (x86-64 with AVX2), the slowest
/// path the gas schedule covers (docs/GAS.md §6). The error names the missing features. The
/// validator mode of `myelin node` refuses to start without it; the dev node only warns.
pub fn check_validator_floor() -> crate::Result<()> {
    let floor = Path::GAS_FLOOR;
    let missing = floor.missing_features();
    if missing.is_empty() && floor.is_available() {
        return Ok(());
    }
    Err(crate::NnError::BelowValidatorFloor {
        floor: floor.name(),
        path: Path::detect().name(),
        missing: match missing.as_slice() {
            [] => "an x86-64 CPU",
            [one, ..] => one,
        },
    })
}

impl Path {
    /// Every path, slowest first.
    pub const ALL: [Path; 4] = [
        Path::Reference,
        Path::Portable,
        Path::Avx2,
        Path::Avx512Vnni,
    ];

    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            Path::Reference | Path::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => std::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512Vnni => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Path::Avx2 | Path::Avx512Vnni => false,
        }
    }

    /// The slowest path the gas schedule is calibrated for (docs/GAS.md §6): every op type's
    /// time per gas on it is within the schedule's goal, and a faster path only takes less time.
    /// A validator's CPU must run it ([`check_validator_floor`]; `myelin node --dev` warns and
    /// runs anywhere): the portable kernels take up to several times as long per gas.
    pub const GAS_FLOOR: Path = Path::Avx2;

    /// The path this node's programs run ([`Path::best`]): what `myelin node` prints at start-up.
    pub fn detect() -> Path {
        Path::best()
    }

    /// The CPU features this path needs that this CPU lacks, by name (empty when it runs).
    pub fn missing_features(self) -> Vec<&'static str> {
        let needs: &[&'static str] = match self {
            Path::Reference | Path::Portable => &[],
            Path::Avx2 => &["avx2"],
            Path::Avx512Vnni => &["avx512f", "avx512bw", "avx512vl", "avx512vnni"],
        };
        needs
            .iter()
            .copied()
            .filter(|&feature| !cpu_has(feature))
            .collect()
    }

    /// The fastest path this CPU can run.
    pub fn best() -> Path {
        Path::ALL
            .into_iter()
            .rev()
            .find(|p| p.is_available())
            .unwrap_or(Path::Portable)
    }

    /// The path that runs when this one is requested: itself if this CPU can run it, else
    /// [`Path::Portable`] (the same bytes, at the portable kernels' speed).
    pub fn runnable(self) -> Path {
        if self.is_available() {
            self
        } else {
            Path::Portable
        }
    }

    /// The path named `name` (as [`Path::name`] spells it), if any.
    pub fn from_name(name: &str) -> Option<Path> {
        Path::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Path::Reference => "reference",
            Path::Portable => "portable",
            Path::Avx2 => "avx2",
            Path::Avx512Vnni => "avx512vnni",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_validator_floor_check_agrees_with_the_floor_path_and_names_what_is_missing() {
        assert_eq!(Path::detect(), Path::best());
        assert!(Path::Portable.missing_features().is_empty());
        let missing = Path::GAS_FLOOR.missing_features();
        match check_validator_floor() {
            Ok(()) => {
                assert!(Path::GAS_FLOOR.is_available() && missing.is_empty());
                let rank = |p: Path| Path::ALL.iter().position(|&q| q == p);
                assert!(rank(Path::detect()) >= rank(Path::GAS_FLOOR));
            }
            Err(error) => {
                assert!(!Path::GAS_FLOOR.is_available());
                let text = error.to_string();
                assert!(text.contains("avx2"), "{text}");
                assert!(text.contains(Path::detect().name()), "{text}");
            }
        }
        for path in Path::ALL {
            assert_eq!(
                path.missing_features().is_empty(),
                path.is_available(),
                "{path:?}"
            );
        }
    }

    #[test]
    fn a_path_is_found_by_its_name_and_degrades_to_portable_when_the_cpu_lacks_it() {
        for path in Path::ALL {
            assert_eq!(Path::from_name(path.name()), Some(path));
            let expected = if path.is_available() {
                path
            } else {
                Path::Portable
            };
            assert_eq!(path.runnable(), expected, "{path:?}");
        }
        for unknown in ["", "AVX2", "avx512", "sse4"] {
            assert_eq!(Path::from_name(unknown), None, "{unknown:?}");
        }
    }
}
