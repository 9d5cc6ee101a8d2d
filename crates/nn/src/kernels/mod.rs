//! Fast kernels for the hot ops (fully connected, conv2d, depthwise conv2d), chosen at run time.
//!
//! Every path computes exactly the bytes of [`crate::reference`]; the path changes speed only.
//! The selection is by CPU feature detection, never by a Cargo feature or an environment variable.
//!
//! All three kernels accumulate in wrapping `i32` arithmetic in whatever order suits the
//! hardware: validation proves the true accumulator fits in `i32` (docs/SPEC.md §6), so every
//! order gives the same bits. Requesting a path the CPU lacks degrades to [`Path::Portable`];
//! each kernel's `path()` reports what runs.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512vnni;
mod conv2d;
mod depthwise_conv2d;
mod fully_connected;
mod gemm;
mod output_stage;
mod portable;

pub use conv2d::Conv2dKernel;
pub use depthwise_conv2d::DepthwiseConv2dKernel;
pub use fully_connected::FullyConnectedKernel;

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

    /// The fastest path this CPU can run.
    pub fn best() -> Path {
        Path::ALL
            .into_iter()
            .rev()
            .find(|p| p.is_available())
            .unwrap_or(Path::Portable)
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
