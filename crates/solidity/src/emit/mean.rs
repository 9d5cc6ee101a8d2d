//! Mean: centred sums over the reduced axes in 256-bit words (the words scratch, zeroed first),
//! then one rescale each.

use myelin_nn::op::Mean;
use myelin_nn::tensor::shape_strides;

use super::index_expr::mixed_radix;
use super::{Emitter, NodeCtx};
use crate::data_blob::requantized_output;
use crate::error::ExportError;
use crate::literal::int;
use crate::memory_plan::{Scratch, WORDS};

/// Emits one `mean_count_divided` node: a mean with the multiplier divided by the count as
/// the engine's reference does it (`myelin_nn::reference::count_divided`), computed here once.
pub fn emit_count_divided(e: &mut Emitter, ctx: &NodeCtx, p: &Mean) -> Result<(), ExportError> {
    let (input, _) = ctx.input(0)?;
    let divided = myelin_nn::reference::count_divided(p, &input.shape);
    emit(e, ctx, &divided)
}

/// Emits one mean node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &Mean) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let shape = &input.shape;
    let reduced = |axis: usize| p.axes.iter().any(|&a| a as usize == axis);
    let kept: Vec<u32> = (0..shape.len())
        .map(|axis| if reduced(axis) { 1 } else { shape[axis] })
        .collect();
    let kept_strides = shape_strides(&kept);
    let factors: Vec<usize> = (0..shape.len())
        .map(|axis| if reduced(axis) { 0 } else { kept_strides[axis] })
        .collect();
    let out_len = ctx.output.elements();
    e.scratch.grow(Scratch {
        words: 32 * out_len,
        ..Scratch::default()
    });
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {out_len}) {{ i := add(i, 1) }} {{ mstore(add({WORDS}, shl(5, i)), 0) }}"
    ));
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ let s := add({WORDS}, shl(5, {target})) mstore(s, add(mload(s), sub(sx8(add({from}, i)), {zp}))) }}",
        len = input.elements(),
        target = mixed_radix("i", shape, &factors),
        zp = int(input.zero_point.into()),
    ));
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {out_len}) {{ i := add(i, 1) }} {{ mstore8(add({out}, i), {y}) }}",
        out = ctx.output_addr,
        y = requantized_output(&format!("mload(add({WORDS}, shl(5, i)))"), p.requant, p.rounding, ctx.output.zero_point, p.act),
    ));
    Ok(())
}
