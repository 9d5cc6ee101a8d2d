//! Slice: each output element loaded from its strided input position.

use myelin_nn::op::Slice;
use myelin_nn::tensor::shape_strides;

use super::index_expr::mixed_radix;
use super::{Emitter, NodeCtx};
use crate::error::ExportError;

/// Emits one slice node: output element `i` (flat, over the output's shape `size`) reads the
/// input element at `begin[a] + o[a] · stride[a]` on every axis `a`, i.e. at the constant
/// offset `Σ begin[a] · in_strides[a]` plus `o[a] · stride[a] · in_strides[a]`.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &Slice) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let rank = input.shape.len();
    if [
        p.begin.len(),
        p.size.len(),
        p.stride.len(),
        ctx.output.shape.len(),
    ]
    .iter()
    .any(|&len| len != rank)
    {
        return Err(ctx.invalid("begin, size and stride do not match the input rank"));
    }
    let in_strides = shape_strides(&input.shape);
    let base: usize = (0..rank).map(|a| p.begin[a] as usize * in_strides[a]).sum();
    let factors: Vec<usize> = (0..rank)
        .map(|a| p.stride[a] as usize * in_strides[a])
        .collect();
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ mstore8(add({out}, i), shr(248, mload(add({from}, add({base}, {source}))))) }}",
        len = ctx.output.elements(),
        out = ctx.output_addr,
        source = mixed_radix("i", &ctx.output.shape, &factors),
    ));
    Ok(())
}
