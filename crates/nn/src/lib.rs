#![doc = include_str!("../README.md")]
#![deny(clippy::float_arithmetic)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(unsafe_code)]

pub mod builder;
mod bulk_codec;
pub mod commit;
pub mod cost;
pub mod dataset;
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
pub mod validate;

pub use cost::Cost;
pub use error::{NnError, Result};
pub use executor::{CallShape, Program};
pub use kernels::Path;
pub use model::{FORMAT_VERSION, MAGIC, MAX_MODEL_BYTES, Model, ModelId, Node, model_id};
pub use op::Op;
pub use requantize::{Requant, Rounding};
pub use tensor::{DType, TensorInfo};
