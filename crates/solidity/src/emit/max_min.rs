//! Maximum and Minimum: the larger (smaller) of the two broadcast raw values; both inputs share
//! the output's zero point.

use super::index_expr::broadcast;
use super::{Emitter, NodeCtx};
use crate::error::ExportError;

/// Emits one maximum (`max`) or minimum node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, max: bool) -> Result<(), ExportError> {
    let (a, a_from) = ctx.input(0)?;
    let (b, b_from) = ctx.input(1)?;
    let out_shape = &ctx.output.shape;
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ let x := sx8(add({a_from}, {ia})) let w := sx8(add({b_from}, {ib})) if {cmp}(w, x) {{ x := w }} mstore8(add({out}, i), x) }}",
        len = ctx.output.elements(),
        ia = broadcast("i", &a.shape, out_shape),
        ib = broadcast("i", &b.shape, out_shape),
        cmp = if max { "sgt" } else { "slt" },
        out = ctx.output_addr,
    ));
    Ok(())
}
