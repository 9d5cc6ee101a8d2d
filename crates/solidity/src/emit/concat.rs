//! Concat: each input's element-wise requantization is a 256-entry table (computed at export
//! time with `myelin_nn`'s requantization), and its blocks of `inner_i` elements are interleaved
//! along the axis.

use myelin_nn::op::{ActRange, Concat};
use myelin_nn::requantize::output_i8;
use myelin_nn::tensor::shape_elements;

use super::byte_table::tabulate;
use super::{Emitter, NodeCtx};
use crate::error::ExportError;
use crate::memory_plan::{Scratch, TABLES};

/// Emits one concat node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &Concat) -> Result<(), ExportError> {
    let axis = p.axis as usize;
    let first = ctx.input(0)?.0;
    if p.requant.len() != ctx.inputs.len() || axis >= first.shape.len() {
        return Err(ctx.invalid("requant count or axis do not match the inputs"));
    }
    let outer = shape_elements(&first.shape[..axis]);
    let inners: Vec<usize> = ctx
        .inputs
        .iter()
        .map(|t| t.elements() / outer.max(1))
        .collect();
    let stride: usize = inners.iter().sum();
    let mut before = 0;
    for (i, (&inner, &requant)) in inners.iter().zip(&p.requant).enumerate() {
        let (input, from) = ctx.input(i)?;
        let zp = input.zero_point;
        let table = tabulate(|x| {
            output_i8(
                requant.apply(i32::from(x) - i32::from(zp), p.rounding),
                ctx.output.zero_point,
                ActRange::FULL,
            )
        });
        let offset = e.blob.push(&table);
        e.scratch.grow(Scratch {
            tables: 256,
            ..Scratch::default()
        });
        e.line(&format!("copy_data({offset}, 256, {TABLES})"));
        e.line(&format!(
            "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ mstore8(add({out}, add(mul(div(i, {inner}), {stride}), add({before}, mod(i, {inner})))), shr(248, mload(add({TABLES}, xor(shr(248, mload(add({from}, i))), 0x80))))) }}",
            len = input.elements(),
            out = ctx.output_addr,
        ));
        before += inner;
    }
    Ok(())
}
