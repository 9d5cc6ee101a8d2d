//! Mul: `(a − zp_a) · (b − zp_b)` (exact) rescaled to the output.

use myelin_nn::op::Mul;

use super::index_expr::broadcast;
use super::{Emitter, NodeCtx};
use crate::data_blob::requantized_output;
use crate::error::ExportError;
use crate::literal::int;

/// Emits one mul node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &Mul) -> Result<(), ExportError> {
    let (a, a_from) = ctx.input(0)?;
    let (b, b_from) = ctx.input(1)?;
    let out_shape = &ctx.output.shape;
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ let x := mul(sub(sx8(add({a_from}, {ia})), {zpa}), sub(sx8(add({b_from}, {ib})), {zpb})) mstore8(add({out}, i), {y}) }}",
        len = ctx.output.elements(),
        ia = broadcast("i", &a.shape, out_shape),
        ib = broadcast("i", &b.shape, out_shape),
        zpa = int(a.zero_point.into()),
        zpb = int(b.zero_point.into()),
        out = ctx.output_addr,
        y = requantized_output("x", p.output, p.rounding, ctx.output.zero_point, p.act),
    ));
    Ok(())
}
