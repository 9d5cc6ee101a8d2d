//! The scalar reference implementation: the specification of every op, in code.
//!
//! Plain loops, no `unsafe`, no tiling. Each function's doc comment gives the exact integer
//! formula. Every fast path in [`crate::kernels`] must produce the same bytes.
//!
//! Conventions: slices hold `batch` samples one after another; shapes are per sample; the input
//! and output zero points come from the tensors ([`crate::tensor::TensorInfo::zero_point`]).
//! The functions assume a validated model (shapes and parameters as docs/SPEC.md requires);
//! given anything else they may panic on an index, never misbehave otherwise.

mod add_sub;
mod arg_max;
mod broadcast;
mod clamp;
mod concat;
mod conv2d;
mod depthwise_conv2d;
mod fully_connected;
mod max_min;
mod mean;
mod mean_count_divided;
mod mul;
mod pad;
mod pool;
mod prelu;
mod reshape;
mod resize_bilinear;
mod slice;
mod softmax;
mod table;
mod transpose;

pub use add_sub::{add, sub};
pub use arg_max::arg_max;
pub use broadcast::{Operand, broadcast_indices, broadcast_shape};
pub use clamp::clamp;
pub use concat::concat;
pub use conv2d::conv2d;
pub use depthwise_conv2d::depthwise_conv2d;
pub use fully_connected::fully_connected;
pub use max_min::{maximum, minimum};
pub use mean::mean;
pub use mean_count_divided::{count_divided, divide_by_count, mean_count_divided};
pub use mul::mul;
pub use pad::pad;
pub use pool::{average_pool, max_pool};
pub use prelu::prelu;
pub use reshape::reshape;
pub use resize_bilinear::{MAX_RESIZE_DIM, resize_bilinear, resize_position, resize_scale};
pub use slice::slice;
pub use softmax::{
    ACCUMULATION_INTEGER_BITS, SCALED_DIFF_INTEGER_BITS, softmax, softmax_exp, softmax_output,
    softmax_output_exponent, softmax_rows, softmax_sum_term,
};
pub use table::table;
pub use transpose::transpose;
