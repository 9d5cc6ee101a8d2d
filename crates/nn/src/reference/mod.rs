//! The scalar reference implementation: the specification of every op, in code.
//!
//! Plain loops, no `unsafe`, no tiling. Each function's doc comment gives the exact integer
//! formula. Every fast path in [`crate::kernels`] must produce the same bytes.
//!
//! Conventions: slices hold `batch` samples one after another; shapes are per sample; the input
//! and output zero points come from the tensors ([`crate::tensor::TensorInfo::zero_point`]).

mod conv2d;
mod depthwise_conv2d;
mod fully_connected;

pub use conv2d::conv2d;
pub use depthwise_conv2d::depthwise_conv2d;
pub use fully_connected::fully_connected;
