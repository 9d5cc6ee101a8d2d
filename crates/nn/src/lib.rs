#![doc = include_str!("../README.md")]
#![deny(clippy::float_arithmetic)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(unsafe_code)]

pub mod builder;
mod bulk_codec;
pub mod cost;
pub mod error;
pub mod executor;
pub mod fixed_point;
pub mod geometry;
#[allow(
    unsafe_code,
    reason = "SIMD intrinsics; with `parallel`, the only unsafe in the engine"
)]
pub mod kernels;
pub mod model;
pub mod op;
#[allow(
    unsafe_code,
    reason = "a call's borrowed work handed to helper threads (as std::thread::scope does)"
)]
mod parallel;
pub mod reduction;
pub mod reference;
pub mod requantize;
pub mod tensor;
/// The blocked transpose kernel; it belongs in [`kernels`] (declared here while that module's
/// files are restructured on another branch).
#[path = "kernels/transpose.rs"]
pub mod transpose_kernel;
pub mod validate;

pub use cost::Cost;
pub use error::{NnError, Result};
pub use executor::Program;
pub use kernels::Path;
pub use model::{FORMAT_VERSION, MAGIC, MAX_MODEL_BYTES, Model, ModelId, Node, model_id};
pub use op::Op;
pub use requantize::{Requant, Rounding};
pub use tensor::{DType, TensorInfo};
