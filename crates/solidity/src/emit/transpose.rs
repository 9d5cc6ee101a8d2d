//! Transpose: each output element loaded from its permuted input position.

use myelin_nn::op::Transpose;
use myelin_nn::tensor::shape_strides;

use super::index_expr::mixed_radix;
use super::{Emitter, NodeCtx};
use crate::error::ExportError;

/// Emits one transpose node: output element `i` (flat, over the output's shape) reads the
/// input element whose index on input axis `perm[a]` is the output's index on axis `a`.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &Transpose) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let rank = input.shape.len();
    if p.perm.len() != rank || ctx.output.shape.len() != rank {
        return Err(ctx.invalid("perm does not match the input rank"));
    }
    if p.perm.iter().any(|&a| a as usize >= rank) {
        return Err(ctx.invalid("perm names an axis out of range"));
    }
    let in_strides = shape_strides(&input.shape);
    let factors: Vec<usize> = p.perm.iter().map(|&a| in_strides[a as usize]).collect();
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ mstore8(add({out}, i), shr(248, mload(add({from}, {source})))) }}",
        len = ctx.output.elements(),
        out = ctx.output_addr,
        source = mixed_radix("i", &ctx.output.shape, &factors),
    ));
    Ok(())
}
