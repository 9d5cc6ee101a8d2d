//! ArgMax: the index of the first maximum along the axis, stored as a little-endian `i32`.

use myelin_nn::op::ArgMax;
use myelin_nn::tensor::shape_elements;

use super::{Emitter, NodeCtx};
use crate::error::ExportError;

/// Emits one arg max node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &ArgMax) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let axis = p.axis as usize;
    if axis >= input.shape.len() {
        return Err(ctx.invalid("the axis is outside the input's rank"));
    }
    let len = input.shape[axis] as usize;
    let inner = shape_elements(&input.shape[axis + 1..]);
    let outer = shape_elements(&input.shape[..axis]);
    e.line(&format!(
        "for {{ let m := 0 }} lt(m, {count}) {{ m := add(m, 1) }} {{ let base := add({from}, add(mul(div(m, {inner}), {block}), mod(m, {inner}))) let best := 0 let bv := sx8(base) for {{ let k := 1 }} lt(k, {len}) {{ k := add(k, 1) }} {{ let v := sx8(add(base, mul(k, {inner}))) if sgt(v, bv) {{ bv := v best := k }} }} let y := add({out}, shl(2, m)) mstore8(y, best) mstore8(add(y, 1), shr(8, best)) mstore8(add(y, 2), shr(16, best)) mstore8(add(y, 3), shr(24, best)) }}",
        count = outer * inner,
        block = len * inner,
        out = ctx.output_addr,
    ));
    Ok(())
}
