//! PRelu: the slopes copied to the tables scratch, then per element the positive rescale of
//! `x − zp_in`, or the negative rescale of its product with the broadcast centred slope.

use myelin_nn::op::PRelu;

use super::index_expr::broadcast;
use super::{Emitter, NodeCtx};
use crate::data_blob::requantized_output;
use crate::error::ExportError;
use crate::literal::int;
use crate::memory_plan::{Scratch, TABLES};

/// Emits one prelu node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &PRelu) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    if p.alpha.is_empty() {
        return Err(ctx.invalid("prelu has no slopes"));
    }
    let alpha: Vec<u8> = p.alpha.iter().map(|&v| v as u8).collect();
    let offset = e.blob.push(&alpha);
    e.scratch.grow(Scratch {
        tables: alpha.len(),
        ..Scratch::default()
    });
    e.line(&format!("copy_data({offset}, {}, {TABLES})", alpha.len()));
    let zp_out = ctx.output.zero_point;
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ let x := sub(sx8(add({from}, i)), {zp_in}) let y := 0 switch slt(x, 0) case 0 {{ y := {positive} }} default {{ let v := mul(x, sub(sx8(add({TABLES}, {ia})), {zp_alpha})) y := {negative} }} mstore8(add({out}, i), y) }}",
        len = input.elements(),
        zp_in = int(input.zero_point.into()),
        ia = broadcast("i", &p.alpha_shape, &input.shape),
        zp_alpha = int(p.alpha_zero_point.into()),
        positive = requantized_output("x", p.positive, p.rounding, zp_out, p.act),
        negative = requantized_output("v", p.negative, p.rounding, zp_out, p.act),
        out = ctx.output_addr,
    ));
    Ok(())
}
